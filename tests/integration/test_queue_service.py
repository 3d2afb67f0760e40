"""The sidebar's queues and their counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest

from deskapp.domain.enums import Escalation, HoldReason, ResolutionCode, State
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueQuery
from deskapp.services.queues import BUILT_IN_QUEUES, FilterConditions, QueueService
from tests.conftest import FakeClock, add_user


@pytest.fixture
def agent(database: Database) -> User:
    return add_user(database, "ann")


def test_counts_of_the_built_in_queues(database: Database, admin: User, agent: User,
                                       clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        network = uow.groups.add(Group(0, "Network"), [agent.id])
        desk = uow.groups.add(Group(0, "Desk"), [])
        uow.commit()
    incidents = IncidentService(database.uow_factory, admin.id, clock)
    caller = incidents.add_caller("Olu Ade", "olu@example.com", "")

    def log(text: str, impact: int = 3, urgency: int = 3, **extra: object) -> int:
        detail, _ = incidents.log_call(LogCallRequest(caller.id, text, impact, urgency,
                                                      **extra))  # type: ignore[arg-type]
        return detail.id

    mine = log("VPN drops", assignment_group_id=network.id, assignee_id=agent.id)
    log("Switch port dead", assignment_group_id=network.id)  # unassigned in ann's group
    log("Desk phone", assignment_group_id=desk.id)  # unassigned, not her group
    critical = log("Core router down", 1, 1)
    held = incidents.get(log("Waiting for the vendor"))
    incidents.transition(held.id, held.version, State.ON_HOLD,
                         hold_reason=HoldReason.AWAITING_VENDOR)
    done = incidents.get(log("Password reset"))
    incidents.transition(done.id, done.version, State.RESOLVED,
                         resolution_code=ResolutionCode.SOLVED_REMOTELY,
                         resolution_notes="reset")
    with database.uow_factory(write=True) as uow:
        parent = uow.incidents.get(critical)
        parent.is_major = True
        uow.incidents.save(parent, parent.version)
        # The Escalated queue holds open escalated incidents, not resolved ones.
        for escalated in (mine, done.id):
            flagged = uow.incidents.get(escalated)
            flagged.escalation = Escalation.HIERARCHICAL
            uow.incidents.save(flagged, flagged.version)
        uow.commit()
    clock.advance(hours=3, minutes=30)  # the P1 has under a quarter of its 4 h left

    queues = QueueService(database.uow_factory, agent.id, clock, UTC)
    counts = queues.counts(BUILT_IN_QUEUES)
    assert [counts[q.key] for q in BUILT_IN_QUEUES] == [1, 1, 5, 1, 1, 1, 1, 1, 6]
    mine_filter = queues.resolve(BUILT_IN_QUEUES[0])
    assert [r.id for r in incidents.list_queue(QueueQuery(mine_filter))] == [mine]
    clock.advance(days=8)
    recent = BUILT_IN_QUEUES[7]
    assert queues.counts([recent]) == {recent.key: 0}


def test_saved_filters_round_trip_through_the_database(database: Database,
                                                       agent: User, clock: FakeClock) -> None:
    queues = QueueService(database.uow_factory, agent.id, clock, UTC)
    conditions = FilterConditions(states=(State.NEW,), priorities=(1, 2), text="printer",
                                  assigned_to_me=True, opened_within_days=14)
    saved = queues.save_filter("My printers", conditions)
    listed = queues.queues()[-1]
    assert listed == saved
    assert queues.counts([listed]) == {listed.key: 0}
    other = QueueService(database.uow_factory, add_user(database, "bo").id, clock, UTC)
    assert other.queues() == list(BUILT_IN_QUEUES)
