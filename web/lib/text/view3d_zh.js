// The words of the 2.5-D view (/3d): buildings by height, grids and roads (Chinese).
export const WORDS = {
  v3_title: "三维视图", v3_to_map: "平面地图", v3_loading: "加载中…",
  v3_ready: "{name} · 右键或按住 Ctrl 拖动可旋转和倾斜", v3_load_failed: "加载失败：{m}",
  v3_pitch: "倾斜", v3_bearing: "旋转", v3_reset: "正北俯视", v3_tilt: "倾斜视角",
  v3_colour_by: "楼栋颜色", v3_by_height: "按高度", v3_by_grid: "按网格",
  v3_legend: "图例", v3_floors: "{a}–{b} 层", v3_floors_more: "{a} 层以上", v3_floors_unknown: "层数不详（按 {n} 层）",
  v3_grid_colours: "楼栋按所在网格着色", v3_no_grid: "不在网格内", v3_roads: "道路",
  v3_grid: "网格", v3_grid_name: "名称", v3_grid_code: "网格编码", v3_community: "社区", v3_kind: "类型",
  v3_subtype: "专属类型", v3_close: "关闭", v3_map_label: "三维网格地图",
};
