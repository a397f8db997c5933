"""gridmap.schemas: request bodies and answers (pydantic), one module per resource.

Request bodies are checked before any query runs; answer models document in ``/docs`` what the
handlers send (GeoJSON answers are built by PostGIS and sent as they are, not re-serialised).
"""

from __future__ import annotations

from typing import Any


def kept(data: Any, *names: str) -> Any:
    """Refuse a patch body that sets one of ``names`` to null: those fields always hold a value,
    so a patch may change them or leave them out, never empty them.

    >>> kept({"name": "站"}, "name")
    {'name': '站'}
    >>> kept({"name": None}, "name")
    Traceback (most recent call last):
    ...
    ValueError: name cannot be emptied (null): give a value, or leave it out to keep it
    """
    if isinstance(data, dict):
        for name in names:
            if name in data and data[name] is None:
                raise ValueError(
                    f"{name} cannot be emptied (null): give a value, or leave it out to keep it"
                )
    return data
