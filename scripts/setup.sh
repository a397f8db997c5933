#!/usr/bin/env bash
# Install what gridmap needs on Debian 12, skipping whatever is already there:
# PostgreSQL 15 + PostGIS 3 + pgRouting, GDAL's tools and QGIS's Python bindings from Debian, and a
# virtualenv at .venv.
# With --bench, also what the benchmarks in bench/ drive (wrk); the tests do not need it.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin chromium fonts-wqy-microhei
    python3-qgis)
if [ "${1:-}" = "--bench" ]; then pkgs+=(wrk); fi
need_apt=()
# chromium and a CJK font: the browser tests drive Debian's chromium and take screenshots.
# python3-qgis (QGIS 3.22, ~190 MB to fetch, ~930 MB installed): the client tests open /ogc in
# QGIS, run offscreen by Debian's own python3.
for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
python_ok() { command -v python3 >/dev/null && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if ! python_ok; then need_apt+=(python3 python3-venv python3-dev); fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "gridmap needs these Debian packages: ${need_apt[*]}" >&2
        echo "run this as root, or: sudo apt-get install ${need_apt[*]}" >&2
        exit 1
    fi
    echo "==> installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian starts a system cluster on install; gridmap runs its own, so leave that one off.
    if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
        pg_ctlcluster 15 main stop || true
    fi
fi

stamp=.venv/.gridmap-installed
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing gridmap into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
fi
