#!/usr/bin/env bash
# Refresh web/vendor/ from npm (versions pinned in web/package-lock.json). The vendored copies are
# committed so the map works offline and on a machine without Node.js.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund
rm -rf vendor
mkdir -p vendor/leaflet vendor/geoman vendor/markercluster vendor/vectorgrid vendor/swagger-ui \
         vendor/redoc vendor/chartjs vendor/idb vendor/maplibre
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images node_modules/leaflet/LICENSE vendor/leaflet/
cp node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js \
   node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css \
   node_modules/@geoman-io/leaflet-geoman-free/LICENSE vendor/geoman/
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
   node_modules/leaflet.markercluster/MIT-LICENCE.txt vendor/markercluster/
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js \
   vendor/vectorgrid/
# VectorGrid ships no licence file; its package.json states the licence.
cp node_modules/leaflet.vectorgrid/package.json vendor/vectorgrid/
# /docs and /redoc are served from these copies, so the API docs open on an offline network.
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
   node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE \
   node_modules/swagger-ui-dist/NOTICE vendor/swagger-ui/
cp node_modules/redoc/bundles/redoc.standalone.js node_modules/redoc/LICENSE vendor/redoc/
# The board's assessment chart: Chart.js's UMD build (a plain script, window.Chart).
cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/LICENSE.md vendor/chartjs/
# The phone page's offline queue: idb's UMD build (a plain script, window.idb).
cp node_modules/idb/build/umd.js node_modules/idb/LICENSE vendor/idb/
# The 2.5-D view (/3d): MapLibre GL's ES module, the worker it loads beside itself, its CSS.
cp node_modules/maplibre-gl/dist/maplibre-gl.mjs node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs \
   node_modules/maplibre-gl/dist/maplibre-gl.css node_modules/maplibre-gl/LICENSE.txt vendor/maplibre/
for p in leaflet @geoman-io/leaflet-geoman-free leaflet.markercluster leaflet.vectorgrid \
    swagger-ui-dist redoc chart.js idb maplibre-gl; do
    echo "vendored: $p $(node -p "require('./node_modules/$p/package.json').version")"
done
# node_modules is only the source of the copies (its READMEs and examples link to CDNs).
rm -rf node_modules
