"""Business hours: when the desk is open, and SLA targets counted in open time only.

A calendar names the working days, one opening window per working day (local wall-clock
times), the IANA time zone those times are in, and public holidays. Adding a duration walks
the open windows day by day, each window turned into UTC instants before it is measured:
a working day that contains a DST change is as long as the clock on the wall says, not
as long as its wall-clock span would suggest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskapp.domain.errors import ValidationError

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_DAYS_SEARCHED = 3 * 366
"""A target that does not fit in three years of open time is a configuration mistake."""


@dataclass(frozen=True)
class Holiday:
    """A public holiday: the desk is closed all day."""

    day: date
    name: str = ""


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days (0 = Monday), one opening window, a time zone and public holidays."""

    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(8, 0)
    closes: time = time(17, 0)
    time_zone: str = "UTC"
    holidays: tuple[Holiday, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _closed_days: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "holidays",
                           tuple(sorted(set(self.holidays), key=lambda h: h.day)))
        self.validate()
        object.__setattr__(self, "_zone", ZoneInfo(self.time_zone))
        object.__setattr__(self, "_closed_days", frozenset(h.day for h in self.holidays))

    def validate(self) -> None:
        """Raise ValidationError unless the calendar can count time."""
        if not self.working_days:
            raise ValidationError("Business hours need at least one working day.",
                                  field="working_days")
        if not self.working_days <= set(range(7)):
            raise ValidationError(f"Working days are 0 (Monday) to 6 (Sunday), not "
                                  f"{sorted(self.working_days)}.", field="working_days")
        if self.opens >= self.closes:
            raise ValidationError(
                f"The desk must close after it opens (opens {self.opens:%H:%M}, closes "
                f"{self.closes:%H:%M}).", field="opens")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"'{self.time_zone}' is not a known time zone "
                                  "(use an IANA name such as Europe/Oslo).",
                                  field="time_zone") from None
        days = [h.day for h in self.holidays]
        if len(set(days)) != len(days):
            raise ValidationError("Two holidays fall on the same day.", field="holidays")

    def is_open_day(self, day: date) -> bool:
        """Whether the desk opens at all on this local date."""
        return day.weekday() in self.working_days and day not in self._closed_days

    def _window(self, day: date) -> tuple[datetime, datetime]:
        # Wall-clock times made aware in the zone, then UTC: subtraction of two aware
        # datetimes in one zone would ignore a DST change between them.
        start = datetime.combine(day, self.opens, tzinfo=self._zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self._zone).astimezone(UTC)
        return start, end

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC) that end after ``moment``, in order, clipped to start there."""
        day = moment.astimezone(self._zone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_open_day(day):
                start, end = self._window(day)
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise ValidationError("The business-hours calendar has no open time in the next "
                              "three years.")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of open time after ``start`` (aware), in UTC.

        A target that is used up exactly at closing time is due at closing time, not at the
        next opening.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        start = start.astimezone(UTC)
        left = duration
        if left <= timedelta(0):
            return start
        for window_start, window_end in self._windows_from(start):
            span = window_end - window_start
            if left <= span:
                return window_start + left
            left -= span
        raise AssertionError("unreachable: _windows_from raises when it runs out")

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much open time lies between two aware moments (zero if ``end`` is earlier)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        if end <= start:
            return total
        for window_start, window_end in self._windows_from(start):
            if window_start >= end:
                break
            total += min(window_end, end) - window_start
        return total


DEFAULT_CALENDAR = BusinessCalendar()
"""Monday to Friday, 08:00-17:00 UTC, no holidays: what a new database starts with."""
