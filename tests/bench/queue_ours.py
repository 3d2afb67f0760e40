"""Child process of the queue benchmark: our IncidentTableModel in a QTableView.

Run by ``tests.bench.queues`` (``python -m tests.bench.queue_ours CONFIG_JSON``) in a fresh
process, so its peak memory is its own. The model reads through the real IncidentService and
a DbRunner with one worker thread, on a qasync loop, as the application does. Every clock
runs from the user's action (choosing a queue, clicking a header, scrolling to the end) to
the rows painted, or to the rows inserted for a next page.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import deskapp.qt  # noqa: F401  (first, as deskapp.app imports it: see its docstring)

# isort: split
import qasync
from PySide6.QtCore import QModelIndex, Qt, SignalInstance
from PySide6.QtWidgets import QApplication
from sqlalchemy import event

from deskapp.domain.enums import OPEN_STATES
from deskapp.persistence.database import Database, open_database
from deskapp.qt.models.incident_table_model import (
    COLUMNS,
    Column,
    IncidentTableModel,
)
from deskapp.qt.runner import DbRunner
from deskapp.services.dto import IncidentRow
from deskapp.services.incidents import IncidentService, utc_now
from deskapp.services.queries import QueueFilter, QueueQuery, SlaCondition
from deskapp.services.queues import BUILT_IN_QUEUES, QueueService, search_queue
from deskapp.services.reference import PriorityView, ReferenceService
from tests.bench.queue_common import ChildConfig, ChildResult, Measurement
from tests.bench.queue_view import ClockedTableView, make_view, paint, show_model

T = TypeVar("T")

SIGNAL_TIMEOUT_S = 600.0
"""A page that takes longer than this is a hang, not a figure."""

ORDERS = {"asc": Qt.SortOrder.AscendingOrder, "desc": Qt.SortOrder.DescendingOrder}


class Recorder:
    """Times the service calls in the database thread and keeps the SQL they ran."""

    def __init__(self, database: Database) -> None:
        self._lock = threading.Lock()
        self.statements: list[tuple[str, list[Any]]] = []
        self.db_seconds = 0.0
        event.listen(database.engine, "before_cursor_execute", self._before)

    def _before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                _context: Any, _executemany: bool) -> None:
        with self._lock:
            self.statements.append((statement, list(parameters or ())))

    def timed(self, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` with its time added to ``db_seconds``."""
        def call(*args: Any) -> T:
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self.db_seconds += time.perf_counter() - started
        return call

    def reset(self) -> None:
        with self._lock:
            self.statements = []
            self.db_seconds = 0.0

    def fill(self, measurement: Measurement) -> Measurement:
        """Put the database time and SQL since the last reset into ``measurement``."""
        with self._lock:
            measurement.db_ms = self.db_seconds * 1000
            measurement.sql = [s for s in self.statements
                               if not s[0].lstrip().upper().startswith(("BEGIN", "PRAGMA"))]
        return measurement


class TimedSource:
    """The IncidentService as the model's queue source, with its calls timed."""

    def __init__(self, service: IncidentService, recorder: Recorder) -> None:
        self._list_queue = recorder.timed(service.list_queue)

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        return self._list_queue(query)


async def painted_after(view: ClockedTableView, ready: SignalInstance,
                        action: Callable[[], object], failed: SignalInstance) -> float:
    """Run ``action``; once ``ready`` is emitted, wait for the view's next paint to end.

    Returns:
        ``time.perf_counter()`` at the end of that paint.

    Raises:
        RuntimeError: ``failed`` was emitted instead (a page could not be loaded).
    """
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    armed = False

    def arm(*_args: object) -> None:
        nonlocal armed
        armed = True
        view.viewport().update()  # a reload that changed nothing on screen still paints

    def painted(ended: float) -> None:
        if armed and not future.done():
            future.set_result(ended)

    def fail(message: str) -> None:
        if not future.done():
            future.set_exception(RuntimeError(message))

    ready.connect(arm)
    failed.connect(fail)
    view.add_paint_listener(painted)
    try:
        action()
        return await asyncio.wait_for(future, SIGNAL_TIMEOUT_S)
    finally:
        view.remove_paint_listener(painted)
        ready.disconnect(arm)
        failed.disconnect(fail)


