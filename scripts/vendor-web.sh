#!/usr/bin/env bash
# Refresh web/vendor/ from npm (versions pinned in web/package-lock.json). The vendored copies are
# committed so the map works offline and on a machine without Node.js.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund
rm -rf vendor/leaflet
mkdir -p vendor/leaflet
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images node_modules/leaflet/LICENSE vendor/leaflet/
echo "vendored: $(node -p "require('./node_modules/leaflet/package.json').version") leaflet"
