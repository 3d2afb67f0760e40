"""Bad input: one clear error, and nothing half-written left behind."""

from __future__ import annotations

import pytest

from deskapp.domain.enums import ResolutionCode, State
from deskapp.domain.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    NotFoundError,
    TransitionError,
    ValidationError,
)
from deskapp.persistence.database import Database, open_database
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import table_count

TABLES = ("incidents", "activity", "callers", "incident_search")


def snapshot(database: Database) -> dict[str, int]:
    return {table: table_count(database, table) for table in TABLES}


@pytest.fixture
def logged(service: IncidentService) -> int:
    caller = service.add_caller("Known Caller", "known@example.com")
    detail, _ = service.log_call(LogCallRequest(caller.id, "Keyboard missing keys", 3, 3))
    return detail.id


def test_unknown_caller(database: Database, service: IncidentService, logged: int) -> None:
    before = snapshot(database)
    with pytest.raises(NotFoundError, match="no caller with id 4242"):
        service.log_call(LogCallRequest(4242, "Ghost call", 2, 2))
    assert snapshot(database) == before


def test_impossible_transition(database: Database, service: IncidentService,
                               logged: int) -> None:
    detail = service.get(logged)
    detail, _ = service.transition(detail.id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_REMOTELY,
                                   resolution_notes="Sent a new keyboard")
    detail, _ = service.transition(detail.id, detail.version, State.CLOSED)
    before = snapshot(database)
    with pytest.raises(TransitionError, match="final"):
        service.transition(detail.id, detail.version, State.IN_PROGRESS)
    assert snapshot(database) == before
    assert service.get(detail.id) == detail


def test_over_long_field(database: Database, service: IncidentService, logged: int) -> None:
    before = snapshot(database)
    caller_id = service.get(logged).caller_id
    with pytest.raises(ValidationError, match="161 characters long; at most 160"):
        service.log_call(LogCallRequest(caller_id, "x" * 161, 2, 2))
    detail = service.get(logged)
    with pytest.raises(ValidationError, match="Description is 4001"):
        service.update(logged, detail.version, description="y" * 4001)
    with pytest.raises(ValidationError, match="longer than 120"):
        service.add_caller("z" * 121)
    assert snapshot(database) == before
    assert service.get(logged) == detail


def test_a_failure_midway_leaves_nothing(database: Database, service: IncidentService,
                                         logged: int) -> None:
    """A resolve-on-first-contact that fails after the incident was built writes nothing."""
    before = snapshot(database)
    caller_id = service.get(logged).caller_id
    with pytest.raises(ValidationError, match="Resolution notes"):
        service.log_call(LogCallRequest(caller_id, "Password reset", 3, 2, call_seconds=60,
                                        resolution_code=ResolutionCode.SOLVED_REMOTELY))
    assert snapshot(database) == before
    with pytest.raises(ValidationError, match="not levels"):
        service.log_call(LogCallRequest(caller_id, "Odd impact", 9, 2))
    assert snapshot(database) == before


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("nonsense", ConfigurationError, "is not a database URL"),
        # Ports that are not numbers: SQLAlchemy's parser raises a bare ValueError.
        ("postgresql://postgres@host:abc/x", ConfigurationError, "is not a database URL"),
        ("postgresql://postgres@[::1/x", ConfigurationError, "is not a database URL"),
        ("postgresql://postgres@127.0.0.1:5432", ConfigurationError, "must name the database"),
        ("postgresql://", ConfigurationError, "must name the database"),
        ("mysql://root@localhost/desk", ConfigurationError, "SQLite or PostgreSQL"),
        ("sqlite://", ConfigurationError, "must be a file"),
        ("postgresql://postgres@127.0.0.1:1/none", DatabaseUnavailableError,
         "Cannot open the database"),
    ],
)
def test_broken_database_url(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        open_database(url)
    assert "\n" not in str(caught.value)
