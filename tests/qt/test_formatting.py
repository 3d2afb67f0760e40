"""Wording of durations and of the SLA clock (no Qt, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from deskapp.domain.enums import Channel, State
from deskapp.qt.formatting import SlaState, format_duration, sla_summary
from deskapp.services.dto import IncidentRow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROW = IncidentRow(
    id=1, number="INC0000001", short_description="Printer jams", state=State.NEW,
    priority=3, impact=2, urgency=2, channel=Channel.PHONE, caller_name="Grace Hopper",
    caller_vip=False, group_name=None, assignee_name=None, opened_at=NOW - timedelta(hours=1),
    updated_at=NOW - timedelta(hours=1), response_due_at=NOW + timedelta(hours=1),
    resolution_due_at=NOW + timedelta(hours=23), sla_paused_since=None,
    resolution_breached=False, is_major=False, version=1,
)
P3_RESOLUTION_MINUTES = 24 * 60


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(seconds=30), "<1m"),
    (timedelta(minutes=45), "45m"),
    (timedelta(hours=3, minutes=5), "3h 05m"),
    (timedelta(days=2, hours=4, minutes=59), "2d 4h"),
    (-timedelta(hours=1, minutes=1), "1h 01m"),
])
def test_durations_are_short(delta: timedelta, expected: str) -> None:
    assert format_duration(delta) == expected


@pytest.mark.parametrize(("changes", "state", "text"), [
    ({}, SlaState.RUNNING, "23h 00m left"),
    ({"resolution_due_at": NOW + timedelta(hours=5)}, SlaState.AT_RISK, "5h 00m left"),
    ({"resolution_due_at": NOW - timedelta(minutes=90)}, SlaState.OVERDUE, "Overdue 1h 30m"),
    ({"resolution_breached": True}, SlaState.OVERDUE, "Breached, 23h 00m left"),
    ({"state": State.ON_HOLD, "sla_paused_since": NOW - timedelta(hours=3)},
     SlaState.PAUSED, "Paused, 1d 2h left"),
    ({"state": State.ON_HOLD, "sla_paused_since": NOW,
      "resolution_due_at": NOW - timedelta(minutes=10), "resolution_breached": True},
     SlaState.PAUSED, "Paused, overdue 10m"),
    ({"state": State.RESOLVED, "sla_paused_since": NOW}, SlaState.MET, "Met"),
    ({"state": State.CLOSED, "sla_paused_since": NOW, "resolution_breached": True},
     SlaState.OVERDUE, "Breached"),
    ({"state": State.CANCELLED}, SlaState.NONE, "—"),
    # Imported: resolved after the due time by our clock, but the other tool's clock (whose
    # verdict the flag keeps) said it was met; the flag decides.
    ({"state": State.CLOSED, "sla_paused_since": NOW,
      "resolution_due_at": NOW - timedelta(days=7)}, SlaState.MET, "Met"),
])
def test_the_sla_clock_in_words(changes: dict[str, object], state: SlaState,
                                text: str) -> None:
    summary = sla_summary(replace(ROW, **changes), NOW, P3_RESOLUTION_MINUTES)  # type: ignore[arg-type]
    assert (summary.state, summary.text) == (state, text)


def test_without_the_matrix_nothing_is_at_risk() -> None:
    row = replace(ROW, resolution_due_at=NOW + timedelta(minutes=5))
    assert sla_summary(row, NOW).state == SlaState.RUNNING
