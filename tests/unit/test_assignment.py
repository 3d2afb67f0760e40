"""Assignment's own rules: pickers, rule matching, escalation on the aggregate, the permission
table's reach, and the services on fake repositories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskapp.domain.assignment import (
    AssignmentRule,
    first_match,
    least_loaded,
    next_round_robin,
    priority_weight,
    weighted_load,
)
from deskapp.domain.enums import ActivityKind, AssignmentMethod, Escalation, Role, State
from deskapp.domain.errors import PermissionDeniedError, TransitionError, ValidationError
from deskapp.domain.incident import Incident
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import default_matrix
from deskapp.services.assignment import (
    AssignmentService,
    BulkConflictError,
    IncidentRef,
    StaleIncident,
)
from deskapp.services.assignment_rules import AssignmentRuleService
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.permissions import Permission, Scope, reaches, scope
from tests.unit.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
ANN, BOB, LEE, MAX, ADA = 1, 2, 3, 4, 5
DESK, NETWORK = 1, 2


# --- pickers and rules ----------------------------------------------------------------------


def test_priority_weights_make_one_p1_outweigh_three_low_ones() -> None:
    assert [priority_weight(rank) for rank in (1, 2, 3, 4, 5)] == [4, 3, 2, 1, 1]
    assert weighted_load({1: 1}) == 4 > weighted_load({5: 3}) == 3


def test_round_robin_goes_on_after_the_last_and_wraps() -> None:
    assert next_round_robin([7, 3, 5], None) == 3
    assert next_round_robin([7, 3, 5], 3) == 5
    assert next_round_robin([7, 3, 5], 7) == 3
    # The last one chosen went away meanwhile: the next after them still.
    assert next_round_robin([3, 7], 5) == 7
    assert next_round_robin([], 3) is None


def test_least_loaded_by_weight_then_count_then_turn() -> None:
    loads = {1: {1: 1}, 2: {5: 3}, 3: {3: 2}}
    assert least_loaded([1, 2, 3], loads) == 2
    # Equal weight: fewer incidents first.
    assert least_loaded([1, 3], {1: {1: 1}, 3: {3: 2}}) == 1
    # Equal in everything: the turn after the last chosen.
    assert least_loaded([1, 2, 3], {}, last=1) == 2
    assert least_loaded([1, 2, 3], {}, last=3) == 1
    assert least_loaded([], {}) is None


def test_a_rule_matches_its_category_through_subcategories_and_its_service() -> None:
    rule = AssignmentRule(1, "Printers", DESK, category_id=10, service_id=20, enabled=True)
    assert rule.matches(10, None, 20)
    assert rule.matches(9, 10, 20)  # a subcategory rule matches the subcategory too
    assert not rule.matches(10, None, 21)
    assert not rule.matches(None, None, 20)
    service_only = AssignmentRule(2, "Mail", DESK, service_id=20, enabled=True)
    assert service_only.matches(None, None, 20) and not service_only.matches(10, None, None)


def test_the_first_enabled_rule_by_position_wins() -> None:
    rules = [AssignmentRule(1, "Late", DESK, service_id=5, enabled=True, position=3),
             AssignmentRule(2, "Off", NETWORK, service_id=5, enabled=False, position=1),
             AssignmentRule(3, "Early", NETWORK, service_id=5, enabled=True, position=2)]
    match = first_match(rules, None, None, 5)
    assert match is not None and match.name == "Early"
    assert first_match(rules, None, None, 6) is None


def test_a_rule_needs_a_name_and_something_to_match() -> None:
    with pytest.raises(ValidationError, match="category, a service or both"):
        AssignmentRule(0, "All", DESK).validate()
    with pytest.raises(ValidationError, match="name"):
        AssignmentRule(0, " ", DESK, service_id=1).validate()
    assert AssignmentRule(0, " Mail ", DESK, service_id=1).validate().name == "Mail"


# --- escalation on the aggregate -------------------------------------------------------------


def _incident() -> Incident:
    incident = Incident.open(caller_id=1, channel="phone", short_description="VPN down",  # type: ignore[arg-type]
                             impact=2, urgency=2, matrix=default_matrix(), opened_at=NOW,
                             opened_by_id=ANN, assignment_group_id=NETWORK)
    incident.take_pending()
    return incident


def test_escalation_needs_a_reason_and_never_goes_down_by_itself() -> None:
    incident = _incident()
    with pytest.raises(ValidationError, match="Reason"):
        incident.escalate(Escalation.FUNCTIONAL, ANN, NOW, " ")
    incident.escalate(Escalation.HIERARCHICAL, ANN, NOW, "VIP", to_id=LEE)
    incident.escalate(Escalation.FUNCTIONAL, ANN, NOW, "Vendor")
    assert (incident.escalation, incident.escalated_to_id) == (Escalation.HIERARCHICAL, LEE)
    kinds = [(e.kind, e.field, e.new_value, e.body) for e in incident.take_pending()]
    assert kinds == [
        (ActivityKind.ASSIGNMENT, "escalation", "hierarchical", None),
        (ActivityKind.ASSIGNMENT, "escalated_to_id", str(LEE), None),
        (ActivityKind.WORK_NOTE, None, None, "VIP"),
        (ActivityKind.WORK_NOTE, None, None, "Vendor"),
    ]
    assert incident.clear_escalation(LEE, NOW, "Called the VIP back")
    assert incident.escalation is None and not incident.clear_escalation(LEE, NOW, "Again")


def test_a_resolved_incident_is_not_escalated() -> None:
    incident = _incident()
    incident.transition(State.RESOLVED, ANN, NOW, resolution_code="solved_remotely",  # type: ignore[arg-type]
                        resolution_notes="Fixed")
    with pytest.raises(TransitionError):
        incident.escalate(Escalation.HIERARCHICAL, ANN, NOW, "Why?")


# --- the permission table --------------------------------------------------------------------


def _user(role: Role, user_id: int = ANN) -> User:
    return User(user_id, role.value, role.value.title(), "", role)


@pytest.mark.parametrize(("role", "assignee", "group", "expected"), [
    (Role.AGENT, ANN, NETWORK, True),      # their own, in any group
    (Role.AGENT, None, DESK, True),        # unassigned in their group
    (Role.AGENT, None, None, True),        # the triage pile: nobody's yet
    (Role.AGENT, BOB, DESK, False),        # a colleague's
    (Role.AGENT, None, NETWORK, False),    # unassigned in another group
    (Role.LEAD, BOB, DESK, True),          # anything in their groups
    (Role.LEAD, BOB, NETWORK, False),
    (Role.LEAD, ANN, NETWORK, True),       # their own anywhere
    (Role.MANAGER, BOB, NETWORK, True),
    (Role.ADMIN, BOB, NETWORK, True),
])
def test_how_far_reassignment_reaches(role: Role, assignee: int | None, group: int | None,
                                      expected: bool) -> None:
    assert reaches(_user(role), Permission.REASSIGN, frozenset({DESK}), group,
                   assignee) is expected


def test_agents_escalate_within_their_groups_and_inactive_users_nowhere() -> None:
    agent = _user(Role.AGENT)
    assert scope(agent, Permission.REASSIGN) == Scope.OWN
    assert scope(agent, Permission.ESCALATE) == Scope.GROUPS
    assert reaches(agent, Permission.ESCALATE, frozenset({DESK}), DESK, BOB)
    gone = User(ANN, "ann", "Ann", "", Role.ADMIN, active=False)
    assert scope(gone, Permission.REASSIGN) is None
    assert not reaches(gone, Permission.REASSIGN, frozenset(), None, None)
    assert scope(_user(Role.AGENT), Permission.MANAGE_ASSIGNMENT_RULES) is None


# --- services on fakes -----------------------------------------------------------------------


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    with factory() as work:
        for name, role in (("ann", Role.AGENT), ("bob", Role.AGENT), ("lee", Role.LEAD),
                           ("max", Role.MANAGER), ("ada", Role.ADMIN)):
            work.users.add(User(0, name, name.title(), f"{name}@example.com", role))
        work.callers.add(Caller(0, "Kim Caller"))
        work.groups.add(Group(0, "Service Desk", lead_id=LEE), [ANN, BOB])
        work.groups.add(Group(0, "Network"), [BOB])
        work.commit()
    return factory


def test_the_bulk_conflict_names_every_stale_incident_and_is_a_conflict() -> None:
    stale = [StaleIncident(i, f"INC{i:07d}", "changed by Bob at 10:42 UTC", "Bob", NOW)
             for i in range(1, 13)]
    error = BulkConflictError(stale, 200)
    assert error.stale == tuple(stale) and error.total == 200
    assert error.changed_by == "Bob" and error.changed_at == NOW
    text = str(error)
    assert text.startswith("12 of 200 incidents were changed after you selected them, so "
                           "nothing was changed: INC0000001 (changed by Bob at 10:42 UTC); ")
    assert "INC0000010" in text and "INC0000011" not in text and "and 2 more" in text


def test_reassign_on_fakes_writes_nothing_when_one_is_forbidden(
        uow: FakeUnitOfWorkFactory) -> None:
    incidents = IncidentService(uow, ADA, lambda: NOW)
    mine, _ = incidents.log_call(LogCallRequest(1, "Mine", 3, 3, assignment_group_id=DESK,
                                                assignee_id=ANN))
    bobs, _ = incidents.log_call(LogCallRequest(1, "Bob's", 3, 3, assignment_group_id=DESK,
                                                assignee_id=BOB))
    commits = uow.store.commits
    ann = AssignmentService(uow, ANN, lambda: NOW)
    with pytest.raises(PermissionDeniedError, match=bobs.number):
        ann.reassign([IncidentRef(mine.id, 1), IncidentRef(bobs.id, 1)], NETWORK, None,
                     "Network's")
    assert uow.store.commits == commits
    change = ann.reassign([IncidentRef(mine.id, 1)], NETWORK, BOB, "Network's")
    assert change.incident_ids == {mine.id}
    assert uow.store.incidents[mine.id].assignee_id == BOB


def test_selecting_the_same_incident_twice_at_two_versions_is_refused(
        uow: FakeUnitOfWorkFactory) -> None:
    incident, _ = IncidentService(uow, ADA, lambda: NOW).log_call(LogCallRequest(1, "X", 3, 3))
    with pytest.raises(ValidationError, match="selected twice"):
        AssignmentService(uow, ADA, lambda: NOW).reassign(
            [IncidentRef(incident.id, 1), IncidentRef(incident.id, 2)], DESK, None, "Why")
    with pytest.raises(ValidationError, match="at least one"):
        AssignmentService(uow, ADA, lambda: NOW).reassign([], DESK, None, "Why")


def test_log_call_applies_an_enabled_rule_only_when_nobody_was_chosen(
        uow: FakeUnitOfWorkFactory) -> None:
    with uow() as work:
        service_id = work.catalog.add_service("Email")
        work.commit()
    rules = AssignmentRuleService(uow, LEE, lambda: NOW)
    rule = rules.add("Mail to the desk", DESK, AssignmentMethod.ROUND_ROBIN,
                     service_id=service_id)
    rules.set_enabled(rule.id, rule.version, True)
    agent = IncidentService(uow, ANN, lambda: NOW)
    first, _ = agent.log_call(LogCallRequest(1, "No mail", 3, 3, service_id=service_id))
    second, _ = agent.log_call(LogCallRequest(1, "No mail", 3, 3, service_id=service_id))
    assert [(d.assignment_group_id, d.assignee_id) for d in (first, second)] == [
        (DESK, ANN), (DESK, BOB)]
    notes = [v.body for i, v in uow.store.activity if i == first.id and v.kind == "work_note"]
    assert notes == ["Assigned by rule 'Mail to the desk' (round robin)."]
    chosen, _ = agent.log_call(LogCallRequest(1, "No mail", 3, 3, service_id=service_id,
                                              assignment_group_id=NETWORK))
    assert (chosen.assignment_group_id, chosen.assignee_id) == (NETWORK, None)
