"""gridmap.api.departments: the register of departments that answer whistles (吹哨)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gridmap.dependencies import PageDep, RegionQuery, SessionDep, TokenDep
from gridmap.responses import documented
from gridmap.schemas.departments import (
    DepartmentIn,
    DepartmentPatch,
    DepartmentPublic,
    DepartmentsPage,
)
from gridmap.services import departments as service
from gridmap.vocab import codes

router = APIRouter(prefix="/departments", tags=["departments"])

DepartmentCode = Annotated[str, Path(pattern=codes.DEPARTMENT, description="e.g. hd-cgzf")]


@router.get("", **documented(DepartmentsPage), summary="Departments")
def list_departments(
    session: SessionDep,
    page: PageDep,
    region: RegionQuery = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=32, pattern=codes.ONE_LINE)] = None,
    active: bool | None = None,
) -> JSONResponse:
    """Departments by level (district first) and code; ``region``: those serving it (of the
    region, of the regions it lies in, of the regions inside it). Anyone may read: a
    department's name is no one's personal data."""
    return page.answer(
        jsonable_encoder(
            service.list_departments(
                session,
                region=region,
                kind=kind,
                active=active,
                limit=page.limit,
                offset=page.offset,
            )
        )
    )


@router.post(
    "",
    status_code=201,
    **documented(DepartmentPublic, 409, status=201),
    summary="Register a department",
)
def create_department(session: SessionDep, principal: TokenDep, body: DepartmentIn) -> Any:
    """A department of a district or street: a district token for its district and streets,
    a street token for its street, an admin anywhere. A code taken is 409."""
    row = service.create_department(session, values=body.model_dump(), principal=principal)
    return JSONResponse(
        row, status_code=201, headers={"Location": f"/api/v1/departments/{row['code']}"}
    )


@router.get("/{code}", **documented(DepartmentPublic, 404), summary="One department")
def get_department(session: SessionDep, code: DepartmentCode) -> dict[str, Any]:
    """One department."""
    return service.get_department(session, code=code)


@router.patch("/{code}", **documented(DepartmentPublic, 404), summary="Change a department")
def patch_department(
    session: SessionDep, principal: TokenDep, code: DepartmentCode, body: DepartmentPatch
) -> dict[str, Any]:
    """Change its name, kind or whether it is active (an inactive department is neither
    suggested nor whistled)."""
    return service.update_department(
        session, code=code, changes=body.model_dump(exclude_unset=True), principal=principal
    )
