"""gridmap.auth: bearer tokens, whom each is issued to, where it acts and what it may do.

A token is a random secret shown once when it is made; the database keeps only its SHA-256, so a
copy of the database does not hand out working tokens. A token is issued to someone, and its role
and scope follow from that:

- an office (an administrator, a district, street or community office, or a grid post): a role
  and a region code; it acts in that region and everything whose code starts with it (a street
  token covers the street's communities and their grids);
- a grid staff member (a person in ``grid_staff``): a worker in every grid that person serves;
  a new post or a post given up counts as soon as this server hears of the change (at once for
  its own writes, a moment after commit for another server's, through the change notifications
  of :mod:`gridmap.live`), and within the token cache's life at the latest;
- a Party member (a person): a viewer, named in the audit log, who acts as that member: claims
  needs, wishes and posts (党员接单) and reports them done;
- a Party organisation (its secretary, 书记): in the role ``branch``, acting on the organisation's
  grids (its own, those of the organisations under it, and those of its groups' buildings):
  assigns needs there (支部派单) and sees its members' names and phones;
- a department: in the role ``department``, acting only on the sub-tasks whistled to it (it
  covers no region).

A server keeps the principal of each token it has seen in :data:`TOKENS` for a short while
(``GRIDMAP_API_TOKEN_CACHE_SECONDS``, 60 by default), so a token costs a request no database
work: a token revoked or expired elsewhere stops working within that time, one revoked through
:func:`revoke_token` in this process at once. Its last use is written at most once a minute, in
a short statement of its own rather than in the request's transaction.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, case, event, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.models import (
    ApiToken,
    Building,
    Department,
    GridStaff,
    PartyMember,
    PartyOrg,
    PartyOrgBuilding,
    PartyOrgGrid,
    Person,
)
from gridmap.queries import tokens as token_queries
from gridmap.vocab.codes import GRID_DIGITS, REGION_DIGITS
from gridmap.vocab.roles import (
    ACTING_POSTS,
    GRID_EDITORS,
    HOLDER_KINDS,
    HOLDER_ROLES,
    PERSONAL_DATA_ROLES,
    TOKEN_ROLES,
)

log = logging.getLogger("gridmap.auth")

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
    # The grids a staff member serves, or a Party organisation's grids (for the other holders,
    # None: the region decides).
    grids: frozenset[str] | None = None
    # A Party organisation's token: the organisation; a Party member's: the member (None for a
    # person who is not, or no longer, a member).
    org_id: int | None = None
    member_id: int | None = None

    @property
    def acts_in(self) -> str:
        """Where this caller acts, in words: ``everywhere`` (admin), an office's region code,
        the grids a staff member serves, or a department."""
        if self.role == "admin":
            return "everywhere"
        if self.grids is not None:
            return f"grids {','.join(sorted(self.grids))}" if self.grids else "no grid"
        if self.org_id is not None:
            return f"organisation {self.org_id}"
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
        if self.role == "department":
            # A department acts on its own sub-tasks (gridmap.services.workflow.is_assignee),
            # never on a place.
            return False
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
    if role == "department":
        raise InvalidInput(
            "a department token is issued to a department (holder 'department' with its "
            "code), not to an office"
        )
    if role == "branch":
        raise InvalidInput(
            "a branch token is issued to a Party organisation (holder 'party_org' with its "
            "id), not to an office"
        )
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
    (``staff``), a Party member (``party_member``), a Party organisation (``party_org``) or a
    department, each by id or code."""

    kind: str = "office"
    role: str | None = None
    region: str | None = None
    person: int | None = None
    department: str | None = None
    org: int | None = None


