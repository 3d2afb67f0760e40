"""Refreshing a queue in place: rows move, arrive and leave; the selection follows them."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.qt.models.incident_table_model import Column, IncidentTableModel
from deskapp.qt.runner import DbRunner
from deskapp.services.dto import IncidentRow
from deskapp.services.queries import QueueQuery, SortKey, cursor_after
from tests.conftest import FakeClock
from tests.qt.conftest import AttachedLoop, Await
from tests.qt.test_formatting import NOW, ROW


def row(n: int, **changes: object) -> IncidentRow:
    return replace(ROW, id=n, number=f"INC{n:07d}", opened_at=NOW - timedelta(minutes=100 - n),
                   **changes)  # type: ignore[arg-type]


class FakeQueue:
    """A queue source over a list the test edits, sorted and paged like the database."""

    def __init__(self, rows: list[IncidentRow]) -> None:
        self.rows = rows
        self.calls = 0

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        self.calls += 1
        keyed = sorted(((cursor_after(r, query.sort), r) for r in self.rows),
                       key=lambda kr: kr[0], reverse=query.descending)
        if query.after is not None:
            after = query.after
            keyed = [(k, r) for k, r in keyed
                     if (k < after if query.descending else k > after)]
        return [r for _, r in keyed[:query.limit]]


@pytest.fixture
def runner(qloop: AttachedLoop) -> Iterator[DbRunner]:
    """A runner without a database: the source here is a list."""
    db_runner = DbRunner(ThreadPoolExecutor(max_workers=1))
    try:
        yield db_runner
    finally:
        db_runner.close()


class NoRunnerNeeded:
    """Stands in for the runner where a test calls the model's merge directly."""


def numbers(model: IncidentTableModel) -> list[str]:
    return [model.row_at(i).number for i in range(model.rowCount())]


def test_refresh_moves_inserts_removes_and_keeps_the_selection(
        qtmodeltester: ModelTester, qtbot: QtBot, run: Await, runner: DbRunner,
        clock: FakeClock) -> None:
    source = FakeQueue([row(n) for n in range(1, 8)])
    model = IncidentTableModel(source, runner, clock=clock)
    qtmodeltester.check(model)
    run(model.reload())
    assert numbers(model) == [f"INC{n:07d}" for n in range(7, 0, -1)]
    selected = QPersistentModelIndex(model.index(numbers(model).index("INC0000003"), 2))
    gone = QPersistentModelIndex(model.index(numbers(model).index("INC0000005"), 0))

    source.rows = [r for r in source.rows if r.id != 5]  # resolved elsewhere
    source.rows = [replace(r, short_description="Now urgent", opened_at=NOW)
                   if r.id == 2 else r for r in source.rows]  # re-opened: newest now
    source.rows.append(row(8))
    with qtbot.waitSignal(model.refreshed):
        run(model.refresh())
    assert numbers(model) == ["INC0000002", "INC0000008", "INC0000007", "INC0000006",
                              "INC0000004", "INC0000003", "INC0000001"]
    assert model.row_at(0).short_description == "Now urgent"
    assert selected.isValid() and model.row_at(selected.row()).number == "INC0000003"
    assert selected.column() == 2
    assert not gone.isValid()


def test_refresh_reloads_as_many_rows_as_are_shown(
        qtbot: QtBot, run: Await, runner: DbRunner, clock: FakeClock) -> None:
    source = FakeQueue([row(n) for n in range(1, 251)])
    model = IncidentTableModel(source, runner, clock=clock, page_size=100)
    run(model.reload())
    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: not model.loading)
    assert model.rowCount() == 200
    source.calls = 0
    source.rows.append(row(251))
    run(model.refresh())
    # The same rows plus the new one on top: the last row shown is not pushed out.
    assert model.rowCount() == 201
    assert model.row_at(0).number == "INC0000251"
    assert model.row_at(200).number == "INC0000051"
    assert source.calls == 1 and model.canFetchMore(QModelIndex())


def test_a_refresh_asked_for_during_a_page_load_runs_after_it(
        qtbot: QtBot, run: Await, runner: DbRunner, clock: FakeClock) -> None:
    source = FakeQueue([row(n) for n in range(1, 251)])
    model = IncidentTableModel(source, runner, clock=clock, page_size=100)
    run(model.reload())
    model.fetchMore(QModelIndex())
    assert model.loading
    source.rows = [replace(r, short_description="EDITED") if r.id == 250 else r
                   for r in source.rows]
    with qtbot.waitSignal(model.refreshed, timeout=5000):
        run(model.refresh())  # returns at once: the page load is in flight
    assert model.row_at(0).short_description == "EDITED"
    assert model.rowCount() == 200


class FailingSorts(FakeQueue):
    """A queue whose database gives up on one order."""

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        if query.sort == SortKey.CALLER:
            raise DatabaseUnavailableError("The database is not available: timeout.")
        return super().list_queue(query)


def test_a_failed_sort_leaves_the_rows_in_their_order_and_paging_on(
        qtbot: QtBot, run: Await, runner: DbRunner, clock: FakeClock) -> None:
    model = IncidentTableModel(FailingSorts([row(n) for n in range(1, 251)]), runner,
                               clock=clock, page_size=100)
    run(model.reload())
    with qtbot.waitSignals([model.load_failed, model.order_restored]):
        model.sort(Column.CALLER, Qt.SortOrder.AscendingOrder)
    assert (model.sort_column, model.sort_order) == (Column.OPENED,
                                                     Qt.SortOrder.DescendingOrder)
    run(model.refresh())
    assert model.canFetchMore(QModelIndex())


@settings(max_examples=200, deadline=None)
@given(old=st.lists(st.integers(1, 30), unique=True, max_size=25),
       new=st.lists(st.integers(1, 30), unique=True, max_size=25),
       edited=st.sets(st.integers(1, 30)))
def test_any_merge_ends_in_the_new_rows_with_indexes_following(
        old: list[int], new: list[int], edited: set[int]) -> None:
    model = IncidentTableModel(FakeQueue([]), NoRunnerNeeded())  # type: ignore[arg-type]
    model._replace([row(n) for n in old], 100)
    tracked = {n: QPersistentModelIndex(model.index(i, 0)) for i, n in enumerate(old)}
    model._merge([row(n, short_description="edited") if n in edited else row(n) for n in new])
    assert [model.row_at(i).id for i in range(model.rowCount())] == new
    for n, index in tracked.items():
        if n in new:
            assert index.isValid() and model.row_at(index.row()).id == n
        else:
            assert not index.isValid()
    assert all((model.row_at(i).short_description == "edited") == (new[i] in edited)
               for i in range(len(new)))
