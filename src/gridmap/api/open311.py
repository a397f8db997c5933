"""gridmap.api.open311: incidents as an Open311 GeoReport v2 feed (JSON and XML), read-only.

Each resource answers in the format its name ends with (``requests.json``, ``requests.xml``),
errors included: GeoReport v2 errors are a list of ``{code, description}`` (JSON) or
``<errors><error>…`` (XML), never gridmap's ``{detail, code}``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from gridmap.dependencies import SessionDep
from gridmap.errors import InvalidInput
from gridmap.schemas.open311 import Open311Discovery, Open311Error, Open311Request, Open311Service
from gridmap.services import open311 as svc

router = APIRouter(prefix="/open311/v2", tags=["open311"])

PREFIX = "/open311/"
Fmt = Annotated[Literal["json", "xml"], Path(description="json or xml")]


class XMLResponse(Response):
    """XML as GeoReport v2 sends it (Starlette adds ``; charset=utf-8`` to text types)."""

    media_type = "text/xml"


# Characters XML 1.0 cannot hold at all, escaped or not: they are dropped from text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            # A list is a wrapper of singular elements (endpoints → endpoint, formats → format).
            for item in value:
                sub = ET.SubElement(child, name.removesuffix("s"))
                if isinstance(item, dict):
                    _fill(sub, item)
                else:
                    sub.text = _text(item)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def _serialise(top: ET.Element) -> bytes:
    body: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return body


def to_xml(root: str, item: str, rows: Iterable[dict[str, Any]]) -> bytes:
    """``<root><item>…</item>…</root>`` with one element per field, text escaped."""
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    return _serialise(top)


def _answer(fmt: str, data: list[dict[str, Any]], root: str, item: str) -> Response:
    if fmt == "xml":
        return XMLResponse(to_xml(root, item, data))
    return JSONResponse(data)


def open311_errors(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """An error on ``/open311/…`` as GeoReport v2 has it, in the format the path asks for.

    Bad parameters are 400 in GeoReport v2, where the rest of gridmap says 422.
    """
    status = 400 if status == 422 else status
    if request.url.path.endswith(".xml"):
        top = ET.Element("errors")
        _fill(ET.SubElement(top, "error"), {"code": status, "description": detail})
        return XMLResponse(_serialise(top), status_code=status, headers=headers)
    return JSONResponse(
        [{"code": status, "description": detail}], status_code=status, headers=headers
    )


def _documented(model: Any, *statuses: int) -> dict[str, Any]:
    """Route keywords documenting the JSON and XML answers and the errors as sent."""
    xml = {"text/xml": {"schema": {"type": "string"}}}
    words = {400: "A bad parameter", 404: "No such request", 503: "The database is away"}
    return {
        "response_model": None,
        "responses": {
            200: {"model": model, "content": xml},
            **{
                s: {"model": list[Open311Error], "content": xml, "description": words[s]}
                for s in (400, *statuses, 503)
            },
        },
    }


def _when(name: str, value: str | None, timezone: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name}={value!r} is not a w3 date and time; write e.g. 2026-05-01T08:00:00+08:00"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(timezone))


@router.get(
    "/discovery.{fmt}",
    **_documented(Open311Discovery),
    summary="Open311: the service discovery document",
)
def discovery(request: Request, fmt: Fmt) -> Response:
    """Where this GeoReport v2 endpoint is, what it follows and the formats it answers in."""
    doc = svc.discovery(str(request.base_url))
    if fmt == "xml":
        top = ET.Element("discovery")
        _fill(top, doc)
        return XMLResponse(_serialise(top))
    return JSONResponse(doc)


@router.get(
    "/services.{fmt}",
    **_documented(list[Open311Service]),
    summary="Open311: the incident categories",
)
def services(session: SessionDep, fmt: Fmt) -> Response:
    """Every active category as an Open311 service."""
    return _answer(fmt, svc.services(session), "services", "service")


@router.get(
    "/requests.{fmt}",
    **_documented(list[Open311Request]),
    summary="Open311: incidents",
)
def requests(
    request: Request,
    session: SessionDep,
    fmt: Fmt,
    service_request_id: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="ids separated by commas; when given, every other filter is ignored",
        ),
    ] = None,
    service_code: Annotated[
        str | None, Query(max_length=640, description="service codes separated by commas")
    ] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> Response:
    """Incidents, newest first (GeoReport v2 returns at most 1000), reported in the last 90
    days unless ``start_date``/``end_date`` (at most 90 days apart) say otherwise."""
    tz = request.app.state.settings.api.timezone
    if service_request_id is not None:
        data = svc.requests(
            session,
            ids=svc.request_ids(service_request_id),
            limit=limit,
            now=datetime.now(ZoneInfo(tz)),
        )
    else:
        data = svc.requests(
            session,
            service_codes=service_code.split(",") if service_code else None,
            start=_when("start_date", start_date, tz),
            end=_when("end_date", end_date, tz),
            status=status,
            limit=limit,
            now=datetime.now(ZoneInfo(tz)),
        )
    return _answer(fmt, data, "service_requests", "request")


@router.get(
    "/requests/{request_id}.{fmt}",
    **_documented(list[Open311Request], 404),
    summary="Open311: one incident",
)
def one_request(
    session: SessionDep, request_id: Annotated[int, Path(ge=1, le=2**63 - 1)], fmt: Fmt
) -> Response:
    """One incident, as a one-element list (as GeoReport v2 has it)."""
    data = svc.one_request(session, request_id=request_id)
    return _answer(fmt, data, "service_requests", "request")
