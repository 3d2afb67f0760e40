"""A queue over a million incidents holds the pages it fetched, and nothing more.

The database is filled straight through sqlite3 with one ``INSERT ... SELECT`` from a
recursive CTE (minimal incidents, no search index): about ten seconds for a million rows,
where the demo generator would take minutes. The same pages are then loaded from a database
of 10,000 incidents and of 1,000,000, and what the model holds, and what Python allocated
while loading them (tracemalloc, every thread: the database worker's too), must not grow
with the database.
"""

from __future__ import annotations

import gc
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from deskapp.persistence.database import open_database
from deskapp.qt.models.incident_table_model import PAGE_SIZE, IncidentTableModel
from deskapp.qt.runner import DbRunner
from deskapp.services.incidents import IncidentService
from deskapp.services.setup import ensure_admin
from tests.qt.conftest import Await
from tests.support.databases import copy_sqlite

BIG = 1_000_000
SMALL = 10_000
PAGES = 3
"""The first page and two more, as a view asks for them while the user scrolls."""
OPEN_EVERY = 20
"""Every 20th incident is open (5%, as on a real desk), so a page of open incidents comes
from all over the table, not from its first rows."""
ALLOWED_PEAK = 8 * 1024 * 1024
"""What loading three pages may allocate at most, all threads together (it takes about half
a MiB): a loose bound; the sharp test is that the big database needs no more than the small."""
GROWTH_SLACK = 512 * 1024
"""How much more the big database's load may allocate than the small one's: noise only. Even
the bare ids of the big database's 50,000 open incidents would take over 1.5 MiB."""

_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count),
t(i, at, due) AS (
    SELECT i,
           strftime('%Y-%m-%d %H:%M:%S.000000', :epoch + i * 60, 'unixepoch'),
           strftime('%Y-%m-%d %H:%M:%S.000000', :epoch + i * 60 + 86400, 'unixepoch')
    FROM n)
INSERT INTO incidents (
    id, number, caller_id, channel, short_description, description, impact, urgency,
    priority, state, resolution_notes, is_major, opened_at, response_due_at,
    resolution_due_at, sla_paused_seconds, response_breached, resolution_breached,
    reassignment_count, reopen_count, updated_at, version)
SELECT i, printf('INC%07d', i), :caller, 'phone', 'Printer jams, case ' || i, '', 3, 3,
       1 + i % 5, CASE WHEN i % :every = 0 THEN 'new' ELSE 'closed' END, '', 0,
       at, due, due, 0, 0, 0, 0, 0, at, 1
FROM t
"""


def fill(url: str, count: int) -> int:
    """Put ``count`` minimal incidents into the migrated database at ``url``.

    Returns:
        The id of the admin user, for the service to act as.
    """
    database = open_database(url)
    try:
        admin = ensure_admin(database.uow_factory)
        service = IncidentService(database.uow_factory, admin.id)
        caller = service.add_caller("Grace Hopper", email="grace@example.com")
    finally:
        database.close()
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # A throw-away file: no journal, no syncing, one writer. The application's engine
        # turns WAL back on when it opens the file.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN")
        connection.execute(_FILL, {"count": count, "caller": caller.id,
                                   "epoch": 1_767_225_600, "every": OPEN_EVERY})
        connection.execute("UPDATE counters SET value = ? WHERE name = 'incident'", (count,))
        connection.execute("COMMIT")
    finally:
        connection.close()
    return admin.id


@dataclass(frozen=True)
class Footprint:
    """What a model held after loading its pages, and what loading them allocated."""

    rows: int
    distinct_ids: int
    first_number: str
    can_fetch_more: bool
    peak_bytes: int
    """The most memory Python had allocated at once during the loads, above the start."""
    kept_bytes: int
    """What was still allocated afterwards: the rows, essentially."""


def fetch_next(qtbot: QtBot, model: IncidentTableModel) -> None:
    """Ask for the next page the way a view does, and wait until it is in."""
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: not model.loading, timeout=15_000)


def load_pages(run: Await, qtbot: QtBot, url: str, actor_id: int) -> Footprint:
    """Open the All open queue over ``url``, load PAGES pages, and measure."""
    database = open_database(url)
    runner = DbRunner.for_dialect(database.dialect)
    try:
        service = IncidentService(database.uow_factory, actor_id)
        # A first model warms what belongs to the process, not to a model: the connection,
        # SQLAlchemy's compiled statements for a first and a next page, lazy imports.
        warm = IncidentTableModel(service, runner)
        run(warm.reload())
        fetch_next(qtbot, warm)
        del warm
        gc.collect()

        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            model = IncidentTableModel(service, runner)
            run(model.reload())
            for _ in range(PAGES - 1):
                fetch_next(qtbot, model)
            gc.collect()
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        ids = {model.row_at(r).id for r in range(model.rowCount())}
        return Footprint(model.rowCount(), len(ids), model.row_at(0).number,
                         model.canFetchMore(QModelIndex()), peak - start, kept - start)
    finally:
        runner.close()
        database.close()


@pytest.fixture
def database_files(tmp_path: Path) -> Iterator[Path]:
    """A folder for the test's databases, emptied afterwards: a million rows take 450 MB."""
    folder = tmp_path / "queue-memory"
    folder.mkdir()
    try:
        yield folder
    finally:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


@pytest.mark.slow
def test_a_queue_over_a_million_incidents_holds_only_its_pages(
        qtbot: QtBot, run: Await, sqlite_template: Path, database_files: Path) -> None:
    small_url = copy_sqlite(sqlite_template, database_files)
    big_url = copy_sqlite(sqlite_template, database_files)
    small_actor = fill(small_url, SMALL)
    started = time.perf_counter()
    big_actor = fill(big_url, BIG)
    print(f"filled {BIG:,} incidents in {time.perf_counter() - started:.1f} s")

    small = load_pages(run, qtbot, small_url, small_actor)
    big = load_pages(run, qtbot, big_url, big_actor)
    print(f"small: {small}\nbig:   {big}")

    for footprint, size in ((small, SMALL), (big, BIG)):
        # Exactly the pages fetched, each incident once, the newest open one first...
        assert footprint.rows == PAGES * PAGE_SIZE
        assert footprint.distinct_ids == PAGES * PAGE_SIZE
        assert footprint.first_number == f"INC{size:07d}"
        # ...with more still to come from the database.
        assert footprint.can_fetch_more
        assert footprint.peak_bytes < ALLOWED_PEAK, footprint
    # A hundred times the incidents, the same memory.
    assert big.peak_bytes <= small.peak_bytes + GROWTH_SLACK, (small, big)
    assert big.kept_bytes <= small.kept_bytes + GROWTH_SLACK, (small, big)
