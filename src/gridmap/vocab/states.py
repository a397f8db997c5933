"""gridmap.vocab.states: the states an incident and a list item can be in."""

from __future__ import annotations

from typing import Literal, get_args

# The incident's closed loop across levels (see gridmap.services.workflow for which step leads
# where): reported (上报) → pooled in its street's pool (待抢单) → claimed by the street, or queued
# for the district's dispatch (待派单) when the window closes or the street sends it back up →
# dispatched to a street (已派单) → handling (sub-tasks open) → resolved (every sub-task answered,
# 待核查) → closed (结案) → evaluated (考评); cancelled (作废) as invalid; parked (挂账) when
# approved.
INCIDENT_STATES = (
    "reported",
    "pooled",
    "queued",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "evaluated",
    "cancelled",
    "parked",
)
# Finished: no clock runs, nothing is overdue, Open311 calls it "closed".
DONE = ("closed", "evaluated", "cancelled")
# Every other state: the incident still asks something of someone.
OPEN = tuple(s for s in INCIDENT_STATES if s not in DONE)

# The states of the first loop (before sub-tasks), as older data and files may hold them, and the
# state each is carried into (migration 0010, and the loader for files in the older words).
LEGACY_STATES = {
    "accepted": "queued",
    "extended": "handling",
    "returned": "handling",
}

# A sub-task (分单 to a community or grid, 联单 to a department): assigned → working (报到, it
# reported in) → answered (反馈); withdrawn by the incident's owner.
TASK_STATES = ("assigned", "working", "answered", "withdrawn")
# Still owed an answer: an incident with one of these is not resolved.
TASK_OPEN = ("assigned", "working")

# A request to extend a time limit (延期) or park an incident (挂账), decided a level up.
APPROVAL_DECISIONS = ("pending", "approved", "refused")

# A list item: open → assigned (支部派单, to a member, a unit or the team) → in_progress (接单: a
# member claimed or took it; a matched project is under way) → done (with a completion report) →
# closed. ``matched``: a need or resource joined into a project.
ListStatus = Literal["open", "assigned", "matched", "in_progress", "done", "closed"]
LIST_STATUSES: tuple[str, ...] = get_args(ListStatus)


def sql_list(values: tuple[str, ...]) -> str:
    """``values`` as an SQL list literal, for the few statements kept as text.

    Examples
    --------
    >>> sql_list(DONE)
    "('closed', 'evaluated', 'cancelled')"
    """
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"