async def inserted_after(model: IncidentTableModel, action: Callable[[], object]) -> float:
    """Run ``action`` and wait until rows are inserted.

    Returns:
        ``time.perf_counter()`` when ``rowsInserted`` was emitted.
    """
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def inserted(*_args: object) -> None:
        if not future.done():
            future.set_result(time.perf_counter())

    def fail(message: str) -> None:
        if not future.done():
            future.set_exception(RuntimeError(message))

    model.rowsInserted.connect(inserted)
    model.load_failed.connect(fail)
    try:
        action()
        return await asyncio.wait_for(future, SIGNAL_TIMEOUT_S)
    finally:
        model.rowsInserted.disconnect(inserted)
        model.load_failed.disconnect(fail)


@dataclass
class Timing:
    """A measurement being taken; ``stopped`` is when its clock stopped, if not at the end."""

    measurement: Measurement
    stopped: float | None = None


class Bench:
    """One benchmark run over one database."""

    def __init__(self, config: ChildConfig, database: Database, runner: DbRunner,
                 view: ClockedTableView, result: ChildResult) -> None:
        self.config = config
        self.runner = runner
        self.view = view
        self.result = result
        self.recorder = Recorder(database)
        self.service = IncidentService(database.uow_factory, config.actor_id)
        self.source = TimedSource(self.service, self.recorder)
        self.reference = ReferenceService(database.uow_factory)
        self.queues = QueueService(database.uow_factory, config.actor_id, utc_now)
        self.priorities: list[PriorityView] = []
        self.model: IncidentTableModel | None = None
        self.last_stop: float | None = None
        """When the last queue opened was painted (``time.perf_counter()``)."""

    @contextmanager
    def measure(self, key: str) -> Iterator[Timing]:
        """Time the block; the measurement gets its database time and SQL afterwards."""
        self.recorder.reset()
        timing = Timing(Measurement(key, 0.0))
        started = time.perf_counter()
        yield timing
        stopped = timing.stopped if timing.stopped is not None else time.perf_counter()
        timing.measurement.ms = (stopped - started) * 1000
        self.result.measurements.append(self.recorder.fill(timing.measurement))

    def _replace_model(self, model: IncidentTableModel) -> None:
        old, self.model = self.model, model
        show_model(self.view, model)
        if old is not None:
            old.cancel()
            old.deleteLater()

    async def open_queue(self, key: str, queue_filter: QueueFilter | None = None,
                         order: tuple[Column, Qt.SortOrder] | None = None) -> None:
        """Choose a queue: a new model, its first page, painted by the view.

        ``order`` is the order the window gives the queue (a search: newest number first).
        """
        with self.measure(key) as t:
            model = IncidentTableModel(self.source, self.runner, queue_filter=queue_filter)
            if order is not None:
                model.set_order(*order)
            model.set_priorities(self.priorities)
            self._replace_model(model)
            t.stopped = self.last_stop = await painted_after(
                self.view, model.reloaded, lambda: self.runner.spawn(model.reload()),
                model.load_failed)
            t.measurement.rows = model.rowCount()

    async def next_page(self, key: str) -> None:
        """Scroll to the end: the view asks for more; the clock stops as the rows come in."""
        model = self.model
        assert model is not None
        if not model.canFetchMore(QModelIndex()):
            return
        with self.measure(key) as t:
            before = model.rowCount()
            t.stopped = await inserted_after(model, lambda: model.fetchMore(QModelIndex()))
            t.measurement.rows = model.rowCount() - before
        # Let the view settle (geometry, scroll bar) before the next clock starts.
        await asyncio.sleep(0.01)

    async def sort(self, key: str, column: Column, order: Qt.SortOrder) -> None:
        """Click a header: the database sorts, the first page comes in and is painted."""
        model = self.model
        assert model is not None
        with self.measure(key) as t:
            t.stopped = await painted_after(self.view, model.reloaded,
                                            lambda: model.sort(column, order),
                                            model.load_failed)
            t.measurement.rows = model.rowCount()

    async def call(self, key: str, fn: Callable[..., T], *args: Any) -> T:
        """A service call through the runner, timed until its result is back."""
        with self.measure(key) as t:
            value: T = await self.runner.db(self.recorder.timed(fn), *args)
            if isinstance(value, list):
                t.measurement.rows = len(value)
        return value

    async def run(self) -> None:
        config = self.config
        self.priorities = await self.runner.db(self.reference.priorities)
        self.result.mark_rss("start")

        # Choosing the All open queue, first in the process; once more at the end.
        await self.open_queue("first_paint")
        self.result.mark_rss("first_paint")
        await self.next_page("next_page")
        await self.next_page("next_page_3")

        # Every sortable column, both ways, each followed by its next page.
        for column in Column:
            if COLUMNS[column].sort_key is None:
                continue
            for name, order in ORDERS.items():
                await self.sort(f"sort:{column.name}:{name}", column, order)
                await self.next_page(f"next:{column.name}:{name}")

        # The sidebar's built-in queues, as the agent with the most open incidents sees them.
        for queue in BUILT_IN_QUEUES:
            name = queue.key.removeprefix("built_in:")
            with self.measure(f"queue:{name}") as t:
                queue_filter = await self.runner.db(self.queues.resolve, queue)
                await self.open_queue(f"queue_open:{name}", queue_filter)
                t.stopped = self.last_stop
                t.measurement.rows = self.model.rowCount() if self.model else None
            await self.next_page(f"queue_next:{name}")

        open_states = OPEN_STATES
        filters = {
            "priority P1": QueueFilter(states=open_states, priorities=(1,)),
            "priority P4": QueueFilter(states=open_states, priorities=(4,)),
            "group": QueueFilter(states=open_states, group_ids=(config.group_id,)),
            "category": QueueFilter(states=open_states, category_ids=(config.category_id,)),
            "breached": QueueFilter(states=open_states, sla=SlaCondition.BREACHED),
            "group, any state": QueueFilter(group_ids=(config.group_id,)),
            "category, any state": QueueFilter(category_ids=(config.category_id,)),
            "opened in the last 7 days, any state": QueueFilter(
                opened_after=datetime.now(UTC) - timedelta(days=7)),
        }
        for name, queue_filter in filters.items():
            await self.open_queue(f"filter:{name}", queue_filter)
            await self.next_page(f"filter_next:{name}")
        for name in ("group", "priority P4", "group, any state"):
            await self.open_queue(f"filter:{name}", filters[name])
            for column in (Column.PRIORITY, Column.CALLER, Column.UPDATED):
                await self.sort(f"filter_sort:{name}:{column.name}:asc", column,
                                Qt.SortOrder.AscendingOrder)

        for word in config.words:
            # As the main window shows a search: newest number first, off the search index.
            await self.open_queue(f"text_all:{word}", search_queue(word).conditions.resolve(
                user_id=config.actor_id, group_ids=(), now=datetime.now(UTC), zone=UTC),
                order=(Column.NUMBER, Qt.SortOrder.DescendingOrder))
            await self.next_page(f"text_all_next:{word}")
            await self.open_queue(f"text_open:{word}",
                                  QueueFilter(states=open_states, text=word))
            await self.next_page(f"text_open_next:{word}")
            await self.call(f"search:{word}", self.service.search, word)

        await self.call("counts:sidebar", self.queues.counts, BUILT_IN_QUEUES)
        for queue in BUILT_IN_QUEUES:
            await self.call(f"count:{queue.key.removeprefix('built_in:')}", self.queues.counts,
                            (queue,))
        for name in ("group", "breached", "group, any state", "category, any state"):
            await self.call(f"count:{name}", self.service.count, filters[name])
        for word in config.words:
            await self.call(f"count:text_all:{word}", self.service.count, QueueFilter(text=word))
            await self.call(f"count:text_open:{word}", self.service.count,
                            QueueFilter(states=open_states, text=word))

        await self.open_queue("first_paint_warm")
        self.result.mark_rss("end")


async def run_bench(config: ChildConfig, result: ChildResult) -> None:
    """Open the database, run the scenario, close everything again."""
    database = open_database(f"sqlite:///{config.database}", upgrade=False)
    # One worker, passed explicitly, as DbRunner.for_dialect("sqlite") makes it.
    runner = DbRunner(ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-db"))
    view = make_view()
    try:
        bench = Bench(config, database, runner, view, result)
        await bench.run()
        if bench.model is not None:
            bench.model.cancel()
    finally:
        await runner.aclose()
        view.close()
        database.close()


def main(argv: list[str]) -> int:
    """Run the scenario for the config given as the first argument; print the result.

    With ``empty`` as the second argument, only show an empty table: what our imports and
    Qt cost before any database work.
    """
    config = ChildConfig.from_json(argv[0])
    empty = len(argv) > 1 and argv[1] == "empty"
    result = ChildResult("ours-empty" if empty else "ours")
    app = QApplication.instance() or QApplication(["queue-bench"])
    assert app is not None
    if empty:
        view = make_view()
        paint(view)
        result.mark_rss("end")
        view.close()
    else:
        qasync.run(run_bench(config, result))
    result.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
