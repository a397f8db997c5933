"""gridmap.api.approvals: requests to extend (延期) or park (挂账), decided a level up."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.dependencies import PageDep, RowId, SessionDep, TokenDep
from gridmap.responses import GeoJSONResponse, documented
from gridmap.schemas.approvals import ApprovalIn, ApprovalMade, ApprovalPage, DecisionIn
from gridmap.schemas.incidents import IncidentFeature
from gridmap.services import approvals as svc
from gridmap.services import incidents
from gridmap.services.etags import incident_etag

router = APIRouter(tags=["approvals"])

IfMatch = Annotated[
    str | None,
    Header(max_length=400, description="the incident's ETag, as GET /incidents/{id} gave it"),
]


@router.post(
    "/incidents/{incident_id}/approvals",
    status_code=201,
    **documented(ApprovalMade, 403, 404, 409, 412, 428, status=201),
    summary="Ask to extend a time limit or to park an incident",
)
def request_approval(
    session: SessionDep,
    principal: TokenDep,
    incident_id: RowId,
    body: ApprovalIn,
    if_match: IfMatch = None,
) -> Any:
    """The command centre holding the incident asks the level above to extend its time limit
    or to park it; a sub-task's assignee asks the incident's owner to extend the sub-task's
    (``task_id``). Nothing moves until the request is approved."""
    made = svc.request(
        session,
        incident_id=incident_id,
        principal=principal,
        kind=body.kind,
        reason=body.reason,
        hours=body.hours,
        task_id=body.task_id,
        if_match=if_match,
    )
    return JSONResponse(
        made,
        status_code=201,
        headers={
            "Location": f"/api/v1/approvals/{made['id']}",
            "ETag": incident_etag(incident_id, made["version"]),
        },
    )


@router.get(
    "/approvals",
    **documented(ApprovalPage),
    summary="Approvals the caller decides",
)
def list_approvals(
    session: SessionDep,
    principal: TokenDep,
    page: PageDep,
    decision: Literal["pending", "approved", "refused"] | None = None,
    incident: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> JSONResponse:
    """Requests addressed to the caller's command centre (an administrator: every one),
    newest first; ``decision=pending`` for those waiting."""
    return page.answer(
        jsonable_encoder(
            svc.list_approvals(
                session,
                principal=principal,
                decision=decision,
                incident_id=incident,
                limit=page.limit,
                offset=page.offset,
            )
        )
    )


def _decide(
    session: Session,
    principal: Principal,
    approval_id: int,
    body: DecisionIn | None,
    if_match: str | None,
    *,
    approve: bool,
) -> GeoJSONResponse:
    incident_id = svc.decide(
        session,
        approval_id=approval_id,
        principal=principal,
        approve=approve,
        note=body.note if body else None,
        if_match=if_match,
    )
    feature = incidents.get_incident(session, incident_id=incident_id, principal=principal)
    props = feature["properties"]
    return GeoJSONResponse(feature, headers={"ETag": incident_etag(props["id"], props["version"])})


@router.post(
    "/approvals/{approval_id}/approve",
    response_class=GeoJSONResponse,
    **documented(IncidentFeature, 403, 404, 409, 412, 428),
    summary="Approve a request",
)
def approve(
    session: SessionDep,
    principal: TokenDep,
    approval_id: RowId,
    body: DecisionIn | None = None,
    if_match: IfMatch = None,
) -> Any:
    """Approve: an extension moves the due time by its hours, a parking parks the incident.
    ``If-Match`` carries the incident's ETag; the answer is the incident afterwards."""
    return _decide(session, principal, approval_id, body, if_match, approve=True)


@router.post(
    "/approvals/{approval_id}/refuse",
    response_class=GeoJSONResponse,
    **documented(IncidentFeature, 403, 404, 409, 412, 428),
    summary="Refuse a request",
)
def refuse(
    session: SessionDep,
    principal: TokenDep,
    approval_id: RowId,
    body: DecisionIn | None = None,
    if_match: IfMatch = None,
) -> Any:
    """Refuse: nothing moves. ``If-Match`` carries the incident's ETag."""
    return _decide(session, principal, approval_id, body, if_match, approve=False)
