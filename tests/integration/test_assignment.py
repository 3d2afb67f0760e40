"""Reassignment, taking and handing back, escalation and availability, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from deskapp.domain.enums import (
    ActivityKind,
    Escalation,
    ResolutionCode,
    Role,
    State,
)
from deskapp.domain.errors import (
    ConflictError,
    PermissionDeniedError,
    TransitionError,
    ValidationError,
)
from deskapp.domain.people import Caller, Group, User
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.engine import writer
from deskapp.services.assignment import (
    AssignmentService,
    BulkConflictError,
    IncidentRef,
)
from deskapp.services.changes import ChangeKind
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueFilter, QueueQuery
from tests.conftest import FakeClock
from tests.support.incidents import bulk_open


@dataclass
class Desk:
    """The people and groups of these tests.

    Network: lead Lee (a member too), agents Ann and Bob. Desk: agent Cat, no lead.
    Max is a manager, the admin is the fixture's.
    """

    ann: User
    bob: User
    lee: User
    cat: User
    max: User
    network: Group
    desk: Group
    caller: Caller


@pytest.fixture
def desk(database: Database, admin: User) -> Desk:
    with database.uow_factory(write=True) as uow:
        ann = uow.users.add(User(0, "ann", "Ann Lee", "ann@example.com", Role.AGENT))
        bob = uow.users.add(User(0, "bob", "Bob Stone", "bob@example.com", Role.AGENT))
        lee = uow.users.add(User(0, "lee", "Lee Lead", "lee@example.com", Role.LEAD))
        cat = uow.users.add(User(0, "cat", "Cat Field", "cat@example.com", Role.AGENT))
        max_ = uow.users.add(User(0, "max", "Max Manager", "max@example.com", Role.MANAGER))
        network = uow.groups.add(Group(0, "Network", lead_id=lee.id), [ann.id, bob.id, lee.id])
        desk_group = uow.groups.add(Group(0, "Service Desk"), [cat.id])
        caller = uow.callers.add(Caller(0, "Ola Nordmann"))
        uow.commit()
    return Desk(ann, bob, lee, cat, max_, network, desk_group, caller)


def as_(database: Database, user: User, clock: FakeClock) -> AssignmentService:
    return AssignmentService(database.uow_factory, user.id, clock)


def log(service: IncidentService, desk: Desk, text_: str, group: Group | None = None,
        assignee: User | None = None) -> IncidentDetail:
    return service.log_call(LogCallRequest(
        desk.caller.id, text_, 2, 2,
        assignment_group_id=group.id if group else None,
        assignee_id=assignee.id if assignee else None))[0]


def many(database: Database, desk: Desk, count: int, group: Group,
         clock: FakeClock) -> list[IncidentRef]:
    """``count`` open incidents of the group, written at once (quicker than ``count`` calls)."""
    ids = bulk_open(database, count, clock.now, caller_id=desk.caller.id, group_id=group.id)
    return [IncidentRef(i, 1) for i in ids]


def snapshot(database: Database, ids: list[int]) -> dict[int, tuple[object, ...]]:
    """What a bulk change may touch, per incident, read in one query."""
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, version, assignment_group_id, assignee_id, reassignment_count, "
            "escalation FROM incidents")).all()
    return {r[0]: tuple(r[1:]) for r in rows if r[0] in set(ids)}


def ref(detail: IncidentDetail) -> IncidentRef:
    return IncidentRef(detail.id, detail.version)


def activity_count(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM activity")).scalar_one())


# --- reassignment ---------------------------------------------------------------------------


def test_bulk_reassignment_counts_and_records_reason_old_and_new(
        database: Database, admin: User, desk: Desk, service: IncidentService,
        clock: FakeClock) -> None:
    incidents = [log(service, desk, f"Switch {n} down", desk.network, desk.ann)
                 for n in range(3)]
    clock.advance(minutes=5)
    change = as_(database, desk.lee, clock).reassign(
        [ref(d) for d in incidents], desk.desk.id, desk.cat.id, "Desk handles switches now")
    assert change.incident_ids == {d.id for d in incidents}
    assert change.kinds == {ChangeKind.ASSIGNMENT, ChangeKind.ACTIVITY}
    assert change.actor_id == desk.lee.id
    for before in incidents:
        after = service.get(before.id)
        assert (after.assignment_group_id, after.assignee_id) == (desk.desk.id, desk.cat.id)
        assert after.reassignment_count == 1
        assert after.version == before.version + 1
        assert after.updated_at == clock.now
        entries = [(a.kind, a.field, a.old_value, a.new_value, a.body, a.actor_name)
                   for a in service.activity(before.id)][1:]
        assert entries == [
            ("assignment", "assignment_group_id", str(desk.network.id), str(desk.desk.id),
             None, "Lee Lead"),
            ("assignment", "assignee_id", str(desk.ann.id), str(desk.cat.id), None,
             "Lee Lead"),
            ("work_note", None, None, None, "Reassigned: Desk handles switches now",
             "Lee Lead"),
        ]


def test_incidents_already_there_are_left_alone(database: Database, desk: Desk,
                                                service: IncidentService,
                                                clock: FakeClock) -> None:
    there = log(service, desk, "Printer jam", desk.desk, desk.cat)
    elsewhere = log(service, desk, "Printer toner", desk.network)
    change = as_(database, desk.max, clock).reassign([ref(there), ref(elsewhere)],
                                                     desk.desk.id, desk.cat.id, "Printers")
    assert change.incident_ids == {elsewhere.id}
    assert service.get(there.id).version == there.version
    # Assigning an incident that had no agent yet is not a reassignment of an agent, but
    # it had a group, so it counts.
    assert service.get(elsewhere.id).reassignment_count == 1


def test_reassignment_needs_a_reason_and_a_member_of_the_group(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    incident = log(service, desk, "VPN drops", desk.network)
    lead = as_(database, desk.lee, clock)
    with pytest.raises(ValidationError, match="reason"):
        lead.reassign([ref(incident)], desk.desk.id, None, "  ")
    with pytest.raises(ValidationError, match="not a member of Service Desk"):
        lead.reassign([ref(incident)], desk.desk.id, desk.ann.id, "Desk")
    assert service.get(incident.id).version == incident.version


def test_a_stale_incident_among_200_stops_the_whole_bulk_and_is_named(
        database: Database, database_url: str, desk: Desk, service: IncidentService,
        clock: FakeClock) -> None:
    selected = many(database, desk, 200, desk.network, clock)  # what the lead's queue shows
    ids = [r.incident_id for r in selected]
    victim = service.get(ids[137])
    # Another desk, on its own connection, changes one of them after the lead selected it.
    other = open_database(database_url)
    try:
        bob = IncidentService(other.uow_factory, desk.bob.id, clock)
        changed_at = clock.advance(minutes=3)
        bob.assign(victim.id, victim.version, desk.network.id, desk.bob.id)
    finally:
        other.close()
    before = snapshot(database, ids)
    activity_before = activity_count(database)
    clock.advance(minutes=1)
    with pytest.raises(BulkConflictError) as raised:
        as_(database, desk.lee, clock).reassign(selected, desk.desk.id, None, "Desk")
    error = raised.value
    assert isinstance(error, ConflictError)
    assert [s.incident_id for s in error.stale] == [victim.id]
    assert error.stale[0].number == victim.number
    assert error.stale[0].reason == f"changed by Bob Stone at {changed_at:%H:%M} UTC"
    assert victim.number in str(error) and "nothing was changed" in str(error)
    # Nothing was written: not the 199 fresh ones, not their activity.
    assert activity_count(database) == activity_before
    assert snapshot(database, ids) == before
    assert before[victim.id][:2] == (2, desk.network.id)
    assert {v[:5] for i, v in before.items() if i != victim.id} == {
        (1, desk.network.id, None, 0, None)}
    # Reloaded, the same reassignment goes through.
    fresh = [IncidentRef(i, int(str(before[i][0]))) for i in ids]
    change = as_(database, desk.lee, clock).reassign(fresh, desk.desk.id, None, "Desk")
    assert change.incident_ids == set(ids)


def test_a_change_committed_while_the_bulk_waits_for_its_lock_is_caught(
        database: Database, database_url: str, desk: Desk, service: IncidentService,
        clock: FakeClock) -> None:
    """Another connection is in the middle of changing one of 200 incidents when the lead
    reassigns them: the reassignment waits for it, sees its version and writes nothing."""
    selected = many(database, desk, 200, desk.network, clock)
    ids = [r.incident_id for r in selected]
    victim = service.get(ids[42])
    other = open_database(database_url)
    outcome: list[BaseException | None] = []
    try:
        with writer(other.engine).connect() as connection:
            transaction = connection.begin()  # BEGIN IMMEDIATE on SQLite: the write lock
            connection.execute(
                text("UPDATE incidents SET version = version + 1, updated_by_id = :bob, "
                     "short_description = 'Phone dead, whole floor' WHERE id = :id"),
                {"bob": desk.bob.id, "id": victim.id})

            def reassign() -> None:
                try:
                    as_(database, desk.lee, clock).reassign(selected, desk.desk.id, None,
                                                            "Desk")
                    outcome.append(None)
                except BaseException as exc:  # handed to the test thread
                    outcome.append(exc)

            worker = threading.Thread(target=reassign)
            worker.start()
            worker.join(0.5)
            assert worker.is_alive(), "the bulk reassignment should wait for the other writer"
            transaction.commit()
            worker.join(30)
    finally:
        other.close()
    assert len(outcome) == 1 and isinstance(outcome[0], BulkConflictError)
    assert [s.incident_id for s in outcome[0].stale] == [victim.id]
    assert "Bob Stone" in outcome[0].stale[0].reason
    assert {v[1] for v in snapshot(database, ids).values()} == {desk.network.id}


def test_resolved_and_missing_incidents_are_reported_as_such(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    first = log(service, desk, "Mail slow", desk.network)
    second = log(service, desk, "Mail down", desk.network)
    service.transition(second.id, second.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY,
                       resolution_notes="Restarted")
    with pytest.raises(BulkConflictError) as raised:
        as_(database, desk.lee, clock).reassign(
            [ref(first), ref(second), IncidentRef(9999, 1)], desk.desk.id, None, "Desk")
    reasons = {s.incident_id: s.reason for s in raised.value.stale}
    assert reasons[second.id].startswith("resolved meanwhile by Desk Administrator at ")
    assert reasons[9999] == "deleted"
    assert first.id not in reasons


def test_an_incident_resolved_before_it_was_selected_cannot_be_moved(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    done = log(service, desk, "Mail down", desk.network)
    resolved, _ = service.transition(done.id, done.version, State.RESOLVED,
                                     resolution_code=ResolutionCode.SOLVED_REMOTELY,
                                     resolution_notes="Restarted")
    with pytest.raises(TransitionError, match=f"{done.number} \\(resolved\\)"):
        as_(database, desk.lee, clock).reassign([ref(resolved)], desk.desk.id, None, "Desk")


# --- who may reassign what ------------------------------------------------------------------


def test_agents_reassign_their_own_and_their_groups_unassigned_only(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    own = log(service, desk, "Ann's", desk.network, desk.ann)
    unassigned = log(service, desk, "Nobody's", desk.network)
    bobs = log(service, desk, "Bob's", desk.network, desk.bob)
    other_group = log(service, desk, "Desk's", desk.desk)
    triage = log(service, desk, "Not routed yet")
    ann = as_(database, desk.ann, clock)
    change = ann.reassign([ref(own), ref(unassigned), ref(triage)], desk.desk.id, None,
                          "Wrong team")
    assert change.incident_ids == {own.id, unassigned.id, triage.id}
    for forbidden in (bobs, other_group):
        with pytest.raises(PermissionDeniedError,
                           match="agents may reassign only incidents assigned to them or "
                                 "unassigned in their groups"):
            ann.reassign([ref(forbidden)], desk.desk.id, None, "Mine now")
    # One forbidden incident in a batch stops the batch.
    fresh = log(service, desk, "Another nobody's", desk.network)
    with pytest.raises(PermissionDeniedError, match=bobs.number):
        ann.reassign([ref(fresh), ref(service.get(bobs.id))], desk.desk.id, None, "Move")
    assert service.get(fresh.id).assignment_group_id == desk.network.id


def test_leads_reassign_anything_in_their_groups_managers_and_admins_anything(
        database: Database, admin: User, desk: Desk, service: IncidentService,
        clock: FakeClock) -> None:
    bobs = log(service, desk, "Bob's", desk.network, desk.bob)
    cats = log(service, desk, "Cat's", desk.desk, desk.cat)
    lead = as_(database, desk.lee, clock)
    lead.reassign([ref(bobs)], desk.network.id, desk.ann.id, "Bob is overloaded")
    with pytest.raises(PermissionDeniedError, match="Lee Lead \\(lead\\) may not reassign "):
        lead.reassign([ref(cats)], desk.network.id, None, "Network's now")
    as_(database, desk.max, clock).reassign([ref(cats)], desk.network.id, desk.bob.id,
                                            "Manager's call")
    cats = service.get(cats.id)
    as_(database, admin, clock).reassign([ref(cats)], desk.desk.id, desk.cat.id, "Back")
    assert service.get(cats.id).reassignment_count == 2


def test_an_inactive_user_may_not_reassign(database: Database, desk: Desk,
                                           service: IncidentService, clock: FakeClock) -> None:
    incident = log(service, desk, "Ann's", desk.network, desk.ann)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE id = :id"),
                           {"id": desk.ann.id})
    with pytest.raises(PermissionDeniedError):
        as_(database, desk.ann, clock).reassign([ref(incident)], desk.desk.id, None, "Bye")


# --- assign to me, hand back ----------------------------------------------------------------


def test_assign_to_me_takes_an_unassigned_incident_of_my_groups(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    free = log(service, desk, "Wifi weak", desk.network)
    ann = as_(database, desk.ann, clock)
    change = ann.assign_to_me(ref(free))
    assert change.incident_ids == {free.id}
    taken = service.get(free.id)
    # Incident.assign counts any change once an incident has a group, taking one too.
    assert (taken.assignee_id, taken.reassignment_count) == (desk.ann.id, 1)
    # Bob was a moment too late: his row is stale.
    with pytest.raises(ConflictError, match="Ann Lee"):
        as_(database, desk.bob, clock).assign_to_me(ref(free))
    with pytest.raises(ValidationError, match="already assigned to Ann Lee"):
        as_(database, desk.bob, clock).assign_to_me(ref(taken))
    # Taking one's own again changes nothing.
    assert not ann.assign_to_me(ref(taken)).incident_ids
    desks = log(service, desk, "Desk's", desk.desk)
    with pytest.raises(PermissionDeniedError, match="own groups"):
        ann.assign_to_me(ref(desks))


def test_hand_back_returns_it_to_the_group_with_the_note(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    mine = log(service, desk, "Disk full", desk.network, desk.ann)
    with pytest.raises(ValidationError, match="why"):
        as_(database, desk.ann, clock).hand_back(ref(mine), "")
    with pytest.raises(PermissionDeniedError):
        as_(database, desk.bob, clock).hand_back(ref(mine), "Not mine but whatever")
    as_(database, desk.ann, clock).hand_back(ref(mine), "Off sick tomorrow")
    back = service.get(mine.id)
    assert (back.assignment_group_id, back.assignee_id) == (desk.network.id, None)
    notes = [a.body for a in service.activity(mine.id) if a.kind == ActivityKind.WORK_NOTE]
    assert notes == ["Handed back to the group: Off sick tomorrow"]
    # The lead may hand back for an agent.
    bobs = log(service, desk, "Bob's", desk.network, desk.bob)
    as_(database, desk.lee, clock).hand_back(ref(bobs), "Bob is on leave")
    assert service.get(bobs.id).assignee_id is None


# --- escalation -----------------------------------------------------------------------------


def test_functional_escalation_moves_marks_and_explains(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    first = log(service, desk, "Core router flapping", desk.network, desk.ann)
    second = log(service, desk, "Core switch errors", desk.network)
    change = as_(database, desk.ann, clock).escalate_functional(
        [ref(first), ref(second)], desk.desk.id, "Needs the vendor contract")
    assert change.incident_ids == {first.id, second.id}
    moved = service.get(first.id)
    assert (moved.assignment_group_id, moved.assignee_id) == (desk.desk.id, None)
    assert moved.escalation == Escalation.FUNCTIONAL and moved.escalated_at == clock.now
    assert moved.reassignment_count == 1
    notes = [a.body for a in service.activity(first.id) if a.kind == ActivityKind.WORK_NOTE]
    assert notes == ["Escalated to Service Desk: Needs the vendor contract"]
    rows = service.list_queue(QueueQuery(QueueFilter(escalated_only=True)))
    assert {r.id: r.escalation for r in rows} == {first.id: Escalation.FUNCTIONAL,
                                                  second.id: Escalation.FUNCTIONAL}
    with pytest.raises(ValidationError, match="already"):
        as_(database, desk.max, clock).escalate_functional([ref(service.get(first.id))],
                                                           desk.desk.id, "Again")


def test_hierarchical_escalation_flags_the_lead_and_shows_in_queues(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    incident = log(service, desk, "CEO cannot print", desk.network, desk.bob)
    # Ann may flag a colleague's incident of her group to the lead.
    as_(database, desk.ann, clock).escalate_hierarchical(ref(incident), "VIP waiting an hour")
    flagged = service.get(incident.id)
    assert flagged.escalation == Escalation.HIERARCHICAL
    assert flagged.escalated_to_id == desk.lee.id
    assert flagged.assignee_id == desk.bob.id  # the work stays where it is
    entries = [(a.field, a.new_value, a.body) for a in service.activity(incident.id)][-3:]
    assert entries == [("escalation", "hierarchical", None),
                       ("escalated_to_id", str(desk.lee.id), None),
                       (None, None, "Escalated to Lee Lead: VIP waiting an hour")]
    [row] = service.list_queue(QueueQuery(QueueFilter(escalated_only=True)))
    assert (row.id, row.escalation) == (incident.id, Escalation.HIERARCHICAL)
    # A functional escalation afterwards does not lower it.
    as_(database, desk.lee, clock).escalate_functional([ref(flagged)], desk.desk.id, "Desk")
    assert service.get(incident.id).escalation == Escalation.HIERARCHICAL
    # Cat, of another group, may not flag Network's incidents; agents may not clear flags.
    with pytest.raises(PermissionDeniedError, match="escalate"):
        as_(database, desk.cat, clock).escalate_hierarchical(
            ref(log(service, desk, "Network thing", desk.network)), "Hurry")
    current = service.get(incident.id)
    with pytest.raises(PermissionDeniedError, match="clear the escalation"):
        as_(database, desk.cat, clock).clear_escalation(ref(current), "Done")
    as_(database, desk.max, clock).clear_escalation(ref(current), "Spoke to the CEO")
    cleared = service.get(incident.id)
    assert cleared.escalation is None and cleared.escalated_to_id is None
    assert not service.list_queue(QueueQuery(QueueFilter(escalated_only=True)))


def test_the_lead_escalates_to_the_managers(database: Database, desk: Desk,
                                            service: IncidentService, clock: FakeClock) -> None:
    incident = log(service, desk, "Datacentre cooling", desk.network)
    as_(database, desk.lee, clock).escalate_hierarchical(ref(incident), "Budget needed")
    flagged = service.get(incident.id)
    assert (flagged.escalation, flagged.escalated_to_id) == (Escalation.HIERARCHICAL, None)
    assert service.activity(incident.id)[-1].body == "Escalated to the managers: Budget needed"


# --- people ---------------------------------------------------------------------------------


def test_who_may_mark_whom_away(database: Database, admin: User, desk: Desk,
                                clock: FakeClock) -> None:
    as_(database, desk.ann, clock).set_away(desk.ann.id, True)
    with pytest.raises(PermissionDeniedError, match="may not mark Bob Stone away"):
        as_(database, desk.ann, clock).set_away(desk.bob.id, True)
    as_(database, desk.lee, clock).set_away(desk.bob.id, True)
    with pytest.raises(PermissionDeniedError):
        as_(database, desk.lee, clock).set_away(desk.cat.id, True)
    as_(database, desk.max, clock).set_away(desk.cat.id, True)
    as_(database, admin, clock).set_away(desk.ann.id, False)
    targets = {g.name: [(m.full_name, m.away) for m in g.members]
               for g in as_(database, desk.ann, clock).reassign_targets()}
    assert targets == {
        "Network": [("Ann Lee", False), ("Bob Stone", True), ("Lee Lead", False)],
        "Service Desk": [("Cat Field", True)],
    }


def test_reassign_targets_in_reading_order_without_inactive_agents(
        database: Database, desk: Desk, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        gone = uow.users.add(User(0, "zed", "Zed Gone", "", Role.AGENT, active=False))
        uow.groups.add(Group(0, "Group 10"), [gone.id])
        uow.groups.add(Group(0, "Group 2"), [desk.ann.id])
        uow.commit()
    targets = as_(database, desk.cat, clock).reassign_targets()
    assert [g.name for g in targets] == ["Group 2", "Group 10", "Network", "Service Desk"]
    assert targets[1].members == ()
    assert as_(database, desk.lee, clock).my_group_ids() == [desk.network.id]


def test_a_reassignment_of_one_row_reports_like_a_bulk_one(
        database: Database, desk: Desk, service: IncidentService, clock: FakeClock) -> None:
    incident = log(service, desk, "Keyboard sticky", desk.network)
    old = ref(incident)
    service.update(incident.id, incident.version, short_description="Keyboard keys sticky")
    with pytest.raises(BulkConflictError) as raised:
        as_(database, desk.lee, clock).reassign([old], desk.desk.id, None, "Desk")
    assert [(s.number, s.changed_by) for s in raised.value.stale] == [
        (incident.number, "Desk Administrator")]
    assert str(raised.value).startswith("1 of 1 incident was changed after you selected it")
