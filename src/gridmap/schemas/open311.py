"""gridmap.schemas.open311: the Open311 GeoReport v2 service and service request, as answered."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Open311Service(BaseModel):
    """An incident category as an Open311 service."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime"]
    keywords: str
    group: str


class Open311Request(BaseModel):
    """An incident as an Open311 service request (reporters never appear)."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: None
    lat: float
    long: float
    media_url: None


class Open311Endpoint(BaseModel):
    """One endpoint of the discovery document."""

    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Open311Discovery(BaseModel):
    """The GeoReport v2 service discovery document."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]


class Open311Error(BaseModel):
    """One error, as GeoReport v2 answers errors: a list of these."""

    code: int
    description: str
