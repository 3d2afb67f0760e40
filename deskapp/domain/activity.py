"""Entries of an incident's append-only activity log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from deskapp.domain.enums import ActivityKind, State


@dataclass(frozen=True)
class ActivityEntry:
    """One thing that happened to an incident: a change, a note, a comment or a call."""

    kind: ActivityKind
    at: datetime
    actor_id: int | None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    body: str | None = None
    call_started_at: datetime | None = None
    call_seconds: int | None = None


class Recorded(Protocol):
    """What an activity entry read back from storage says about a move (ActivityView)."""

    @property
    def kind(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def new_value(self) -> str | None: ...


def time_in_states(opened_at: datetime, activity: Iterable[Recorded],
                   now: datetime) -> dict[State, timedelta]:
    """How long the incident spent in each state it passed through, from its state changes
    (``activity`` oldest first).

    The state it is in runs until ``now``, unless it is final (Closed, Cancelled). Time spent
    Resolved is Resolved time, never time on hold, although the SLA clock is paused in both.
    """
    totals: dict[State, timedelta] = {}
    state, since = State.NEW, opened_at
    for entry in activity:
        if entry.kind != ActivityKind.STATE_CHANGE or not entry.new_value:
            continue
        try:
            target = State(entry.new_value)
        except ValueError:
            continue
        totals[state] = totals.get(state, timedelta(0)) + max(entry.at - since, timedelta(0))
        state, since = target, entry.at
    if state.is_open or state == State.RESOLVED:
        totals[state] = totals.get(state, timedelta(0)) + max(now - since, timedelta(0))
    return totals
