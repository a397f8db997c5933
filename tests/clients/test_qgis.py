"""QGIS 3.22 (Debian's python3-qgis) opens /ogc's grids and incidents as OAPIF layers.

QGIS runs in Debian's own ``/usr/bin/python3`` with ``QT_QPA_PLATFORM=offscreen`` in a process
of its own (``qgis_probe.py``); what it read is compared with PostGIS.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from tests.clients.conftest import Served

PROBE = Path(__file__).with_name("qgis_probe.py")
DEBIAN_PYTHON = "/usr/bin/python3"


def _has_qgis() -> bool:
    if not Path(DEBIAN_PYTHON).exists():
        return False
    found = subprocess.run(
        [DEBIAN_PYTHON, "-c", "import qgis.core"],
        capture_output=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    return found.returncode == 0


pytestmark = pytest.mark.skipif(
    not _has_qgis(),
    reason="Debian's python3-qgis is not installed (make setup installs it)",
)


def qgis(served: Served, runtime: Path, *layers: str) -> dict[str, Any]:
    """What QGIS reads of ``layers`` of /ogc (``runtime``: an empty directory of its own)."""
    runtime.chmod(0o700)
    done = subprocess.run(
        [DEBIAN_PYTHON, str(PROBE), served.ogc, *layers],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            # Debian's python3 with its own modules, not the project's virtualenv.
            "PATH": "/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/tmp"),
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(runtime),
        },
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_qgis_reads_grids_and_incidents(served: Served, tmp_path: Path) -> None:
    with served.engine.connect() as conn:
        grids = {
            r.code: r
            for r in conn.execute(
                text("SELECT code, name, kind, community_code FROM grid WHERE valid_to IS NULL")
            )
        }
        incidents = {
            r.id: r
            for r in conn.execute(text("SELECT id, category, status, grid_code FROM incident"))
        }
    assert grids and incidents
    read = qgis(served, tmp_path, "grids", "incidents")

    g = read["grids"]
    assert g["valid"], "QGIS could not open the grids"
    assert g["count"] == len(grids)
    assert {"code", "name", "kind", "community_code"} <= set(g["fields"])
    assert len(g["features"]) == len(grids)
    for f in g["features"]:
        row = grids[f["code"]]
        assert (f["name"], f["kind"], f["community_code"]) == (
            row.name,
            row.kind,
            row.community_code,
        )
        assert f["__geometry"].startswith(("MultiPolygon", "Polygon"))

    i = read["incidents"]
    assert i["valid"], "QGIS could not open the incidents"
    assert i["count"] == len(incidents)
    assert {"category", "status", "grid_code"} <= set(i["fields"])
    assert len(i["features"]) == len(incidents)
    id_field = "id" if "id" in i["fields"] else "gml_id"
    for f in i["features"]:
        row = incidents[int(f[id_field])]
        assert (f["category"], f["status"], f["grid_code"]) == (
            row.category,
            row.status,
            row.grid_code,
        )
        assert f["__geometry"].startswith("Point")
