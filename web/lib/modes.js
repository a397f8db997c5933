// Whether the map's mouse belongs to a drawing or editing tool: then no popup opens and no layer
// keeps a click from reaching the tool.

let busy = () => false;

/** Tells the page how to ask whether a drawing or editing tool owns the mouse. */
export function whenBusy(fn) {
  busy = fn;
}

/** Whether a drawing or editing tool owns the mouse now. */
export function mapBusy() {
  return busy();
}
