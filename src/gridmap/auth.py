"""gridmap.auth: bearer tokens, the role and region each acts for, and what they may do.

A token is a random secret shown once when it is made; the database keeps only its SHA-256, so a
copy of the database does not hand out working tokens. A token carries a role and a region code:
it acts in that region and everything whose code starts with it (a street token covers the
street's communities and their grids).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.vocab.codes import GRID_DIGITS, REGION_DIGITS
from gridmap.vocab.roles import GRID_EDITORS, PERSONAL_DATA_ROLES, TOKEN_ROLES

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

    @property
    def actor(self) -> str:
        """How this caller is named in the audit log and in grid history."""
        if self.token_id is None:
            return self.name
        where = f" {self.region}" if self.region else ""
        return f"{self.name} (token {self.token_id}, {self.role}{where})"

    def covers(self, code: str) -> bool:
        """Whether ``code`` (a region or grid code) lies in this caller's region."""
        return self.role == "admin" or (self.region is not None and code.startswith(self.region))

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
                f"this token acts in region {self.region}; "
                f"community {community_code} is outside it",
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
                f"{place or 'a place in no region'} lies outside this token's region "
                f"{self.region}: it may not {what} there",
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
    allowed = _REGION_DIGITS.get(role, (6, 9, 12, 14, 15))
    if len(region) not in allowed:
        raise InvalidInput(
            f"a {role} token's region is a code of {' or '.join(map(str, allowed))} digits; "
            f"got {region!r}"
        )


def create_token(
    session: Session,
    *,
    name: str,
    role: str,
    region: str | None,
    days: int | None = None,
) -> tuple[str, int]:
    """Make a token; returns its secret (shown once, never stored) and its id."""
    check_role_region(role, region)
    if not name.strip():
        raise InvalidInput("a token needs a name saying who holds it")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now().astimezone() + timedelta(days=days) if days else None
    token_id = session.execute(
        text(
            "INSERT INTO api_token (name, role, region_code, token_hash, expires_at) "
            "VALUES (:name, :role, :region, :hash, :expires) RETURNING id"
        ),
        {
            "name": name.strip(),
            "role": role,
            "region": region or None,
            "hash": hash_token(secret),
            "expires": expires,
        },
    ).scalar_one()
    return secret, int(token_id)


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a presented secret, or :class:`Unauthorized`."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthorized("malformed token: gridmap tokens start with 'gm_'")
    row = session.execute(
        text(
            "SELECT id, name, role, region_code FROM api_token "
            "WHERE token_hash = :hash AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > now())"
        ),
        {"hash": hash_token(secret)},
    ).one_or_none()
    if row is None:
        raise Unauthorized("unknown, revoked or expired token")
    # Note the use at most every few minutes, and never wait for it: a row lock held by another
    # request of the same token must not serialise that token's requests.
    session.execute(
        text(
            "UPDATE api_token SET last_used_at = now() WHERE id = (SELECT id FROM api_token "
            "WHERE id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval "
            "'5 minutes') FOR UPDATE SKIP LOCKED)"
        ),
        {"id": row.id},
    )
    return Principal(
        role=row.role, region=row.region_code, name=row.name, token_id=row.id, authenticated=True
    )


def operator(name: str) -> Principal:
    """The person at the command line, who holds the database itself: acts everywhere."""
    return Principal(role="admin", region=None, name=f"cli:{name}", authenticated=True)


def revoke_token(session: Session, token_id: int) -> bool:
    """Revoke a token; False when there is no such live token."""
    done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        text("UPDATE api_token SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"),
        {"id": token_id},
    )
    return bool(done.rowcount)


def list_tokens(session: Session) -> list[dict[str, object]]:
    """All tokens, newest first, without their secrets."""
    return [
        dict(r._mapping)
        for r in session.execute(
            text(
                "SELECT id, name, role, region_code, created_at, expires_at, revoked_at, "
                "last_used_at FROM api_token ORDER BY id DESC"
            )
        )
    ]
