"""Assignment rules: stored, switched, applied when a call is logged, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deskapp.domain.enums import ActivityKind, AssignmentMethod, ResolutionCode, Role, State
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import Caller, Group, User
from deskapp.persistence.database import Database
from deskapp.services.assignment import AssignmentService
from deskapp.services.assignment_rules import (
    RULE_ADDED,
    RULE_CHANGED,
    RULE_DELETED,
    RULE_DISABLED,
    RULE_ENABLED,
    RULE_MOVED,
    AssignmentRuleService,
)
from deskapp.services.audit import AuditService
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock


@pytest.fixture
def people(database: Database, admin: User) -> dict[str, int]:
    """Network (lead Lee; agents Ann, Bob, Dan), Desk (Cat), a manager, a caller, a category
    with a subcategory and two services."""
    with database.uow_factory(write=True) as uow:
        ids: dict[str, int] = {}
        for name, role in (("ann", Role.AGENT), ("bob", Role.AGENT), ("dan", Role.AGENT),
                           ("cat", Role.AGENT), ("lee", Role.LEAD), ("max", Role.MANAGER)):
            ids[name] = uow.users.add(User(0, name, name.title(), "", role)).id
        ids["network"] = uow.groups.add(Group(0, "Network", lead_id=ids["lee"]),
                                        [ids["ann"], ids["bob"], ids["dan"]]).id
        ids["desk"] = uow.groups.add(Group(0, "Desk"), [ids["cat"]]).id
        ids["caller"] = uow.callers.add(Caller(0, "Ola Nordmann")).id
        ids["hardware"] = uow.catalog.add_category("Hardware")
        ids["printer"] = uow.catalog.add_category("Printer", ids["hardware"])
        ids["software"] = uow.catalog.add_category("Software")
        ids["vpn"] = uow.catalog.add_service("Remote access VPN")
        ids["mail"] = uow.catalog.add_service("Email")
        uow.commit()
    ids["admin"] = admin.id
    return ids


def rules_as(database: Database, people: dict[str, int], who: str,
             clock: FakeClock) -> AssignmentRuleService:
    return AssignmentRuleService(database.uow_factory, people[who], clock)


def call(service: IncidentService, people: dict[str, int], impact: int = 2, urgency: int = 2,
         **extra: object) -> IncidentDetail:
    request = LogCallRequest(people["caller"], "Something broke", impact, urgency,
                             **extra)  # type: ignore[arg-type]
    return service.log_call(request)[0]


def rule_notes(service: IncidentService, incident_id: int) -> list[str]:
    return [a.body or "" for a in service.activity(incident_id)
            if a.kind == ActivityKind.WORK_NOTE]


def test_a_new_rule_is_off_until_switched_on(database: Database, people: dict[str, int],
                                             service: IncidentService,
                                             clock: FakeClock) -> None:
    rules = rules_as(database, people, "lee", clock)
    rule = rules.add("VPN to Network", people["network"], AssignmentMethod.GROUP_ONLY,
                     service_id=people["vpn"])
    assert not rule.enabled
    assert call(service, people, service_id=people["vpn"]).assignment_group_id is None
    rule = rules.set_enabled(rule.id, rule.version, True)
    routed = call(service, people, service_id=people["vpn"])
    assert (routed.assignment_group_id, routed.assignee_id) == (people["network"], None)
    assert rule_notes(service, routed.id) == ["Assigned by rule 'VPN to Network' (group only)."]
    # Other services, and calls the agent routed, are left alone.
    assert call(service, people, service_id=people["mail"]).assignment_group_id is None
    chosen = call(service, people, service_id=people["vpn"],
                  assignment_group_id=people["desk"])
    assert chosen.assignment_group_id == people["desk"] and not rule_notes(service, chosen.id)
    # A call resolved on first contact needs nobody.
    solved = call(service, people, service_id=people["vpn"],
                  resolution_code=ResolutionCode.SOLVED_REMOTELY,
                  resolution_notes="Reconnected")
    assert solved.assignment_group_id is None
    [view] = rules.rules()
    assert view.summary == "service Remote access VPN -> Network (group only)"


def test_round_robin_takes_turns_and_skips_agents_away(
        database: Database, people: dict[str, int], service: IncidentService,
        clock: FakeClock) -> None:
    rules = rules_as(database, people, "lee", clock)
    rule = rules.add("Printers", people["network"], AssignmentMethod.ROUND_ROBIN,
                     category_id=people["hardware"])
    rules.set_enabled(rule.id, rule.version, True)
    printer = {"category_id": people["hardware"], "subcategory_id": people["printer"]}
    picked = [call(service, people, **printer).assignee_id for _ in range(4)]
    assert picked == [people["ann"], people["bob"], people["dan"], people["ann"]]
    AssignmentService(database.uow_factory, people["bob"], clock).set_away(people["bob"], True)
    incident = call(service, people, **printer)
    assert incident.assignee_id == people["dan"]  # Bob's turn, but he is away
    assert rule_notes(service, incident.id) == [
        "Assigned by rule 'Printers' (round robin); 1 agent away skipped."]
    # Everybody away: the group's queue.
    for name in ("ann", "dan"):
        AssignmentService(database.uow_factory, people["lee"], clock).set_away(people[name],
                                                                             True)
    nobody = call(service, people, **printer)
    assert (nobody.assignment_group_id, nobody.assignee_id) == (people["network"], None)
    assert "no agent of the group is available" in rule_notes(service, nobody.id)[0]


def test_least_loaded_weighs_open_incidents_by_priority(
        database: Database, people: dict[str, int], service: IncidentService,
        clock: FakeClock) -> None:
    # Ann holds one P1 (weight 4), Bob three P5 (1 each: 3), Dan two P3 (2 each: 4).
    def give(name: str, impact: int, urgency: int, count: int) -> None:
        for _ in range(count):
            call(service, people, impact=impact, urgency=urgency,
                 assignment_group_id=people["network"], assignee_id=people[name])
    give("ann", 1, 1, 1)
    give("bob", 3, 3, 3)
    give("dan", 2, 2, 2)
    rules = rules_as(database, people, "admin", clock)
    rule = rules.add("Software", people["network"], AssignmentMethod.LEAST_LOADED,
                     category_id=people["software"])
    rules.set_enabled(rule.id, rule.version, True)
    # Bob has the most incidents but the lightest load.
    first = call(service, people, impact=3, urgency=2, category_id=people["software"])
    assert first.priority == 4 and first.assignee_id == people["bob"]
    assert rule_notes(service, first.id) == ["Assigned by rule 'Software' (least loaded)."]
    # Now all weigh 4: the one with fewest incidents, Ann.
    second = call(service, people, impact=3, urgency=3, category_id=people["software"])
    assert second.assignee_id == people["ann"]
    # Resolved work does not count.
    service.transition(second.id, second.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes="Ok")
    third = call(service, people, impact=3, urgency=3, category_id=people["software"])
    assert third.assignee_id == people["ann"]


def test_the_first_enabled_matching_rule_wins_and_order_can_change(
        database: Database, people: dict[str, int], service: IncidentService,
        clock: FakeClock) -> None:
    rules = rules_as(database, people, "max", clock)
    broad = rules.add("All hardware", people["desk"], AssignmentMethod.ROUND_ROBIN,
                      category_id=people["hardware"])
    narrow = rules.add("VPN hardware", people["network"], AssignmentMethod.GROUP_ONLY,
                       category_id=people["hardware"], service_id=people["vpn"])
    broad = rules.set_enabled(broad.id, broad.version, True)
    narrow = rules.set_enabled(narrow.id, narrow.version, True)
    vpn_box = {"category_id": people["hardware"], "service_id": people["vpn"]}
    assert call(service, people, **vpn_box).assignee_id == people["cat"]
    rules.move(narrow.id, narrow.version, 0)
    assert [v.rule.name for v in rules.rules()] == ["VPN hardware", "All hardware"]
    assert call(service, people, **vpn_box).assignment_group_id == people["network"]
    assert call(service, people, category_id=people["hardware"]).assignee_id == people["cat"]


def test_rules_are_checked_versioned_and_guarded(database: Database, people: dict[str, int],
                                                 clock: FakeClock) -> None:
    lead = rules_as(database, people, "lee", clock)
    with pytest.raises(ValidationError, match="category, a service or both"):
        lead.add("Everything", people["network"], AssignmentMethod.GROUP_ONLY)
    with pytest.raises(ValidationError, match="name"):
        lead.add("  ", people["network"], AssignmentMethod.GROUP_ONLY,
                 service_id=people["vpn"])
    with pytest.raises(PermissionDeniedError, match="rules of Desk"):
        lead.add("Mail to Desk", people["desk"], AssignmentMethod.GROUP_ONLY,
                 service_id=people["mail"])
    with pytest.raises(PermissionDeniedError, match="may not manage assignment rules"):
        rules_as(database, people, "ann", clock).add(
            "Mine", people["network"], AssignmentMethod.GROUP_ONLY, service_id=people["mail"])
    rule = lead.add("Mail", people["network"], AssignmentMethod.GROUP_ONLY,
                    service_id=people["mail"])
    with pytest.raises(ValidationError, match="already"):
        lead.add("mail", people["network"], AssignmentMethod.GROUP_ONLY,
                 service_id=people["vpn"])
    renamed = lead.save(replace(rule, name="Mail to Network", method=AssignmentMethod.ROUND_ROBIN))
    assert (renamed.name, renamed.method, renamed.version) == (
        "Mail to Network", AssignmentMethod.ROUND_ROBIN, 2)
    # Someone else's older copy is refused, naming who changed it.
    with pytest.raises(ConflictError, match="Lee"):
        rules_as(database, people, "admin", clock).set_enabled(rule.id, rule.version, True)
    # A lead may not move a rule into a group they do not run.
    with pytest.raises(PermissionDeniedError):
        lead.save(replace(renamed, group_id=people["desk"]))
    lead.delete(renamed.id, renamed.version)
    assert lead.rules() == []


def test_swap_exchanges_two_rules_in_one_transaction(
        database: Database, people: dict[str, int], clock: FakeClock) -> None:
    manager = rules_as(database, people, "max", clock)
    first = manager.add("Printers", people["network"], AssignmentMethod.GROUP_ONLY,
                        category_id=people["printer"])
    second = manager.add("Mail", people["desk"], AssignmentMethod.GROUP_ONLY,
                         service_id=people["mail"])
    moved, other = manager.swap(second.id, second.version, first.id, first.version)
    assert (moved.position, other.position) == (first.position, second.position)
    assert [v.rule.name for v in manager.rules()] == ["Mail", "Printers"]
    # A stale version of either rule changes neither: the order stays as it was.
    with pytest.raises(ConflictError):
        manager.swap(moved.id, moved.version, other.id, first.version)
    assert [v.rule.name for v in manager.rules()] == ["Mail", "Printers"]
    assert [v.rule.version for v in manager.rules()] == [moved.version, other.version]
    # A lead reaches only their own groups' rules, on both sides of the swap.
    with pytest.raises(PermissionDeniedError, match="rules of Desk"):
        rules_as(database, people, "lee", clock).swap(other.id, other.version, moved.id,
                                                      moved.version)


def test_rule_changes_are_audited_by_name_with_what_changed(
        database: Database, people: dict[str, int], clock: FakeClock) -> None:
    """Each change names the rule and what changed (it used to leave only a generic
    'change {"tables":["assignment_rules"]}' row)."""
    rules = rules_as(database, people, "admin", clock)
    rule = rules.add("Printers", people["network"], AssignmentMethod.GROUP_ONLY,
                     category_id=people["printer"])
    rule = rules.set_enabled(rule.id, rule.version, True)
    rule = rules.save(replace(rule, name="Printers to the desk", group_id=people["desk"],
                              method=AssignmentMethod.ROUND_ROBIN))
    other = rules.add("VPN", people["network"], AssignmentMethod.GROUP_ONLY,
                      service_id=people["vpn"])
    rule, other = rules.swap(rule.id, rule.version, other.id, other.version)
    rule = rules.set_enabled(rule.id, rule.version, False)
    rules.delete(rule.id, rule.version)
    rows = AuditService(database.uow_factory, people["admin"]).latest(limit=7)
    by_action = [(e.action, e.entity, e.details_dict()) for e in reversed(rows)]
    assert [a for a, _, _ in by_action] == [
        RULE_ADDED, RULE_ENABLED, RULE_CHANGED, RULE_ADDED, RULE_MOVED, RULE_DISABLED,
        RULE_DELETED]
    assert {e for _, e, _ in by_action} == {"assignment_rule"}
    added = by_action[0][2]
    assert added == {"name": "Printers", "group": "Network", "method": "group only",
                     "category": "Printer", "service": None, "enabled": False}
    assert by_action[1][2] == {"name": "Printers"}
    assert by_action[2][2] == {"name": "Printers to the desk", "changes": {
        "name": {"old": "Printers", "new": "Printers to the desk"},
        "group": {"old": "Network", "new": "Desk"},
        "method": {"old": "group only", "new": "round robin"}}}
    assert by_action[4][2]["swapped_with"] == "VPN"
    assert by_action[6][2]["name"] == "Printers to the desk"
    assert not [e for e in rows if e.action == "change"]
