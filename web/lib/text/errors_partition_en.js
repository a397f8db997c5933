// The words of the refusals of incidents by month (English), by error code.
export const WORDS = {
  err_incident_archived: "This report was recorded as an incident of a month archived since: it is not recorded again",
  err_month_not_found: "No partition holds incidents of that month (never made, or archived already)",
  err_month_exists: "The incidents of that month are stored already: archive that month before restoring this file",
  err_not_an_archive: "This file is not a month of incidents archived by gridmap (not Parquet, rows outside its month, or ids that clash with stored incidents)",
};
