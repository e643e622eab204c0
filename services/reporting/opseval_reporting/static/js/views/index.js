// The workbench's views, in tab order. A view module exports default
//   { id, label, needsProject, roles?, async render(root, ctx) }
// where ctx = { me, projects, project, info, asOf, live, params, navigate(changes), reloadProjects() }.
// `live` is true when the render follows a score change pushed by the fleet (keep what the user opened).
import overview from "./overview.js";
import trend from "./trend.js";
import judging from "./judging.js";
import evidence from "./evidence.js";
import staffing from "./staffing.js";
import versions from "./versions.js";
import portfolio from "./portfolio.js";

export const VIEWS = [overview, trend, judging, evidence, staffing, versions, portfolio];
