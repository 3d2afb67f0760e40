"""Many agents at once: the soak run on both databases, matrix races, SQLite's write lock."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.domain.errors import ConflictError, DatabaseUnavailableError
from deskapp.domain.people import User
from deskapp.persistence import engine as engine_module
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.unit_of_work import LOCK_STATS
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from deskapp.services.setup import ensure_admin
from tests.support.databases import copy_sqlite

SOAK_SECONDS = "12"


@pytest.mark.slow
def test_soak_run_loses_nothing(database_url: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["soak", "--database", database_url, "--agents", "4",
                 "--seconds", SOAK_SECONDS, "--seed", "7"])
    out = capsys.readouterr().out
    print(out)  # the figures, for the log
    assert code == 0, out
    assert "Soak run passed." in out
    committed = re.search(r"([\d,]+) committed operations, ([\d.,]+) per second", out)
    conflicts = re.search(r"([\d,]+) conflicts \(([\d,]+) retried", out)
    assert committed is not None and conflicts is not None
    assert int(committed.group(1).replace(",", "")) > 40
    # The agents really collided, and got conflicts rather than overwriting each other.
    assert int(conflicts.group(1).replace(",", "")) > 0
    for check in ("every committed change is in the database and its activity log: ok",
                  "no change overwritten without a ConflictError to its author: ok",
                  "incident numbers unique: ok",
                  "reassignment and reopen counters match the activity: ok",
                  "SLA fields agree with the state changes: ok"):
        assert check in out
    if database_url.startswith("sqlite"):
        assert "PRAGMA integrity_check ok: ok" in out


def test_two_matrix_saves_from_one_version_never_both_win(
        database: Database, admin: User) -> None:
    """The soak run found this on PostgreSQL: both saves passed the version check."""
    for _ in range(3):
        editors = [MatrixAdminService(database.uow_factory, admin.id) for _ in range(2)]
        drafts = [MatrixDraft.of(e.load().matrix) for e in editors]
        barrier = threading.Barrier(2)
        outcomes: list[object] = []
        threads = [threading.Thread(target=_save_matrix,
                                    args=(editors[n], drafts[n], barrier, outcomes))
                   for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(isinstance(o, ConflictError) for o in outcomes) == 1, outcomes
        assert sum(isinstance(o, int) for o in outcomes) == 1


def _save_matrix(editor: MatrixAdminService, draft: MatrixDraft, barrier: threading.Barrier,
                 outcomes: list[object]) -> None:
    barrier.wait()
    try:
        outcomes.append(editor.save(draft, recompute_open=False).version)
    except ConflictError as error:
        outcomes.append(error)


def _hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    connection.execute("ROLLBACK")
    connection.close()


@pytest.mark.parametrize("held_for", [0.9, 3.0])
def test_sqlite_write_lock_is_waited_for_within_a_bound(
        sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        held_for: float) -> None:
    """Another process holding the write lock past busy_timeout: the write waits again
    (LOCK_ATTEMPTS times) and then goes through, or says the database is busy."""
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 300)
    url = copy_sqlite(sqlite_template, tmp_path)
    database = open_database(url)
    try:
        service = IncidentService(database.uow_factory, ensure_admin(database.uow_factory).id)
        caller = service.add_caller("Patient Caller")
        before = LOCK_STATS.retries
        held = threading.Event()
        holder = threading.Thread(target=_hold_write_lock,
                                  args=(url.removeprefix("sqlite:///"), held_for, held))
        holder.start()
        held.wait(10)
        started = time.monotonic()
        try:
            if held_for < 1:
                detail, _ = service.log_call(LogCallRequest(caller.id, "Waited", 2, 2))
                assert detail.number == "INC0000001"
                assert LOCK_STATS.retries > before
            else:
                with pytest.raises(DatabaseUnavailableError, match="busy"):
                    service.log_call(LogCallRequest(caller.id, "Gave up", 2, 2))
                assert LOCK_STATS.retries - before == 2  # three attempts in all
                assert time.monotonic() - started < held_for
        finally:
            holder.join(timeout=30)
        # Afterwards the desk works as before.
        assert service.log_call(LogCallRequest(caller.id, "Later", 2, 2))[0].version == 1
    finally:
        database.close()
