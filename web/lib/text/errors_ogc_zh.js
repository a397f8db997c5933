// OGC API 的拒绝原因（/ogc 的筛选与编辑），按错误代码。
export const WORDS = {
  err_bad_filter: "筛选条件无法使用：请检查其写法、属性名称和取值类型",
};
