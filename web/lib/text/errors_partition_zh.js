// The words of the refusals of incidents by month (Chinese), by error code.
export const WORDS = {
  err_incident_archived: "这份上报已登记为事件，所在月份已归档：不会重复登记",
  err_month_not_found: "该月份没有事件分区（从未建立，或已归档）",
  err_month_exists: "该月份的事件已在库中：请先归档该月，再恢复此文件",
  err_not_an_archive: "此文件不是本系统归档的某月事件（不是 Parquet、事件超出其月份，或与库中事件编号冲突）",
};
