"""The workload view's figures and assignment notifications, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from deskapp.domain.enums import HoldReason, ResolutionCode, Role, State
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import Group, User
from deskapp.domain.priority import DEFAULT_PRIORITIES
from deskapp.domain.sla import AT_RISK_SHARE
from deskapp.persistence.database import Database
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.workload import WorkloadService
from deskapp.services.workload_dto import AgentLoad, GroupLoad, Workload
from tests.conftest import FakeClock

TARGET_MINUTES = {p.rank: p.resolution_minutes for p in DEFAULT_PRIORITIES}


@dataclass
class Desk:
    """Two groups, their people, and incidents spread over them."""

    lead: User
    ann: User
    bob: User
    carl: User
    manager: User
    desk: Group
    network: Group
    incident_ids: list[int]


def _user(uow: object, username: str, name: str, role: Role, away: bool = False) -> User:
    return uow.users.add(User(0, username, name, f"{username}@example.com", role,  # type: ignore[attr-defined]
                              away=away))


@pytest.fixture
def desk(database: Database, service: IncidentService, clock: FakeClock) -> Desk:
    with database.uow_factory(write=True) as uow:
        lead = _user(uow, "lena", "Lena Lead", Role.LEAD)
        ann = _user(uow, "ann", "Ann Agent", Role.AGENT)
        bob = _user(uow, "bob", "Bob Away", Role.AGENT, away=True)
        carl = _user(uow, "carl", "Carl Cable", Role.AGENT)
        manager = _user(uow, "mia", "Mia Manager", Role.MANAGER)
        desk_group = uow.groups.add(Group(0, "Service Desk", lead_id=lead.id), [ann.id, bob.id])
        network = uow.groups.add(Group(0, "Network"), [carl.id, ann.id])
        uow.commit()
    caller = service.add_caller("Grace Hopper", email="grace@example.com")
    # Who gets what: (group, assignee) in turn, so every agent and pile gets several
    # priorities, and incidents opened over two days reach every SLA state.
    slots = [(desk_group.id, ann.id), (desk_group.id, bob.id), (desk_group.id, None),
             (network.id, carl.id), (network.id, ann.id), (network.id, None), (None, None)]
    ids = []
    for i in range(42):
        clock.advance(minutes=70)
        group_id, assignee_id = slots[i % len(slots)]
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"Incident {i}: the printer jams",
            impact=1 + i % 3, urgency=1 + (i // 3) % 3,
            assignment_group_id=group_id, assignee_id=assignee_id))
        ids.append(detail.id)
        if i % 5 == 0 and assignee_id is not None:
            service.transition(detail.id, detail.version, State.IN_PROGRESS)
            detail = service.get(detail.id)
            service.transition(detail.id, detail.version, State.ON_HOLD,
                               hold_reason=HoldReason.AWAITING_CALLER)
        if i % 11 == 3:
            service.transition(detail.id, service.get(detail.id).version, State.RESOLVED,
                               resolution_code=ResolutionCode.SOLVED_REMOTELY,
                               resolution_notes="Fixed.")
    clock.advance(hours=2)
    # Carl leaves the network team but keeps his incidents: he still shows, as a non-member.
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            f"DELETE FROM group_members WHERE user_id = {carl.id} AND group_id = {network.id}")
    return Desk(lead, ann, bob, carl, manager, desk_group, network, ids)


def _expected(details: list[IncidentDetail], group_id: int, assignee_id: int | None,
              clock: FakeClock) -> tuple[dict[int, int], int, int, int]:
    """By priority, on hold, breached, at risk, worked out from each incident's own fields."""
    now = clock.now
    by_priority: dict[int, int] = {}
    on_hold = breached = at_risk = 0
    for d in details:
        if not d.state.is_open or d.assignment_group_id != group_id or \
                (assignee_id != "any" and d.assignee_id != assignee_id):
            continue
        by_priority[d.priority] = by_priority.get(d.priority, 0) + 1
        running = d.state in (State.NEW, State.IN_PROGRESS)
        is_breached = d.resolution_breached or (running and d.resolution_due_at < now)
        window = timedelta(minutes=TARGET_MINUTES[d.priority] * AT_RISK_SHARE)
        on_hold += d.state == State.ON_HOLD
        breached += is_breached
        at_risk += (not is_breached and running and d.resolution_due_at < now + window)
    return by_priority, on_hold, breached, at_risk


def _figures(load: AgentLoad) -> tuple[dict[int, int], int, int, int]:
    return ({p: n for p, n in load.by_priority.items() if n}, load.on_hold, load.breached,
            load.at_risk)


def _group(workload: Workload, group: Group) -> GroupLoad:
    return next(g for g in workload.groups if g.group_id == group.id)


def test_each_agent_and_pile_matches_a_count_of_the_incidents(
        database: Database, service: IncidentService, desk: Desk, clock: FakeClock) -> None:
    details = [service.get(i) for i in desk.incident_ids]
    workload = WorkloadService(database.uow_factory, desk.manager.id, clock).workload()
    assert workload.priorities == (1, 2, 3, 4, 5)
    assert workload.all_groups
    assert [g.name for g in workload.groups] == ["Network", "Service Desk"]
    seen_breached = seen_at_risk = seen_on_hold = 0
    for group in (desk.desk, desk.network):
        load = _group(workload, group)
        for agent in load.agents:
            expected = _expected(details, group.id, agent.user_id, clock)
            assert _figures(agent) == expected, agent.name
            assert agent.open == sum(expected[0].values())
        assert _figures(load.unassigned) == _expected(details, group.id, None, clock)
        assert _figures(load.total) == _expected(details, group.id, "any", clock)  # type: ignore[arg-type]
        seen_breached += load.total.breached
        seen_at_risk += load.total.at_risk
        seen_on_hold += load.total.on_hold
    # The data reaches every figure, so none of the comparisons above is vacuous.
    assert seen_breached and seen_at_risk and seen_on_hold


