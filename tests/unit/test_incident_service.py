"""The incident service's own rules, on fake repositories that implement the real ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskapp.domain.enums import ActivityKind, ResolutionCode, Role, State
from deskapp.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from deskapp.domain.people import Caller, Group, User
from deskapp.services.changes import ChangeKind
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.ports import UnitOfWorkFactory
from tests.unit.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    with factory() as work:
        for name, role in (("ann", Role.AGENT), ("max", Role.MANAGER), ("lee", Role.LEAD)):
            work.users.add(User(0, name, name.title(), f"{name}@example.com", role))
        work.callers.add(Caller(0, "Kim Caller"))
        work.groups.add(Group(0, "Service Desk"), [1])
        work.commit()
    return factory


def agent(uow: UnitOfWorkFactory, user_id: int = 1) -> IncidentService:
    return IncidentService(uow, user_id, lambda: NOW)


def test_log_call_commits_once_and_reports_the_change(uow: FakeUnitOfWorkFactory) -> None:
    detail, change = agent(uow).log_call(LogCallRequest(1, "Monitor flickers", 3, 2,
                                                        call_seconds=40))
    assert uow.store.commits == 2
    assert change.kinds == {ChangeKind.CREATED}
    assert change.actor_id == 1
    assert detail.priority == 4
    assert [v.kind for _, v in uow.store.activity] == ["created", "call"]


def test_resolve_on_first_contact(uow: FakeUnitOfWorkFactory) -> None:
    detail, _ = agent(uow).log_call(LogCallRequest(
        1, "Forgot password", 3, 3, resolution_code=ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Reset it with the caller"))
    assert detail.state is State.RESOLVED
    assert detail.first_response_at == NOW
    assert detail.resolved_at == NOW


def test_a_manager_may_not_log_calls(uow: FakeUnitOfWorkFactory) -> None:
    with pytest.raises(PermissionDeniedError, match="Max"):
        agent(uow, 2).log_call(LogCallRequest(1, "Anything", 2, 2))
    assert uow.store.incidents == {}


def test_failure_commits_nothing(uow: FakeUnitOfWorkFactory) -> None:
    with pytest.raises(NotFoundError):
        agent(uow).log_call(LogCallRequest(99, "Nobody", 2, 2))
    with pytest.raises(ValidationError):
        agent(uow).log_call(LogCallRequest(1, "", 2, 2))
    assert uow.store.commits == 1
    assert uow.store.counter == 0


def test_stale_version_is_refused_before_anything_is_written(
    uow: FakeUnitOfWorkFactory,
) -> None:
    service = agent(uow)
    detail, _ = service.log_call(LogCallRequest(1, "Slow laptop", 3, 3))
    service.update(detail.id, detail.version, description="Since Monday")
    with pytest.raises(ConflictError):
        service.update(detail.id, detail.version, description="Since Tuesday")
    assert uow.store.incidents[detail.id].description == "Since Monday"


def test_a_change_that_changes_nothing_writes_nothing(uow: FakeUnitOfWorkFactory) -> None:
    service = agent(uow)
    detail, _ = service.log_call(LogCallRequest(1, "Slow laptop", 3, 3))
    commits = uow.store.commits
    same, change = service.update(detail.id, detail.version, short_description="Slow laptop")
    assert same.version == detail.version
    assert change.kinds == frozenset()
    assert uow.store.commits == commits


def test_assignee_needs_a_group_and_membership(uow: FakeUnitOfWorkFactory) -> None:
    service = agent(uow)
    detail, _ = service.log_call(LogCallRequest(1, "No sound", 3, 3))
    with pytest.raises(ValidationError, match="group before the agent"):
        service.assign(detail.id, detail.version, None, 1)
    with pytest.raises(ValidationError, match="not a member"):
        service.assign(detail.id, detail.version, 1, 3)
    assigned, change = service.assign(detail.id, detail.version, 1, 1)
    assert change.kinds == {ChangeKind.ASSIGNMENT, ChangeKind.ACTIVITY}
    assert (assigned.assignment_group_id, assigned.assignee_id) == (1, 1)


def test_subcategory_must_belong_to_its_category(uow: FakeUnitOfWorkFactory) -> None:
    with uow(write=True) as work:
        hardware = work.catalog.add_category("Hardware")
        software = work.catalog.add_category("Software")
        printer = work.catalog.add_category("Printer", hardware)
        work.commit()
    service = agent(uow)
    with pytest.raises(ValidationError, match="does not belong"):
        service.log_call(LogCallRequest(1, "Jam", 3, 3, category_id=software,
                                        subcategory_id=printer))
    detail, _ = service.log_call(LogCallRequest(1, "Jam", 3, 3, category_id=hardware,
                                                subcategory_id=printer))
    assert detail.subcategory_id == printer


def test_closing_needs_the_resolve_permission(uow: FakeUnitOfWorkFactory) -> None:
    service = agent(uow)
    detail, _ = service.log_call(LogCallRequest(
        1, "Forgot password", 3, 3, resolution_code=ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Reset"))
    later = IncidentService(uow, 1, lambda: NOW + timedelta(days=3))
    closed, change = later.transition(detail.id, detail.version, State.CLOSED)
    assert closed.closed_at == NOW + timedelta(days=3)
    assert ChangeKind.STATE in change.kinds
    kinds = [v.kind for owner, v in uow.store.activity if owner == detail.id]
    assert kinds.count(ActivityKind.STATE_CHANGE.value) == 2
