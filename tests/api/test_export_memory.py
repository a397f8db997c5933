"""``gridmap export`` keeps its memory flat: exporting ten times the incidents (20,000, then
200,000, generated in a database of this test's own) does not need ten times the memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from gridmap import migrate
from gridmap.database import make_engine

GRIDMAP = Path(sys.executable).parent / "gridmap"
# What 180,000 more rows may add to the peak: far below what holding them would take.
MARGIN_MIB = 40

GENERATED = text(
    "INSERT INTO incident (category, description, reporter_name, reporter_phone, reported_at, "
    "geom) "
    "SELECT (ARRAY['环境卫生','市容秩序','设施损坏'])[1 + g % 3], '生成的测试事件 ' || g, "
    "'生成的上报人' || (g % 50), '138000' || lpad((g % 1000)::text, 5, '0'), "
    "now() - g * interval '1 minute', "
    "ST_SetSRID(ST_MakePoint(116.3 + (g % 997) * 1e-4, 39.95 + (g % 991) * 1e-4), 4326) "
    "FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"
)


def peak_mib(url: str, out: Path) -> float:
    """Peak resident memory (MiB) of one ``gridmap export incidents`` to ``out``."""
    child = subprocess.Popen(
        [str(GRIDMAP), "export", "incidents", "-o", str(out)],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, child.stderr.read() if child.stderr else ""
    return usage.ru_maxrss / 1024


def test_ten_times_the_rows_take_no_more_memory(
    fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = fresh_database("gridmap_test_export_memory")
    migrate.upgrade(url)
    engine = make_engine(url)
    peaks = []
    for a, b in ((1, 20_000), (20_001, 200_000)):
        with engine.begin() as conn:
            conn.execute(GENERATED, {"a": a, "b": b})
        out = tmp_path / f"incidents-{b}.parquet"
        peaks.append(peak_mib(url, out))
        assert pq.read_metadata(out).num_rows == b
    engine.dispose()
    small, big = peaks
    assert big <= small + MARGIN_MIB, f"peak {small:.0f} MiB at 20,000 rows, {big:.0f} at 200,000"


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDMAP_TOKEN", raising=False)