_tok = cast(Table, ApiToken.__table__)
_person = cast(Table, Person.__table__)
_staff = cast(Table, GridStaff.__table__)
_department = cast(Table, Department.__table__)
_org = cast(Table, PartyOrg.__table__)
_org_grid = cast(Table, PartyOrgGrid.__table__)
_org_building = cast(Table, PartyOrgBuilding.__table__)
_building = cast(Table, Building.__table__)
_member = cast(Table, PartyMember.__table__)


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
            "org_id": None,
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
            "org_id": None,
            "name": name,
        }
    if holder.kind == "party_org":
        org = session.execute(
            select(_org.c.name, _org.c.kind).where(_org.c.id == holder.org)
        ).one_or_none()
        if org is None:
            raise InvalidInput(f"no Party organisation {holder.org}")
        return {
            "role": HOLDER_ROLES["party_org"],
            "region_code": None,
            "person_id": None,
            "department_code": None,
            "org_id": holder.org,
            "name": org.name,
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
            "org_id": None,
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
    _tok.c.org_id,
    _tok.c.expires_at,
)


def _check_form(secret: str) -> None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthorized("malformed token: gridmap tokens start with 'gm_'")


def _token_row(session: Session, token_hash: str) -> Any:
    return session.execute(
        _TOKEN_ROW.where(
            _tok.c.token_hash == token_hash,
            _tok.c.revoked_at.is_(None),
            or_(_tok.c.expires_at.is_(None), _tok.c.expires_at > func.now()),
        )
    ).one_or_none()


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a presented secret, read from the database, or :class:`Unauthorized`.

    Requests go through :func:`authenticate_cached`; this reads the token afresh and writes
    nothing."""
    _check_form(secret)
    row = _token_row(session, hash_token(secret))
    if row is None:
        raise Unauthorized("unknown, revoked or expired token")
    return _principal(session, row)


@dataclass(frozen=True)
class CacheEntry:
    """What :class:`TokenCache` keeps of one token."""

    principal: Principal | None  # None: no live token has this hash
    until: float  # time.monotonic() after which the entry is read again
    expires: float | None  # the token's own expiry, time.time()
    generation: int  # for a staff member: the grid generation their grids were read at


class TokenCache:
    """The principals of recently seen tokens by the hash of their secret, and when each token's
    last use was last written; bounded and safe to share between threads.

    Known tokens and unknown ones are kept apart, each in its own least-recently-used order: a
    flood of made-up tokens only pushes out other made-up ones, never a working token, and each
    of them still costs the database a lookup once every :attr:`unknown_seconds`.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_unknown: int = 1_000,
        unknown_seconds: float = 5.0,
        last_use_every: float = 60.0,
    ) -> None:
        self.max_entries = max_entries
        self.max_unknown = max_unknown
        self.unknown_seconds = unknown_seconds
        self.last_use_every = last_use_every
        self._lock = threading.Lock()
        self._known: OrderedDict[str, CacheEntry] = OrderedDict()
        self._unknown: OrderedDict[str, CacheEntry] = OrderedDict()
        self._written: OrderedDict[tuple[int, int], float] = OrderedDict()

    def sizes(self) -> tuple[int, int]:
        """How many known and how many unknown tokens are kept."""
        with self._lock:
            return len(self._known), len(self._unknown)

    def get(self, token_hash: str, *, generation: int = 0) -> CacheEntry | None:
        """The entry of ``token_hash`` while it holds, else None (read the database)."""
        now = time.monotonic()
        with self._lock:
            for table in (self._known, self._unknown):
                entry = table.get(token_hash)
                if entry is None:
                    continue
                stale = now >= entry.until or (
                    entry.expires is not None and time.time() >= entry.expires
                )
                p = entry.principal
                if p is not None and p.grids is not None and entry.generation != generation:
                    stale = True
                if stale:
                    del table[token_hash]
                    return None
                table.move_to_end(token_hash)
                return entry
        return None

    def put(
        self,
        token_hash: str,
        principal: Principal | None,
        *,
        seconds: float,
        expires_at: datetime | None = None,
        generation: int = 0,
    ) -> None:
        """Keep ``principal`` (None: an unknown token) for ``seconds``, or less for an unknown
        token, and never past the token's own expiry."""
        if principal is None:
            seconds = min(seconds, self.unknown_seconds)
        if seconds <= 0:
            return
        entry = CacheEntry(
            principal,
            until=time.monotonic() + seconds,
            expires=expires_at.timestamp() if expires_at is not None else None,
            generation=generation,
        )
        table, bound = (
            (self._known, self.max_entries)
            if principal is not None
            else (self._unknown, self.max_unknown)
        )
        with self._lock:
            table[token_hash] = entry
            table.move_to_end(token_hash)
            while len(table) > bound:
                table.popitem(last=False)

    def forget(self, token_ids: set[int]) -> None:
        """Drop the principals of ``token_ids`` (revoked here: refused from the next request)."""
        with self._lock:
            for key in [
                k
                for k, e in self._known.items()
                if e.principal is not None and e.principal.token_id in token_ids
            ]:
                del self._known[key]

    def use_due(self, database: int, token_id: int) -> bool:
        """Whether the use of token ``token_id`` of ``database`` (an engine's ``id``) should be
        written now: not written by this process in the last :attr:`last_use_every` seconds.
        Answering True counts as written."""
        now = time.monotonic()
        key = (database, token_id)
        with self._lock:
            last = self._written.get(key)
            if last is not None and now - last < self.last_use_every:
                return False
            self._written[key] = now
            self._written.move_to_end(key)
            while len(self._written) > self.max_entries:
                self._written.popitem(last=False)
            return True


