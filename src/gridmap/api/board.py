"""gridmap.api.board: the command centre's board (queues, counts, "not modified" while nothing
changed), bulk steps on its rows, and the page at ``/board``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse

from gridmap.dependencies import PageDep, PrincipalDep, SessionDep, TokenDep, parse_at
from gridmap.errors import NotFound
from gridmap.queries.board import QUEUES, BoardFilter
from gridmap.responses import documented
from gridmap.schemas.board import BoardPublic, BulkIn, BulkPublic
from gridmap.services import board as svc
from gridmap.services import incidents as incidents_svc
from gridmap.vocab import codes

router = APIRouter(tags=["board"])
page_router = APIRouter(include_in_schema=False)


@router.get(
    "/board",
    **documented(BoardPublic, 304),
    summary="The command centre's queues, with counts",
)
def get_board(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    queue: Annotated[str | None, Query(max_length=16, description=", ".join(QUEUES))] = None,
    street: Annotated[str | None, Query(pattern=codes.STREET)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """The queues of the caller's region (a department, community office or grid worker: its
    open sub-tasks, ``mine``), each queue's count, and one page of the chosen queue's rows,
    due soonest first. Send the ``ETag`` back as ``If-None-Match``: while no incident changed
    (and within the minute) the answer is 304 with no body, one index probe."""
    tz = request.app.state.settings.api.timezone
    query = svc.BoardQuery(
        queue=queue,
        chosen=BoardFilter(
            street=street,
            category=category,
            severity=severity,
            state=state,
            start=parse_at(from_, tz, name="from"),
            end=parse_at(to, tz, name="to"),
        ),
        limit=page.limit,
        offset=page.offset,
    )
    tag, change = svc.etag(session, principal=principal, query=query)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    body = svc.board(session, principal=principal, query=query, change=change)
    return page.answer(body, headers=headers)


@router.post(
    "/incidents/bulk/{step}",
    **documented(BulkPublic, 401, 404, 422),
    summary="One step (accept, claim, dispatch) on many incidents",
)
def bulk(
    request: Request,
    session: SessionDep,
    principal: TokenDep,
    step: Annotated[str, Path(max_length=16, description=", ".join(svc.BULK_STEPS))],
    body: BulkIn,
) -> dict[str, Any]:
    """Take ``step`` on each item with the version it names as its ``If-Match``; each item in a
    savepoint of its own, so a stale one (412) or a refused one (403, 404, 409) changes nothing
    of its own and stops none of the others. The answer lists what became of each, in order."""
    api = request.app.state.settings.api
    hours = incidents_svc.working_hours(
        session, timezone=api.timezone, start=api.working_day_start, end=api.working_day_end
    )
    fields = body.model_dump(exclude={"items"}, exclude_none=True)
    results = svc.bulk(
        session,
        step=step,
        items=[(item.id, item.version) for item in body.items],
        fields=fields,
        principal=principal,
        hours=hours,
        pool_minutes=api.pool_minutes,
    )
    return {"results": results}


@page_router.get("/board")
def board_page(request: Request) -> FileResponse:
    """The board's page (web/board.html)."""
    page = request.app.state.settings.api.web_dir / "board.html"
    if not page.is_file():
        raise NotFound("the board's page is not installed (web/board.html)")
    return FileResponse(page, media_type="text/html")
