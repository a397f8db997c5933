"""gridmap.privacy: masking of personal data (names and phone numbers of residents and staff)."""

from __future__ import annotations


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
