"""gridmap.auth: bearer tokens, whom each is issued to, where it acts and what it may do.

A token is a random secret shown once when it is made; the database keeps only its SHA-256, so a
copy of the database does not hand out working tokens. A token is issued to someone, and its role
and scope follow from that:

- an office (an administrator, a district, street or community office, or a grid post): a role
  and a region code; it acts in that region and everything whose code starts with it (a street
  token covers the street's communities and their grids);
- a grid staff member (a person in ``grid_staff``): a worker in every grid that person serves,
  read afresh at each request, so a new post or a post given up counts at once;
- a Party member (a person): a viewer, named in the audit log;
- a department: a viewer, acting on what is whistled to it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Interval, Table, case, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.models import ApiToken, Department, GridStaff, Person
from gridmap.vocab.codes import GRID_DIGITS, REGION_DIGITS
from gridmap.vocab.roles import (
    ACTING_POSTS,
    GRID_EDITORS,
    HOLDER_KINDS,
    HOLDER_ROLES,
    PERSONAL_DATA_ROLES,
    TOKEN_ROLES,
)

TOKEN_PREFIX = "gm_"
# The lengths of region code each role's token may act in.
_REGION_DIGITS = {
    **{role: (digits,) for role, digits in REGION_DIGITS.items()},
    "worker": GRID_DIGITS,
}


def hash_token(secret: str) -> str:
    """The SHA-256 hex digest under which a token's secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's role and region, or an anonymous viewer."""

    role: str
    region: str | None
    name: str
    token_id: int | None = None
    # True for a token holder, and for the operator at the command line.
    authenticated: bool = False
    # Whom the token is issued to: an office, a grid staff member, a Party member, a department.
    holder: str = "office"
    person_id: int | None = None
    department: str | None = None
    # The grids a staff member serves (for the other holders, None: the region decides).
    grids: frozenset[str] | None = None

    @property
    def acts_in(self) -> str:
        """Where this caller acts, in words: ``everywhere`` (admin), an office's region code,
        the grids a staff member serves, or a department."""
        if self.role == "admin":
            return "everywhere"
        if self.grids is not None:
            return f"grids {','.join(sorted(self.grids))}" if self.grids else "no grid"
        if self.department is not None:
            return f"department {self.department}"
        return self.region or "no region"

    @property
    def area(self) -> str:
        """:attr:`acts_in` as the end of "outside this token's …": ``region 110108010``."""
        return f"region {self.acts_in}" if self.region else self.acts_in

    @property
    def actor(self) -> str:
        """How this caller is named in the audit log and in grid history."""
        if self.token_id is None:
            return self.name
        where = "" if self.role == "admin" else f" {self.acts_in}"
        return f"{self.name} (token {self.token_id}, {self.role}{where})"

    def covers(self, code: str) -> bool:
        """Whether ``code`` (a region or grid code) lies in this caller's region, or for a grid
        staff member, is one of the grids they serve."""
        if self.role == "admin":
            return True
        if self.grids is not None:
            return code in self.grids
        return self.region is not None and code.startswith(self.region)

    def sees_personal_data(self, code: str) -> bool:
        """Whether names and phone numbers attached to ``code`` are shown to this caller."""
        return self.role in PERSONAL_DATA_ROLES and self.covers(code)

    def require_grid_editor(self, community_code: str) -> None:
        """Raise unless this caller may change the grids of ``community_code``."""
        if not self.authenticated:
            raise Unauthorized("editing grids needs a bearer token (Authorization: Bearer …)")
        if self.role not in GRID_EDITORS:
            raise Forbidden(
                f"a {self.role} token may not edit grids; grid editors are "
                f"{', '.join(GRID_EDITORS)}",
                role=self.role,
            )
        if not self.covers(community_code):
            raise Forbidden(
                f"this token acts in {self.area}; community {community_code} is outside it",
                role=self.role,
                region=self.region,
            )

    def require(self, what: str, *, roles: tuple[str, ...], place: str | None) -> None:
        """Raise unless this caller's role is one of ``roles`` and its region covers ``place``
        (a code; ``None``, a place in no region, is for admin tokens only)."""
        if not self.authenticated:
            raise Unauthorized(f"{what} needs a bearer token (Authorization: Bearer …)")
        if self.role not in roles:
            raise Forbidden(f"a {self.role} token may not {what}", role=self.role)
        if self.role != "admin" and (place is None or not self.covers(place)):
            raise Forbidden(
                f"{place or 'a place in no region'} lies outside this token's {self.area}: "
                f"it may not {what} there",
                role=self.role,
                region=self.region,
            )


ANONYMOUS = Principal(role="viewer", region=None, name="anonymous")


def check_role_region(role: str, region: str | None) -> None:
    """Raise :class:`InvalidInput` unless ``region`` suits ``role``."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(TOKEN_ROLES)}")
    if role == "admin":
        if region:
            raise InvalidInput("an admin token acts everywhere: give no region")
        return
    if not region or not region.isdigit():
        raise InvalidInput(f"a {role} token needs a region code (digits)")
    # A viewer may be bound to any region or grid.
    allowed = _REGION_DIGITS.get(role, (*REGION_DIGITS.values(), *GRID_DIGITS))
    if len(region) not in allowed:
        raise InvalidInput(
            f"a {role} token's region is a code of {' or '.join(map(str, allowed))} digits; "
            f"got {region!r}"
        )