# The process's token cache (a server's workers each keep their own).
TOKENS = TokenCache()
# Last uses are written by one thread of their own, so they never take a request's thread nor
# delay its answer, and one token's writes never race each other.
_use_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridmap-token-use")


def cached_principal(secret: str, *, generation: int = 0) -> Principal | None:
    """The principal of a presented secret while :data:`TOKENS` holds it, None when it must be
    read from the database; :class:`Unauthorized` for a malformed token or one recently found
    not to be live.

    ``generation`` is that of the in-memory grids (:attr:`gridmap.live.LiveGrids.generation`): a
    staff member's grids are read again once it changes.
    """
    _check_form(secret)
    entry = TOKENS.get(hash_token(secret), generation=generation)
    if entry is None:
        return None
    if entry.principal is None:
        raise Unauthorized("unknown, revoked or expired token")
    return entry.principal


def authenticate_cached(
    session: Session, secret: str, *, seconds: float, generation: int = 0
) -> Principal:
    """:func:`cached_principal`, or on a miss :func:`authenticate`, whose answer (a principal,
    or that the token is not live) is then kept for ``seconds``."""
    principal = cached_principal(secret, generation=generation)
    if principal is not None:
        return principal
    token_hash = hash_token(secret)
    row = _token_row(session, token_hash)
    if row is None:
        TOKENS.put(token_hash, None, seconds=seconds)
        raise Unauthorized("unknown, revoked or expired token")
    principal = _principal(session, row)
    TOKENS.put(
        token_hash, principal, seconds=seconds, expires_at=row.expires_at, generation=generation
    )
    return principal


def note_use(engine: Engine, principal: Principal) -> None:
    """Write that ``principal``'s token was used, at most once a minute per token, in a short
    transaction of its own on another thread (a read request stays a read)."""
    if principal.token_id is None or not TOKENS.use_due(id(engine), principal.token_id):
        return
    _use_writer.submit(_write_use, engine, principal.token_id, datetime.now().astimezone())


def _write_use(engine: Engine, token_id: int, at: datetime) -> None:
    try:
        with engine.begin() as conn:
            token_queries.mark_used(conn, token_id=token_id, at=at)
    except SQLAlchemyError as exc:  # the last use is a courtesy: never fail for it
        log.warning("could not note the use of token %s: %s", token_id, exc)


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


