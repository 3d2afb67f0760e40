"""Business-hours calendars and SLA due times counted in them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskapp.domain import sla
from deskapp.domain.business_hours import BusinessCalendar, Holiday
from deskapp.domain.enums import Channel, HoldReason, State
from deskapp.domain.errors import ValidationError
from deskapp.domain.incident import Incident
from deskapp.domain.priority import (
    DEFAULT_PRIORITIES,
    PriorityDefinition,
    PriorityMatrix,
    default_matrix,
)

OSLO = ZoneInfo("Europe/Oslo")
DESK = BusinessCalendar(frozenset({0, 1, 2, 3, 4}), time(8), time(16), "Europe/Oslo")


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)  # type: ignore[arg-type,misc]


def test_friday_closing_plus_eight_hours_is_monday_closing() -> None:
    friday = oslo(2026, 3, 6, 16, 0)
    assert DESK.add(friday, timedelta(hours=8)) == oslo(2026, 3, 9, 16, 0)


def test_used_up_at_closing_time_is_due_at_closing_time() -> None:
    assert DESK.add(oslo(2026, 3, 9, 8, 0), timedelta(hours=8)) == oslo(2026, 3, 9, 16, 0)


def test_opened_at_night_starts_counting_at_opening() -> None:
    assert DESK.add(oslo(2026, 3, 9, 23, 0), timedelta(hours=1)) == oslo(2026, 3, 10, 9, 0)


def test_weekend_is_skipped() -> None:
    # Friday 15:00 + 2h: one hour on Friday, one on Monday.
    assert DESK.add(oslo(2026, 3, 6, 15, 0), timedelta(hours=2)) == oslo(2026, 3, 9, 9, 0)


def test_holiday_is_skipped() -> None:
    easter = BusinessCalendar(DESK.working_days, DESK.opens, DESK.closes, DESK.time_zone,
                              (Holiday(date(2026, 4, 6), "Easter Monday"),))
    # Friday 3 April (Good Friday is not listed) at 16:00 + 4h: Monday is a holiday.
    assert easter.add(oslo(2026, 4, 3, 16, 0), timedelta(hours=4)) == oslo(2026, 4, 7, 12, 0)


def test_spring_forward_day_is_eight_real_hours() -> None:
    # Europe/Oslo moves from +01:00 to +02:00 on Sunday 29 March 2026; a 7-day desk.
    every_day = BusinessCalendar(frozenset(range(7)), time(0), time(4), "Europe/Oslo")
    start = oslo(2026, 3, 29, 0, 0)
    # 00:00-04:00 wall clock that night is only three real hours.
    assert every_day.open_time_between(start, oslo(2026, 3, 29, 4, 0)) == timedelta(hours=3)
    assert every_day.add(start, timedelta(hours=3)) == oslo(2026, 3, 29, 4, 0)
    assert every_day.add(start, timedelta(hours=4)) == oslo(2026, 3, 30, 1, 0)


def test_due_time_keeps_wall_clock_across_dst_weekend() -> None:
    # Friday before the change 15:00 (+01:00) + 2h: Monday 09:00 (+02:00), 7 days later in
    # UTC minus one hour - the wall clock is what the desk keeps.
    due = DESK.add(oslo(2026, 3, 27, 15, 0), timedelta(hours=2))
    assert due == oslo(2026, 3, 30, 9, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        BusinessCalendar(time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="close after"):
        BusinessCalendar(opens=time(17), closes=time(8))
    with pytest.raises(ValidationError, match="working day"):
        BusinessCalendar(working_days=frozenset())


def test_sla_uses_the_calendar_only_for_business_hours_priorities() -> None:
    base = default_matrix()
    bh = tuple(PriorityDefinition(p.rank, p.code, p.name, p.colour, p.response_minutes,
                                  p.resolution_minutes, business_hours=p.rank == 3)
               for p in DEFAULT_PRIORITIES)
    matrix = type(base)(base.impact_levels, base.urgency_levels, base.cells, bh,
                        calendar=DESK)
    friday = oslo(2026, 3, 6, 16, 0).astimezone(UTC)
    p3 = matrix.definition(3)
    assert sla.resolution_due(friday, p3, timedelta(0)) == oslo(2026, 3, 11, 16, 0)
    assert sla.response_due(friday, p3) == oslo(2026, 3, 9, 10, 0)
    p1 = matrix.definition(1)  # 24x7: unchanged behaviour
    assert sla.resolution_due(friday, p1, timedelta(minutes=5)) == friday + timedelta(
        hours=4, minutes=5)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=60 * 60),
)
def test_added_open_time_is_measured_back(start: datetime, minutes: int) -> None:
    due = DESK.add(start, timedelta(minutes=minutes))
    assert due >= start
    assert DESK.open_time_between(start, due) == timedelta(minutes=minutes)
    if minutes:
        local = due.astimezone(OSLO)
        assert DESK.is_open_day(local.date())
        assert time(8) < local.time() <= time(16)


def _business_p3_matrix() -> PriorityMatrix:
    base = default_matrix()
    bh = tuple(PriorityDefinition(p.rank, p.code, p.name, p.colour, p.response_minutes,
                                  p.resolution_minutes, business_hours=p.rank == 3)
               for p in DEFAULT_PRIORITIES)
    return PriorityMatrix(base.impact_levels, base.urgency_levels, base.cells, bh,
                          calendar=DESK)


def test_a_pause_over_the_weekend_counts_only_open_hours() -> None:
    matrix = _business_p3_matrix()
    p3 = matrix.definition(3)
    # On hold Friday 15:00 with the due time Monday 10:00: three open hours were left
    # (Friday 15-16, Monday 08-10). Back at work Monday 09:00, they run until 12:00.
    due, paused = sla.pause_extension(p3, oslo(2026, 3, 9, 10, 0), oslo(2026, 3, 6, 15, 0),
                                      oslo(2026, 3, 9, 9, 0))
    assert paused == timedelta(hours=2)
    assert due == oslo(2026, 3, 9, 12, 0)
    # A 24x7 priority adds the whole elapsed pause.
    p1 = matrix.definition(1)
    due, paused = sla.pause_extension(p1, oslo(2026, 3, 9, 10, 0), oslo(2026, 3, 6, 15, 0),
                                      oslo(2026, 3, 9, 9, 0))
    assert paused == timedelta(hours=66) and due == oslo(2026, 3, 12, 4, 0)


def test_on_hold_over_a_holiday_weekend_keeps_the_open_time_that_was_left() -> None:
    matrix = _business_p3_matrix()
    calendar = BusinessCalendar(DESK.working_days, DESK.opens, DESK.closes, DESK.time_zone,
                                (Holiday(date(2026, 3, 9), "Closed Monday"),))
    matrix = PriorityMatrix(matrix.impact_levels, matrix.urgency_levels, matrix.cells,
                            matrix.priorities, calendar=calendar)
    impact, urgency = next(cell for cell, rank in matrix.cells.items() if rank == 3)
    opened = oslo(2026, 3, 5, 12, 0)  # Thursday noon; P3 runs 24 open hours
    incident = Incident.open(caller_id=1, channel=Channel.PHONE, short_description="VPN",
                             description="", impact=impact, urgency=urgency, matrix=matrix,
                             opened_at=opened.astimezone(UTC), opened_by_id=1)
    before = incident.resolution_due_at
    assert before == calendar.add(opened, matrix.definition(3).resolution_target)
    left = calendar.open_time_between(oslo(2026, 3, 6, 14, 0), before)
    incident.transition(State.IN_PROGRESS, 1, oslo(2026, 3, 5, 13, 0).astimezone(UTC))
    incident.transition(State.ON_HOLD, 1, oslo(2026, 3, 6, 14, 0).astimezone(UTC),
                        hold_reason=HoldReason.AWAITING_CALLER)
    back = oslo(2026, 3, 10, 9, 30)  # Tuesday, after the weekend and the closed Monday
    incident.transition(State.IN_PROGRESS, 1, back.astimezone(UTC), matrix=matrix)
    assert calendar.open_time_between(back, incident.resolution_due_at) == left
    assert incident.sla_paused_seconds == int(timedelta(hours=3, minutes=30).total_seconds())
    # Reclassifying keeps the same due time: paused open time extends the target.
    incident.classify(impact, urgency, matrix, 1, back.astimezone(UTC))
    assert calendar.open_time_between(back, incident.resolution_due_at) == left
