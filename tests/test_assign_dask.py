"""gridmap assign on Dask: the demo's grids, real building centroids, border and vertex points,
on a LocalCluster of two worker processes; answers equal to the single-process path."""

from __future__ import annotations

import csv
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

import geopandas as gpd
import shapely

from gridmap import assign_dask
from gridmap.cli import app
from gridmap.settings import get_settings

ADDED = ["grid_code", "community_code", "street_code"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of two worker processes, one thread each; its scheduler's address."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as c:
        yield c.scheduler_address


@pytest.fixture
def demo_db(demo_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI reads the demo database."""
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield demo_engine
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def points(demo_engine: Engine) -> pd.DataFrame:
    """Points made from the demo: building centroids, random points over the demo's extent (some
    outside every grid), the grids' vertices and the midpoints of their edges (shared borders)."""
    with demo_engine.connect() as conn:
        centroids = conn.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM building "
                "ORDER BY id LIMIT 3000) b"
            )
        ).all()
        vertices = conn.execute(
            text(
                "SELECT DISTINCT ST_X(d.geom), ST_Y(d.geom) FROM grid, "
                "ST_DumpPoints(grid.geom) d WHERE grid.valid_to IS NULL"
            )
        ).all()
        edges = conn.execute(
            text(
                "SELECT (ST_X(p1) + ST_X(p2)) / 2, (ST_Y(p1) + ST_Y(p2)) / 2 FROM ("
                " SELECT d.geom p1, lead(d.geom) OVER (PARTITION BY grid.code ORDER BY d.path) p2"
                " FROM grid, ST_DumpPoints(grid.geom) d WHERE grid.valid_to IS NULL) s"
                " WHERE p2 IS NOT NULL"
            )
        ).all()
        west, south, east, north = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
                "SELECT ST_Extent(geom) e FROM grid WHERE valid_to IS NULL) x"
            )
        ).one()
    rng = np.random.default_rng(20)
    n = 3000
    # A margin around the grids: some points fall outside every grid.
    dx, dy = (east - west) * 0.1, (north - south) * 0.1
    random = np.column_stack(
        [rng.uniform(west - dx, east + dx, n), rng.uniform(south - dy, north + dy, n)]
    )
    xy = np.vstack([np.array(centroids), random, np.array(vertices), np.array(edges)])
    order = rng.permutation(len(xy))
    frame = pd.DataFrame(
        {
            "id": [f"p{i:06d}" for i in range(len(xy))],
            "lon": [repr(float(v)) for v in xy[order, 0]],
            "lat": [repr(float(v)) for v in xy[order, 1]],
            "备注": "生成的测试点",
        }
    )
    # A few rows without a usable point keep their place and get no grid.
    frame.loc[5, "lon"] = ""
    frame.loc[6, "lat"] = "abc"
    return frame


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def write_csv_parts(frame: pd.DataFrame, folder: Path, n: int) -> None:
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n)):
        frame.iloc[part].to_csv(folder / f"part-{i}.csv", index=False, encoding="utf-8")


def single_process(frame: pd.DataFrame, tmp: Path, *args: str) -> pd.DataFrame:
    src, out = tmp / "all.csv", tmp / "all-out.csv"
    frame.to_csv(src, index=False, encoding="utf-8")
    run("assign", str(src), "-o", str(out), *args)
    with out.open(encoding="utf-8-sig", newline="") as f:
        return pd.DataFrame(list(csv.DictReader(f)))


def read_csv_parts(folder: Path) -> tuple[list[Path], pd.DataFrame]:
    files = sorted(folder.iterdir())
    frames = []
    for f in files:
        assert f.read_bytes().startswith(b"\xef\xbb\xbf")  # each part opens in Excel
        with f.open(encoding="utf-8-sig", newline="") as fh:
            frames.append(pd.DataFrame(list(csv.DictReader(fh))))
    return files, pd.concat(frames, ignore_index=True)