@dataclass(frozen=True)
class Holder:
    """Whom a token is issued to: an office (``role`` and ``region``), or a person serving grids
    (``staff``), a Party member (``party_member``) or a department, each by id or code."""

    kind: str = "office"
    role: str | None = None
    region: str | None = None
    person: int | None = None
    department: str | None = None


_tok = cast(Table, ApiToken.__table__)
_person = cast(Table, Person.__table__)
_staff = cast(Table, GridStaff.__table__)
_department = cast(Table, Department.__table__)


def _holder_row(session: Session, holder: Holder) -> dict[str, Any]:
    """The token columns of ``holder`` and the name it is known by, once it exists."""
    if holder.kind == "office":
        if holder.role is None:
            raise InvalidInput("an office token needs a role")
        check_role_region(holder.role, holder.region)
        return {
            "role": holder.role,
            "region_code": holder.region or None,
            "person_id": None,
            "department_code": None,
            "name": f"{holder.role} {holder.region or ''}".strip(),
        }
    if holder.kind in ("staff", "party_member"):
        name = session.execute(
            select(_person.c.name).where(_person.c.id == holder.person)
        ).scalar_one_or_none()
        if name is None:
            raise InvalidInput(f"no person {holder.person}")
        if holder.kind == "staff" and not _acting_grids(session, holder.person):
            raise InvalidInput(
                f"{name} (person {holder.person}) is no grid's leader or worker: "
                "a staff token acts in the grids its holder leads or works in"
            )
        role = HOLDER_ROLES[holder.kind]
        return {
            "role": role,
            "region_code": None,
            "person_id": holder.person,
            "department_code": None,
            "name": name,
        }
    if holder.kind == "department":
        name = session.execute(
            select(_department.c.name).where(_department.c.code == holder.department)
        ).scalar_one_or_none()
        if name is None:
            raise InvalidInput(f"no department {holder.department!r}")
        return {
            "role": HOLDER_ROLES["department"],
            "region_code": None,
            "person_id": None,
            "department_code": holder.department,
            "name": name,
        }
    raise InvalidInput(f"a token is issued to one of {', '.join(HOLDER_KINDS)}")


def create_token(
    session: Session,
    *,
    holder: Holder | None = None,
    name: str | None = None,
    role: str | None = None,
    region: str | None = None,
    days: int | None = None,
) -> tuple[str, int]:
    """Make a token for ``holder`` (or for the office of ``role`` and ``region``); returns its
    secret (shown once, never stored) and its id.

    ``name`` says who holds it; by default the person's or department's name, or the office's
    role and region."""
    holder = holder or Holder("office", role=role, region=region)
    row = _holder_row(session, holder)
    label = (name if name is not None else row.pop("name")).strip()
    row.pop("name", None)
    if not label:
        raise InvalidInput("a token needs a name saying who holds it")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now().astimezone() + timedelta(days=days) if days else None
    token_id = session.execute(
        insert(_tok)
        .values(
            name=label,
            holder_kind=holder.kind,
            token_hash=hash_token(secret),
            expires_at=expires,
            **row,
        )
        .returning(_tok.c.id)
    ).scalar_one()
    return secret, int(token_id)


