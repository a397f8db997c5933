"""gridmap.dependencies: reusable request parameters and the database session."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from gridmap.errors import InvalidInput
from gridmap.geo.crs import normalize_crs


def get_session(request: Request) -> Iterator[Session]:
    """A session in one transaction for the length of the request."""
    factory = request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def crs_query(
    crs: Annotated[
        str | None,
        Query(
            max_length=64, description="EPSG:4326 (default), EPSG:4490, EPSG:3857, GCJ-02, BD-09"
        ),
    ] = None,
) -> str:
    """The ``crs=`` parameter, normalised."""
    return normalize_crs(crs)


CRSDep = Annotated[str, Depends(crs_query)]


def bbox_query(
    bbox: Annotated[
        str | None,
        Query(max_length=200, description="west,south,east,north in WGS84 degrees"),
    ] = None,
) -> tuple[float, float, float, float] | None:
    """The ``bbox=`` parameter as four finite numbers in order."""
    if bbox is None:
        return None
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        raise InvalidInput("bbox must be four numbers: west,south,east,north") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox must be four finite numbers: west,south,east,north")
    west, south, east, north = values
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidInput("bbox out of range: lon in [-180, 180], lat in [-90, 90]")
    if west > east or south > north:
        raise InvalidInput("bbox must be west,south,east,north with west <= east, south <= north")
    return west, south, east, north


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_query)]


class Page:
    """``limit`` and ``offset`` of a list."""

    def __init__(
        self,
        request: Request,
        limit: Annotated[int, Query(ge=1, description="items per page")] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> None:
        maximum = request.app.state.settings.api.page_limit_max
        if limit > maximum:
            raise HTTPException(status_code=422, detail=f"limit must be at most {maximum}")
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends(Page)]
