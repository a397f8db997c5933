"""gridmap.services.patrols: who may patrol and read tracks, a patrol's pieces in order, the street
pieces of each grid and the patrol coverage (巡查覆盖率) of a day or a week.

A patrol is addressed by the key its phone chose, so a start, a piece or an end sent again after
a lost answer finds what the first one stored. Every write takes the patrol's row lock first:
writes to one patrol run one at a time, and a piece sent twice at once is stored once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import (
    Forbidden,
    GridNotFound,
    InvalidInput,
    PatrolEnded,
    PatrolEndsEarly,
    PatrolKeyTaken,
    PatrolNotFound,
    PatrolPieceDiffers,
    PatrolPieceOutOfOrder,
    RegionNotFound,
    TrackInFuture,
    TrackTooManyPoints,
    Unauthorized,
)
from gridmap.geo import track
from gridmap.queries import patrols as q
from gridmap.queries.incidents import clock
from gridmap.settings import ApiSettings
from gridmap.vocab.roles import OFFICES

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# ------------------------------------------------------------------------------ periods


def period(
    session: Session, *, day: str | None, week: str | None, timezone: str
) -> tuple[datetime, datetime, str]:
    """The instants [start, end) of a ``day`` (YYYY-MM-DD) or an ISO ``week`` (YYYY-Www,
    Monday to Sunday) in ``timezone``, and its name; today (by the database's clock) without
    either."""
    tz = ZoneInfo(timezone)
    if day is not None and week is not None:
        raise InvalidInput("give day= or week=, not both")
    if week is not None:
        m = _WEEK.match(week)
        try:
            if m is None:
                raise ValueError
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise InvalidInput(
                f"week={week!r} is not an ISO week; write e.g. 2026-W49", parameter="week"
            ) from None
        start = datetime.combine(monday, datetime.min.time(), tz)
        return start, datetime.combine(monday + timedelta(days=7), datetime.min.time(), tz), week
    if day is not None:
        try:
            first = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput(
                f"day={day!r} is not a date; write e.g. 2026-12-04", parameter="day"
            ) from None
    else:
        first = clock(session).astimezone(tz).date()
    start = datetime.combine(first, datetime.min.time(), tz)
    return (
        start,
        datetime.combine(first + timedelta(days=1), datetime.min.time(), tz),
        (first.isoformat()),
    )


# ------------------------------------------------------------------------------ writing


def _patroller(principal: Principal) -> int:
    """The person of a grid staff member's token: only they patrol (and upload their walks)."""
    if not principal.authenticated:
        raise Unauthorized("a patrol needs a bearer token (Authorization: Bearer …)")
    if principal.holder != "staff" or principal.person_id is None:
        raise Forbidden(
            "only a grid staff member's own token records patrols; this token is issued to "
            f"a {principal.holder} ({principal.role})",
            role=principal.role,
        )
    return principal.person_id


def _own(session: Session, principal: Principal, key: UUID) -> dict[str, Any]:
    """The patrol ``key`` of the caller, row-locked."""
    person = _patroller(principal)
    found = q.patrol(session, key=key, lock=True)
    if found is None:
        raise PatrolNotFound(f"no patrol {key}: start it first (PUT /api/v1/patrols/{key})")
    if found["person_id"] != person:
        raise Forbidden(f"patrol {key} is another person's", role=principal.role)
    return found


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """The patrol JSON of the API from a patrol row with its summary."""
    started: datetime = row["started_at"]
    until = row["ended_at"] or row.get("last_at") or started
    return {
        "key": str(row["key"]),
        "id": row["id"],
        "person_id": row["person_id"],
        "grid_codes": list(row["grid_codes"] or []),
        "started_at": started.isoformat(),
        "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None,
        "points": row["points"],
        "length_m": round(float(row["length_m"]), 1),
        "duration_s": round(max(0.0, (until - started).total_seconds())),
        "pieces": row.get("pieces", 0),
    }


def _current(session: Session, key: UUID) -> dict[str, Any]:
    found = q.patrol(session, key=key)
    assert found is not None
    return as_json(found)


def start(
    session: Session, *, principal: Principal, key: UUID, started_at: datetime
) -> tuple[dict[str, Any], bool]:
    """Start the patrol ``key`` (or find it started by the same person); the patrol and whether
    it is new."""
    person = _patroller(principal)
    now = clock(session)
    if started_at > now + timedelta(seconds=track.FUTURE_SLACK_S):
        raise TrackInFuture(
            f"started_at {started_at.isoformat()} is after this server's clock "
            f"({now.isoformat()}): is the phone's clock right?"
        )
    new = q.insert_patrol(
        session, key=key, person_id=person, started_at=started_at, created_by=principal.actor
    )
    found = q.patrol(session, key=key, lock=not new)
    assert found is not None
    if found["person_id"] != person:
        raise PatrolKeyTaken(
            f"patrol key {key} is taken by another person's patrol; choose a new key", key=str(key)
        )
    return as_json(found), new


def add_piece(
    session: Session,
    *,
    principal: Principal,
    key: UUID,
    seq: int,
    points: object,
    settings: ApiSettings,
) -> tuple[dict[str, Any], bool]:
    """Store piece ``seq`` of the caller's patrol ``key``; the patrol and whether the piece is
    new (False: the same piece was stored before). Nothing is written when it is refused."""
    # The count first: a huge piece is refused before anything else is read or locked.
    coords = track.parse_points(points, max_points=settings.patrol_piece_points)
    found = _own(session, principal, key)
    digest = track.digest(coords)
    stored = q.piece_digest(session, patrol_id=found["id"], seq=seq)
    if stored is not None:
        if stored != digest:
            raise PatrolPieceDiffers(
                f"piece {seq} of patrol {key} is stored with other points", seq=seq
            )
        return as_json(found), False
    if found["ended_at"] is not None:
        raise PatrolEnded(
            f"patrol {key} ended at {found['ended_at'].isoformat()}; start a new one", key=str(key)
        )
    last = q.last_piece(session, patrol_id=found["id"])
    expected = 0 if last is None else last[0] + 1
    if seq != expected:
        raise PatrolPieceOutOfOrder(
            f"patrol {key} expects piece {expected} next, not {seq}", expected=expected, seq=seq
        )
    total = found["points"] + len(coords)
    if total > settings.patrol_points:
        raise TrackTooManyPoints(
            f"with this piece patrol {key} would have {total} points; a patrol may have at most "
            f"{settings.patrol_points}: start a new one",
            index=settings.patrol_points - found["points"],
            points=total,
            limit=settings.patrol_points,
        )
    previous = None if last is None else last[1]
    track.check_piece(
        coords,
        previous=previous,
        not_before=found["started_at"].timestamp(),
        now=clock(session).timestamp(),
        max_speed_kmh=settings.patrol_max_speed_kmh,
    )
    ewkt = track.linestring_m_wkt(coords, previous)
    length = track.length_m(coords, previous)
    tz = found["started_at"].tzinfo
    q.insert_piece(
        session,
        patrol_id=found["id"],
        seq=seq,
        points=len(coords),
        first_at=datetime.fromtimestamp(float(coords[0, 2]), tz),
        last_at=datetime.fromtimestamp(float(coords[-1, 2]), tz),
        length_m=length,
        digest=digest,
        ewkt=ewkt,
    )
    crossed = q.grids_crossed(session, ewkt=ewkt, codes=sorted(principal.grids or ()))
    q.add_to_patrol(
        session, patrol_id=found["id"], points=len(coords), length_m=length, grid_codes=crossed
    )
    return _current(session, key), True


def end(session: Session, *, principal: Principal, key: UUID, ended_at: datetime) -> dict[str, Any]:
    """End the caller's patrol ``key`` at ``ended_at`` (an end sent again answers the same)."""
    found = _own(session, principal, key)
    if found["ended_at"] is not None:
        return as_json(found)
    floor = found["last_at"] or found["started_at"]
    if ended_at < floor:
        raise PatrolEndsEarly(
            f"ended_at {ended_at.isoformat()} is before the patrol's "
            f"{'last point' if found['last_at'] else 'start'} ({floor.isoformat()})"
        )
    if ended_at > clock(session) + timedelta(seconds=track.FUTURE_SLACK_S):
        raise TrackInFuture(f"ended_at {ended_at.isoformat()} is after this server's clock")
    q.end_patrol(session, patrol_id=found["id"], ended_at=ended_at)
    return _current(session, key)


# ------------------------------------------------------------------------------ reading tracks


def _may_read_grid(principal: Principal, grid: str) -> bool:
    """The grid's own team and the offices of its region read its tracks."""
    return principal.sees_personal_data(grid)


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    geometry = json.loads(row["geometry"]) if row["geometry"] else None
    return {
        "type": "Feature",
        "id": str(row["key"]),
        "geometry": geometry,
        "properties": as_json(row),
    }


def tracks(
    session: Session,
    *,
    principal: Principal,
    grid: str | None,
    region: str | None,
    person: int | None,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The tracks of patrols started in [start, end) as a FeatureCollection: a person's own,
    a grid's (its team and the offices of its region), a region's (its offices)."""
    if not principal.authenticated:
        raise Unauthorized("tracks say where a person walked: they need a bearer token")
    if grid is not None and region is not None:
        raise InvalidInput("give grid= or region=, not both")
    own = person is not None and person == principal.person_id
    if grid is not None:
        if not (own or _may_read_grid(principal, grid)):
            raise Forbidden(f"the tracks of grid {grid} are for its team and its offices")
    elif region is not None:
        if not (own or (principal.role in OFFICES and principal.covers(region))):
            raise Forbidden(f"the tracks of region {region} are for its offices")
    elif principal.role == "admin":
        pass
    elif principal.role in OFFICES and principal.grids is None:
        region = principal.region
    elif principal.person_id is not None:
        if person is not None and not own:
            raise Forbidden("a person's tracks are theirs, their grid team's and its offices'")
        person = principal.person_id
    else:
        raise Forbidden("tracks are for grid teams, their offices and the walker")
    rows = q.tracks(session, start=start, end=end, person_id=person, grid=grid, region=region)
    return {"type": "FeatureCollection", "features": [_feature(r) for r in rows]}


def track_of(session: Session, *, principal: Principal, key: UUID) -> dict[str, Any]:
    """One patrol's track as a Feature, for its walker, its grids' teams and offices."""
    if not principal.authenticated:
        raise Unauthorized("tracks say where a person walked: they need a bearer token")
    rows = q.tracks(session, key=key)
    if not rows:
        raise PatrolNotFound(f"no patrol {key}")
    row = rows[0]
    if row["person_id"] != principal.person_id and not any(
        _may_read_grid(principal, g) for g in row["grid_codes"] or ()
    ):
        raise Forbidden(f"patrol {key} is for its walker, its grids' teams and their offices")
    return _feature(row)


# ------------------------------------------------------------------------------ streets


def refresh_streets(
    session: Session,
    grid_codes: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Build the street pieces of the current grids ``grid_codes`` (all without) whose pieces
    are missing or belong to an older version (every one with ``force``); counts of grids
    looked at, grids built and pieces made."""
    grids = q.current_grids(session, codes=grid_codes)
    return _refresh(session, grids, force=force, progress=progress)


def _refresh(
    session: Session,
    grids: list[dict[str, Any]],
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    q.without_jit(session)
    ids = [g["id"] for g in grids]
    stale = [(g["id"], g["code"]) for g in grids] if force else q.stale_grids(session, grid_ids=ids)
    pieces = 0
    for done, (grid_id, code) in enumerate(stale, 1):
        q.lock_grid_streets(session, grid_code=code)
        # Another transaction may have built them while this one waited for the lock.
        if force or q.stale_grids(session, grid_ids=[grid_id]):
            pieces += q.rebuild_streets(session, grid_id=grid_id, grid_code=code)
        if progress is not None:
            progress(done, len(stale))
    return {"grids": len(grids), "built": len(stale), "pieces": pieces}


# ------------------------------------------------------------------------------ coverage


def _share(street_m: float, walked_m: float) -> float | None:
    return round(walked_m / street_m, 4) if street_m > 0 else None


def coverage(
    session: Session,
    *,
    grid_codes: Sequence[str] | None,
    region: str | None,
    start: datetime,
    end: datetime,
    cover_m: float,
) -> list[dict[str, Any]]:
    """Patrol coverage of [start, end) per current grid of ``grid_codes`` or of ``region``:
    ``{"grid", "name", "street_m", "walked_m", "share", "patrols"}``, ``share`` the walked part
    of the grid's street length (None when it has no street). Street pieces are built first
    where missing or out of date."""
    grids = q.current_grids(session, codes=grid_codes, region=region)
    if not grids:
        return []
    _refresh(session, grids)
    rows = q.coverage(
        session, grid_ids=[g["id"] for g in grids], start=start, end=end, cover_m=cover_m
    )
    return [
        {
            "grid": r["code"],
            "name": r["name"],
            "street_m": round(float(r["street_m"]), 1),
            "walked_m": round(float(r["walked_m"]), 1),
            "share": _share(float(r["street_m"]), float(r["walked_m"])),
            "patrols": int(r["patrols"]),
        }
        for r in rows
    ]


def region_coverage(
    session: Session,
    *,
    region: str | None,
    grid: str | None,
    start: datetime,
    end: datetime,
    label: str,
    cover_m: float,
) -> dict[str, Any]:
    """The answer of ``GET /patrol-coverage``: every current grid of a region (or one grid)."""
    if (region is None) == (grid is None):
        raise InvalidInput("give region= or grid=")
    rows = coverage(
        session,
        grid_codes=[grid] if grid else None,
        region=region,
        start=start,
        end=end,
        cover_m=cover_m,
    )
    if not rows:
        if grid is not None:
            raise GridNotFound(f"no current grid {grid}")
        raise RegionNotFound(f"no current grid in region {region}")
    return _frame(start, end, label, cover_m) | {"grids": rows}


def _frame(start: datetime, end: datetime, label: str, cover_m: float) -> dict[str, Any]:
    return {"period": label, "from": start.isoformat(), "to": end.isoformat(), "cover_m": cover_m}


def grid_coverage(
    session: Session, *, grid: str, start: datetime, end: datetime, label: str, cover_m: float
) -> dict[str, Any]:
    """One grid's coverage with its walked and unwalked street pieces as FeatureCollections."""
    grids = q.current_grids(session, codes=[grid])
    if not grids:
        raise GridNotFound(f"no current grid {grid}")
    rows = coverage(session, grid_codes=[grid], region=None, start=start, end=end, cover_m=cover_m)
    found = rows[0]
    grid_id = grids[0]["id"]
    pieces = {
        name: q.street_pieces(
            session, grid_id=grid_id, start=start, end=end, cover_m=cover_m, walked=walked
        )
        for name, walked in (("walked", True), ("unwalked", False))
    }
    return _frame(start, end, label, cover_m) | found | pieces


def worker_figures(
    session: Session,
    *,
    person_ids: Sequence[int] | None = None,
    region: str | None = None,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Per person (of ``person_ids``, or serving grids of ``region``): patrols started in
    [start, end), metres walked and seconds patrolled."""
    return [
        {
            "person_id": r["person_id"],
            "patrols": int(r["patrols"]),
            "length_m": round(float(r["length_m"]), 1),
            "duration_s": round(float(r["duration_s"])),
        }
        for r in q.figures(session, start=start, end=end, person_ids=person_ids, region=region)
    ]


def my_day(
    session: Session,
    *,
    principal: Principal,
    day: str | None,
    settings: ApiSettings,
) -> dict[str, Any]:
    """The phone's home figures: the caller's patrols of the day, its open patrol, and the
    coverage of the caller's grids that day."""
    person = _patroller(principal)
    start_at, end_at, label = period(session, day=day, week=None, timezone=settings.timezone)
    mine = worker_figures(session, person_ids=[person], start=start_at, end=end_at)
    figures = mine[0] if mine else {"patrols": 0, "length_m": 0.0, "duration_s": 0}
    open_key = q.open_patrol(session, person_id=person)
    grids = (
        coverage(
            session,
            grid_codes=sorted(principal.grids),
            region=None,
            start=start_at,
            end=end_at,
            cover_m=settings.patrol_cover_m,
        )
        if principal.grids
        else []
    )
    return {
        "day": label,
        "patrols": figures["patrols"],
        "length_m": figures["length_m"],
        "duration_s": figures["duration_s"],
        "open": str(open_key) if open_key else None,
        "grids": [{"grid": g["grid"], "share": g["share"]} for g in grids],
    }