def org_grids(session: Session, org_id: int) -> frozenset[str]:
    """The grids a Party organisation acts on: its own and those of every organisation under
    it, and the grids of its groups' buildings."""
    tree = select(_org.c.id).where(_org.c.id == org_id).cte("tree", recursive=True)
    tree = tree.union_all(select(_org.c.id).where(_org.c.parent_id == tree.c.id))
    linked = select(_org_grid.c.grid_code).where(_org_grid.c.org_id.in_(select(tree.c.id)))
    built = (
        select(_building.c.grid_code)
        .join(_org_building, _org_building.c.building_id == _building.c.id)
        .where(_org_building.c.org_id.in_(select(tree.c.id)), _building.c.grid_code.is_not(None))
    )
    return frozenset(str(c) for c in session.execute(linked.union(built)).scalars())


def member_of(session: Session, person: int | None) -> int | None:
    """The Party member a person is, or None."""
    if person is None:
        return None
    found = session.execute(
        select(_member.c.id).where(_member.c.person_id == person)
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def _principal(session: Session, row: Any) -> Principal:
    grids: frozenset[str] | None = None
    if row.holder_kind == "staff":
        grids = _acting_grids(session, row.person_id)
    elif row.holder_kind == "party_org":
        grids = org_grids(session, row.org_id)
    member = member_of(session, row.person_id) if row.holder_kind == "party_member" else None
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
        org_id=row.org_id,
        member_id=member,
    )


def operator(name: str) -> Principal:
    """The person at the command line, who holds the database itself: acts everywhere."""
    return Principal(role="admin", region=None, name=f"cli:{name}", authenticated=True)


def _forget_now_and_at_commit(session: Session, token_ids: set[int]) -> None:
    # Dropped at once, and again at commit: a request of the token arriving before the
    # revocation commits reads the token as still live and would keep it for the cache's life.
    if not token_ids:
        return
    TOKENS.forget(token_ids)
    event.listen(session, "after_commit", lambda _s: TOKENS.forget(token_ids), once=True)


def revoke_token(session: Session, token_id: int) -> bool:
    """Revoke a token; False when there is no such live token. This process refuses it from
    the next request on; other processes within their token cache's life."""
    done = session.execute(
        update(_tok)
        .where(_tok.c.id == token_id, _tok.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(_tok.c.id)
    ).first()
    _forget_now_and_at_commit(session, {token_id} if done is not None else set())
    return done is not None


def revoke_named(session: Session, name: str) -> int:
    """Revoke every live token of holder name ``name``; how many were."""
    done = session.execute(
        update(_tok)
        .where(_tok.c.name == name, _tok.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(_tok.c.id)
    ).all()
    _forget_now_and_at_commit(session, {int(r.id) for r in done})
    return len(done)


def forget_org_tokens(session: Session, org_ids: set[int]) -> None:
    """Drop from this process's cache the tokens of the organisations ``org_ids`` and of every
    organisation above them, now and again at commit: their grids changed, so the next request
    of such a token reads them afresh."""
    if not org_ids:
        return
    up = select(_org.c.id, _org.c.parent_id).where(_org.c.id.in_(org_ids)).cte("up", recursive=True)
    up = up.union(select(_org.c.id, _org.c.parent_id).where(_org.c.id == up.c.parent_id))
    orgs = {int(i) for i in session.execute(select(up.c.id)).scalars()} | set(org_ids)
    tokens = session.execute(select(_tok.c.id).where(_tok.c.org_id.in_(orgs))).scalars()
    _forget_now_and_at_commit(session, {int(t) for t in tokens})


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


def find_org(session: Session, which: str) -> int:
    """The id of the Party organisation ``which`` names: an id or a code."""
    which = which.strip()
    where = _org.c.id == int(which) if which.isdigit() else _org.c.code == which
    found = session.execute(select(_org.c.id).where(where)).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"no Party organisation {which!r} (give its id or code)")
    return int(found)


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
        (_tok.c.holder_kind == "party_org", func.concat("organisation ", _tok.c.org_id)),
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
                _tok.c.org_id,
                _tok.c.created_at,
                _tok.c.expires_at,
                _tok.c.revoked_at,
                _tok.c.last_used_at,
            ).order_by(_tok.c.id.desc())
        )
    ]
