"""gridmap.vocab.states: the states an incident and a list item can be in."""

from __future__ import annotations

from typing import Literal, get_args

# The incident's closed loop (see gridmap.services.workflow for which action leads where).
INCIDENT_STATES = (
    "reported",
    "accepted",
    "cancelled",
    "dispatched",
    "handling",
    "resolved",
    "closed",
    "returned",
    "evaluated",
    "extended",
    "parked",
)
# Finished: no clock runs, nothing is overdue, Open311 calls it "closed".
DONE = ("closed", "evaluated", "cancelled")
# Every other state: the incident still asks something of someone.
OPEN = tuple(s for s in INCIDENT_STATES if s not in DONE)

ListStatus = Literal["open", "matched", "in_progress", "done", "closed"]
LIST_STATUSES: tuple[str, ...] = get_args(ListStatus)


def sql_list(values: tuple[str, ...]) -> str:
    """``values`` as an SQL list literal, for the few statements kept as text.

    Examples
    --------
    >>> sql_list(DONE)
    "('closed', 'evaluated', 'cancelled')"
    """
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"
