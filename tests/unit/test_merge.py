"""What a detail form changed, and how it meets what someone else saved meanwhile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from deskapp.domain.enums import Channel, Role, State
from deskapp.domain.errors import ConflictError
from deskapp.domain.people import Caller, Group, User
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest, StateChange
from deskapp.services.merge import changed, compare, edit_for, merged, values_of
from tests.unit.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    with factory() as work:
        work.users.add(User(0, "ann", "Ann", "ann@example.com", Role.AGENT))
        work.callers.add(Caller(0, "Kim Caller"))
        work.groups.add(Group(0, "Service Desk"), [1])
        work.commit()
    return factory


@pytest.fixture
def detail(uow: FakeUnitOfWorkFactory) -> IncidentDetail:
    service = IncidentService(uow, 1, lambda: NOW)
    return service.log_call(LogCallRequest(1, "Monitor flickers", 2, 2))[0]


def test_an_edit_holds_only_what_differs(detail: IncidentDetail) -> None:
    base = values_of(detail)
    mine = {**base, "short_description": "Monitor flickers badly", "impact": 1,
            "assignment_group_id": 1}
    assert changed(base, mine) == {"short_description": "Monitor flickers badly",
                                   "impact": 1, "assignment_group_id": 1}
    edit = edit_for(changed(base, mine), detail)
    assert edit.fields == {"short_description": "Monitor flickers badly"}
    assert (edit.impact, edit.urgency) == (1, None)
    assert (edit.assign, edit.group_id, edit.assignee_id) == (True, 1, None)
    assert edit_for({}, detail).empty
    assert not edit_for({}, detail, StateChange(State.IN_PROGRESS)).empty


def test_compare_puts_clashes_first_and_shows_their_other_changes(
        detail: IncidentDetail) -> None:
    base = values_of(detail)
    theirs = values_of(replace(detail, short_description="Theirs", urgency=1, priority=2,
                               state=State.IN_PROGRESS))
    mine = {**base, "short_description": "Mine", "channel": Channel.EMAIL}
    rows = compare(base, theirs, mine)
    assert rows[0].field == "short_description"
    by_field = {r.field: r for r in rows}
    assert set(by_field) == {"short_description", "channel", "urgency", "priority", "state"}
    assert by_field["short_description"].clash
    assert by_field["channel"].mine_changed and not by_field["channel"].theirs_changed
    assert not by_field["state"].mine_changed  # the form does not edit the state
    assert merged(rows, {}) == {"short_description": "Mine", "channel": Channel.EMAIL}
    assert merged(rows, {"short_description": False}) == {"channel": Channel.EMAIL}


def test_saving_on_top_of_theirs_after_a_conflict(uow: FakeUnitOfWorkFactory,
                                                   detail: IncidentDetail) -> None:
    service = IncidentService(uow, 1, lambda: NOW)
    theirs, _ = service.save_changes(detail.id, detail.version,
                                     edit_for({"urgency": 1}, detail))
    mine = {"short_description": "Monitor flickers badly"}
    with pytest.raises(ConflictError) as raised:
        service.save_changes(detail.id, detail.version, edit_for(mine, detail))
    assert raised.value.current_version == theirs.version
    rows = compare(values_of(detail), values_of(theirs), {**values_of(detail), **mine})
    saved, _ = service.save_changes(detail.id, theirs.version,
                                    edit_for(merged(rows, {}), theirs))
    assert (saved.short_description, saved.urgency, saved.version) == (
        "Monitor flickers badly", 1, theirs.version + 1)
