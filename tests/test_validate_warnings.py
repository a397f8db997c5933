"""``gridmap validate`` prints the organisation's warnings after coverage, counted and in words;
its exit code stays about coverage only."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.test_cli import cli_db, run  # noqa: F401  (the fixture, and the runner)
from tests.utils.fixtures import COMMUNITY, EAST_GRID, STREET


def test_warnings_follow_coverage_and_leave_the_exit_code(cli_db: Session) -> None:  # noqa: F811
    out = run("validate", STREET)
    assert "exactly covered" in out
    coverage, _, warnings = out.partition("organisation warnings in")
    assert "100.000%" in coverage
    assert "grids without a leader (网格长)" in warnings
    assert "grids without a Party branch (网格党支部)" in warnings
    assert "basic grids with too few households" in warnings
    assert EAST_GRID in warnings
    # two grids without a branch, two small, one without leader or worker
    assert "6 organisation warnings" in out
    # Put right, the warnings go; coverage is unchanged.
    cli_db.execute(
        text(
            "INSERT INTO grid_staff (grid_code, role, person_id) "
            "SELECT :g, r, (SELECT min(id) FROM person) FROM unnest(ARRAY['leader', 'worker']) r"
        ),
        {"g": EAST_GRID},
    )
    cli_db.commit()
    out = run("validate", STREET)
    assert "grids without a leader" not in out and "4 organisation warnings" in out
    # Coverage broken: exit 1 as before, with the warnings still printed.
    cli_db.execute(
        text("UPDATE grid SET valid_to = clock_timestamp() WHERE code = :c"), {"c": EAST_GRID}
    )
    cli_db.commit()
    out = run("validate", COMMUNITY, code=1)
    assert "not exactly covered" in out
    assert "posts and designated households to reassign after a redraw" in out
