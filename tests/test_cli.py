"""The gridmap command: tokens, validate, export and import, against a database of their own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET, two_grids
from typer.testing import CliRunner

from gridmap import migrate
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
        "token", "create", "--role", "admin", "--region", STREET, code=1
    )
    assert "12 digits" in run("token", "create", "--role", "community", "--region", STREET, code=1)
    assert "no live token" in run("token", "revoke", "99999", code=1)


def test_validate(cli_db: Session) -> None:
    out = run("validate", STREET)
    assert "100.000%" in out and "exactly covered" in out
    cli_db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": EAST_GRID}
    )
    cli_db.commit()
    out = run("validate", COMMUNITY, code=1)
    assert "50.0" in out and "not exactly covered" in out
    assert "no gridded community" in run("validate", "110108020", code=1)


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
        counts = dict(re.findall(r"(created|updated|unchanged|rejected)\s*│\s*(\d+)", out))
        assert counts == {"created": "0", "updated": "0", "unchanged": "2", "rejected": "0"}, out
        versions = cli_db.execute(text("SELECT count(*) FROM grid")).scalar_one()
        cli_db.rollback()
        assert versions == 2, out
    assert "only grids" in run(
        "import", str(tmp_path / "grids.gpkg"), "--layer", "buildings", code=1
    )
