"""gridmap.privacy: masking of personal data (names and phone numbers of residents and staff)."""

from __future__ import annotations

import re


def mask_name(name: str | None) -> str | None:
    """Keep the family name, hide the rest.

    Examples
    --------
    >>> mask_name("张晓明"), mask_name("李静"), mask_name(None)
    ('张**', '李*', None)
    """
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits.

    Examples
    --------
    >>> mask_phone("13800004821"), mask_phone("110")
    ('138****4821', '***')
    """
    if not phone:
        return phone
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


# How an office's token names itself in history: "学院路街道指挥中心 (token 12, street 110108010)".
_OFFICE_ACTOR = re.compile(r"^[^(]+ \(token \d+, (admin|district|street|community|department)\b")
# An organisation named without a token, as loaded history names who acted.
_ORGANISATION = re.compile(r"(指挥中心|办事处|街道|社区|办|局|委|队|所|中心|公司|委员会|站)$")


def mask_actor(actor: str | None) -> str | None:
    """Who took a step, for a caller who may not see personal data there: an office or a
    department (named with its token and role, or by an organisation's name in loaded history)
    and the system stay as they are; a person (a grid worker's token, a name alone) keeps the
    family name only.

    Examples
    --------
    >>> mask_actor("学院路街道指挥中心 (token 12, street 110108010)")
    '学院路街道指挥中心 (token 12, street 110108010)'
    >>> mask_actor("李静 (token 13, worker grids 110108010001001)")
    '李* (token 13, worker grids 110108010001001)'
    >>> mask_actor("董芳桂"), mask_actor("北太平庄街道指挥中心"), mask_actor("system (pool window)")
    ('董**', '北太平庄街道指挥中心', 'system (pool window)')
    """
    if not actor or _OFFICE_ACTOR.match(actor) or actor.startswith(("system", "migration ")):
        return actor
    name, sep, rest = actor.partition(" (")
    if not sep and _ORGANISATION.search(name):
        return actor
    return (mask_name(name) or "") + sep + rest
