"""Two desktops racing on callers, each with its own database connection and transaction.

One desktop's change is held open just before it commits (its row locks held, as a slow
network or a long transaction would hold them) while the other acts; then it commits. On
PostgreSQL the other waits on a row lock: these tests show the locks a merge takes and the
re-read of a refused caller write doing their job. On SQLite the first writer's lock keeps
the other out until it commits, and the outcome must be the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from deskapp.domain.enums import Role
from deskapp.domain.errors import ConflictError
from deskapp.domain.people import User
from deskapp.persistence.database import Database, open_database
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, MergeRequest
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock, add_user

WAIT = 20.0
"""Seconds a step may take before the test gives up on it."""


@pytest.fixture
def other_desktop(database: Database, database_url: str) -> Iterator[Database]:
    """The same database opened a second time: another desktop's engine and connections."""
    second = open_database(database_url, upgrade=False)
    try:
        yield second
    finally:
        second.close()


class Held:
    """A call run in its own thread whose transaction stops just before its COMMIT."""

    def __init__(self, engine: Engine, call: Callable[[], Any]) -> None:
        self._engine = engine
        self._call = call
        self.at_commit = threading.Event()
        self._release = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _hook(self, _connection: object) -> None:
        if threading.current_thread() is self._thread:
            self.at_commit.set()
            assert self._release.wait(WAIT), "the held transaction was never released"

    def _run(self) -> None:
        try:
            self.result = self._call()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def __enter__(self) -> Held:
        event.listen(self._engine, "commit", self._hook)
        self._thread.start()
        assert self.at_commit.wait(WAIT), f"never reached its commit: {self.error!r}"
        return self

    def commit(self) -> Any:
        self._release.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.result

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._thread.join(WAIT)
        event.remove(self._engine, "commit", self._hook)


class Background:
    """A call run in its own thread; its result or exception is collected at ``join``."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:  # handed to the test thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> Any:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "still running"
        return self.result


def _waiting_statement(database: Database, backend: str, task: Background) -> str | None:
    """The statement ``task`` waits on a lock in, once it does; None if it finished without.

    On SQLite a writer waits for the write lock before its first statement (BEGIN
    IMMEDIATE): give it time to get there.
    """
    if backend == "sqlite":
        task.thread.join(0.5)
        return None if not task.thread.is_alive() else "BEGIN IMMEDIATE"
    deadline = time.monotonic() + WAIT
    with database.engine.connect() as connection:
        while time.monotonic() < deadline and task.thread.is_alive():
            waiting = connection.execute(text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalars().all()
            if waiting:
                return str(waiting[0])
            connection.rollback()
            time.sleep(0.02)
    return None


def _log(service: IncidentService, caller_id: int, what: str) -> int:
    detail, _ = service.log_call(LogCallRequest(caller_id, what, 3, 3))
    return detail.id


def _callers_and_versions(database: Database, ids: list[int]) -> dict[int, tuple[int, int]]:
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            f"SELECT id, caller_id, version FROM incidents WHERE id IN "
            f"({','.join(map(str, ids))})")).all()
    return {i: (c, v) for i, c, v in rows}


def _caller_changes(service: IncidentService, incident_id: int) -> list[tuple[str, str, str]]:
    """(old caller, new caller, who) of each change of caller in the incident's timeline."""
    return [(a.old_value or "", a.new_value or "", a.actor_name or "")
            for a in service.activity(incident_id) if a.field == "caller_id"]


def test_a_merge_waits_for_an_agent_giving_a_duplicate_s_incident_another_caller(
        database: Database, other_desktop: Database, service: IncidentService, admin: User,
        clock: FakeClock, backend: str) -> None:
    """The merge must see the agent's change: the incident keeps the caller the agent gave
    it, with no timeline entry claiming the merge moved it; the others move."""
    survivor = service.add_caller("Ivy Same", "ivy@example.com")
    duplicate = service.add_caller("Ivy Same")
    colleague = service.add_caller("Jon Colleague")
    changed = _log(service, duplicate.id, "Keyboard sticks")
    moved = _log(service, duplicate.id, "Mouse drifts")
    wendy = add_user(database, "wendy", Role.AGENT)
    agent = IncidentService(other_desktop.uow_factory, wendy.id, clock)
    merger = CallerAdminService(database.uow_factory, admin.id, clock)
    request = MergeRequest(survivor.id, (duplicate.id,), {survivor.id: 1, duplicate.id: 1})

    # The agent's save has written its change of caller and holds the incident's row.
    edit = Held(other_desktop.engine, lambda: agent.update(changed, 1, caller_id=colleague.id))
    with edit:
        merge = Background(lambda: merger.merge(request))
        waiting = _waiting_statement(database, backend, merge)
        if backend == "postgres":
            # Held at its lock of the duplicate's incidents, before writing anything.
            assert waiting is not None and "FOR UPDATE" in waiting, waiting
        edit.commit()
        result = merge.join()
    assert merge.error is None, merge.error

    assert result.incidents_moved == 1
    assert _callers_and_versions(database, [changed, moved]) == {
        changed: (colleague.id, 2), moved: (survivor.id, 2)}
    assert _caller_changes(service, changed) == [
        (str(duplicate.id), str(colleague.id), "Wendy")]
    assert _caller_changes(service, moved) == [
        (str(duplicate.id), str(survivor.id), admin.full_name)]


