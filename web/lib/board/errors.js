// An API error in words: the page's own word for its code where there is one, else the server's.
import { t } from "../i18n.js";

/** The message of a failed call (api()'s Error), in the language in use. */
export function inWords(e) {
  if (e.status === 412) return t("board_stale");
  const code = e.body && e.body.code;
  if (code) {
    const word = t(`err_${code}`);
    if (word !== `err_${code}`) return `${word}${e.body.detail ? ` (${e.body.detail})` : ""}`;
  }
  return e.message;
}
