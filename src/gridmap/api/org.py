"""gridmap.api.org: Party organisations (社区大党委, 网格党支部, 楼栋党小组), their tree, a grid's
organisation panel, Party members (双报到) and resident units (驻区单位)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gridmap.dependencies import (
    CRSDep,
    GridQuery,
    PageDep,
    PrincipalDep,
    RegionQuery,
    RowId,
    SessionDep,
    TokenDep,
    ViewBBoxDep,
)
from gridmap.geo.crs import to_wgs84
from gridmap.responses import GeoJSONResponse, created, documented
from gridmap.schemas.org import (
    GridOrg,
    MemberIn,
    MemberPatch,
    MemberPublic,
    MembersPage,
    OrgIn,
    OrgPatch,
    OrgPublic,
    OrgsPage,
    OrgTree,
    RegisterIn,
    UnitFeature,
    UnitIn,
    UnitPatch,
    UnitsPage,
)
from gridmap.services import org as service
from gridmap.services import units as unit_service
from gridmap.vocab import codes
from gridmap.vocab.kinds import OrgKind

router = APIRouter(prefix="/party-orgs", tags=["organisation"])
grid_router = APIRouter(prefix="/grids", tags=["organisation"])
member_router = APIRouter(prefix="/party-members", tags=["organisation"])
unit_router = APIRouter(prefix="/resident-units", tags=["organisation"])

CommunityQuery = Annotated[
    str, Query(pattern=codes.COMMUNITY, description="a community code (12 digits)")
]
IdQuery = Annotated[int | None, Query(ge=1, le=2**62)]


def _json(body: Any, status: int = 200, location: str | None = None) -> JSONResponse:
    headers = {"Location": location} if location else None
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.api.timezone)).date()


# -- organisations ------------------------------------------------------------------------


@router.get("", **documented(OrgsPage), summary="Party organisations")
def list_orgs(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    community: RegionQuery = None,
    kind: OrgKind | None = None,
    parent: IdQuery = None,
) -> Any:
    """Organisations of a region (any code prefix), of a kind, or under a parent; secretaries'
    names and phones masked unless the token may see them."""
    return page.answer(
        jsonable_encoder(
            service.list_orgs(
                session,
                principal=principal,
                community=community,
                kind=kind,
                parent=parent,
                limit=page.limit,
                offset=page.offset,
            )
        )
    )


@router.get("/tree", **documented(OrgTree, 404), summary="A community's organisation as a tree")
def tree(
    request: Request, session: SessionDep, principal: PrincipalDep, community: CommunityQuery
) -> Any:
    """The community's big committee(s) → grid branches → building groups → designated
    households (with how many each serves); each node with its counts and warnings
    (``grid_no_branch`` on the community, ``building_no_group`` on a branch,
    ``central_too_few``/``central_too_many`` on a group)."""
    return _json(
        service.tree(
            session,
            community=community,
            principal=principal,
            api=request.app.state.settings.api,
        )
    )


@router.post(
    "", status_code=201, **documented(OrgPublic, status=201), summary="Add an organisation"
)
def create_org(session: SessionDep, principal: TokenDep, body: OrgIn) -> Any:
    """Add a committee (no parent), a branch (under a committee, linking grids of its
    community) or a group (under a branch, linking buildings); 409 when a grid already has its
    branch or a building its group."""
    org = service.create_org(session, values=body.model_dump(), principal=principal)
    return _json(org, 201, f"/api/v1/party-orgs/{org['id']}")


@router.get("/{org_id}", **documented(OrgPublic, 404), summary="One organisation")
def get_org(session: SessionDep, principal: PrincipalDep, org_id: RowId) -> Any:
    """One organisation with its links, secretary (masked unless the token may see it) and
    counts."""
    return _json(service.get_org(session, org_id=org_id, principal=principal))


@router.patch("/{org_id}", **documented(OrgPublic, 404), summary="Change an organisation")
def patch_org(session: SessionDep, principal: TokenDep, org_id: RowId, body: OrgPatch) -> Any:
    """Change the name, code, parent, links (replaced as a whole) or secretary."""
    return _json(
        service.update_org(
            session,
            org_id=org_id,
            values=body.model_dump(exclude_unset=True),
            principal=principal,
        )
    )


@router.delete("/{org_id}", status_code=204, summary="Remove an organisation")
def delete_org(session: SessionDep, principal: TokenDep, org_id: RowId) -> Response:
    """Remove an organisation with nothing under it, no members, no designated households and
    no live token (409 otherwise)."""
    service.delete_org(session, org_id=org_id, principal=principal)
    return Response(status_code=204)


# -- a grid's panel -----------------------------------------------------------------------


@grid_router.get(
    "/{code}/org", **documented(GridOrg, 404), summary="A grid's organisation (its panel)"
)
def grid_org(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    code: Annotated[str, Path(pattern=codes.GRID, description="a grid code")],
) -> Any:
    """The grid's branch, the groups of its buildings, their members, the grid's team, its
    resident units and designated households, and its warnings; names and phones masked unless
    the token may see them."""
    return _json(
        service.grid_org(
            session, grid=code, principal=principal, api=request.app.state.settings.api
        )
    )


# -- members ------------------------------------------------------------------------------


@member_router.get("", **documented(MembersPage), summary="Party members")
def list_members(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    org: IdQuery = None,
    community: RegionQuery = None,
    in_service: bool | None = None,
) -> Any:
    """Members of an organisation (and those under it), of a region (by their organisation or
    their registration), in service or not; names and phones masked unless the token may see
    them."""
    return page.answer(
        jsonable_encoder(
            service.list_members(
                session,
                principal=principal,
                org=org,
                community=community,
                in_service=in_service,
                limit=page.limit,
                offset=page.offset,
            )
        )
    )


@member_router.post(
    "", status_code=201, **documented(MemberPublic, status=201), summary="Add a member"
)
def create_member(session: SessionDep, principal: TokenDep, body: MemberIn) -> Any:
    """Add a member: an existing person (``person_id``) or a new one (``person``), in an
    organisation and/or registered with a community."""
    member = service.create_member(session, values=body.model_dump(), principal=principal)
    return _json(member, 201, f"/api/v1/party-members/{member['id']}")


@member_router.get("/{member_id}", **documented(MemberPublic, 404), summary="One member")
def get_member(session: SessionDep, principal: PrincipalDep, member_id: RowId) -> Any:
    """One member, name and phone masked unless the token may see them."""
    return _json(service.get_member(session, member_id=member_id, principal=principal))


@member_router.patch("/{member_id}", **documented(MemberPublic, 404), summary="Change a member")
def patch_member(
    session: SessionDep, principal: TokenDep, member_id: RowId, body: MemberPatch
) -> Any:
    """Change a member's organisation, service, employer, household, name or phone."""
    return _json(
        service.update_member(
            session,
            member_id=member_id,
            values=body.model_dump(exclude_unset=True),
            principal=principal,
        )
    )