def test_members_away_and_former_members_are_shown_as_such(
        database: Database, desk: Desk, clock: FakeClock) -> None:
    workload = WorkloadService(database.uow_factory, desk.lead.id, clock).workload()
    service_desk = _group(workload, desk.desk)
    assert service_desk.lead_name == "Lena Lead"
    assert [(a.name, a.away, a.member) for a in service_desk.agents] == [
        ("Ann Agent", False, True), ("Bob Away", True, True)]
    network = _group(WorkloadService(database.uow_factory, desk.manager.id, clock).workload(),
                     desk.network)
    # Ann is a member; Carl left the group but still holds some of its incidents.
    assert [(a.name, a.member) for a in network.agents] == [("Ann Agent", True),
                                                            ("Carl Cable", False)]
    assert network.agents[1].open > 0


def test_who_sees_which_groups(database: Database, desk: Desk, clock: FakeClock) -> None:
    def names(user: User) -> list[str]:
        workload = WorkloadService(database.uow_factory, user.id, clock).workload()
        return [g.name for g in workload.groups]

    # The lead runs the Service Desk and is in no group; Ann is in both; Carl in none now.
    assert names(desk.lead) == ["Service Desk"]
    assert names(desk.ann) == ["Network", "Service Desk"]
    assert names(desk.carl) == []
    assert names(desk.manager) == ["Network", "Service Desk"]


def test_a_deactivated_group_shows_while_it_still_holds_open_work(
        database: Database, desk: Desk, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        uow.groups.add(Group(0, "Old Desk"), [desk.ann.id])
        uow.commit()
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE assignment_groups SET active = false "
                                   "WHERE name IN ('Network', 'Old Desk')")

    def names() -> list[str]:
        workload = WorkloadService(database.uow_factory, desk.manager.id, clock).workload()
        return [g.name for g in workload.groups]

    # Network still holds open incidents to move; the empty Old Desk is gone from view.
    assert names() == ["Network (inactive)", "Service Desk"]
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE incidents SET assignment_group_id = NULL, assignee_id = NULL "
            f"WHERE assignment_group_id = {desk.network.id}")
    assert names() == ["Service Desk"]


def test_an_inactive_user_reads_nothing(database: Database, desk: Desk,
                                        clock: FakeClock) -> None:
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE users SET active = false WHERE id = {desk.lead.id}")
    with pytest.raises(PermissionDeniedError):
        WorkloadService(database.uow_factory, desk.lead.id, clock).workload()


def test_counts_follow_a_reassignment(database: Database, service: IncidentService,
                                      desk: Desk, clock: FakeClock) -> None:
    workload = WorkloadService(database.uow_factory, desk.lead.id, clock)
    before = _group(workload.workload(), desk.desk)
    pile = [d for d in (service.get(i) for i in desk.incident_ids)
            if d.state.is_open and d.assignment_group_id == desk.desk.id
            and d.assignee_id is None]
    service.assign(pile[0].id, pile[0].version, desk.desk.id, desk.ann.id)
    after = _group(workload.workload(), desk.desk)
    assert after.unassigned.open == before.unassigned.open - 1
    assert after.agents[0].open == before.agents[0].open + 1
    assert after.total.open == before.total.open


def test_notifications_name_what_others_assigned_to_me(
        database: Database, service: IncidentService, desk: Desk, clock: FakeClock) -> None:
    ann = WorkloadService(database.uow_factory, desk.ann.id, clock)
    start = ann.notification_start()
    assert ann.assigned_to_me_since(start) == []
    pile = [d for d in (service.get(i) for i in desk.incident_ids)
            if d.state.is_open and d.assignee_id is None and d.assignment_group_id is not None]
    first, second, third = pile[:3]
    clock.advance(minutes=1)
    service.assign(first.id, first.version, first.assignment_group_id, desk.ann.id)
    # Ann taking one herself is no news to her.
    IncidentService(database.uow_factory, desk.ann.id, clock).assign(
        second.id, second.version, second.assignment_group_id, desk.ann.id)
    # One given to her and taken away again is no news either.
    detail, _ = service.assign(third.id, third.version, third.assignment_group_id, desk.ann.id)
    service.assign(third.id, detail.version, third.assignment_group_id, None)

    notices = ann.assigned_to_me_since(start)
    assert [(n.incident_id, n.number, n.by_name) for n in notices] == [
        (first.id, first.number, "Desk Administrator")]
    assert notices[0].short_description == first.short_description
    assert notices[0].at == clock.now
    # The next check starts after the last one seen.
    assert ann.assigned_to_me_since(notices[-1].activity_id) == []
    # Someone else's notifications are theirs.
    bob = WorkloadService(database.uow_factory, desk.bob.id, clock)
    assert bob.assigned_to_me_since(start) == []


def test_groups_and_agents_read_in_natural_order(database: Database, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        boss = _user(uow, "boss", "Mia Manager", Role.MANAGER)
        people = [_user(uow, f"r{n}", f"Resolver {n}", Role.AGENT) for n in (216, 22, 3)]
        for name in ("Group 10", "group 2", "Group 1"):
            uow.groups.add(Group(0, name), [p.id for p in people])
        uow.commit()
    workload = WorkloadService(database.uow_factory, boss.id, clock).workload()
    assert [g.name for g in workload.groups] == ["Group 1", "group 2", "Group 10"]
    assert [a.name for a in workload.groups[0].agents] == \
        ["Resolver 3", "Resolver 22", "Resolver 216"]
