"""The main window on both databases: rows, status bar, sorting by header, layout, errors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QLabel, QMessageBox, QTableView
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.incident_table_model import Column
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import HEADER_LAYOUT_VERSION, MainWindow, columns_added_since
from deskapp.services.dto import CallerView, IncidentRow
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueQuery
from deskapp.services.queues import QueueService, QueueView
from deskapp.services.reference import ReferenceService
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, OPEN_INCIDENTS, Await, log_incidents
from tests.qt.forms import MARKUP_NAME, add_markup_user, shown_text

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def window(qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock)
    qtbot.addWidget(main)
    main.resize(1400, 700)
    main.show()
    yield main


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=15_000)


def test_the_window_lists_the_open_incidents_and_counts_them(
        qtbot: QtBot, run: Await, window: MainWindow, database: Database,
        incidents: int) -> None:
    assert window.model.rowCount() == 0
    assert window.count_label.text() == "Counting…"
    task = window.start_refresh()
    assert window.busy and window.busy_indicator.isVisible()
    qtbot.waitUntil(task.done, timeout=15_000)
    wait_idle(qtbot, window)
    assert not window.busy_indicator.isVisible()
    assert window.current_count == OPEN_INCIDENTS
    assert window.count_label.text() == "250 incidents in All open"
    # The view has asked for as many pages as it shows, never the whole queue at once.
    assert 100 <= window.model.rowCount() < OPEN_INCIDENTS
    assert window.model.row_at(0).number == "INC0000250"  # newest first
    labels = {w.objectName(): w for w in window.statusBar().findChildren(type(window.count_label))}
    assert labels["userLabel"].text() == "Signed in as Desk Administrator"
    assert labels["databaseLabel"].toolTip() == plain_tooltip(database.display_name)
    table = window.table
    assert table.model() is window.model
    assert table.verticalHeader().defaultSectionSize() >= table.fontMetrics().height()
    index = window.model.index(0, Column.PRIORITY)
    assert index.data() in {"P1 - Critical", "P2 - High", "P3 - Moderate", "P4 - Low",
                            "P5 - Planning"}


def test_scrolling_to_the_end_loads_the_next_pages(
        qtbot: QtBot, run: Await, window: MainWindow, incidents: int) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    table = window.table
    for _ in range(5):
        if window.model.exhausted:
            break
        table.scrollToBottom()
        qtbot.waitUntil(lambda: not window.model.loading)
    assert window.model.exhausted
    assert window.model.rowCount() == OPEN_INCIDENTS


def test_refresh_shows_what_changed(
        qtbot: QtBot, run: Await, window: MainWindow, service: IncidentService,
        clock: FakeClock, caller: CallerView) -> None:
    log_incidents(service, clock, caller, 2)
    run(window.refresh())
    assert window.count_label.text() == "2 incidents in All open"
    log_incidents(service, clock, caller, 1, start=2)
    window.table.selectRow(1)
    selected = window.model.row_at(1).id
    with qtbot.waitSignal(window.model.refreshed):
        qtbot.keyClick(window.table, Qt.Key.Key_F5)
    wait_idle(qtbot, window)
    assert window.count_label.text() == "3 incidents in All open"
    assert window.model.row_at(0).number == "INC0000003"
    # The selection followed its incident down a row rather than being dropped.
    rows = window.table.selectionModel().selectedRows()
    assert [i.row() for i in rows] == [2] and window.model.row_at(2).id == selected


def test_clicking_a_header_sorts_in_the_database(
        qtbot: QtBot, run: Await, window: MainWindow, incidents: int) -> None:
    run(window.refresh())
    wait_idle(qtbot, window)
    header = window.table.horizontalHeader()
    where = QPoint(header.sectionViewportPosition(Column.NUMBER) + 10, header.height() // 2)
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert header.sortIndicatorSection() == Column.NUMBER
    assert window.model.row_at(0).number == "INC0000001"
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.model.row_at(0).number == "INC0000250"


def test_the_column_layout_is_kept_per_user(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    first = build_main_window(database, admin, runner, window_settings=window_settings,
                              clock=clock)
    qtbot.addWidget(first)
    header = first.table.horizontalHeader()
    default_width = header.sectionSize(Column.CALLER)
    header.resizeSection(Column.CALLER, default_width + 77)
    header.setSortIndicator(Column.NUMBER, Qt.SortOrder.AscendingOrder)
    first.close()

    again = build_main_window(database, admin, runner, window_settings=window_settings,
                              clock=clock)
    qtbot.addWidget(again)
    assert again.table.horizontalHeader().sectionSize(Column.CALLER) == default_width + 77
    assert again.model.sort_column == Column.NUMBER
    assert again.model.sort_order == Qt.SortOrder.AscendingOrder

    someone_else = build_main_window(database, add_user(database, "ines"), runner,
                                     window_settings=window_settings, clock=clock)
    qtbot.addWidget(someone_else)
    assert someone_else.table.horizontalHeader().sectionSize(Column.CALLER) == default_width
    assert someone_else.model.sort_column == Column.OPENED


def test_the_configuration_item_column_is_hidden_until_asked_for_and_remembered(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, incidents: int) -> None:
    first = build_main_window(database, admin, runner, window_settings=window_settings,
                              clock=clock, live_updates=False)
    qtbot.addWidget(first)
    first.resize(1400, 700)
    first.show()
    header = first.table.horizontalHeader()
    assert header.isSectionHidden(Column.CONFIGURATION_ITEM)
    run(first.refresh())
    qtbot.waitUntil(lambda: not first.busy, timeout=15_000)
    header.setSectionHidden(Column.CONFIGURATION_ITEM, False)
    header.moveSection(header.visualIndex(Column.CONFIGURATION_ITEM), 1)
    # Its header does not sort: the arrow stays where the rows are sorted.
    where = QPoint(header.sectionViewportPosition(Column.CONFIGURATION_ITEM) + 10,
                   header.height() // 2)
    assert header.logicalIndexAt(where) == Column.CONFIGURATION_ITEM
    with qtbot.assertNotEmitted(first.model.reloaded, wait=200):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert header.sortIndicatorSection() == Column.OPENED
    assert first.model.sort_column == Column.OPENED
    first.close()

    again = build_main_window(database, admin, runner, window_settings=window_settings,
                              clock=clock, live_updates=False)
    qtbot.addWidget(again)
    header = again.table.horizontalHeader()
    assert not header.isSectionHidden(Column.CONFIGURATION_ITEM)
    assert header.visualIndex(Column.CONFIGURATION_ITEM) == 1


def test_a_layout_saved_before_the_configuration_item_column_is_kept(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    # What version 2 saved: ten columns, the caller's widened, the state moved first.
    old = QTableView()
    old.setModel(QStandardItemModel(0, 10, old))
    old_header = old.horizontalHeader()
    old_header.setSectionsMovable(True)
    old_header.resizeSection(Column.CALLER, 321)
    old_header.moveSection(Column.STATE, 0)
    window_settings.setValue(f"users/{admin.username}/main_window/header_state",
                             old_header.saveState())
    window_settings.setValue(f"users/{admin.username}/main_window/header_version", 2)

    window = build_main_window(database, admin, runner, window_settings=window_settings,
                               clock=clock, live_updates=False)
    qtbot.addWidget(window)
    header = window.table.horizontalHeader()
    assert header.sectionSize(Column.CALLER) == 321
    assert header.logicalIndex(0) == Column.STATE
    assert header.isSectionHidden(Column.CONFIGURATION_ITEM)
    assert columns_added_since(2) == (Column.CONFIGURATION_ITEM,)
    assert columns_added_since(HEADER_LAYOUT_VERSION) == ()
    assert columns_added_since(1) is None and columns_added_since("x") is None
    assert columns_added_since(HEADER_LAYOUT_VERSION + 1) is None


class UnreachableIncidents(IncidentService):
    """The incident service of a database that went away."""

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        raise DatabaseUnavailableError("The database server closed the connection.")



class UnreachableQueues(QueueService):
    """The queue service of a database that went away."""

    def counts(self, queues: Sequence[QueueView]) -> dict[str, int]:
        raise DatabaseUnavailableError("The database server closed the connection.")


def test_database_errors_are_shown_not_raised(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window = MainWindow(
        incidents=UnreachableIncidents(database.uow_factory, admin.id, clock),
        reference=ReferenceService(database.uow_factory),
        queues=UnreachableQueues(database.uow_factory, admin.id, clock),
        runner=runner, user=admin, database_name="postgresql://desk@db/desk",
        window_settings=window_settings, clock=clock,
    )
    qtbot.addWidget(window)
    window.show()
    run(window.refresh())
    wait_idle(qtbot, window)
    assert "The database server closed the connection." in window.statusBar().currentMessage()
    assert window.count_label.text() == "Count unavailable"
    box = window.error_box
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert "closed the connection" in box.informativeText()
    # A second failure updates the box that is open instead of stacking another.
    run(window.refresh())
    assert window.error_box is box
    box.accept()
    assert window.isVisible()


def test_the_status_bar_shows_a_name_as_typed(
        qtbot: QtBot, database: Database, runner: DbRunner, window_settings: QSettings,
        clock: FakeClock) -> None:
    zoe = add_markup_user(database)
    main = build_main_window(database, zoe, runner, window_settings=window_settings,
                             clock=clock)
    qtbot.addWidget(main)
    label = main.findChild(QLabel, "userLabel")
    assert label is not None
    assert shown_text(label) == f"Signed in as {MARKUP_NAME}"


def test_without_a_clock_of_its_own_the_window_keeps_the_database_s_time(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    """The app passes no clock: the window and its services follow the database's (the
    server's on PostgreSQL), here a fake one, so the SLA column counts by it."""
    service = IncidentService(database.uow_factory, admin.id, clock)
    caller = service.add_caller("Ola Clock")
    service.log_call(LogCallRequest(caller.id, "Server room is hot", 1, 1))  # due in 4 h
    clock.advance(hours=3, minutes=30)
    main = build_main_window(replace(database, clock=clock), admin, runner,
                             window_settings=window_settings)
    qtbot.addWidget(main)
    run(main.refresh())
    assert main.model.data(main.model.index(0, Column.SLA)) == "30m left"
