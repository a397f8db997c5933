"""gridmap.api.stats: the assessment (考评) figures, as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gridmap.dependencies import PrincipalDep, RegionQuery, SessionDep, parse_at
from gridmap.queries.incidents import clock
from gridmap.responses import documented
from gridmap.schemas.stats import IncidentFigures
from gridmap.services import stats as svc
from gridmap.services.care import VisitRule

router = APIRouter(prefix="/stats", tags=["stats"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


ROUTE = documented(IncidentFigures)
# the files ``format=csv|xlsx`` answers with, beside the JSON
ROUTE["responses"][200]["content"] = {
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/incidents",
    **ROUTE,
    summary="Assessment figures per grid, community, street, category, department or worker",
)
def incident_stats(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    region: RegionQuery = None,
    month: Annotated[
        str | None, Query(max_length=7, description="a month YYYY-MM, in the server's time zone")
    ] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    group_by: Literal["grid", "community", "street", "category", "department", "worker"] = (
        "community"
    ),
    format: Literal["json", "csv", "xlsx"] = "json",
    lang: Annotated[
        Literal["zh", "en"], Query(description="file headers: Chinese (zh) or field names (en)")
    ] = "zh",
) -> Any:
    """Per group: incidents, closed, on-time rate, rework rate, satisfaction (mean evaluation
    score), mean and p90 hours, overdue now and counts by state, ranked by on-time rate, then
    satisfaction, then incidents (groups without a figure last).

    The period is the incidents' report time for every group; department and worker figures
    come from the sub-tasks of those incidents: a department's are the tasks whistled to it (on
    time = answered by the task's due time, rework = the task was returned, hours = created →
    answered), a worker's the tasks the person answered. A worker's name is masked unless the
    caller may see personal data of every place of those tasks. CSV is UTF-8 with a byte-order
    mark; CSV and XLSX have one header row, in Chinese, or the JSON field names with
    ``lang=en``."""
    tz = request.app.state.settings.api.timezone
    period = svc.period_of(
        month=month,
        start=parse_at(from_, tz, name="from"),
        end=parse_at(to, tz, name="to"),
        timezone=tz,
    )
    result = svc.figures(
        session, principal=principal, group_by=group_by, region=region, period=period
    )
    if format == "json":
        return result
    rows = svc.table(result, lang=lang)
    if format == "csv":
        body, media = svc.to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = svc.to_xlsx(rows, title=group_by), XLSX
    name = svc.file_name(result, period, format)
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/patrols",
    summary="Patrol and visit figures per grid or grid worker: coverage, km, hours, visits",
)
def patrol_stats(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    region: RegionQuery = None,
    month: Annotated[
        str | None,
        Query(max_length=7, description="a month YYYY-MM (default: this month), server time"),
    ] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    group_by: Literal["grid", "worker"] = "grid",
) -> dict[str, Any]:
    """Per current grid of the region, or per worker and leader serving one: ``patrol_share``
    (the mean of the daily patrol coverage, 巡查覆盖率, over the period's days so far; a
    worker's over the grids they serve), ``patrols``, ``patrol_km`` and ``patrol_hours`` of the
    patrols started in the period (a grid's: those that passed through it), ``visits`` made and
    ``visits_overdue`` (households past their visit interval at the period's end, or now).
    These are the assessment's field figures beside ``/stats/incidents``; a worker's name is
    masked unless the caller may see personal data of every grid the worker serves."""
    api = request.app.state.settings.api
    now = clock(session)
    start, end = parse_at(from_, api.timezone, name="from"), parse_at(to, api.timezone, name="to")
    if month is None and start is None and end is None:
        month = now.astimezone(ZoneInfo(api.timezone)).strftime("%Y-%m")
    period = svc.period_of(month=month, start=start, end=end, timezone=api.timezone)
    return svc.field_figures(
        session,
        principal=principal,
        group_by=group_by,
        region=region,
        period=period,
        now=now,
        cover_m=api.patrol_cover_m,
        rule=VisitRule.from_settings(api),
    )
