"""The gridmap command: tokens, validate, export and import, against a database of their own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, WEST_GRID, two_grids
from typer.testing import CliRunner

from gridmap import layers, migrate
from gridmap.auth import authenticate
from gridmap.cli import app
from gridmap.database import make_engine
from gridmap.errors import Unauthorized
from gridmap.settings import Settings, get_settings

NAME = "gridmap_test_cli"


@pytest.fixture
def cli_db(
    settings: Settings, fresh_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    url = fresh_database(NAME)
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    with Session(engine) as db, db.begin():
        two_grids(db)
    with Session(engine, autobegin=True) as db:
        yield db
    get_settings.cache_clear()
    engine.dispose()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def test_tokens(cli_db: Session) -> None:
    out = run("token", "create", "--role", "community", "--region", COMMUNITY, "--name", "社区办")
    secret = next(line for line in out.split() if line.startswith("gm_"))
    principal = authenticate(cli_db, secret)
    assert (principal.role, principal.region, principal.name) == ("community", COMMUNITY, "社区办")
    assert "社区办" in run("token", "list")
    token_id = str(principal.token_id)
    cli_db.rollback()
    assert "revoked" in run("token", "revoke", token_id)
    with pytest.raises(Unauthorized):
        authenticate(cli_db, secret)
    assert "admin token acts everywhere" in run(
        "token", "create", "--role", "admin", "--region", STREET, code=2
    )
    assert "12 digits" in run("token", "create", "--role", "community", "--region", STREET, code=2)
    assert "no live token" in run("token", "revoke", "99999", code=1)


def test_tokens_for_people(cli_db: Session) -> None:
    out = run("token", "create", "--staff", "李静")
    secret = next(line for line in out.split() if line.startswith("gm_"))
    principal = authenticate(cli_db, secret)
    assert (principal.holder, principal.role, principal.name) == ("staff", "worker", "李静")
    assert principal.grids == {WEST_GRID} and principal.region is None
    cli_db.rollback()
    listed = run("token", "list")
    assert "staff" in listed and WEST_GRID in listed
    assert "no person named" in run("token", "create", "--staff", "无名氏", code=2)
    both = run("token", "create", "--role", "viewer", "--staff", "李静", code=2)
    assert "say whom the token is for" in both
    assert "say whom the token is for" in run("token", "create", code=2)


def test_departments_and_their_tokens(cli_db: Session) -> None:
    out = run("department", "add", "cgzf", "--name", "城管执法队", "--region", STREET)
    assert "street" in out
    assert "城管执法队" in run("department", "list")
    run(
        "department",
        "add",
        "pcs",
        "--name",
        "学院路派出所",
        "--region",
        STREET,
        "--kind",
        "公安派出所",
    )
    assert f"pcs\t学院路派出所\tstreet\t{STREET}\t公安派出所\ttrue" in run("department", "list")
    assert "exists already" in run(
        "department", "add", "cgzf", "--name", "x", "--region", STREET, code=1
    )
    assert "district or a street" in run(
        "department", "add", "jw", "--name", "居委", "--region", COMMUNITY, code=2
    )
    out = run("token", "create", "--department", "cgzf")
    secret = next(line for line in out.split() if line.startswith("gm_"))
    principal = authenticate(cli_db, secret)
    assert (principal.holder, principal.department, principal.role) == (
        "department",
        "cgzf",
        "department",
    )
    assert not principal.covers(STREET)  # it acts on its sub-tasks only
    cli_db.rollback()
    # Made, not yet used.
    assert "used" not in run("token", "list").split("cgzf")[1].split("\n")[0]


def test_validate(cli_db: Session) -> None:
    out = run("validate", STREET)
    assert "100.000%" in out and "exactly covered" in out
    cli_db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": EAST_GRID}
    )
    cli_db.commit()
    out = run("validate", COMMUNITY, code=1)
    assert "50.0" in out and "not exactly covered" in out
    assert "no region 110108020" in run("validate", "110108020", code=2)


def test_export_then_import_changes_nothing(cli_db: Session, tmp_path: Path) -> None:
    for name in ("grids.gpkg", "grids.zip", "grids.geojson"):
        path = tmp_path / name
        assert "wrote 2 grids" in run("export", "grids", "-o", str(path), "--crs", "GCJ-02")
        source = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", source], check=True, capture_output=True, text=True
        ).stdout
        assert "Feature Count: 2" in info
        crs = [] if path.suffix != ".geojson" else ["--crs", "GCJ-02"]
        out = run("import", str(path), *crs, "--commit")
        counts = dict(re.findall(r"^(created|updated|unchanged|rejected)\t(\d+)$", out, re.M))
        assert counts == {"created": "0", "updated": "0", "unchanged": "2", "rejected": "0"}, out
        versions = cli_db.execute(text("SELECT count(*) FROM grid")).scalar_one()
        cli_db.rollback()
        assert versions == 2, out
    assert "only grids" in run(
        "import", str(tmp_path / "grids.gpkg"), "--layer", "buildings", code=1
    )


def test_assign_csv_and_geojson(cli_db: Session, tmp_path: Path) -> None:
    import csv
    import json

    from tests.utils.fixtures import BORDER_LON, WEST_GRID

    from gridmap.geo.crs import from_wgs84

    rows = [
        {"id": "1", "经度": "116.342", "纬度": "40.005", "note": "西"},
        {"id": "2", "经度": "116.348", "纬度": "40.005", "note": "东"},
        {"id": "3", "经度": str(BORDER_LON), "纬度": "40.005", "note": "边界"},
        {"id": "4", "经度": "116.36", "纬度": "40.005", "note": "外"},
        {"id": "5", "经度": "", "纬度": "abc", "note": "坏"},
    ]
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out.csv"
    text_out = run("assign", str(src), "--out", str(out))
    assert "3 of 5 points are in a grid" in text_out
    # Excel needs the BOM to read UTF-8.
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,")
    with out.open(encoding="utf-8-sig") as f:
        got = list(csv.DictReader(f))
    assert [r["grid_code"] for r in got] == [WEST_GRID, EAST_GRID, WEST_GRID, "", ""]
    assert got[0]["note"] == "西" and got[0]["street_code"] == STREET
    assert got[1]["community_code"] == COMMUNITY
    # GeoJSON in GCJ-02, out as GeoJSON.
    features = [
        {
            "type": "Feature",
            "properties": {"id": i},
            "geometry": {"type": "Point", "coordinates": list(from_wgs84(x, 40.005, "GCJ-02"))},
        }
        for i, x in enumerate((116.342, 116.348))
    ]
    gj = tmp_path / "in.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out_gj = tmp_path / "out.geojson"
    run("assign", str(gj), "-o", str(out_gj), "--crs", "GCJ-02")
    fc = json.loads(out_gj.read_text(encoding="utf-8"))
    assert [f["properties"]["grid_code"] for f in fc["features"]] == [WEST_GRID, EAST_GRID]
    assert "no column 'nope'" in run(
        "assign", str(out), "-o", str(tmp_path / "x.csv"), "--lon", "nope", code=2
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert "cannot tell which column" in run(
        "assign", str(bad), "-o", str(tmp_path / "y.csv"), code=2
    )


def test_assign_to_the_grids_of_then(cli_db: Session) -> None:
    import numpy as np
    from tests.utils.fixtures import WEST_GRID

    from gridmap.assign import GridSet

    before = cli_db.execute(text("SELECT clock_timestamp()")).scalar_one()
    cli_db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": WEST_GRID}
    )
    cli_db.commit()
    x, y = np.array([116.342, 116.348]), np.array([40.005, 40.005])
    now = GridSet.load(cli_db)
    assert [str(now.codes[i]) if i >= 0 else None for i in now.assign(x, y)] == [None, EAST_GRID]
    then = GridSet.load(cli_db, at=before)
    assert [str(then.codes[i]) for i in then.assign(x, y)] == [WEST_GRID, EAST_GRID]


def test_incidents_import_and_circles_and_report_map(cli_db: Session, tmp_path: Path) -> None:
    csv = tmp_path / "hotline.csv"
    csv.write_text(
        "lon,lat,category,idempotency_key\n"
        "116.342,40.005,市容环境/暴露垃圾,cli-1\n"
        "116.348,40.005,市容环境/暴露垃圾,cli-2\n"
        "116.500,40.100,市容环境/暴露垃圾,cli-3\n",
        encoding="utf-8",
    )
    out = run("incidents", "import", str(csv))
    assert "3 rows: 2 in a grid, 1 outside; nothing written" in out
    assert "written" in run("incidents", "import", str(csv), "--commit")
    assert cli_db.execute(text("SELECT count(*) FROM incident")).scalar_one() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat,category\n116.342,40.005,不存在\n", encoding="utf-8")
    assert "unknown category" in run("incidents", "import", str(bad), "--commit", code=1)
    cli_db.execute(
        text(
            "INSERT INTO service_center (code, kind, name, geom) VALUES "
            "('C1', 'red_station', '红色驿站', ST_SetSRID(ST_MakePoint(116.345, 40.005), 4326))"
        )
    )
    cli_db.commit()
    out = run("circles", "rebuild", "--minutes", "10", "--minutes", "15")
    assert "1 centres, 2 circle(s) each (10, 15 min): 0 over the walking network, 2 as a" in out
    kinds = cli_db.execute(
        text("SELECT minutes, method FROM service_circle ORDER BY minutes")
    ).all()
    assert [tuple(k) for k in kinds] == [(10, "buffer"), (15, "buffer")]
    page = tmp_path / "report.html"
    assert "opens in any browser" in run("map", COMMUNITY, "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert "测试社区" in html and "<script src=" not in html
    assert "a street (9 digits) or a community" in run("map", "110108", "-o", str(page), code=2)


def run_result(*args: str, code: int):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_assign_reads_what_excel_writes_and_writes_what_it_reads(
    cli_db: Session, tmp_path: Path
) -> None:
    body = "编号,经度,纬度,备注\n1,116.342,40.005,西边垃圾\n2,116.348,40.005,东边占道\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(body.encode("gbk"))
    out = tmp_path / "out.csv"
    assert "2 of 2 points are in a grid" in run("assign", str(gbk), "-o", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "编号,经度,纬度,备注,grid_code,community_code,street_code"
    assert lines[1] == f"1,116.342,40.005,西边垃圾,{WEST_GRID},{COMMUNITY},{STREET}"
    # UTF-8 with a BOM (Excel's "CSV UTF-8") and UTF-16 (its "Unicode text") read the same.
    for name, data in (
        ("bom.csv", body.encode("utf-8-sig")),
        ("utf16.csv", body.encode("utf-16")),
    ):
        src = tmp_path / name
        src.write_bytes(data)
        again = tmp_path / f"out-{name}"
        run("assign", str(src), "-o", str(again), "--no-bom")
        assert again.read_bytes() == raw[3:], name
    # --encoding overrides; a wrong one is one line in words, exit 2, no traceback.
    run("assign", str(gbk), "-o", str(out), "--encoding", "gbk")
    for args, words in (
        (("--encoding", "utf-8"), "cannot read gbk.csv as utf-8"),
        (("--encoding", "klingon"), "unknown encoding 'klingon'"),
    ):
        result = run_result("assign", str(gbk), "-o", str(out), *args, code=2)
        assert words in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) <= 2, result.output
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    result = run_result("assign", str(binary), "-o", str(out), code=2)
    assert "neither UTF-8 nor GB18030/GBK" in result.output
    long_row = tmp_path / "long.csv"
    long_row.write_text("lon,lat\n116.342,40.005\n116.348,40.005,extra\n", encoding="utf-8")
    assert "line 3 of long.csv has more fields than its header" in run(
        "assign", str(long_row), "-o", str(out), code=2
    )
    assert "cannot write out.txt" in run(
        "assign", str(gbk), "-o", str(tmp_path / "out.txt"), code=2
    )
    nowhere = tmp_path / "no" / "such" / "dir" / "out.csv"
    assert "cannot write" in run("assign", str(gbk), "-o", str(nowhere), code=2)
    help_text = run("assign", "--help")
    assert "--no-bom" in help_text and "default" in help_text


@pytest.mark.filterwarnings("ignore:.*non conformant file extension")
def test_export_format_follows_the_name(cli_db: Session, tmp_path: Path) -> None:
    import pyogrio

    shp = tmp_path / "网格.shp"
    assert "wrote 2 grids" in run("export", "grids", "-o", str(shp))
    info = pyogrio.read_info(shp)
    assert info["driver"] == "ESRI Shapefile" and info["features"] == 2
    assert info["encoding"] == "UTF-8"
    assert {p.suffix for p in tmp_path.iterdir()} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    names = pyogrio.read_dataframe(shp)["name"].tolist()
    assert all(isinstance(n, str) and n for n in names)
    gpkg = tmp_path / "grids.gpkg"
    run("export", "grids", "-o", str(gpkg))
    assert pyogrio.read_info(gpkg)["driver"] == "GPKG"
    # --format decides when the name does not say; they must agree when it does.
    plain = tmp_path / "grids.data"
    run("export", "grids", "-o", str(plain), "--format", "gpkg")
    assert pyogrio.read_info(plain)["driver"] == "GPKG"
    wrong = tmp_path / "wrong.shp"
    assert "--format geojson does not fit wrong.shp" in run(
        "export", "grids", "-o", str(wrong), "--format", "geojson", code=2
    )
    assert not wrong.exists()
    assert "cannot tell the format from 'grids.txt'" in run(
        "export", "grids", "-o", str(tmp_path / "grids.txt"), code=2
    )
    assert "unknown format 'kml'" in run(
        "export", "grids", "-o", str(tmp_path / "g.kml"), "--format", "kml", code=2
    )


def test_an_unknown_region_is_an_error(cli_db: Session, tmp_path: Path) -> None:
    out = tmp_path / "none.geojson"
    for args in (
        ("export", "grids", "-o", str(out), "--region", "999"),
        ("export", "grids", "-o", str(out), "--region", "110108999"),
        ("validate", "110108999"),
        ("circles", "rebuild", "--region", "110108999"),
        ("token", "create", "--role", "street", "--region", "110108999"),
        ("map", "110108999", "-o", str(tmp_path / "m.html")),
    ):
        result = run_result(*args, code=2)
        assert "110108999" in result.output or "999" in result.output, args
        assert "Traceback" not in result.output
    assert not out.exists()
    assert "no region 110108999" in run("validate", "110108999", code=2)
    # A known region with nothing in it is not an error.
    run("export", "grids", "-o", str(out), "--region", STREET)
    cli_db.rollback()
    assert cli_db.execute(text("SELECT count(*) FROM api_token")).scalar_one() == 0


def test_codes_are_never_cut_when_piped(cli_db: Session) -> None:
    run(
        "token",
        "create",
        "--role",
        "viewer",
        "--region",
        WEST_GRID,
        "--name",
        "只看西网格的一位很长名字的查看者",
    )
    run("department", "add", "cgzf", "--name", "城管执法队", "--region", STREET)
    listed = run("token", "list")
    assert "…" not in listed
    header, row = [line.split("\t") for line in listed.splitlines() if "\t" in line][:2]
    assert header == ["id", "name", "holder", "role", "acts in", "state"]
    assert row[1] == "只看西网格的一位很长名字的查看者" and row[4] == WEST_GRID
    assert f"cgzf\t城管执法队\tstreet\t{STREET}" in run("department", "list")
    checked = run("validate", STREET)
    assert f"{COMMUNITY} 测试社区\t2\t100.000%" in checked and "…" not in checked


@pytest.mark.parametrize("width", [100, 50])
def test_codes_are_never_cut_on_a_terminal(
    cli_db: Session, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    import io

    from rich.console import Console

    import gridmap.cli

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=width, color_system=None)
    monkeypatch.setattr(gridmap.cli, "console", terminal)
    run("validate", STREET)
    shown = screen.getvalue()
    assert "…" not in shown
    if width == 100:
        assert COMMUNITY in shown
    else:
        # Too narrow for the code and the other columns: it folds over lines, whole.
        column = "".join(line.split("│")[1].strip() for line in shown.splitlines() if "│" in line)
        assert COMMUNITY in column


def test_export_help_names_every_layer() -> None:
    result = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    listed = " ".join(result.output.split())
    assert all(layer in listed for layer in layers.LAYERS), listed
