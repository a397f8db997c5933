"""gridmap.services.stats: the assessment (考评) of incidents per place, category, department and
worker, ranked, and its CSV and XLSX files.

Ranking rule: the higher on-time rate first, then the higher satisfaction (mean evaluation
score), then more incidents, then the group's key; a group with no figure (no closed incident
with a time limit, no score) comes after every group that has one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import InvalidInput
from gridmap.privacy import mask_name
from gridmap.queries import field_stats as fq
from gridmap.queries import stats as q
from gridmap.services import patrols
from gridmap.services.care import VisitRule
from gridmap.vocab.states import INCIDENT_STATES, TASK_STATES

GROUP_BY = ("grid", "community", "street", "category", "department", "worker")
FORMATS = ("json", "csv", "xlsx")

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    """The half-open time range [start, end) the figures cover; None is unbounded."""

    start: datetime | None
    end: datetime | None


def month_period(month: str, timezone: str) -> Period:
    """The calendar month ``YYYY-MM`` in ``timezone``, as a :class:`Period`.

    Examples
    --------
    >>> p = month_period("2026-12", "Asia/Shanghai")
    >>> p.start.isoformat(), p.end.isoformat()
    ('2026-12-01T00:00:00+08:00', '2027-01-01T00:00:00+08:00')
    """
    found = _MONTH.match(month.strip())
    if found is None:
        raise InvalidInput(
            f"month={month!r} is not a month; write YYYY-MM, e.g. 2026-05", parameter="month"
        )
    year, mon = int(found.group(1)), int(found.group(2))
    zone = ZoneInfo(timezone)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return Period(start, end)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _rank_key(group: dict[str, Any]) -> tuple[Any, ...]:
    on_time, score = group["on_time_rate"], group["satisfaction"]
    return (
        on_time is None,
        -(on_time or 0.0),
        score is None,
        -(score or 0.0),
        -group["incidents"],
        str(group["key"]),
    )


def figures(
    session: Session,
    *,
    principal: Principal,
    group_by: str,
    region: str | None,
    period: Period,
) -> dict[str, Any]:
    """The ranked figures of each group, with its name (a worker's masked unless ``principal``
    may see personal data of every place the worker's tasks were in)."""
    if group_by in q.TASK_GROUPS:
        rows, states = q.task_figures(
            session, group_by=group_by, region=region, start=period.start, end=period.end
        )
    else:
        rows, states = q.incident_figures(
            session, group_by=group_by, region=region, start=period.start, end=period.end
        )
    by_state: dict[Any, dict[str, int]] = {}
    for s in states:
        by_state.setdefault(s.key, {})[s.state] = int(s.n)
    place_names = (
        {}
        if group_by in q.TASK_GROUPS
        else q.names(session, group_by=group_by, keys=[r.key for r in rows if r.key is not None])
    )
    groups = []
    for r in rows:
        key = r.key if group_by != "worker" else int(r.key)
        if group_by == "worker":
            seen = all(principal.sees_personal_data(p) for p in r.places)
            name = r.name if seen else mask_name(r.name)
        elif group_by == "department":
            name = r.name
        else:
            name = place_names.get(r.key, r.key)
        closed = int(r.closed)
        group: dict[str, Any] = {
            "key": key,
            group_by: key,
            "name": name,
            "incidents": int(r.incidents),
            "closed": closed,
            "on_time_rate": _rate(int(r.on_time), int(r.with_limit)),
            "rework_rate": _rate(int(r.reworked), closed),
            "satisfaction": _round(r.satisfaction),
            "mean_hours": _round(r.mean_hours),
            "p90_hours": _round(r.p90_hours),
            "overdue_now": int(r.overdue_now),
            "by_state": by_state.get(r.key, {}),
        }
        if group_by in q.TASK_GROUPS:
            group["tasks"] = int(r.tasks)
        else:
            # the names the figures had before the assessment, kept for older callers
            group["total"] = group["incidents"]
            group["mean_hours_to_close"] = group["mean_hours"]
            group["p90_hours_to_close"] = group["p90_hours"]
        groups.append(group)
    groups.sort(key=_rank_key)
    for rank, group in enumerate(groups, start=1):
        group["rank"] = rank
    return {
        "region": region,
        "group_by": group_by,
        "from": None if period.start is None else period.start.isoformat(),
        "to": None if period.end is None else period.end.isoformat(),
        "ranked_by": ["on_time_rate", "satisfaction", "incidents"],
        "groups": groups,
    }


# Columns of the files: (field, Chinese header, English header).
COLUMNS = (
    ("rank", "排名", "rank"),
    ("key", "编码", "key"),
    ("name", "名称", "name"),
    ("incidents", "事件数", "incidents"),
    ("closed", "办结数", "closed"),
    ("on_time_rate", "按期办结率", "on_time_rate"),
    ("rework_rate", "返工率", "rework_rate"),
    ("satisfaction", "满意度(平均考评分)", "satisfaction"),
    ("mean_hours", "平均用时(小时)", "mean_hours"),
    ("p90_hours", "P90用时(小时)", "p90_hours"),
    ("overdue_now", "当前超期", "overdue_now"),
)
STATE_WORDS = {
    "reported": "上报",
    "pooled": "待抢单",
    "queued": "待派单",
    "dispatched": "已派单",
    "handling": "处置中",
    "resolved": "待核查",
    "closed": "已结案",
    "evaluated": "已考评",
    "cancelled": "已作废",
    "parked": "已挂账",
    "assigned": "待报到",
    "working": "处置中",
    "answered": "已反馈",
    "withdrawn": "已撤回",
}


def table(result: dict[str, Any], *, lang: str) -> list[list[Any]]:
    """The figures as rows of cells, a header row first: Chinese headers, or English field
    names with ``lang='en'``; one column per state (``state:<name>`` in English)."""
    states = TASK_STATES if result["group_by"] in q.TASK_GROUPS else INCIDENT_STATES
    english = lang == "en"
    header = [en if english else zh for _, zh, en in COLUMNS]
    header += [f"state:{s}" if english else STATE_WORDS[s] for s in states]
    rows: list[list[Any]] = [header]
    for g in result["groups"]:
        rows.append(
            [g[field] for field, _, _ in COLUMNS] + [g["by_state"].get(s, 0) for s in states]
        )
    return rows


# A cell a spreadsheet would read as a formula (CSV/formula injection, as OWASP describes it).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def to_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel reads the Chinese right; a text that would be
    read as a formula is written with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else "'" + v if _is_formula_like(v) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], *, title: str) -> bytes:
    """One worksheet, the header row bold and frozen; numbers stay numbers, and every text is
    stored as text (never a formula)."""
    # Imported here: only file exports need openpyxl, and it is slow to import.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    for n, row in enumerate(rows):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if _is_formula_like(value):
                cell.data_type = "s"
            if n == 0:
                cell.font = bold
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def period_of(
    *, month: str | None, start: datetime | None, end: datetime | None, timezone: str
) -> Period:
    """The period asked for: a month, or from/to; both at once is refused."""
    if month is not None:
        if start is not None or end is not None:
            raise InvalidInput("give either month or from/to, not both", parameter="month")
        return month_period(month, timezone)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("to must be after from", parameter="to")
    return Period(start, end)


