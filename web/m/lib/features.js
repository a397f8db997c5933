// The phone page's modules beyond its shell, in the order of their tabs: each exports install(app).
import * as patrol from "./patrol.js";
import * as visit from "./visit.js";
import * as tasks from "./tasks.js";

export const FEATURES = [patrol, visit, tasks];
