"""gridmap.services.access: the first check of every write, who the caller is, before where."""

from __future__ import annotations

from gridmap.auth import Principal
from gridmap.errors import Forbidden, Unauthorized


def require_role(principal: Principal, what: str, *, roles: tuple[str, ...]) -> None:
    """Raise unless ``principal`` holds a token of one of ``roles``, whatever the place.

    A write checks this before reading its body's rules, so a caller without the right is told
    so (401/403) instead of learning from a 404, 409 or 422 what the data holds.
    """
    if not principal.authenticated:
        raise Unauthorized(f"{what} needs a bearer token (Authorization: Bearer …)")
    if principal.role not in roles:
        raise Forbidden(
            f"a {principal.role} token may not {what}; that needs a token of {', '.join(roles)}",
            role=principal.role,
        )
