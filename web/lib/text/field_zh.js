// The words of the phone page's patrol, household visits and tasks (Chinese).
export const WORDS = {
  // Patrol (巡查).
  f_patrol: "巡查", f_patrol_start: "开始巡查", f_patrol_stop: "结束巡查", f_patrol_on: "正在巡查，轨迹实时记录",
  f_patrol_hint: "开始后，本页按定位记录巡查轨迹，分段上传；无网络时先存于手机，联网后自动发送。",
  f_patrol_start_label: "开始巡查", f_patrol_piece_label: "巡查轨迹第 {n} 段", f_patrol_end_label: "结束巡查",
  f_patrol_stopped: "巡查已结束：{km} 公里，{n} 个定位点", f_length: "里程", f_km: "公里", f_duration: "时长",
  f_minutes: "{n} 分钟", f_points: "定位点", f_dropped: "舍弃的定位", f_accuracy: "定位精度约 {m} 米",
  f_no_fix: "尚未取得定位", f_today_patrol: "今日巡查", f_patrols: "巡查次数",
  f_grid_share: "{name}：巡查覆盖 {pct}%", f_figures_offline: "离线：显示上次读取的数据",
  // Visits (走访).
  f_visit: "走访", f_near: "附近住户", f_by_building: "按楼栋查找", f_search_placeholder: "楼栋地址、单元或门牌号",
  f_search_hint: "输入楼栋地址、名称或门牌号查找住户", f_none_found: "没有找到相符的住户",
  f_no_fix_near: "尚未取得定位，无法列出附近住户；可按楼栋查找", f_no_households: "缓存中没有住户数据",
  f_metres: "{m} 米", f_unit: "{u}单元", f_room: "{r}室", f_building_unknown: "未知楼栋",
  f_last_visit: "上次走访：{d}", f_never: "从未走访", f_note_placeholder: "走访情况（可选，最多 2000 字）",
  f_visit_save: "记录走访", f_pick_outcome: "请先选择走访结果", f_visit_queued: "走访已记录，将自动发送（无网络时联网后发送）",
  f_visit_label: "走访 {where}", f_visited_here: "本机已记录走访", f_overdue_title: "逾期未走访",
  f_overdue_count: "{n} 户已超过走访周期", f_overdue_days: "逾期 {d} 天", f_back: "返回",
  // Tasks (我的任务).
  f_tasks: "任务", f_open_tasks: "我的待办任务", f_task_count: "{n} 项待办", f_no_tasks: "暂无派给我的任务",
  f_tasks_offline: "离线：显示上次读取的任务", f_loading: "加载中…", f_due: "办理时限：{d}",
  f_feedback: "反馈内容", f_feedback_placeholder: "处理情况（必填）", f_feedback_needed: "请填写反馈内容",
  f_photos: "现场照片（最多 {n} 张）", f_answer_send: "提交反馈", f_feedback_was: "反馈：{text}",
  f_nothing_to_do: "此任务当前无需你办理", f_step_queued: "{step}已记录，将自动发送（无网络时联网后发送）",
  f_step_waiting: "{step}等待发送", f_task_label: "{step}：{what}", f_task_photo_label: "反馈照片：{what}",
  f_step_gone: "此任务已被他人办理，不能再{step}",
  // What waits to be sent, by kind (the list of waiting items).
  f_kind_patrol_start: "巡查开始", f_kind_patrol_piece: "巡查轨迹", f_kind_patrol_end: "巡查结束", f_kind_visit: "走访记录", f_kind_task_step: "任务办理", f_kind_task_photo: "任务照片",
};
