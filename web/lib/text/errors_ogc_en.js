// The words of OGC API refusals (filters and edits over /ogc) in English, by error code.
export const WORDS = {
  err_bad_filter: "The filter cannot be used: check its spelling, the property names and the values' types",
};
