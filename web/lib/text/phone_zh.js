// The words of the phone page's shell, sign-in, home, report and sync (Chinese).
export const WORDS = {
  m_title: "网格员", m_locale: "zh-CN", m_offline: "离线", m_tab_home: "首页", m_tabs: "页面切换", m_tab_report: "上报",
  m_waiting_n: "{n} 条待发送", m_refused_n: "{n} 条被拒", m_all_sent: "已全部发送",
  m_pack_failed: "未能更新网格资料：{m}", m_pack_loading: "正在读取我的网格…",
  // Signing in and out.
  m_signin_title: "网格员登录", m_signin_label: "访问令牌", m_signin_submit: "登录",
  m_signin_hint: "令牌由社区或街道发放，只需登录一次，保存在本机。", m_signin_empty: "请输入访问令牌",
  m_signin_checking: "正在核对令牌…", m_signin_bad: "令牌无效、已吊销或已过期。",
  m_signin_not_staff: "“{name}”不是网格员的令牌，请使用发给你本人的令牌。",
  m_signin_offline: "网络不通，首次登录需要联网。", m_signin_failed: "无法核对令牌：{m}",
  m_signout: "退出登录", m_signout_waiting: "还有 {n} 条内容没有发送，退出会删除它们。确定退出？",
  // Home.
  m_hello: "{name}，你好", m_my_grids: "我的网格", m_no_grids: "你的令牌没有对应的网格",
  m_position_none: "正在获取位置…（请允许定位）", m_position: "我的位置 {lon}, {lat}（±{m} 米）",
  m_in_grid: "在{name}内", m_in_no_grid: "不在我的网格内",
  // Report.
  m_r_title: "上报事件", m_r_pick_category: "请选择类别", m_r_text: "情况说明", m_r_text_hint: "写明发生了什么、在哪里",
  m_r_add_photo: "拍照 / 选照片", m_r_photos_n: "{n}/{max} 张", m_r_photos_busy: "正在压缩照片…",
  m_r_photos_max: "最多 {max} 张照片", m_r_photo_n: "照片 {n}", m_r_photo_remove: "删除照片 {n}",
  m_r_photos_full: "已达 {max} 张照片的上限，删除一张才能再加",
  m_r_photo_unreadable: "无法读取照片 {name}", m_r_point: "位置（点地图可改）", m_r_no_point: "还没有位置：等待定位或点地图",
  m_r_grid: "所在网格：{name}（{code}）", m_r_outside: "不在我的网格内", m_r_tapped: "地图选点 {lon}, {lat}",
  m_r_from_gps: "定位 {lon}, {lat}", m_r_use_position: "用我的位置", m_r_submit: "提交上报",
  m_r_need_category: "请选择类别", m_r_need_point: "请等待定位或在地图上点选位置",
  m_r_label: "上报：{category} · {grid}", m_r_photo_label: "照片 {n}（{category}）",
  m_r_queued: "已保存在本机，联网后自动发送",
  // The sign-in ended (the token was revoked or expired): sending holds, the queue is kept.
  m_ended_title: "登录已失效", m_ended_text: "令牌已被吊销或已过期，发送已暂停。请用发给你本人的新令牌重新登录。",
  m_ended_kept: "{n} 条待发送的内容都保留在本机，重新登录后继续发送。", m_ended_none: "本机没有待发送的内容。",
  m_ended_signin: "重新登录", m_ended_first: "请先重新登录，之后自动发送",
  m_ended_other: "这个令牌属于“{name}”。本机有 {n} 条“{owner}”记录的内容还没有发送，只能用{owner}本人的新令牌发送；如要换人使用，请先退出登录（会删除这些内容）。",
  // The queue.
  m_waiting_title: "待发送", m_waiting_none: "没有待发送的内容。", m_waiting_hint: "联网后按顺序自动发送；被拒的内容需要你处理。",
  m_send_now: "立即发送", m_offline_later: "现在离线，联网后自动发送", m_kind_report: "事件上报", m_kind_photo: "事件照片",
  m_kind_other: "其他", m_state_waiting: "等待发送", m_state_sending: "正在发送", m_state_after: "等前一项发送后",
  m_state_refused: "被拒", m_tries: "已尝试 {n} 次", m_refused_why: "未被接收：{why}", m_delete: "删除",
  m_deleted_n: "已删除 {n} 项",
  // Refusals of queued items, by the server's code.
  m_err_forbidden: "你的令牌无权办理：位置或对象不在你负责的网格内", m_err_invalid_input: "填写的内容不符合要求",
  m_err_invalid_file: "照片无法读取或格式不支持", m_err_outside_china: "位置不在中国境内，请检查定位",
  m_err_not_found: "要办理的对象已不存在", m_err_conflict: "与服务器上的数据冲突", m_err_outside_grids: "位置不在任何网格内",
  m_err_report_lost: "它所属的上报没有被接收", m_err_unknown: "服务器未接收",
};
