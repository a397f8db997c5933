"""gridmap.services.workflow: the incident flow across levels — which step leads where, who may
take it, which steps a caller may take now, and when things fall due.

上报 → 立案 → 抢单/派单 → 分单/联单(吹哨)/返单 → 反馈 → 核查结案 → 考评, as a street and district
command centre run it:

- ``accept`` (立案, a command centre of the place): reported → pooled, in its street's pool until
  the window closes (no street: queued for the district);
- ``claim`` (抢单, the street): pooled → dispatched, owned by the street; when the window closes
  the server moves it to queued, owned by the district (``gridmap.services.pool``);
- ``dispatch`` (派单, the district): queued (or dispatched and held by the district itself) →
  dispatched, owned by the street it names (by default the one holding the incident's point);
- ``split`` (分单) and ``whistle`` (联单/吹哨) by the owner: sub-tasks to communities or grids (by
  default the grid holding it) and to departments: dispatched/queued/handling → handling;
- ``return_up`` (返单, the street): dispatched → queued, owned by the district, with a reason;
- a sub-task: ``report_in`` (报到) assigned → working, ``answer`` (反馈) → answered, ``withdraw``
  by the owner → withdrawn; when no sub-task is open and one was answered the incident is
  resolved (一单一反馈); when all were withdrawn it is dispatched again;
- ``close`` (结案) resolved → closed, ``rework`` (退回重办) resolved → handling with sub-tasks
  reopened, ``evaluate`` (考评) closed → evaluated, all by the owner;
- ``cancel`` (作废) reported/pooled/queued/dispatched → cancelled;
- ``request_extend`` (延期) and ``request_park`` (挂账) ask the level above; only on approval does
  the time move or the incident park (parked → ``resume`` → the state it left).

Pure: no database, no web. gridmap.services.incidents applies what this module decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridmap.auth import Principal
from gridmap.vocab.roles import COMMAND_CENTRES
from gridmap.vocab.states import TASK_OPEN


@dataclass(frozen=True)
class IncidentView:
    """What the flow needs to know of an incident: its state, who holds it and where it is."""

    state: str
    owner_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    parked_from: str | None = None

    @property
    def place(self) -> str | None:
        """The most precise code of where it is: its grid, else its community, else street."""
        return self.grid_code or self.community_code or self.street_code


@dataclass(frozen=True)
class TaskView:
    """What the flow needs to know of a sub-task."""

    kind: str
    assignee_kind: str
    assignee_code: str | None
    state: str


def of_place(principal: Principal, incident: IncidentView) -> bool:
    """A command centre (district or street) whose region holds the incident's place."""
    if principal.role == "admin":
        return True
    place = incident.place
    return principal.role in COMMAND_CENTRES and place is not None and principal.covers(place)


def is_owner(principal: Principal, incident: IncidentView) -> bool:
    """The command centre that holds the incident now (its region is the owner's code)."""
    if principal.role == "admin":
        return True
    return (
        principal.role in COMMAND_CENTRES
        and incident.owner_code is not None
        and principal.region == incident.owner_code
    )


def is_assignee(principal: Principal, incident: IncidentView, task: TaskView) -> bool:
    """Whoever a sub-task is assigned to: the department's tokens for a department; the grid's
    workers or its community's office for a grid; the community's office for a community; the
    owner for an assignee named only in words (older incidents)."""
    if principal.role == "admin":
        return True
    code = task.assignee_code
    if task.assignee_kind == "department":
        return principal.role == "department" and principal.department == code
    if task.assignee_kind == "grid":
        return (
            code is not None
            and principal.role in ("worker", "community")
            and (principal.covers(code))
        )
    if task.assignee_kind == "community":
        return principal.role == "community" and principal.region == code
    return is_owner(principal, incident)


def parent_of(code: str | None) -> str | None:
    """The command centre a level up from ``code``: a street's district; None (an
    administrator) above a district.

    Examples
    --------
    >>> parent_of("110108010"), parent_of("110108")
    ('110108', None)
    """
    if code is not None and len(code) == 9:
        return code[:6]
    return None


Who = Callable[[Principal, IncidentView], bool]


def _claimer(principal: Principal, incident: IncidentView) -> bool:
    return principal.role in ("admin", "street") and is_owner(principal, incident)


def _dispatcher(principal: Principal, incident: IncidentView) -> bool:
    return principal.role in ("admin", "district") and is_owner(principal, incident)


def _canceller(principal: Principal, incident: IncidentView) -> bool:
    if incident.state == "reported":
        return of_place(principal, incident)
    return is_owner(principal, incident)


@dataclass(frozen=True)
class Step:
    """One step on an incident: the states it is taken from, where it leads (``None``: decided
    when taken, see :func:`target`), who may take it and the body fields it requires."""

    name: str
    sources: tuple[str, ...]
    target: str | None
    who: Who
    needs: tuple[str, ...] = ()


HOLDING = ("dispatched", "handling")

STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("accept", ("reported",), None, of_place),
        Step("claim", ("pooled",), "dispatched", _claimer),
        # From dispatched too: a district that took an incident in hand and withdrew every
        # sub-task of it dispatches it to a street after all (a street is never the dispatcher).
        Step("dispatch", ("queued", "dispatched"), "dispatched", _dispatcher),
        Step("split", ("queued", *HOLDING), "handling", is_owner),
        Step("whistle", ("queued", *HOLDING), "handling", is_owner, ("departments",)),
        Step("return_up", ("dispatched",), "queued", _claimer, ("reason",)),
        Step("resume", ("parked",), None, is_owner),
        Step("close", ("resolved",), "closed", is_owner),
        Step("rework", ("resolved",), "handling", is_owner, ("reason",)),
        Step("evaluate", ("closed",), "evaluated", is_owner, ("score",)),
        Step(
            "cancel",
            ("reported", "pooled", "queued", "dispatched"),
            "cancelled",
            _canceller,
            ("reason",),
        ),
        # Requests, decided a level up (gridmap.services.approvals): the state stays.
        Step("request_extend", HOLDING, None, is_owner, ("reason", "hours")),
        Step("request_park", HOLDING, None, is_owner, ("reason",)),
    )
}


@dataclass(frozen=True)
class TaskStep:
    """One step on a sub-task, taken while its incident is being handled."""

    name: str
    sources: tuple[str, ...]
    target: str | None
    by_owner: bool
    needs: tuple[str, ...] = ()


TASK_STEPS: dict[str, TaskStep] = {
    s.name: s
    for s in (
        TaskStep("report_in", ("assigned",), "working", False),
        TaskStep("answer", TASK_OPEN, "answered", False, ("note",)),
        TaskStep("withdraw", TASK_OPEN, "withdrawn", True, ("reason",)),
        TaskStep("request_extend", TASK_OPEN, None, False, ("reason", "hours")),
    )
}


def target(step: str, incident: IncidentView) -> str | None:
    """The state ``step`` leads ``incident`` to; None when it may not be taken from its state,
    or when the step is a request (the state stays).

    Examples
    --------
    >>> target("accept", IncidentView("reported", street_code="110108010"))
    'pooled'
    >>> target("accept", IncidentView("reported"))
    'queued'
    >>> target("resume", IncidentView("parked", parked_from="handling"))
    'handling'
    >>> target("close", IncidentView("handling")) is None
    True
    """
    spec = STEPS.get(step)
    if spec is None or incident.state not in spec.sources:
        return None
    if step == "accept":
        return "pooled" if incident.street_code else "queued"
    if step == "resume":
        return incident.parked_from or "handling"
    return spec.target


def owner_after(step: str, incident: IncidentView, *, street: str | None = None) -> str | None:
    """Who holds ``incident`` after ``step``: the street for its pool, the district once queued
    (returned up, or no street), the street it is dispatched to; otherwise unchanged.

    Examples
    --------
    >>> i = IncidentView("reported", street_code="110108010")
    >>> owner_after("accept", i), owner_after("return_up", i), owner_after("dispatch", i)
    ('110108010', '110108', '110108010')
    """
    if step == "accept":
        return incident.street_code
    if step == "return_up":
        return parent_of(incident.owner_code or incident.street_code)
    if step == "dispatch":
        return street or incident.street_code
    return incident.owner_code


def steps_now(principal: Principal, incident: IncidentView) -> list[str]:
    """The incident steps ``principal`` may take now, in the order of :data:`STEPS`."""
    if not principal.authenticated:
        return []
    return [
        s.name for s in STEPS.values() if incident.state in s.sources and s.who(principal, incident)
    ]


def task_steps_now(principal: Principal, incident: IncidentView, task: TaskView) -> list[str]:
    """The sub-task steps ``principal`` may take now on ``task``."""
    if not principal.authenticated or incident.state != "handling":
        return []
    owner, assignee = is_owner(principal, incident), is_assignee(principal, incident, task)
    return [
        s.name
        for s in TASK_STEPS.values()
        if task.state in s.sources and (owner if s.by_owner else assignee)
    ]


def after_tasks(states: Iterable[str]) -> str:
    """An incident's state from its sub-tasks' states: handling while one is open, resolved
    once none is and one was answered (一单一反馈), dispatched (back to its owner) when every
    one was withdrawn.

    Examples
    --------
    >>> after_tasks(["answered", "working"]), after_tasks(["answered", "withdrawn"])
    ('handling', 'resolved')
    >>> after_tasks(["withdrawn"])
    'dispatched'
    """
    seen = set(states)
    if seen & set(TASK_OPEN):
        return "handling"
    return "resolved" if "answered" in seen else "dispatched"


def decider_of(kind: str, incident: IncidentView, *, on_task: bool) -> str | None:
    """The region code of the command centre that decides a request (None: an
    administrator): a sub-task's extension is the incident owner's to decide; the incident's
    own extension or parking is the level above the owner's.

    Examples
    --------
    >>> i = IncidentView("handling", owner_code="110108010")
    >>> decider_of("extend", i, on_task=True), decider_of("park", i, on_task=False)
    ('110108010', '110108')
    """
    if kind == "extend" and on_task:
        return incident.owner_code
    return parent_of(incident.owner_code)


def may_decide(principal: Principal, decider_code: str | None) -> bool:
    """Whether ``principal`` decides requests addressed to ``decider_code``."""
    if principal.role == "admin":
        return True
    return (
        principal.role in COMMAND_CENTRES
        and decider_code is not None
        and principal.region == decider_code
    )


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
    """When something given at ``dispatched`` with ``limit_hours`` falls due."""
    if working_time:
        return hours.add(dispatched, limit_hours)
    return dispatched + timedelta(hours=limit_hours)
