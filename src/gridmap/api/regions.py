"""gridmap.api.regions: the district → street → community hierarchy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridmap.dependencies import AtDep, PageDep, RulesDep, SessionDep, TokenDep, grids_changed
from gridmap.queries import coverage as cov
from gridmap.queries import regions as q
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.grids import RenumberReport
from gridmap.schemas.regions import CoverageReport, RegionFeature, RegionsPublic
from gridmap.services import grid_versions as w
from gridmap.vocab import codes
from gridmap.vocab.kinds import RegionLevel

router = APIRouter(prefix="/regions", tags=["regions"])

CodePath = Annotated[
    str,
    Path(pattern=codes.REGION, description="6-, 9- or 12-digit division code"),
]


@router.get(
    "",
    response_class=GeoJSONResponse,
    response_model=RegionsPublic,
    summary="Regions as GeoJSON",
)
def list_regions(
    session: SessionDep,
    page: PageDep,
    level: RegionLevel | None = None,
    parent: Annotated[str | None, Query(pattern=codes.PARENT)] = None,
    geometry: bool = True,
    simplify: Annotated[float, Query(ge=0, le=0.01, description="tolerance in degrees")] = 0.0,
) -> Any:
    """Regions, filtered by level and parent, paged with ``limit``/``offset``."""
    return page.answer(
        q.list_regions(
            session,
            level=level,
            parent=parent,
            limit=page.limit,
            offset=page.offset,
            with_geometry=geometry,
            simplify=simplify,
        ),
        response_class=GeoJSONResponse,
    )


@router.get(
    "/{code}", response_class=GeoJSONResponse, response_model=RegionFeature, summary="One region"
)
def get_region(session: SessionDep, code: CodePath) -> Any:
    """One region as a Feature, with the codes of its children."""
    return GeoJSONResponse(q.get_region(session, code=code))


CommunityPath = Annotated[str, Path(pattern=codes.COMMUNITY, description="12-digit community code")]


@router.get(
    "/{code}/coverage",
    summary="Do the community's grids cover it exactly?",
    **documented(CoverageReport),
)
def community_coverage(session: SessionDep, rules: RulesDep, code: CommunityPath, at: AtDep) -> Any:
    """Covered share, every gap, overlap and spill with its area, mismatched shared edges, and
    the buildings and households standing in a gap."""
    return cov.community_coverage(session, community=code, rules=rules, at=at)


@router.post(
    "/{code}/renumber",
    summary="Renumber a community's grids west→east, north→south",
    **documented(RenumberReport, 401, 403),
)
def renumber(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    rules: RulesDep,
    code: CommunityPath,
    dry_run: Annotated[bool, Query(description="only report old → new")] = False,
) -> Any:
    """Give the community's grids codes in reading order; report old → new."""
    result = w.renumber(session, community=code, principal=principal, rules=rules, dry_run=dry_run)
    if result["renumbered"] and not dry_run:
        grids_changed(request)
    return result