def file_name(result: dict[str, Any], period: Period, ext: str) -> str:
    """A download name that says what the file holds, e.g. ``incidents-street-202612.csv``."""
    when = "" if period.start is None else "-" + period.start.strftime("%Y%m%d")
    where = "" if result["region"] is None else "-" + result["region"]
    return f"incidents-{result['group_by']}{where}{when}.{ext}"


# ------------------------------------------------------------------ patrols and visits

FIELD_GROUP_BY = ("grid", "worker")


def _days(period: Period, now: datetime, timezone: str) -> list[tuple[datetime, datetime]]:
    """The days of ``period`` in ``timezone`` that have begun by ``now``, as [start, end)."""
    zone = ZoneInfo(timezone)
    if period.start is None or period.end is None:
        raise InvalidInput("give month, or both from and to", parameter="month")
    day = period.start.astimezone(zone).date()
    out: list[tuple[datetime, datetime]] = []
    while True:
        start = datetime.combine(day, time(0), tzinfo=zone)
        if start >= period.end or start > now:
            return out
        out.append(
            (
                start,
                min(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone), period.end),
            )
        )
        day += timedelta(days=1)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def field_figures(
    session: Session,
    *,
    principal: Principal,
    group_by: str,
    region: str | None,
    period: Period,
    now: datetime,
    cover_m: float,
    rule: VisitRule,
) -> dict[str, Any]:
    """Patrol and visit figures per grid or grid worker (leaders count as workers) of
    ``region``: ``patrol_share`` the mean of the daily patrol coverage over the period's days
    begun by ``now`` (a grid's own; a worker's: over the grids they serve), ``patrols``,
    ``patrol_km`` and ``patrol_hours`` of patrols started in the period (a grid's: the patrols
    that passed through it), ``visits`` made in the period, ``visits_overdue`` the households
    past their interval at the period's end (or now). Ranked by ``patrol_share``, then km."""
    codes = {r.code: r.name for r in fq.grids(session, region=region)}
    days = _days(period, now, rule.timezone)
    shares: dict[str, list[float]] = {}
    for start, end in days:
        for g in patrols.coverage(
            session, grid_codes=None, region=region, start=start, end=end, cover_m=cover_m
        ):
            if g["share"] is not None and g["grid"] in codes:
                shares.setdefault(g["grid"], []).append(float(g["share"]))
    share = {code: _mean(values) for code, values in shares.items()}
    at = min(now, period.end) if period.end is not None else now
    overdue = fq.overdue_per_grid(session, codes=list(codes), at=at, rule=rule)
    groups: list[dict[str, Any]] = []
    if group_by == "grid":
        walked = fq.patrols_per_grid(session, codes=list(codes), start=period.start, end=period.end)
        visits = fq.visits_per_grid(session, codes=list(codes), start=period.start, end=period.end)
        for code, name in codes.items():
            w = walked.get(code)
            groups.append(
                {
                    "key": code,
                    "grid": code,
                    "name": name,
                    "patrol_share": share.get(code),
                    "patrols": int(w.patrols) if w else 0,
                    "patrol_km": round(float(w.length_m) / 1000, 2) if w else 0.0,
                    "patrol_hours": round(float(w.hours), 2) if w else 0.0,
                    "visits": visits.get(code, 0),
                    "visits_overdue": overdue.get(code, 0),
                }
            )
    else:
        people = fq.field_people(session, codes=list(codes))
        ids = [int(p.id) for p in people]
        walked_by = {
            int(f["person_id"]): f
            for f in (
                patrols.worker_figures(session, person_ids=ids, start=period.start, end=period.end)
                if ids and period.start is not None and period.end is not None
                else []
            )
        }
        visits_by = fq.visits_per_person(
            session, person_ids=ids, start=period.start, end=period.end
        )
        for p in people:
            grids = sorted(p.grids)
            seen = all(principal.sees_personal_data(g) for g in grids)
            w = walked_by.get(int(p.id))
            groups.append(
                {
                    "key": int(p.id),
                    "worker": int(p.id),
                    "name": p.name if seen else mask_name(p.name),
                    "grids": grids,
                    "patrol_share": _mean([s for g in grids if (s := share.get(g)) is not None]),
                    "patrols": int(w["patrols"]) if w else 0,
                    "patrol_km": round(float(w["length_m"]) / 1000, 2) if w else 0.0,
                    "patrol_hours": round(float(w["duration_s"]) / 3600, 2) if w else 0.0,
                    "visits": visits_by.get(int(p.id), 0),
                    "visits_overdue": sum(overdue.get(g, 0) for g in grids),
                }
            )
    groups.sort(
        key=lambda g: (
            g["patrol_share"] is None,
            -(g["patrol_share"] or 0.0),
            -g["patrol_km"],
            str(g["key"]),
        )
    )
    for rank, group in enumerate(groups, start=1):
        group["rank"] = rank
    return {
        "region": region,
        "group_by": group_by,
        "from": None if period.start is None else period.start.isoformat(),
        "to": None if period.end is None else period.end.isoformat(),
        "days": len(days),
        "cover_m": cover_m,
        "ranked_by": ["patrol_share", "patrol_km"],
        "groups": groups,
    }
