"""How values read on screen: durations, timestamps, the SLA clock and tooltips.

Pure functions without Qt, so they are cheap to test and every view words things alike.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from deskapp.domain.enums import State
from deskapp.domain.sla import AT_RISK_SHARE, resolution_missed
from deskapp.domain.text import natural_sort_key
from deskapp.services.dto import IncidentRow

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M"


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` exactly as typed, never as markup.

    Qt guesses whether a tooltip is rich text (``Qt.mightBeRichText``): a name such as
    "<b>Bob</b>" would show bold, and "a <b & c" could lose its text. So every tooltip that
    carries people's data goes out as rich text we made: the text escaped inside a
    paragraph that keeps its spaces and line breaks (and wraps long lines). Empty stays
    empty, so no tooltip shows.

    Args:
        text: the plain text to show.
    """
    if not text:
        return ""
    return f'<p style="white-space:pre-wrap">{html.escape(text, quote=False)}</p>'


def natural_key(text: str) -> tuple[str, str]:
    """A sort key that orders names as people read them: digits by value, case ignored.

    "Group 2" before "Group 10", "resolver 9" before "Resolver 10": the database's order of
    callers (``natural_sort_key``, stored and indexed), so lists sorted here and lists paged
    by the database read alike. The original text breaks ties ("a01" and "a1") so the order
    is stable.
    """
    return natural_sort_key(text), text


def format_duration(delta: timedelta) -> str:
    """A short, unsigned duration: ``<1m``, ``45m``, ``3h 05m``, ``2d 4h``."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def format_timestamp(moment: datetime | None) -> str:
    """A stored (UTC) moment in the user's local time, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone().strftime(TIMESTAMP_FORMAT)


class SlaState(Enum):
    """How the resolution clock of an incident stands."""

    RUNNING = "running"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    NONE = "none"


@dataclass(frozen=True)
class SlaSummary:
    """The SLA cell of a queue row."""

    state: SlaState
    text: str
    remaining: timedelta | None
    """Time left (negative once overdue); None when the clock no longer applies."""


def sla_summary(row: IncidentRow, now: datetime,
                resolution_minutes: int | None = None) -> SlaSummary:
    """What the resolution clock of ``row`` says at ``now``.

    Args:
        row: the queue row.
        now: the current time, timezone-aware.
        resolution_minutes: the priority's resolution target; without it the row is never
            reported as at risk (the matrix may not be loaded yet).
    """
    if row.state == State.CANCELLED:
        return SlaSummary(SlaState.NONE, "—", None)
    late = resolution_missed(row.state, resolution_breached=row.resolution_breached,
                             resolution_due_at=row.resolution_due_at,
                             paused_since=row.sla_paused_since, now=now)
    # The clock stopped when the incident was put on hold or resolved: measure to then.
    left = (row.resolution_due_at - row.sla_paused_since
            if row.sla_paused_since is not None else None)
    if not row.state.is_open:
        return SlaSummary(SlaState.OVERDUE if late else SlaState.MET,
                          "Breached" if late else "Met", left)
    if left is not None:
        if late:
            return SlaSummary(SlaState.PAUSED, f"Paused, overdue {format_duration(left)}", left)
        return SlaSummary(SlaState.PAUSED, f"Paused, {format_duration(left)} left", left)
    remaining = row.resolution_due_at - now
    if remaining < timedelta(0):
        return SlaSummary(SlaState.OVERDUE, f"Overdue {format_duration(remaining)}", remaining)
    if row.resolution_breached:
        # Breached before a pause that moved the due time later; it stays breached.
        return SlaSummary(SlaState.OVERDUE, f"Breached, {format_duration(remaining)} left",
                          remaining)
    if resolution_minutes is not None and \
            remaining < timedelta(minutes=resolution_minutes) * AT_RISK_SHARE:
        return SlaSummary(SlaState.AT_RISK, f"{format_duration(remaining)} left", remaining)
    return SlaSummary(SlaState.RUNNING, f"{format_duration(remaining)} left", remaining)