def test_csv_parts_match_the_single_process_path_row_for_row(
    demo_db: Engine, cluster: str, points: pd.DataFrame, tmp_path: Path
) -> None:
    expected = single_process(points, tmp_path)
    src = tmp_path / "parts"
    write_csv_parts(points, src, 7)
    out = tmp_path / "assigned"
    said = run("assign", str(src), "-o", str(out), "--scheduler", cluster)
    assert f"of {len(points):,} points are in a grid" in said
    assert "7 part(s) on 2 Dask worker(s)" in said
    files, got = read_csv_parts(out)
    assert [f.name for f in files] == [f"part.{i:05d}.csv" for i in range(7)]
    pd.testing.assert_frame_equal(got, expected)
    # Every kind of point is there: inside, outside, on borders and vertices.
    codes = got["grid_code"]
    assert (codes == "").sum() > 100 and codes.nunique() > 50
    assert got.loc[5, "grid_code"] == "" and got.loc[6, "grid_code"] == ""
    assert list(got.columns) == ["id", "lon", "lat", "备注", *ADDED]
    # A quoted glob reads the same parts; the index saved in a folder the workers share and
    # memory-mapped by them answers the same as the index sent to each of them.
    shared = tmp_path / "shared"
    shared.mkdir()
    again = tmp_path / "again"
    run(
        "assign",
        str(src / "part-*.csv"),
        "-o",
        str(again),
        "--scheduler",
        cluster,
        "--shared-dir",
        str(shared),
    )
    pd.testing.assert_frame_equal(read_csv_parts(again)[1], expected)
    assert list(shared.iterdir()) == []  # the saved index is removed afterwards
    # Shell-expanded (several paths).
    third = tmp_path / "third"
    run("assign", *map(str, sorted(src.iterdir())), "-o", str(third), "--scheduler", cluster)
    pd.testing.assert_frame_equal(read_csv_parts(third)[1], expected)
    # The parts were written beside their folders and moved in: nothing hidden is left over.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_part_failing_on_a_worker_leaves_no_output(
    demo_db: Engine, cluster: str, points: pd.DataFrame, tmp_path: Path
) -> None:
    src = tmp_path / "parts"
    write_csv_parts(points.iloc[:600], src, 3)
    # The third part has a line with a field too many: read on a worker, after two parts were
    # written.
    with (src / "part-2.csv").open("a", encoding="utf-8") as f:
        f.write("p999999,116.35,40.0,备注,多余\n")
    for out in (tmp_path / "assigned", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        said = run("assign", str(src), "-o", str(out), "--scheduler", cluster, code=2)
        said = " ".join(said.split())
        assert "error: part 3 of 3 failed on a Dask worker:" in said, said
        assert (
            "Expected 4 fields in line 202, saw 5" in said
            and f"Nothing was written to {out}" in said
        )
        assert "Traceback" not in said
        # Nothing half-written: no output folder (or the empty one as it was), nothing hidden.
        assert not out.exists() or list(out.iterdir()) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["parts", *(["empty"] if out.name == "empty" else [])]
        )
    # Mended, the same command writes every part.
    lines = (src / "part-2.csv").read_text(encoding="utf-8").splitlines()
    (src / "part-2.csv").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    out = tmp_path / "assigned"
    run("assign", str(src), "-o", str(out), "--scheduler", cluster)
    assert len(read_csv_parts(out)[1]) == 600


def test_answers_follow_the_border_rule(demo_db: Engine, cluster: str, tmp_path: Path) -> None:
    """A point on a shared border or vertex goes to the lowest grid code that holds it, as
    PostGIS's ST_Intersects says."""
    with demo_db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(d.geom) x, ST_Y(d.geom) y, min(g2.code) code"
                " FROM grid g, ST_DumpPoints(g.geom) d"
                " JOIN grid g2 ON g2.valid_to IS NULL AND ST_Intersects(g2.geom, d.geom)"
                " WHERE g.valid_to IS NULL GROUP BY 1, 2 HAVING count(DISTINCT g2.code) > 1"
                " ORDER BY 1, 2"
            )
        ).all()
    assert len(rows) > 50
    frame = pd.DataFrame({"lon": [repr(r.x) for r in rows], "lat": [repr(r.y) for r in rows]})
    src = tmp_path / "borders"
    write_csv_parts(frame, src, 3)
    out = tmp_path / "out"
    run("assign", str(src), "-o", str(out), "--scheduler", cluster, "--no-bom")
    got = pd.concat([pd.read_csv(f, dtype=str) for f in sorted(out.iterdir())])
    assert got["grid_code"].tolist() == [r.code for r in rows]


def test_geoparquet_parts_match_and_stay_geoparquet(
    demo_db: Engine, cluster: str, points: pd.DataFrame, tmp_path: Path
) -> None:
    x = pd.to_numeric(points["lon"], errors="coerce")
    y = pd.to_numeric(points["lat"], errors="coerce")
    geometry = [
        None if np.isnan(a) or np.isnan(b) else shapely.Point(a, b)
        for a, b in zip(x, y, strict=True)
    ]
    wgs84 = gpd.GeoDataFrame(
        points[["id", "备注"]], geometry=gpd.GeoSeries(geometry, crs="EPSG:4326")
    )
    # In EPSG:3857 too: the parts say so, the workers convert.
    for gdf in (wgs84, wgs84.to_crs("EPSG:3857")):
        epsg = gdf.crs.to_epsg()
        flat = points.copy()
        flat["lon"] = [repr(p.x) if p is not None else "" for p in gdf.geometry]
        flat["lat"] = [repr(p.y) if p is not None else "" for p in gdf.geometry]
        here = tmp_path / str(epsg)
        here.mkdir()
        expected = single_process(flat, here, "--crs", f"EPSG:{epsg}")
        src = here / "gparts"
        src.mkdir()
        for i, part in enumerate(np.array_split(np.arange(len(gdf)), 5)):
            gdf.iloc[part].to_parquet(src / f"part.{i}.parquet")
        out = here / "gout"
        said = run("assign", f"{src}/*.parquet", "-o", str(out), "--scheduler", cluster)
        assert "5 part(s)" in said
        back = pd.concat([gpd.read_parquet(f) for f in sorted(out.iterdir())], ignore_index=True)
        assert back.crs.to_epsg() == epsg
        assert list(back.columns) == ["id", "备注", "geometry", *ADDED]
        assert back["id"].tolist() == points["id"].tolist()
        assert back.geometry.equals(gdf.geometry.reset_index(drop=True))
        for name in ADDED:
            assert back[name].tolist() == expected[name].tolist(), (epsg, name)