def test_a_merge_waits_for_a_call_being_logged_for_a_duplicate(
        database: Database, other_desktop: Database, service: IncidentService, admin: User,
        clock: FakeClock, backend: str) -> None:
    """A call logged for the duplicate while the merge runs is moved with the others, with
    its timeline entry and new version, rather than left with the merged caller."""
    survivor = service.add_caller("Kim Same", "kim@example.com")
    duplicate = service.add_caller("Kim Same")
    earlier = _log(service, duplicate.id, "Monitor flickers")
    wendy = add_user(database, "wendy", Role.AGENT)
    agent = IncidentService(other_desktop.uow_factory, wendy.id, clock)
    merger = CallerAdminService(database.uow_factory, admin.id, clock)
    request = MergeRequest(survivor.id, (duplicate.id,), {survivor.id: 1, duplicate.id: 1})

    # The new incident is written (naming the duplicate) but not committed yet.
    call = Held(other_desktop.engine, lambda: _log(agent, duplicate.id, "Monitor is dead"))
    with call:
        merge = Background(lambda: merger.merge(request))
        waiting = _waiting_statement(database, backend, merge)
        if backend == "postgres":
            # Held at its lock of the duplicate's row, which the new incident names.
            assert waiting is not None and "FOR UPDATE" in waiting, waiting
        logged = call.commit()
        result = merge.join()
    assert merge.error is None, merge.error

    assert result.incidents_moved == 2
    assert _callers_and_versions(database, [earlier, logged]) == {
        earlier: (survivor.id, 2), logged: (survivor.id, 2)}
    for incident in (earlier, logged):
        assert _caller_changes(service, incident) == [
            (str(duplicate.id), str(survivor.id), admin.full_name)]


@pytest.mark.parametrize("refused", ["edit", "deactivate"])
def test_a_caller_write_that_loses_the_race_names_the_winner(
        database: Database, other_desktop: Database, service: IncidentService, admin: User,
        clock: FakeClock, backend: str, refused: str) -> None:
    """The loser read the caller before the winner committed, so what it read names nobody
    (or an earlier editor); its refusal must name the winner and when they saved."""
    caller = service.add_caller("Lea Lost", "lea@example.com")
    read = CallerAdminService(database.uow_factory, admin.id).get(caller.id)
    wendy = add_user(database, "wendy", Role.AGENT)
    winner = CallerAdminService(other_desktop.uow_factory, wendy.id, clock)
    loser = CallerAdminService(database.uow_factory, admin.id, FakeClock(
        clock.now.replace(hour=17)))
    if refused == "edit":
        def lose() -> object:
            return loser.edit(caller.id, read.version, CallerEdit("Lea L.", "lea@example.com"))
    else:
        def lose() -> object:
            return loser.set_active(caller.id, read.version, False)

    save = Held(other_desktop.engine, lambda: winner.edit(
        caller.id, read.version, CallerEdit("Lea Lost", "lea@example.com", "555 0199")))
    with save:
        losing = Background(lose)
        waiting = _waiting_statement(database, backend, losing)
        if backend == "postgres":
            # It read the caller at the version it was given and waits to write it.
            assert waiting is not None and waiting.startswith("UPDATE callers"), waiting
        save.commit()
        losing.join()

    assert isinstance(losing.error, ConflictError), losing.error
    assert "changed by Wendy at 2026-03-02 09:00:00 UTC" in str(losing.error)
    assert (losing.error.changed_by, losing.error.current_version) == ("Wendy", 2)
    stored = CallerAdminService(database.uow_factory, admin.id).get(caller.id)
    assert (stored.name, stored.phone, stored.active, stored.version) == (
        "Lea Lost", "555 0199", True, 2)


@pytest.mark.parametrize("held", ["rename", "incident"])
@pytest.mark.parametrize("written", ["logged", "given"])
def test_an_incident_written_for_a_caller_being_renamed_is_found_by_the_new_name(
        database: Database, other_desktop: Database, service: IncidentService, admin: User,
        clock: FakeClock, backend: str, written: str, held: str) -> None:
    """A call logged for a caller (or an incident given that caller) while the caller is
    being renamed, either one held just before its commit: the rename's index update cannot
    see an uncommitted incident, and the incident's index write cannot see an uncommitted
    name. The incident's index write must hold the caller's row still (a rename waits for
    it, and it waits for a rename), or the index keeps the old name for good."""
    caller = service.add_caller("Una Oldname", "una.old@example.com")
    other = service.add_caller("Vic Other")
    earlier = _log(service, other.id, "Badge reader beeps")
    read = CallerAdminService(database.uow_factory, admin.id).get(caller.id)
    wendy = add_user(database, "wendy", Role.AGENT)
    agent = IncidentService(database.uow_factory, wendy.id, clock)
    renamer = CallerAdminService(other_desktop.uow_factory, admin.id, clock)
    if written == "logged":
        def write() -> int:
            return _log(agent, caller.id, "Docking station dead")
    else:
        def write() -> int:
            agent.update(earlier, 1, caller_id=caller.id)
            return earlier

    def rename() -> object:
        return renamer.edit(caller.id, read.version,
                            CallerEdit("Una Newname", "una.new@example.com"))

    if held == "rename":
        first = Held(other_desktop.engine, rename)
        with first:
            second = Background(write)
            waiting = _waiting_statement(other_desktop, backend, second)
            first.commit()
            second.join()
        incident = second.result
    else:
        first = Held(database.engine, write)
        with first:
            second = Background(rename)
            waiting = _waiting_statement(database, backend, second)
            incident = first.commit()
            second.join()
    assert second.error is None, second.error

    assert [r.id for r in service.search("una newname")] == [incident]
    assert [r.id for r in service.search("una.new@example.com")] == [incident]
    assert service.search("oldname") == []
    assert service.search("una old") == []
    if backend == "postgres":
        # The incident's index write read the caller's row with a share lock: it waited for
        # the rename's row lock, or the rename waited for it (rather than for the audit
        # trail's lock, after the index was written with the old name).
        expected = "FOR SHARE" if held == "rename" else "UPDATE callers"
        assert waiting is not None and expected in waiting, waiting
