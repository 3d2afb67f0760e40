"""A shared desk stamps times by the database server's clock, whatever the desktop's says.

The desktop's clock is skewed on purpose (an hour slow, then stepped): what the services
stamp must follow the server within the measurement's uncertainty. SQLite desks keep the
local clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from deskapp.domain.people import User
from deskapp.domain.priority import DEFAULT_PRIORITIES
from deskapp.persistence import audit_log
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.server_clock import ServerClock, local_utc_now
from deskapp.services.audit import verify_chain
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit
from deskapp.services.incidents import IncidentService, LogCallRequest

TOLERANCE = timedelta(seconds=2)
"""How far a stamp may be from the server's time around the call (a loaded test machine)."""


class SkewedClock:
    """This host's clock, off by ``skew`` (which the test may change: a step by NTP)."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _server_now(database: Database) -> datetime:
    with database.engine.connect() as connection:
        value: datetime = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
    return value


def _around_server(database: Database, act: Callable[[], Any]) -> tuple[Any, datetime,
                                                                        datetime]:
    before = _server_now(database)
    result = act()
    after = _server_now(database)
    return result, before - TOLERANCE, after + TOLERANCE


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("the server's clock is a PostgreSQL desk's")


@pytest.mark.usefixtures("postgres_only")
def test_a_desktop_an_hour_slow_stamps_by_the_server_s_clock(
        database: Database, admin: User) -> None:
    local = SkewedClock(timedelta(hours=-1))
    clock = ServerClock(database.engine, local=local)
    offset = clock.measure()
    assert abs(offset - timedelta(hours=1)) < TOLERANCE
    assert clock.round_trip is not None and clock.round_trip < TOLERANCE
    service = IncidentService(database.uow_factory, admin.id, clock)
    caller = service.add_caller("Mo Skew")

    (detail, _), low, high = _around_server(database, lambda: service.log_call(
        LogCallRequest(caller.id, "Clock drifts", 2, 2)))
    assert low <= detail.opened_at <= high
    assert low <= detail.updated_at <= high
    targets = next(p for p in DEFAULT_PRIORITIES if p.rank == detail.priority)
    # The SLA's due times count from the server's "now", as every other desktop's do.
    assert detail.response_due_at == detail.opened_at + timedelta(
        minutes=targets.response_minutes)
    assert detail.resolution_due_at == detail.opened_at + timedelta(
        minutes=targets.resolution_minutes)
    _, low, high = _around_server(database, lambda: service.add_work_note(
        detail.id, "Checked the NTP server"))
    note = service.activity(detail.id)[-1]
    assert note.body == "Checked the NTP server" and low <= note.at <= high
    callers = CallerAdminService(database.uow_factory, admin.id, clock)
    edited, low, high = _around_server(database, lambda: callers.edit(
        caller.id, callers.get(caller.id).version, CallerEdit("Mo Skew", "mo@example.com")))
    assert edited.updated_at is not None and low <= edited.updated_at <= high


@pytest.mark.usefixtures("postgres_only")
def test_the_offset_is_measured_again_in_the_background_once_old(
        database: Database) -> None:
    local = SkewedClock(timedelta(hours=-1))
    ticks = Ticks()
    clock = ServerClock(database.engine, local=local, monotonic=ticks, refresh_after=300)
    clock.measure()
    queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        queries.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        # NTP steps the desktop's clock by 70 minutes; the old offset is still in use.
        local.skew = timedelta(minutes=10)
        ticks.now += 299
        stale = clock()
        assert clock.wait_for_refresh(10)
        assert queries == []  # reading the clock asks the server nothing while fresh
        assert abs(stale - (_server_now(database) + timedelta(minutes=70))) < TOLERANCE
        ticks.now += 1
        clock()  # starts the refresh, does not wait for it
        assert clock.wait_for_refresh(10)
        assert any("clock_timestamp" in q for q in queries)
        assert abs(clock.offset - timedelta(minutes=-10)) < TOLERANCE
        _, low, high = _around_server(database, clock)
        assert low <= clock() <= high + TOLERANCE
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


@pytest.mark.usefixtures("postgres_only")
def test_a_failed_refresh_keeps_the_offset_and_tries_again_later(
        database: Database, database_url: str) -> None:
    other = open_database(database_url, upgrade=False)
    local = SkewedClock(timedelta(hours=-1))
    ticks = Ticks()
    clock = ServerClock(other.engine, local=local, monotonic=ticks, refresh_after=300)
    clock.measure()
    before = clock.offset
    broken = True

    def refuse(*_: object) -> None:
        if broken:
            raise ConnectionRefusedError("server away")

    event.listen(other.engine, "before_cursor_execute", refuse)
    try:
        ticks.now += 301
        clock()
        assert clock.wait_for_refresh(10)
        assert clock.offset == before
        broken = False
        ticks.now += 10
        clock()  # too soon after the failure: no new attempt yet
        assert clock.wait_for_refresh(10)
        ticks.now += 30
        local.skew = timedelta(0)
        clock()
        assert clock.wait_for_refresh(10)
        assert abs(clock.offset) < TOLERANCE
    finally:
        event.remove(other.engine, "before_cursor_execute", refuse)
        other.close()


def test_the_database_s_clock_is_the_server_s_on_postgres_and_the_local_one_on_sqlite(
        database: Database, backend: str) -> None:
    if backend == "postgres":
        assert isinstance(database.clock, ServerClock)
        assert database.clock.round_trip is not None  # measured when the database opened
        assert abs(database.clock() - _server_now(database)) < TOLERANCE
    else:
        assert database.clock is local_utc_now


def test_the_audit_trail_is_stamped_by_the_server_on_postgres(
        database: Database, admin: User, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class HourSlow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) - timedelta(hours=1)

    monkeypatch.setattr(audit_log, "datetime", HourSlow)
    service = IncidentService(database.uow_factory, admin.id)
    if backend == "postgres":
        _, low, high = _around_server(database, lambda: service.add_caller("Nia Note"))
    else:
        before = datetime.now(UTC) - timedelta(hours=1)
        service.add_caller("Nia Note")
        low, high = before - TOLERANCE, datetime.now(UTC) - timedelta(hours=1) + TOLERANCE
    with database.uow_factory() as uow:
        at = uow.audit.latest(1)[0].at
    assert low <= at <= high
    assert verify_chain(database.uow_factory).ok
