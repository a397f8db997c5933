"""gridmap.services.workflow: the incident closed loop — which action leads where, who may take
it, and when an incident falls due.

上报 → 立案 → 派遣 → 处置 → 反馈 → 核查结案 → 考评 (the five-step loop of the command centres):

- reported --accept--> accepted --dispatch--> dispatched --start--> handling --resolve--> resolved
- reported/accepted --cancel--> cancelled
- dispatched/handling --extend--> extended; accepted/dispatched/handling/extended --park--> parked;
  extended/parked --resume--> handling; extended --resolve--> resolved
- resolved --close--> closed --evaluate--> evaluated; resolved --return--> returned (rework),
  then --start--> handling or --dispatch--> dispatched again

Pure: no database, no web. gridmap.services.incidents applies what this module decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridmap.vocab.roles import DISPATCHERS, HANDLERS


@dataclass(frozen=True)
class Action:
    """One workflow action."""

    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    needs: tuple[str, ...] = ()  # body fields it requires: note, reason, mode, hours, score


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("accept", ("reported",), "accepted", DISPATCHERS),
        Action("cancel", ("reported", "accepted"), "cancelled", DISPATCHERS, ("reason",)),
        Action("dispatch", ("accepted", "returned"), "dispatched", DISPATCHERS, ("mode",)),
        Action("start", ("dispatched", "returned"), "handling", HANDLERS),
        Action("extend", ("dispatched", "handling"), "extended", HANDLERS, ("reason", "hours")),
        Action(
            "park",
            ("accepted", "dispatched", "handling", "extended"),
            "parked",
            DISPATCHERS,
            ("reason",),
        ),
        Action("resume", ("extended", "parked"), "handling", HANDLERS),
        Action("resolve", ("handling", "extended"), "resolved", HANDLERS, ("note",)),
        Action("close", ("resolved",), "closed", DISPATCHERS),
        Action("return", ("resolved",), "returned", DISPATCHERS, ("reason",)),
        Action("evaluate", ("closed",), "evaluated", DISPATCHERS, ("score",)),
    )
}


def next_state(action: str, current: str) -> str | None:
    """The state ``action`` leads to from ``current``, or None when it may not be taken.

    Examples
    --------
    >>> next_state("accept", "reported"), next_state("close", "handling")
    ('accepted', None)
    """
    a = ACTIONS.get(action)
    if a is None or current not in a.sources:
        return None
    return a.target


@dataclass(frozen=True)
class WorkingHours:
    """Hours that count toward a working-time limit: working days, ``start``–``end`` local time.

    A working day is a weekday that is not a public holiday, or a weekend day worked in exchange
    for one (调休); both come from the ``calendar_day`` table (:func:`gridmap.queries.incidents.
    working_hours`).
    """

    timezone: str = "Asia/Shanghai"
    start: int = 9
    end: int = 18
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` counts.

        Examples
        --------
        >>> wh = WorkingHours(holidays=frozenset({date(2026, 10, 1)}),
        ...                   workdays=frozenset({date(2026, 10, 10)}))
        >>> [wh.is_working_day(date(2026, 10, d)) for d in (1, 9, 10, 11)]
        [False, True, True, False]
        """
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, when: datetime, hours: float) -> datetime:
        """``when`` plus ``hours`` of working time.

        Examples
        --------
        >>> wh = WorkingHours()
        >>> tz = ZoneInfo("Asia/Shanghai")
        >>> wh.add(datetime(2026, 11, 20, 16, 0, tzinfo=tz), 4).isoformat()  # Friday 16:00
        '2026-11-23T11:00:00+08:00'
        >>> wh.add(datetime(2026, 11, 21, 10, 0, tzinfo=tz), 1).isoformat()  # Saturday
        '2026-11-23T10:00:00+08:00'
        >>> golden_week = WorkingHours(holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
        ...                            workdays=frozenset({date(2026, 10, 10)}))
        >>> golden_week.add(datetime(2026, 9, 30, 17, 0, tzinfo=tz), 2).isoformat()
        '2026-10-08T10:00:00+08:00'
        """
        tz = ZoneInfo(self.timezone)
        t = when.astimezone(tz)
        left = timedelta(hours=hours)
        while True:
            day_start = t.replace(hour=self.start, minute=0, second=0, microsecond=0)
            day_end = t.replace(hour=self.end, minute=0, second=0, microsecond=0)
            if not self.is_working_day(t.date()) or t >= day_end:
                t = (t + timedelta(days=1)).replace(
                    hour=self.start, minute=0, second=0, microsecond=0
                )
                continue
            t = max(t, day_start)
            if t + left <= day_end:
                return t + left
            left -= day_end - t
            t = day_end


def due_at(
    dispatched: datetime, limit_hours: int, working_time: bool, hours: WorkingHours = WorkingHours()
) -> datetime:
    """When an incident dispatched at ``dispatched`` falls due."""
    if working_time:
        return hours.add(dispatched, limit_hours)
    return dispatched + timedelta(hours=limit_hours)


def assignees_for(
    mode: str, given: list[str] | None, *, grid: str | None, claimant: str
) -> list[str]:
    """Who an incident is dispatched to, by mode (the 五单), or :class:`InvalidInput`.

    - ``team`` (派单): the grid's team, unless others are named;
    - ``claim`` (抢单): whoever takes the action claims it;
    - ``split`` (分单): two or more named teams share it;
    - ``joint`` (联单): the grid's team with one or more named departments;
    - ``escalate`` (返单): up to the district (named, or its command centre).

    Examples
    --------
    >>> assignees_for("team", None, grid="110108010001001", claimant="学院路街道")
    ['grid 110108010001001 team']
    >>> assignees_for("joint", ["城管执法队"], grid="110108010001001", claimant="x")
    ['grid 110108010001001 team', '城管执法队']
    """
    from gridmap.errors import InvalidInput

    named = [a for a in (given or []) if a.strip()]
    team = [f"grid {grid} team"] if grid else []
    if mode == "team":
        if not (named or team):
            raise InvalidInput("the incident lies in no grid: name who it is dispatched to")
        return named or team
    if mode == "claim":
        return [claimant]
    if mode == "split":
        if len(named) < 2:
            raise InvalidInput("split (分单) names two or more assignees")
        return named
    if mode == "joint":
        if not named:
            raise InvalidInput("joint (联单) names the department(s) working with the grid team")
        return team + named
    if mode == "escalate":
        return named or ["district command centre"]
    raise InvalidInput(f"unknown dispatch mode {mode!r}")
