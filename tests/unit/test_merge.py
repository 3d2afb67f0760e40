"""What a detail form changed, and how it meets what someone else saved meanwhile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from deskapp.domain.enums import Channel, Role, State
from deskapp.domain.errors import ConflictError
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import default_matrix
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest, StateChange
from deskapp.services.merge import (
    PriorityOutcome,
    changed,
    compare,
    edit_for,
    merged,
    values_of,
)
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


@pytest.mark.parametrize(("mine", "use_mine", "expected"), [
    ({"urgency": 1}, {"urgency": True}, 3),  # their impact 3, my urgency 1: neither's P4/P2
    ({"urgency": 1}, {"urgency": False}, 4),  # theirs throughout: their P4 stays
    ({"impact": 1, "urgency": 1}, {}, 1),  # all mine: P1, as my form previewed
    ({"impact": 1, "urgency": 1}, {"impact": False}, 3),
    ({"impact": 1, "urgency": 3}, {"urgency": False}, 2),  # my impact 1, urgency 2 as read
])
def test_the_merged_priority_shown_is_the_one_stored(
        uow: FakeUnitOfWorkFactory, detail: IncidentDetail, mine: dict[str, int],
        use_mine: dict[str, bool], expected: int) -> None:
    """The priority follows from the impact and urgency kept, as saving derives it."""
    service = IncidentService(uow, 1, lambda: NOW)
    assert (detail.impact, detail.urgency, detail.priority) == (2, 2, 3)
    theirs, _ = service.save_changes(detail.id, detail.version,
                                     edit_for({"impact": 3}, detail))
    assert theirs.priority == 4
    base = values_of(detail)
    rows = compare(base, values_of(theirs), {**base, **mine})
    by_field = {r.field: r for r in rows}
    assert "priority" in by_field and not by_field["priority"].mine_changed  # never a choice
    outcome = PriorityOutcome(values_of(theirs), default_matrix())
    shown = outcome.result(rows, use_mine)
    assert shown == expected
    saved, _ = service.save_changes(detail.id, theirs.version,
                                    edit_for(merged(rows, use_mine), theirs))
    assert saved.priority == shown


def test_the_priority_row_comes_with_impact_or_urgency(detail: IncidentDetail) -> None:
    base = values_of(detail)
    rows = compare(base, base, {**base, "urgency": 1})
    assert [r.field for r in rows] == ["urgency", "priority"]
    assert not rows[1].theirs_changed and not rows[1].mine_changed
    outcome = PriorityOutcome(base, default_matrix())
    assert outcome.mine(rows) == 2
    assert outcome.result(rows, {"urgency": True}) == 2
    assert outcome.result(rows, {"urgency": False}) == 3
    assert compare(base, base, {**base, "short_description": "x"})[-1].field != "priority"
