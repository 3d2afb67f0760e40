"""Many writers at once: unique numbers, and no silently lost update."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

from deskapp.domain.errors import ConflictError
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock, add_user, table_count
from tests.support.workers import log_calls

PROCESSES = 4
CALLS_EACH = 25


def test_processes_creating_incidents_get_unique_numbers(
    database: Database, database_url: str, service: IncidentService, admin: User
) -> None:
    caller = service.add_caller("Busy Caller")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(log_calls, database_url, admin.id, caller.id, CALLS_EACH, f"p{n}")
                   for n in range(PROCESSES)]
        numbers = [number for f in futures for number in f.result(timeout=120)]
    total = PROCESSES * CALLS_EACH
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert sorted(numbers) == [f"INC{n:07d}" for n in range(1, total + 1)]
    assert table_count(database, "incidents") == total


def test_second_save_of_the_same_version_is_a_conflict(
    database: Database, service: IncidentService, clock: FakeClock
) -> None:
    caller = service.add_caller("Ann Caller")
    detail, _ = service.log_call(LogCallRequest(caller.id, "Disk full", 2, 2))
    bob = IncidentService(database.uow_factory, add_user(database, "bob").id, clock)
    carol = IncidentService(database.uow_factory, add_user(database, "carol").id, clock)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(name: str, agent: IncidentService, text: str) -> None:
        barrier.wait()
        try:
            agent.update(detail.id, detail.version, description=text)
            outcomes[name] = "saved"
        except ConflictError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=save, args=("bob", bob, "Bob's diagnosis")),
               threading.Thread(target=save, args=("carol", carol, "Carol's diagnosis"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(str(v) == "saved" for v in outcomes.values()) == [False, True]
    winner = next(name for name, v in outcomes.items() if v == "saved")
    loser_error = next(v for v in outcomes.values() if isinstance(v, ConflictError))
    assert winner.title() in str(loser_error)
    stored = service.get(detail.id)
    assert stored.description == f"{winner.title()}'s diagnosis"
    assert stored.version == detail.version + 1
    changes = [a for a in service.activity(detail.id) if a.field == "description"]
    assert len(changes) == 1