def test_many_partitions_keep_order_and_count(
    demo_db: Engine,
    cluster: str,
    points: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One CSV bigger than a partition holds is cut into many; the output keeps every row, in
    order."""
    monkeypatch.setattr(assign_dask, "BLOCKSIZE", 16 * 1024)
    expected = single_process(points, tmp_path)
    src = tmp_path / "all.csv"  # written by single_process
    assert src.stat().st_size > 10 * 16 * 1024
    out = tmp_path / "blocks"
    run("assign", str(src), "-o", str(out), "--scheduler", cluster)
    files, got = read_csv_parts(out)
    assert len(files) >= 10
    assert len(got) == len(points)
    pd.testing.assert_frame_equal(got, expected)


def test_a_local_cluster_from_workers(
    demo_db: Engine, points: pd.DataFrame, tmp_path: Path
) -> None:
    small = points.iloc[:500]
    expected = single_process(small, tmp_path)
    src = tmp_path / "p"
    write_csv_parts(small, src, 2)
    out = tmp_path / "o"
    said = run("assign", str(src), "-o", str(out), "--workers", "1")
    assert "on 1 Dask worker(s)" in said
    pd.testing.assert_frame_equal(read_csv_parts(out)[1], expected)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refusals_in_words(demo_db: Engine, points: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "parts"
    write_csv_parts(points.iloc[:50], src, 2)
    out = str(tmp_path / "out")

    def refused(*args: str) -> str:
        said = run("assign", *args, code=2)
        assert "Traceback" not in said and said.startswith("error:"), said
        return " ".join(said.split())

    port = free_port()
    said = refused(
        str(src), "-o", out, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1"
    )
    assert f"no Dask scheduler answers at tcp://127.0.0.1:{port}" in said
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=0, dashboard_address=None, silence_logs=logging.ERROR) as empty:
        assert "has no workers" in refused(
            str(src), "-o", out, "--scheduler", empty.scheduler_address
        )
    for bad in ("localhost:8786", "http://x:1", "tcp://host", "tcp://h:99999", "'; DROP --"):
        assert "is not a Dask scheduler address" in refused(str(src), "-o", out, "--scheduler", bad)
    assert "not both" in refused(str(src), "-o", out, "--scheduler", "tcp://h:1", "--workers", "2")
    assert "--workers N" in refused(str(src), "-o", out)
    assert "no file or folder" in refused(str(tmp_path / "nope"), "-o", out, "--workers", "1")
    assert "no file matches" in refused(str(tmp_path / "*.csv"), "-o", out, "--workers", "1")
    assert "no folder" in refused(
        str(src), "-o", out, "--workers", "1", "--shared-dir", str(tmp_path / "nowhere")
    )
    # Missing columns.
    nocols = tmp_path / "nocols"
    nocols.mkdir()
    (nocols / "a.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert "cannot tell which column holds the longitude" in refused(
        str(nocols), "-o", out, "--workers", "1"
    )
    assert "no column 'x1'" in refused(str(src), "-o", out, "--workers", "1", "--lon", "x1")
    # Parts that differ.
    (nocols / "b.csv").write_text("a,c\n1,2\n", encoding="utf-8")
    assert "b.csv has the columns a, c, unlike a.csv" in refused(
        str(nocols), "-o", out, "--workers", "1"
    )
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pt = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(116.35, 40.0)], crs="EPSG:4326")
    pt.to_parquet(mixed / "a.parquet")
    pt.to_crs("EPSG:3857").to_parquet(mixed / "b.parquet")
    assert "the parts are in different CRS" in refused(str(mixed), "-o", out, "--workers", "1")
    (mixed / "c.csv").write_text("lon,lat\n1,2\n", encoding="utf-8")
    assert "mix CSV and Parquet" in refused(str(mixed), "-o", out, "--workers", "1")
    # An output folder that holds files is not written into.
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")
    assert "is not an empty folder" in refused(str(src), "-o", str(full), "--workers", "1")
    assert (full / "keep.txt").read_text() == "x" and len(list(full.iterdir())) == 1
    assert "as CSV parts" in refused(str(src), "-o", str(tmp_path / "o.parquet"), "--workers", "1")
    # Nothing was written by any refusal.
    assert not Path(out).exists()
