"""The incident table model on both databases: paging, SQL sorting, display, errors."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QIcon
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import HoldReason, State
from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.persistence.database import Database
from deskapp.qt.models.incident_table_model import (
    COLUMNS,
    Column,
    IncidentTableModel,
    sort_key_for,
)
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner
from deskapp.services.dto import CallerView, IncidentRow
from deskapp.services.incidents import IncidentService
from deskapp.services.queries import QueueQuery
from deskapp.services.reference import ReferenceService
from tests.conftest import FakeClock
from tests.qt.conftest import OPEN_INCIDENTS, Await, log_incidents

ASC = Qt.SortOrder.AscendingOrder
DESC = Qt.SortOrder.DescendingOrder


def make_model(service: IncidentService, runner: DbRunner, clock: FakeClock,
               database: Database | None = None) -> IncidentTableModel:
    model = IncidentTableModel(service, runner, clock=clock)
    if database is not None:
        model.set_priorities(ReferenceService(database.uow_factory).priorities())
    return model


def text(model: IncidentTableModel, row: int, column: Column) -> str:
    return str(model.data(model.index(row, column)))


def numbers(model: IncidentTableModel) -> list[str]:
    return [model.row_at(r).number for r in range(model.rowCount())]


def fetch_next(qtbot: QtBot, model: IncidentTableModel) -> None:
    """Ask for the next page the way a view does, and wait until it is in."""
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.loading
    qtbot.waitUntil(lambda: not model.loading)


def test_nothing_is_loaded_before_the_first_reload(
        service: IncidentService, runner: DbRunner, clock: FakeClock, incidents: int) -> None:
    model = make_model(service, runner, clock)
    assert model.rowCount() == 0
    assert not model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert not model.loading


def test_the_model_passes_qt_model_tester(
        qtmodeltester: ModelTester, qtbot: QtBot, run: Await, service: IncidentService,
        runner: DbRunner, clock: FakeClock, database: Database, incidents: int) -> None:
    model = make_model(service, runner, clock, database)
    qtmodeltester.check(model)  # the C++ tester watches every change from here on
    run(model.reload())
    # The tester itself calls fetchMore after each change, so it pages through the queue.
    qtbot.waitUntil(lambda: model.exhausted and not model.loading)
    assert model.rowCount() == OPEN_INCIDENTS
    assert len(set(numbers(model))) == OPEN_INCIDENTS
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.PRIORITY, ASC)
    qtbot.waitUntil(lambda: model.exhausted and not model.loading)
    assert model.row_at(0).priority == 1
    model.tick()


def test_pages_come_in_as_the_view_asks_for_them(
        qtbot: QtBot, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, incidents: int) -> None:
    model = make_model(service, runner, clock)
    with qtbot.waitSignals([model.loading_changed, model.reloaded]):
        run(model.reload())
    assert model.rowCount() == 100
    assert not model.exhausted

    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.fetchMore(QModelIndex())
    assert model.loading
    assert not model.canFetchMore(QModelIndex()), "one page at a time"
    model.fetchMore(QModelIndex())  # a second request while loading changes nothing
    assert model.rowCount() == 100, "rows appear only once fetched"
    qtbot.waitUntil(lambda: not model.loading)
    assert model.rowCount() == 200
    fetch_next(qtbot, model)
    assert model.rowCount() == OPEN_INCIDENTS
    assert inserted == [(100, 199), (200, 249)]
    assert model.exhausted
    assert not model.canFetchMore(QModelIndex())

    # Newest first by default; every open incident once, no resolved ones.
    expected = [f"INC{n:07d}" for n in range(OPEN_INCIDENTS, 0, -1)]
    assert numbers(model) == expected


@pytest.mark.parametrize(("order", "first", "second_page_first"), [
    (ASC, "INC0000001", "INC0000101"),
    (DESC, "INC0000250", "INC0000150"),
])
def test_sorting_asks_the_database(
        qtbot: QtBot, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, incidents: int, order: Qt.SortOrder, first: str,
        second_page_first: str) -> None:
    model = make_model(service, runner, clock)
    run(model.reload())
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.NUMBER, order)
    assert model.rowCount() == 100
    assert model.row_at(0).number == first
    fetch_next(qtbot, model)
    assert model.row_at(100).number == second_page_first
    assert model.data(model.index(0, Column.NUMBER), ItemRole.SORT_VALUE) == first


def test_sorting_by_priority_and_caller(
        qtbot: QtBot, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, incidents: int) -> None:
    other = service.add_caller("Ada Lovelace")
    log_incidents(service, clock, other, 1, start=900)
    model = make_model(service, runner, clock)
    run(model.reload())
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.PRIORITY, ASC)
    assert [model.row_at(r).priority for r in range(3)] == [1, 1, 1]
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.PRIORITY, DESC)
    assert model.row_at(0).priority == 5
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.CALLER, ASC)
    assert model.row_at(0).caller_name == "Ada Lovelace"


def test_every_column_but_the_configuration_item_is_sorted_by_the_database(
        service: IncidentService, runner: DbRunner, clock: FakeClock) -> None:
    assert [c for c in Column if sort_key_for(c) is None] == [Column.CONFIGURATION_ITEM]
    assert sort_key_for(len(Column)) is None
    model = make_model(service, runner, clock)
    model.sort(99, ASC)  # not a column: ignored
    model.sort(Column.CONFIGURATION_ITEM, ASC)  # no index orders it: ignored
    assert model.sort_column == Column.OPENED
    assert not model.is_sortable(99)
    assert not model.is_sortable(Column.CONFIGURATION_ITEM)
    assert model.data(model.index(0, Column.CONFIGURATION_ITEM), ItemRole.SORT_VALUE) is None


def test_the_configuration_item_column_names_the_item(
        qtmodeltester: ModelTester, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, database: Database, caller: CallerView) -> None:
    with database.uow_factory(write=True) as uow:
        item = uow.catalog.add_configuration_item("vpn-gw-01", "network", None)
        uow.commit()
    log_incidents(service, clock, caller, 2)
    first = service.get_by_number("INC0000001")
    service.update(first.id, first.version, configuration_item_id=item)
    model = make_model(service, runner, clock, database)
    qtmodeltester.check(model)
    run(model.reload())
    assert numbers(model) == ["INC0000002", "INC0000001"]
    assert model.row_at(1).configuration_item_name == "vpn-gw-01"
    assert text(model, 1, Column.CONFIGURATION_ITEM) == "vpn-gw-01"
    assert text(model, 0, Column.CONFIGURATION_ITEM) == "\u2014"
    assert isinstance(model.data(model.index(0, Column.CONFIGURATION_ITEM),
                                 Qt.ItemDataRole.ForegroundRole), QColor)
    assert model.data(model.index(1, Column.CONFIGURATION_ITEM),
                      Qt.ItemDataRole.ForegroundRole) is None


def test_a_newer_order_wins_over_a_page_still_loading(
        qtbot: QtBot, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, incidents: int) -> None:
    model = make_model(service, runner, clock)
    run(model.reload())
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.NUMBER, ASC)
        model.sort(Column.NUMBER, DESC)  # before the ascending page is in
    qtbot.waitUntil(lambda: not model.loading)
    assert model.row_at(0).number == "INC0000250"
    assert model.rowCount() == 100


def test_cells_read_as_people_expect(
        run: Await, service: IncidentService, runner: DbRunner, clock: FakeClock,
        database: Database, caller: CallerView) -> None:
    log_incidents(service, clock, caller, 1)
    model = make_model(service, runner, clock, database)
    run(model.reload())
    assert model.rowCount() == 1
    row = model.row_at(0)
    assert text(model, 0, Column.NUMBER) == "INC0000001"
    assert text(model, 0, Column.PRIORITY) == "P1 - Critical"  # impact 1, urgency 1
    assert text(model, 0, Column.CALLER) == "★ Grace Hopper"
    assert text(model, 0, Column.STATE) == "New"
    assert text(model, 0, Column.GROUP) == "—"
    assert text(model, 0, Column.ASSIGNEE) == "Unassigned"
    assert text(model, 0, Column.SHORT_DESCRIPTION).startswith("Incident 000")
    assert text(model, 0, Column.OPENED) == row.opened_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert text(model, 0, Column.SLA) == "4h 00m left"
    colour = model.data(model.index(0, 0), ItemRole.PRIORITY_COLOUR)
    assert isinstance(colour, QColor) and colour.name() == "#d32f2f"
    assert isinstance(model.data(model.index(0, Column.PRIORITY), Qt.ItemDataRole.DecorationRole),
                      QIcon)
    assert model.data(model.index(0, 0), ItemRole.ROW) == row
    assert model.data(model.index(0, 0), ItemRole.ID) == row.id
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in Column] == \
        [COLUMNS[c].title for c in Column]


def test_the_sla_column_counts_down_and_turns_overdue(
        run: Await, service: IncidentService, runner: DbRunner, clock: FakeClock,
        database: Database, caller: CallerView) -> None:
    log_incidents(service, clock, caller, 1)  # P1: resolution due in 4 hours
    model = make_model(service, runner, clock, database)
    run(model.reload())
    clock.advance(hours=3, minutes=30)
    model.tick()
    assert text(model, 0, Column.SLA) == "30m left"
    assert model.data(model.index(0, Column.SLA), Qt.ItemDataRole.ForegroundRole) is not None
    clock.advance(hours=1, minutes=15)
    model.tick()
    assert text(model, 0, Column.SLA) == "Overdue 45m"

    detail = service.get(model.row_at(0).id)
    service.transition(detail.id, detail.version, State.ON_HOLD,
                       hold_reason=HoldReason.AWAITING_CALLER)
    run(model.reload())
    assert text(model, 0, Column.SLA) == "Paused, overdue 45m"


def test_a_failed_load_is_reported_not_raised(
        qtbot: QtBot, run: Await, runner: DbRunner, clock: FakeClock) -> None:
    class Unreachable:
        def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
            raise DatabaseUnavailableError("Cannot reach the database server.")

    model = IncidentTableModel(Unreachable(), runner, clock=clock)
    with qtbot.waitSignal(model.load_failed) as failed:
        run(model.reload())
    assert failed.args == ["Cannot reach the database server."]
    assert not model.loading
    assert model.rowCount() == 0


def test_timing_of_sla_rows_does_not_touch_the_database(
        run: Await, service: IncidentService, runner: DbRunner, clock: FakeClock,
        caller: CallerView, database: Database) -> None:
    log_incidents(service, clock, caller, 3)
    model = make_model(service, runner, clock, database)
    run(model.reload())
    runner.close()  # from here on any database call would fail
    clock.advance(days=2)
    model.tick()
    for column in Column:
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            model.data(model.index(0, column), role)
    assert text(model, 0, Column.SLA).startswith("Overdue 1d")


def test_after_a_failed_re_sort_no_page_is_appended_in_the_wrong_order(
        qtbot: QtBot, run: Await, service: IncidentService, runner: DbRunner,
        clock: FakeClock, incidents: int) -> None:
    class Flaky:
        down = False

        def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
            if self.down:
                raise DatabaseUnavailableError("The server went away.")
            return service.list_queue(query)

    source = Flaky()
    model = IncidentTableModel(source, runner, clock=clock)
    run(model.reload())
    source.down = True
    with qtbot.waitSignals([model.load_failed, model.order_restored]):
        model.sort(Column.NUMBER, ASC)
    assert model.rowCount() == 100  # the rows shown before stay
    # The model is back in the rows' own order, so the next page continues it.
    assert (model.sort_column, model.sort_order) == (Column.OPENED, DESC)
    source.down = False
    fetch_next(qtbot, model)
    assert numbers(model)[99:101] == ["INC0000151", "INC0000150"]
    with qtbot.waitSignal(model.reloaded):
        model.sort(Column.NUMBER, ASC)
    assert model.row_at(0).number == "INC0000001"
    assert model.canFetchMore(QModelIndex())
