// Who the token of this tab is (GET /me's answer, or null), for the buttons that depend on it.

const OFFICES = ["admin", "district", "street", "community"];
let who = null;

/** Keeps who is signed in (GET /me's answer), or null after signing out. */
export function setHolder(holder) {
  who = holder || null;
}

/** Who is signed in (GET /me's answer), or null. */
export function holder() {
  return who;
}

/** Whether the token signed in is an office covering the grid (it changes grid teams there). */
export function officeCovers(grid) {
  if (!who || !grid || !OFFICES.includes(who.role)) return false;
  return who.role === "admin" || (Boolean(who.region) && grid.startsWith(who.region));
}

/** Whether the token signed in assigns the lists' items of the grid (an office covering it, or its branch). */
export function assignsIn(grid) {
  if (officeCovers(grid)) return true;
  return Boolean(who && who.role === "branch" && (who.grids || []).some((g) => g.code === grid));
}
