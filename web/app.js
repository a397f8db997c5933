// The map's entry under its earlier name (/app.js), for pages and links made before map.js: loads
// the module entry; a dynamic import works from a classic script as well as from a module.
import("./map.js");
