"""gridmap.services.contacts: names and phones shown only to who may see a place's personal data."""

from __future__ import annotations

from typing import Any

from gridmap.auth import Principal
from gridmap.privacy import mask_name, mask_phone


def masked(feature: dict[str, Any], principal: Principal, *places: str) -> dict[str, Any]:
    """``feature`` with ``contact_name``/``contact_phone`` masked unless ``principal`` may see the
    personal data of its place: the first of the ``places`` properties that is set."""
    props = feature["properties"]
    place = next((props[p] for p in places if props.get(p)), "")
    if not principal.sees_personal_data(place):
        props["contact_name"] = mask_name(props.get("contact_name"))
        props["contact_phone"] = mask_phone(props.get("contact_phone"))
    return feature


def masked_page(page: dict[str, Any], principal: Principal, *places: str) -> dict[str, Any]:
    """A FeatureCollection with every feature :func:`masked`."""
    page["features"] = [masked(f, principal, *places) for f in page["features"]]
    return page
