"""The demo's Party organisation as loaded: its figures, reloads that write it back, files refused
by the line that is wrong, and the tokens the demo prints."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridmap.auth import authenticate
from gridmap.errors import DataSetError
from gridmap.loader import load_dataset
from gridmap.settings import Settings, project_root

DEMO = project_root() / "data" / "boundaries"
ORG_TABLES = (
    "party_org",
    "party_org_grid",
    "party_org_building",
    "resident_unit",
    "party_member",
    "party_post",
    "person",
    "household",
    "list_item",
)


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT ctid::text, xmin::text FROM {t} ORDER BY 1")).all()
            for t in ORG_TABLES
        }


def _one(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_the_organisation_of_the_demo(demo_engine: Engine) -> None:
    one = lambda sql: _one(demo_engine, sql)  # noqa: E731
    assert one("SELECT count(*) FROM party_org WHERE kind = 'branch'") >= 46
    # every gridded community has its big committee
    assert one("SELECT count(DISTINCT community_code) FROM grid WHERE valid_to IS NULL") == one(
        "SELECT count(*) FROM party_org WHERE kind = 'committee'"
    )
    # 学院路: a branch for every one of its grids (at least 46)
    assert (
        one(
            "SELECT count(*) FROM party_org WHERE kind = 'branch' "
            "AND community_code LIKE '110108010%'"
        )
        >= 46
    )
    assert one("SELECT count(*) FROM grid WHERE valid_to IS NULL AND code LIKE '110108010%'") >= 46
    assert (
        one(
            "SELECT count(*) FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE '110108010%' "
            "AND NOT EXISTS (SELECT 1 FROM party_org_grid og WHERE og.grid_code = g.code)"
        )
        == 0
    )
    # two grids of 北太平庄街道 have none (shown red), both without households
    with demo_engine.connect() as conn:
        bare = conn.execute(
            text(
                "SELECT g.code, coalesce(g.households, 0) FROM grid g WHERE g.valid_to IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM party_org_grid og WHERE og.grid_code = g.code) "
                "ORDER BY g.code"
            )
        ).all()
    assert [(code[:9], n) for code, n in bare] == [("110108008", 0), ("110108008", 0)], bare
    # a branch's grid lies in its community, a group's buildings in its branch's grid
    assert (
        one(
            "SELECT count(*) FROM party_org o JOIN party_org_grid og ON og.org_id = o.id "
            "JOIN grid g ON g.code = og.grid_code AND g.valid_to IS NULL "
            "WHERE g.community_code <> o.community_code"
        )
        == 0
    )
    assert (
        one(
            "SELECT count(*) FROM party_org o JOIN party_org_building ob ON ob.org_id = o.id "
            "JOIN building b ON b.id = ob.building_id "
            "JOIN party_org_grid og ON og.org_id = o.parent_id "
            "WHERE b.grid_code <> og.grid_code"
        )
        == 0
    )
    lived, grouped = (
        one("SELECT count(DISTINCT building_id) FROM household"),
        one(
            "SELECT count(DISTINCT h.building_id) FROM household h "
            "JOIN party_org_building ob ON ob.building_id = h.building_id"
        ),
    )
    assert grouped >= lived / 2, (grouped, lived)
    # some groups are yards of 2-4 buildings
    assert (
        one(
            "SELECT count(*) FROM (SELECT org_id FROM party_org_building GROUP BY org_id "
            "HAVING count(*) BETWEEN 2 AND 4) y"
        )
        >= 5
    )
    # every designated household is in a group that holds its building
    assert one("SELECT count(*) FROM household WHERE designated") > 300
    assert (
        one(
            "SELECT count(*) FROM household h WHERE h.designated AND NOT EXISTS ("
            "SELECT 1 FROM party_org_building ob JOIN party_org o ON o.id = ob.org_id "
            "WHERE o.id = h.group_id AND o.kind = 'group' AND ob.building_id = h.building_id)"
        )
        == 0
    )
    with demo_engine.connect() as conn:
        serves = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT count(s.id) FROM household d LEFT JOIN household s "
                    "ON s.served_by = d.id WHERE d.designated GROUP BY d.id"
                )
            )
        ]
    inside = sum(10 <= n <= 20 for n in serves)
    assert inside >= 0.9 * len(serves) and 0 < len(serves) - inside < 0.1 * len(serves)
    # a designated household is served by nobody, and serves only its own group's buildings
    assert (
        one(
            "SELECT count(*) FROM household s JOIN household d ON d.id = s.served_by "
            "WHERE NOT EXISTS (SELECT 1 FROM party_org_building ob "
            "WHERE ob.org_id = d.group_id AND ob.building_id = s.building_id)"
        )
        == 0
    )


def test_members_units_posts_and_the_lists(demo_engine: Engine) -> None:
    one = lambda sql: _one(demo_engine, sql)  # noqa: E731
    # every member belongs to an organisation or is registered with a community
    assert one("SELECT count(*) FROM party_member") > 1000
    assert (
        one(
            "SELECT count(*) FROM party_member m LEFT JOIN party_org o ON o.id = m.org_id "
            "WHERE o.id IS NULL AND m.registered_community IS NULL"
        )
        == 0
    )
    # designated households have 1-3 members living there, the first their contact
    assert (
        one(
            "SELECT count(*) FROM household h WHERE h.designated AND h.party_members <> "
            "(SELECT count(*) FROM party_member m WHERE m.household_id = h.id)"
        )
        == 0
    )
    assert one("SELECT count(*) FROM party_org WHERE secretary_id IS NULL") == 0
    # in-service members of the resident units, registered with the unit's community (双报到)
    assert (
        one(
            "SELECT count(*) FROM party_member m JOIN resident_unit u "
            "ON u.id = m.employer_unit_id WHERE m.in_service AND m.registered_at < now() "
            "AND m.registered_community = u.community_code AND m.hours_served > 0"
        )
        >= 50
    )
    # resident units: real OSM names, members of their own community's committee
    assert one("SELECT count(*) FROM resident_unit WHERE name = '中国农业大学'") == 1
    assert (
        one(
            "SELECT count(*) FROM resident_unit u JOIN party_org o ON o.id = u.committee_id "
            "WHERE o.community_code <> u.community_code OR o.kind <> 'committee'"
        )
        == 0
    )
    assert one("SELECT count(*) FROM resident_unit WHERE committee_id IS NULL") > 0
    # posts, some claimed with their hours
    assert one("SELECT count(DISTINCT title) FROM party_post") >= 5
    assert one("SELECT count(*) FROM party_post WHERE member_id IS NOT NULL AND hours > 0") > 20
    # the lists' flow: every state, a wish, projects with their sheets, members' hours
    with demo_engine.connect() as conn:
        states = dict(
            conn.execute(text("SELECT status, count(*) FROM list_item GROUP BY status")).all()
        )
    assert {"open", "assigned", "in_progress", "done", "closed"} <= set(states)
    assert one("SELECT count(*) FROM list_item WHERE wish AND list = 'need'") >= 30
    assert (
        one(
            "SELECT count(*) FROM list_item WHERE list = 'project' AND (service_content IS NULL "
            "OR service_standard IS NULL OR due_date IS NULL OR responsible_unit IS NULL "
            "OR responsible_person IS NULL)"
        )
        == 0
    )
    assert (
        one(
            "SELECT count(*) FROM list_item WHERE status IN ('in_progress', 'done', 'closed') "
            "AND list <> 'resource' AND (member_id IS NULL OR taken_at IS NULL)"
        )
        == 0
    )
    assert (
        one(
            "SELECT count(*) FROM list_item WHERE status IN ('done', 'closed') "
            "AND list <> 'resource' AND (report IS NULL OR hours IS NULL "
            "OR NOT created_at <= coalesce(assigned_at, taken_at) AND taken_at <= done_at)"
        )
        == 0
    )
    assert one("SELECT count(*) FROM list_item WHERE assignee_kind = 'unit'") > 0
    assert one("SELECT count(*) FROM list_item WHERE source = 'public'") > 0
    # an item's branch is its grid's; times lie in the past
    assert (
        one(
            "SELECT count(*) FROM list_item i JOIN party_org_grid og ON og.grid_code = i.grid_code "
            "WHERE i.org_id IS DISTINCT FROM og.org_id"
        )
        == 0
    )
    assert one("SELECT count(*) FROM list_item WHERE greatest(created_at, done_at) > now()") == 0
    assert (
        one(
            "SELECT count(*) FROM party_member m WHERE m.hours_served < coalesce((SELECT "
            "sum(i.hours) FROM list_item i WHERE i.member_id = m.id), 0)"
        )
        == 0
    )


def test_a_second_load_changes_nothing_and_a_reload_writes_the_organisation_back(
    demo_engine: Engine,
) -> None:
    before = _snapshot(demo_engine)
    report = load_dataset(demo_engine, DEMO, commit=True)
    assert report.changed == 0, {k: vars(v) for k, v in report.tables.items() if v.changed}
    assert _snapshot(demo_engine) == before
    with demo_engine.begin() as conn:
        branch, grid = conn.execute(
            text(
                "SELECT o.code, og.grid_code FROM party_org o JOIN party_org_grid og "
                "ON og.org_id = o.id ORDER BY o.code LIMIT 1"
            )
        ).one()
        conn.execute(
            text("UPDATE party_org SET name = '改过的支部' WHERE code = :c"), {"c": branch}
        )
        conn.execute(text("DELETE FROM party_org_grid WHERE grid_code = :g"), {"g": grid})
        conn.execute(text("UPDATE household SET group_id = NULL WHERE designated"))
    report = load_dataset(demo_engine, DEMO, commit=True)
    assert report.tables["party_org"].updated == 1
    assert report.tables["party_org_grid"].inserted == 1
    assert report.tables["household"].updated > 300
    with demo_engine.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM party_org WHERE code = :c"), {"c": branch}
        ).scalar_one()
        assert name != "改过的支部"
        assert (
            conn.execute(
                text("SELECT count(*) FROM household WHERE designated AND group_id IS NULL")
            ).scalar_one()
            == 0
        )


def _edit_csv(name: str, change: Callable[[list[dict[str, str]]], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            fields, rows = list(reader.fieldnames or []), list(reader)
        change(rows)
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    return edit


def _row(rows: list[dict[str, str]], **match: str) -> int:
    return next(i for i, r in enumerate(rows) if all(r[k] == v for k, v in match.items()))


def _set(rows: list[dict[str, str]], match: dict[str, str], **values: str) -> None:
    rows[_row(rows, **match)].update(values)


def _swap_grids(rows: list[dict[str, str]]) -> None:
    """The first branch of the file takes a grid of 六道口社区, whose branch takes its grid."""
    first, other = _row(rows, kind="branch"), _row(rows, grid_codes="110108010002001")
    rows[first]["grid_codes"], rows[other]["grid_codes"] = (
        rows[other]["grid_codes"],
        rows[first]["grid_codes"],
    )


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "unknown_parent": (
        _edit_csv(
            "party_orgs.csv", lambda rows: _set(rows, {"kind": "branch"}, parent_code="PC-NONE")
        ),
        r"party_orgs\.csv line \d+: unknown parent organisation PC-NONE",
    ),
    "grid_of_another_community": (
        _edit_csv("party_orgs.csv", lambda rows: _swap_grids(rows)),
        r"party_orgs\.csv line \d+: grid 110108010002001 lies in 110108010002, another",
    ),
    "two_branches_for_a_grid": (
        _edit_csv(
            "party_orgs.csv",
            lambda rows: _set(
                rows,
                {"kind": "branch", "grid_codes": "110108010002002"},
                grid_codes="110108010002001",
            ),
        ),
        r"party_orgs\.csv line \d+: grid 110108010002001 already has a branch, line \d+",
    ),
    "group_under_committee": (
        _edit_csv(
            "party_orgs.csv",
            lambda rows: _set(
                rows,
                {"kind": "group"},
                parent_code=rows[_row(rows, kind="committee")]["code"],
            ),
        ),
        r"party_orgs\.csv line \d+: the parent of a group is a branch, PC-\d+ is a committee",
    ),
    "unknown_kind": (
        _edit_csv("party_orgs.csv", lambda rows: _set(rows, {"kind": "group"}, kind="cell")),
        r"party_orgs\.csv line \d+: kind 'cell' is not one of",
    ),
    "member_of_unknown_org": (
        _edit_csv(
            "party_members.csv",
            lambda rows: rows[4].update(org_code="PB-999"),
        ),
        r"party_members\.csv line 6: unknown organisation PB-999",
    ),
    "member_hours_nan": (
        _edit_csv("party_members.csv", lambda rows: rows[0].update(hours="nan")),
        r"party_members\.csv line 2: hours 'nan' is not between 0 and 100000",
    ),
    "household_outside_its_group": (
        _edit_csv(
            "households.csv",
            lambda rows: _set(rows, {"designated": "True"}, group_code="PG-110108010002001-99"),
        ),
        r"households\.csv line \d+: group PG-110108010002001-99 is no group of building",
    ),
    "post_of_unknown_member": (
        _edit_csv(
            "party_posts.csv",
            lambda rows: rows[0].update(member_key="PM-99999", claimed_days_ago="3"),
        ),
        r"party_posts\.csv line 2: unknown member PM-99999",
    ),
}


def _unit_of_unknown_committee(folder: Path) -> None:
    doc = json.loads((folder / "resident_units.geojson").read_text("utf-8"))
    doc["features"][3]["properties"]["committee_code"] = "PC-000000000000"
    (folder / "resident_units.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


def _item_of_unknown_member(folder: Path) -> None:
    doc = json.loads((folder / "list_items.geojson").read_text("utf-8"))
    doc["features"][7]["properties"]["member_key"] = "PM-XXXX'; DROP TABLE person; --"
    (folder / "list_items.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


BAD["unit_of_unknown_committee"] = (
    _unit_of_unknown_committee,
    r"resident_units\.geojson feature 3: unknown committee PC-000000000000",
)
BAD["item_of_unknown_member"] = (
    _item_of_unknown_member,
    r"list_items\.geojson feature 7: unknown member PM-XXXX'; DROP TABLE person; --",
)


@pytest.mark.parametrize("breakage", sorted(BAD))
def test_a_bad_organisation_file_is_refused_by_its_line_and_writes_nothing(
    demo_engine: Engine, tmp_path: Path, breakage: str
) -> None:
    folder = tmp_path / breakage
    shutil.copytree(DEMO, folder)
    edit, message = BAD[breakage]
    edit(folder)
    before = _snapshot(demo_engine)
    with pytest.raises(DataSetError, match=message):
        load_dataset(demo_engine, folder, commit=True)
    assert _snapshot(demo_engine) == before


def test_the_demo_prints_a_branch_and_a_member_token(demo_engine: Engine) -> None:
    from gridmap.cli import DEMO_ORG_COMMUNITY, _demo_org_tokens

    settings = Settings()
    settings.db.url = demo_engine.url.render_as_string(hide_password=False)
    first = _demo_org_tokens(settings)
    second = _demo_org_tokens(settings)
    assert [w.split(" ")[1] for w, _ in second] == ["branch", "member"]
    with Session(demo_engine) as session:
        branch = authenticate(session, second[0][1])
        member = authenticate(session, second[1][1])
        assert branch.role == "branch" and branch.org_id is not None
        assert branch.grids and all(g.startswith(DEMO_ORG_COMMUNITY) for g in branch.grids)
        assert member.member_id is not None
        org = session.execute(
            text("SELECT org_id FROM party_member WHERE id = :m"), {"m": member.member_id}
        ).scalar_one()
        assert org == branch.org_id
        # the previous demo's tokens are revoked
        for _what, secret in first:
            with pytest.raises(Exception, match="revoked|unknown|invalid|token"):
                authenticate(session, secret)