@member_router.post(
    "/{member_id}/register",
    **documented(MemberPublic, 404),
    summary="Register a member with a community (双报到)",
)
def register_member(
    session: SessionDep, principal: TokenDep, member_id: RowId, body: RegisterIn
) -> Any:
    """Register the member with the community (now); registering with another community moves
    the registration. By an office covering that community."""
    return _json(
        service.register_member(
            session, member_id=member_id, community=body.community_code, principal=principal
        )
    )


@member_router.delete("/{member_id}", status_code=204, summary="Remove a member")
def delete_member(session: SessionDep, principal: TokenDep, member_id: RowId) -> Response:
    """Remove a member who took no list items and holds no post (409 otherwise)."""
    service.delete_member(session, member_id=member_id, principal=principal)
    return Response(status_code=204)


# -- resident units -----------------------------------------------------------------------


@unit_router.get(
    "", response_class=GeoJSONResponse, **documented(UnitsPage), summary="Resident units"
)
def list_units(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    bbox: ViewBBoxDep,
    community: RegionQuery = None,
    grid: GridQuery = None,
    committee: bool | None = None,
) -> Any:
    """Resident units as GeoJSON points (``committee=true``: members of their community's big
    committee); contacts masked unless the token may see them."""
    return page.answer(
        unit_service.list_units(
            session,
            principal=principal,
            community=community,
            grid=grid,
            committee=committee,
            bbox=bbox,
            limit=page.limit,
            offset=page.offset,
        ),
        response_class=GeoJSONResponse,
    )


@unit_router.post(
    "",
    status_code=201,
    response_class=GeoJSONResponse,
    **documented(UnitFeature, status=201),
    summary="Add a resident unit",
)
def create_unit(
    request: Request, session: SessionDep, principal: TokenDep, crs: CRSDep, body: UnitIn
) -> Any:
    """Add a unit as a GeoJSON Feature (a point in ``crs``); its grid and community are those
    holding the point; ``committee_id`` joins its community's big committee."""
    lon, lat = to_wgs84(*body.geometry.coordinates, crs)
    feature = unit_service.create_unit(
        session,
        values=body.properties.model_dump(),
        lon=lon,
        lat=lat,
        principal=principal,
        today=_today(request),
    )
    return created(feature, f"/api/v1/resident-units/{feature['properties']['id']}")


@unit_router.get(
    "/{unit_id}",
    response_class=GeoJSONResponse,
    **documented(UnitFeature, 404),
    summary="One resident unit",
)
def get_unit(session: SessionDep, principal: PrincipalDep, unit_id: RowId) -> Any:
    """One unit as a GeoJSON Feature."""
    return GeoJSONResponse(unit_service.get_unit(session, unit_id=unit_id, principal=principal))


@unit_router.patch(
    "/{unit_id}",
    response_class=GeoJSONResponse,
    **documented(UnitFeature, 404),
    summary="Change a resident unit, or its membership of the big committee",
)
def patch_unit(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    crs: CRSDep,
    unit_id: RowId,
    body: UnitPatch,
) -> Any:
    """Change a unit's fields or point; ``committee_id`` joins (a committee of its community,
    else 422) or, null, leaves the big committee."""
    point = to_wgs84(*body.geometry.coordinates, crs) if body.geometry is not None else None
    return GeoJSONResponse(
        unit_service.update_unit(
            session,
            unit_id=unit_id,
            values=body.properties.model_dump(exclude_unset=True),
            point=point,
            principal=principal,
            today=_today(request),
        )
    )


@unit_router.delete("/{unit_id}", status_code=204, summary="Remove a resident unit")
def delete_unit(session: SessionDep, principal: TokenDep, unit_id: RowId) -> Response:
    """Remove a unit."""
    unit_service.delete_unit(session, unit_id=unit_id, principal=principal)
    return Response(status_code=204)
