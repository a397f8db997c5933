"""``gridmap patrols streets``: the street pieces of patrol coverage, built from the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.utils.fixtures import WEST_GRID, two_grids
from typer.testing import CliRunner

from gridmap import migrate
from gridmap.cli import app
from gridmap.database import make_engine
from gridmap.settings import Settings, get_settings

NAME = "gridmap_test_patrols_cli"


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
        # 200 m of residential street in the west grid, 200 m of motorway across both.
        db.execute(
            text(
                "INSERT INTO road_edge (highway, source, target, length_m, geom) VALUES "
                "('residential', 1, 2, 200, "
                " ST_GeomFromText('LINESTRING(116.341 40.003, 116.341 40.0048)', 4326)), "
                "('motorway', 3, 4, 850, "
                " ST_GeomFromText('LINESTRING(116.341 40.009, 116.349 40.009)', 4326))"
            )
        )
    with Session(engine, autobegin=True) as db:
        yield db
    get_settings.cache_clear()
    engine.dispose()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_streets_are_built_once_and_again_when_forced(cli_db: Session) -> None:
    assert "2 grids: 1 built, 8 street pieces made" in run("patrols", "streets")
    rows = cli_db.execute(
        text("SELECT grid_code, count(*), sum(length_m) FROM street_piece GROUP BY 1")
    ).all()
    assert len(rows) == 1 and rows[0][0] == WEST_GRID and rows[0][1] == 8
    assert 199 < rows[0][2] < 201  # 0.0018° of latitude: 199.8 m, so 8 pieces of 24.97 m
    assert "2 grids: 0 built, 0 street pieces made" in run("patrols", "streets")
    out = run("patrols", "streets", "--grid", WEST_GRID, "--force")
    assert "1 grids: 1 built, 8 street pieces made" in out
    cli_db.rollback()
    assert cli_db.execute(text("SELECT count(*) FROM street_piece")).scalar_one() == 8
