"""Walks for patrol tests: points [lon, lat, t] along straight lines at a walking pace."""

from __future__ import annotations

import math
import time
from uuid import uuid4

from sqlalchemy.orm import Session

from gridmap.auth import Holder, create_token

# Metres per degree of latitude, and of longitude at 40° N (the test grids' latitude).
M_PER_DEG_LAT = 111_000.0
M_PER_DEG_LON_40 = 111_320.0 * math.cos(math.radians(40.0))


def walk(
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    t0: float,
    step_s: float = 5.0,
    speed_mps: float = 1.2,
) -> list[list[float]]:
    """Points from ``start`` to ``end`` (lon, lat) every ``step_s`` seconds at ``speed_mps``,
    the first at ``t0``; the last one is ``end`` itself."""
    dx = (end[0] - start[0]) * M_PER_DEG_LON_40
    dy = (end[1] - start[1]) * M_PER_DEG_LAT
    metres = math.hypot(dx, dy)
    steps = max(1, math.ceil(metres / (speed_mps * step_s)))
    return [
        [
            start[0] + (end[0] - start[0]) * i / steps,
            start[1] + (end[1] - start[1]) * i / steps,
            t0 + i * step_s,
        ]
        for i in range(steps + 1)
    ]


def staff_token(db: Session, person: int) -> dict[str, str]:
    """Authorization headers of a fresh token of a grid staff member."""
    secret, _ = create_token(db, holder=Holder("staff", person=person))
    db.flush()
    return {"Authorization": f"Bearer {secret}"}


def an_hour_ago() -> float:
    """A start time for walks: an hour before now, whole seconds."""
    return float(int(time.time()) - 3600)


def new_key() -> str:
    """A fresh patrol key."""
    return str(uuid4())
