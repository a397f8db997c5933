"""gridmap.services.departments: adding the departments that answer whistles and hold tokens."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from gridmap.errors import Conflict, InvalidInput
from gridmap.queries import departments as q
from gridmap.vocab.codes import DEPARTMENT
from gridmap.vocab.kinds import DEPARTMENT_LEVELS


def add_department(session: Session, *, code: str, name: str, region: str) -> str:
    """Add a department of the district or street ``region``; returns its level."""
    if not re.fullmatch(DEPARTMENT, code):
        raise InvalidInput(f"a department code is 2–32 letters, digits, - or _; got {code!r}")
    if not name.strip():
        raise InvalidInput("a department needs a name")
    level = q.region_level(session, region)
    if level is None:
        raise InvalidInput(f"no region {region!r}")
    if level not in DEPARTMENT_LEVELS:
        raise InvalidInput(f"a department belongs to a district or a street; {region} is a {level}")
    if not q.add(session, code=code, name=name.strip(), level=level, region=region):
        raise Conflict(f"department {code} exists already")
    return level