_TOKEN_ROW = select(
    _tok.c.id,
    _tok.c.name,
    _tok.c.role,
    _tok.c.region_code,
    _tok.c.holder_kind,
    _tok.c.person_id,
    _tok.c.department_code,
)


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a presented secret, or :class:`Unauthorized`."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthorized("malformed token: gridmap tokens start with 'gm_'")
    row = session.execute(
        _TOKEN_ROW.where(
            _tok.c.token_hash == hash_token(secret),
            _tok.c.revoked_at.is_(None),
            or_(_tok.c.expires_at.is_(None), _tok.c.expires_at > func.now()),
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("unknown, revoked or expired token")
    # Note the use at most every few minutes, and never wait for it: a row lock held by another
    # request of the same token must not serialise that token's requests.
    recent = func.now() - literal(timedelta(minutes=5), Interval())
    stale = (
        select(_tok.c.id)
        .where(
            _tok.c.id == row.id,
            or_(_tok.c.last_used_at.is_(None), _tok.c.last_used_at < recent),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    session.execute(update(_tok).where(_tok.c.id == stale).values(last_used_at=func.now()))
    return _principal(session, row)


def token_principal(session: Session, token_id: int) -> Principal:
    """The principal a token stands for, without counting it as used (to show who it is)."""
    row = session.execute(_TOKEN_ROW.where(_tok.c.id == token_id)).one()
    return _principal(session, row)


def _acting_grids(session: Session, person: int | None) -> frozenset[str]:
    """The grids ``person`` leads or works in now."""
    return frozenset(
        session.execute(
            select(_staff.c.grid_code).where(
                _staff.c.person_id == person, _staff.c.role.in_(ACTING_POSTS)
            )
        ).scalars()
    )


def _principal(session: Session, row: Any) -> Principal:
    # A staff member's grids are read at each request: a post taken or given up counts at once.
    grids = _acting_grids(session, row.person_id) if row.holder_kind == "staff" else None
    return Principal(
        role=row.role,
        region=row.region_code,
        name=row.name,
        token_id=row.id,
        authenticated=True,
        holder=row.holder_kind,
        person_id=row.person_id,
        department=row.department_code,
        grids=grids,
    )


def operator(name: str) -> Principal:
    """The person at the command line, who holds the database itself: acts everywhere."""
    return Principal(role="admin", region=None, name=f"cli:{name}", authenticated=True)


def revoke_token(session: Session, token_id: int) -> bool:
    """Revoke a token; False when there is no such live token."""
    done = session.execute(
        update(_tok)
        .where(_tok.c.id == token_id, _tok.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(_tok.c.id)
    ).first()
    return done is not None


def revoke_named(session: Session, name: str) -> int:
    """Revoke every live token of holder name ``name``; how many were."""
    done = session.execute(
        update(_tok)
        .where(_tok.c.name == name, _tok.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(_tok.c.id)
    ).all()
    return len(done)


def find_person(session: Session, who: str) -> int:
    """The id of the person ``who`` names: an id, or a name that only one person has."""
    if who.strip().isdigit():
        return int(who)
    ids = list(session.execute(select(_person.c.id).where(_person.c.name == who.strip())).scalars())
    if not ids:
        raise InvalidInput(f"no person named {who!r}")
    if len(ids) > 1:
        raise InvalidInput(
            f"{len(ids)} people are named {who!r} (ids {', '.join(map(str, ids))}): give the id"
        )
    return int(ids[0])


def list_tokens(session: Session) -> list[dict[str, object]]:
    """All tokens, newest first, without their secrets; ``acts_in`` says where each acts (the
    region, the person and the grids they serve, or the department)."""
    served = (
        select(func.string_agg(_staff.c.grid_code.distinct(), ","))
        .where(_staff.c.person_id == _tok.c.person_id)
        .scalar_subquery()
    )
    acts_in = case(
        (_tok.c.holder_kind == "staff", func.concat("person ", _tok.c.person_id, ": ", served)),
        (_tok.c.holder_kind == "party_member", func.concat("person ", _tok.c.person_id)),
        (_tok.c.holder_kind == "department", _tok.c.department_code),
        else_=_tok.c.region_code,
    )
    return [
        dict(r._mapping)
        for r in session.execute(
            select(
                _tok.c.id,
                _tok.c.name,
                _tok.c.holder_kind,
                _tok.c.role,
                _tok.c.region_code,
                acts_in.label("acts_in"),
                _tok.c.person_id,
                _tok.c.department_code,
                _tok.c.created_at,
                _tok.c.expires_at,
                _tok.c.revoked_at,
                _tok.c.last_used_at,
            ).order_by(_tok.c.id.desc())
        )
    ]
