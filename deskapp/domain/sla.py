"""The SLA clock: due times from the priority's targets, paused while an incident waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from deskapp.domain.business_hours import BusinessCalendar
from deskapp.domain.enums import State
from deskapp.domain.priority import PriorityDefinition

AT_RISK_SHARE = 0.25
"""An incident is at risk once less than this share of its resolution target is left."""


@dataclass(frozen=True)
class SlaStatus:
    """What the clock says at one moment."""

    response_breached: bool
    resolution_breached: bool
    at_risk: bool
    remaining: timedelta | None
    """Time left until the resolution is due (negative once overdue); None when paused."""


def _add_target(opened_at: datetime, priority: PriorityDefinition, target: timedelta) -> datetime:
    calendar = priority.calendar
    if priority.business_hours and calendar is not None and opened_at.tzinfo is not None:
        return calendar.add(opened_at, target)
    return opened_at + target


def response_due(opened_at: datetime, priority: PriorityDefinition) -> datetime:
    """When the first response is due: in business hours if the priority's targets run in
    them (and its matrix has a calendar), else around the clock."""
    return _add_target(opened_at, priority, priority.response_target)


def resolution_due(
    opened_at: datetime, priority: PriorityDefinition, paused: timedelta
) -> datetime:
    """When the resolution is due, the paused time added back.

    ``paused`` is counted on the priority's own clock (see ``pause_extension``): business time
    for business-hours targets, elapsed time otherwise, so it extends the target itself.
    """
    return _add_target(opened_at, priority, priority.resolution_target + paused)


def paused_time(priority: PriorityDefinition | None, start: datetime,
                end: datetime) -> timedelta:
    """How much of a pause from ``start`` to ``end`` counts on the priority's clock: its open
    time for business-hours targets, all of it otherwise (whole seconds, as it is stored)."""
    calendar = _business_calendar(priority, start)
    span = calendar.open_time_between(start, end) if calendar is not None \
        else max(end - start, timedelta(0))
    return timedelta(seconds=int(span.total_seconds()))


def pause_extension(
    priority: PriorityDefinition | None, due: datetime, start: datetime, end: datetime
) -> tuple[datetime, timedelta]:
    """The resolution due time after a pause from ``start`` to ``end``, and the paused time
    that counts.

    A business-hours target pauses only its open time: an incident put on hold at Friday 15:00
    with one open hour left before its Monday 10:00 due time, and resumed on Monday at 09:00,
    is due at 12:00, not 66 elapsed hours later. Without a priority (or for 24x7 targets) the
    whole elapsed pause is added.
    """
    paused = paused_time(priority, start, end)
    calendar = _business_calendar(priority, start)
    return (calendar.add(due, paused) if calendar is not None else due + paused), paused


def _business_calendar(priority: PriorityDefinition | None,
                       moment: datetime) -> BusinessCalendar | None:
    if (priority is not None and priority.business_hours and priority.calendar is not None
            and moment.tzinfo is not None):
        return priority.calendar
    return None


def resolution_missed(
    state: State,
    *,
    resolution_breached: bool,
    resolution_due_at: datetime,
    paused_since: datetime | None,
    now: datetime,
) -> bool:
    """Whether the resolution target is missed: the one rule every view of the SLA follows.

    A resolved or closed incident's verdict is the stored ``resolution_breached`` flag, set
    when it was resolved (or taken from the tool it was imported from, whose clock may have
    counted differently): its due time is not judged again. An open incident has missed it
    once the flag is set (breached before a pause moved the due time later) or once its due
    time has passed - by the start of the pause while the clock is paused, else by ``now``.
    """
    if not state.is_open:
        return resolution_breached
    end = paused_since or now
    return resolution_breached or end > resolution_due_at


def status(
    *,
    state: State,
    now: datetime,
    priority: PriorityDefinition,
    response_due_at: datetime,
    first_response_at: datetime | None,
    resolution_due_at: datetime | None,
    resolved_at: datetime | None,
    paused_since: datetime | None,
    resolution_breached: bool,
) -> SlaStatus:
    """Evaluate the clock at ``now``; a paused clock measures up to the pause."""
    responded = first_response_at or now
    response_breached = responded > response_due_at
    if resolution_due_at is None:
        return SlaStatus(response_breached, resolution_breached, False, None)
    end = resolved_at or paused_since or now
    remaining = resolution_due_at - end
    breached = resolution_missed(state, resolution_breached=resolution_breached,
                                 resolution_due_at=resolution_due_at, paused_since=paused_since,
                                 now=now)
    at_risk = (state.is_open and not breached
               and remaining < priority.resolution_target * AT_RISK_SHARE)
    return SlaStatus(response_breached, breached, at_risk, remaining)
