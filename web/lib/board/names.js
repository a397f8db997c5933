// The flow's words: states, sub-task states, steps, approval kinds and decisions, queue groups.
import { t } from "../i18n.js";

const known = (key, code) => { const w = t(key); return w === key ? code : w; };

/** An incident state in words (上报, 待抢单 …). */
export const stateWord = (s) => known(`state_${s}`, s);
/** A sub-task state in words (待报到, 处置中 …). */
export const taskStateWord = (s) => known(`task_state_${s}`, s);
/** A step in words (受理立案, 抢单 …). */
export const stepWord = (s) => known(`step_${s}`, stateWord(s));
