"""Change feeds: another connection's commits are heard, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from deskapp.domain.errors import DatabaseUnavailableError, ValidationError
from deskapp.domain.people import User
from deskapp.persistence import live
from deskapp.persistence.database import Database, open_database
from deskapp.services.changes import ChangeNotice
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.ports import ChangeFeed
from tests.conftest import FakeClock


@pytest.fixture
def feed(database: Database) -> Iterator[ChangeFeed]:
    feed = database.open_change_feed()
    try:
        yield feed
    finally:
        feed.close()


@pytest.fixture
def other_desk(database_url: str, admin: User, clock: FakeClock) -> Iterator[IncidentService]:
    """Another agent's desktop: its own engine and connections on the same database."""
    other = open_database(database_url)
    try:
        yield IncidentService(other.uow_factory, admin.id, clock)
    finally:
        other.close()


def test_a_commit_elsewhere_is_heard_and_a_failed_call_is_not(
        other_desk: IncidentService, feed: ChangeFeed, backend: str) -> None:
    assert feed.wait(0.05) is None
    caller = other_desk.add_caller("Ines Duarte", "ines@example.pt", "")
    feed.wait(0.5)  # adding a caller changes the database too (SQLite cannot tell what)
    detail, _ = other_desk.log_call(LogCallRequest(caller.id, "Projector dead", 3, 3))
    notice = feed.wait(5)
    if backend == "postgres":
        assert notice == ChangeNotice(frozenset({detail.id}))
    else:
        assert notice == ChangeNotice(everything=True)
    assert feed.wait(0.05) is None
    with pytest.raises(ValidationError, match="Short description"):
        other_desk.log_call(LogCallRequest(caller.id, "", 3, 3))
    assert feed.wait(0.3) is None


def test_payloads_name_incidents_or_everything() -> None:
    assert live.parse_payload(["1,2", "5"]) == ChangeNotice(frozenset({1, 2, 5}))
    assert live.parse_payload(["3", "*"]) == ChangeNotice(everything=True)
    assert live.parse_payload(["v2:whatever"]) == ChangeNotice(everything=True)


def test_a_lost_postgres_link_is_reported_and_reconnects(
        database: Database, backend: str, other_desk: IncidentService) -> None:
    if backend != "postgres":
        pytest.skip("only a server connection can be cut")
    feed = database.open_change_feed()
    assert isinstance(feed, live.PostgresChangeFeed)
    try:
        with database.engine.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                               {"pid": feed.backend_pid})
        with pytest.raises(DatabaseUnavailableError, match="not available"):
            feed.wait(5)
        feed.reconnect()
        caller = other_desk.add_caller("Ines Duarte", "ines@example.pt", "")
        detail, _ = other_desk.log_call(LogCallRequest(caller.id, "Projector dead", 3, 3))
        assert feed.wait(5) == ChangeNotice(frozenset({detail.id}))
    finally:
        feed.close()
