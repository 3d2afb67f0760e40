"""The main window as an agent uses it: queues, saved filters, search, keyboard, live updates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database, open_database
from deskapp.qt.models.incident_table_model import Column
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.filter_dialog import FilterDialog
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queues import QueueKind
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, OPEN_INCIDENTS, RESOLVED_INCIDENTS, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def window(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock, incidents: int
           ) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock)
    qtbot.addWidget(main)
    main.resize(1400, 700)
    main.show()
    run(main.refresh())
    wait_idle(qtbot, main)
    yield main


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.busy, timeout=15_000)


def titles(window: MainWindow) -> list[str]:
    model = window.queue_model
    return [str(model.index(r).data()) for r in range(model.rowCount())]


def test_the_sidebar_lists_queues_with_counts_and_the_keyboard_switches_them(
        qtbot: QtBot, window: MainWindow, run: Await, database: Database) -> None:
    assert titles(window) == ["My open incidents", "Unassigned in my groups", "All open",
                              "SLA breached or at risk", "On hold", "Major incidents",
                              "Escalated", "Resolved in the last 7 days", "All incidents",
                              "Saved filters"]
    model = window.queue_model
    assert window.current_queue is not None and window.current_queue.key == "built_in:all_open"
    assert model.count_of("built_in:all_open") == OPEN_INCIDENTS
    assert model.count_of("built_in:resolved_recently") == RESOLVED_INCIDENTS
    assert model.count_of("built_in:my_open") == 0
    assert model.count_of("built_in:all") == OPEN_INCIDENTS + RESOLVED_INCIDENTS
    assert window.count_label.text() == f"{OPEN_INCIDENTS} incidents in All open"
    assert model.count_of("built_in:escalated") == 0
    # Two open incidents escalated elsewhere (another desk): the count follows a refresh.
    with database.engine.begin() as connection:
        connection.execute(text(
            "UPDATE incidents SET escalation = 'functional' WHERE id IN (SELECT id FROM "
            "incidents WHERE state IN ('new', 'in_progress', 'on_hold') ORDER BY id LIMIT 2)"))
    run(window.refresh())
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: model.count_of("built_in:escalated") == 2)
    assert model.index(model.rowCount() - 1).flags() & Qt.ItemFlag.ItemIsSelectable == \
        Qt.ItemFlag.NoItemFlags  # the heading cannot be chosen

    window.queue_list.setFocus()
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.keyClick(window.queue_list, Qt.Key.Key_Down)  # All open -> SLA breached...
    wait_idle(qtbot, window)
    assert window.current_queue is not None
    assert window.current_queue.key == "built_in:sla_attention"
    # Most urgent first there; the user's own order (newest first) comes back after.
    assert (window.model.sort_column, window.model.sort_order) == (
        Column.SLA, Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert window.windowTitle() == "Escalated — Deskapp"
    assert window.model.rowCount() == 2
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.keyClick(window, Qt.Key.Key_8, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert window.windowTitle() == "Resolved in the last 7 days — Deskapp"
    assert window.model.sort_column == Column.OPENED
    assert window.model.rowCount() == RESOLVED_INCIDENTS
    assert window.count_label.text() == f"{RESOLVED_INCIDENTS} incidents in " \
        "Resolved in the last 7 days"


def open_filter_editor(qtbot: QtBot, window: MainWindow) -> FilterDialog:
    window.action("actionNewFilter").trigger()
    dialog = window.findChild(FilterDialog)
    assert isinstance(dialog, FilterDialog)
    qtbot.waitUntil(lambda: dialog.ready and "match" in dialog.preview_label.text(),
                    timeout=10_000)
    return dialog


def tick(widget: object, label: str) -> None:
    items = widget.findItems(label, Qt.MatchFlag.MatchExactly)  # type: ignore[attr-defined]
    assert items, label
    items[0].setCheckState(Qt.CheckState.Checked)


def test_a_filter_made_in_the_editor_becomes_a_queue(
        qtbot: QtBot, run: Await, window: MainWindow) -> None:
    dialog = open_filter_editor(qtbot, window)
    tabs = dialog.ui.listTabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == [
        "St&ate, priority", "&People", "&Catalogue"]
    assert dialog.preview_label.text() == f"{OPEN_INCIDENTS + RESOLVED_INCIDENTS} " \
        "incidents match now"
    save = dialog.ui.buttonBox.button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)  # no name yet
    qtbot.waitUntil(dialog.ui.nameError.isVisible)
    assert "name" in dialog.ui.nameError.text() and dialog.isVisible()

    qtbot.keyClicks(dialog.ui.nameEdit, "Critical and open")
    assert not dialog.ui.nameError.isVisible()
    tick(dialog.ui.priorityList, "P1 - Critical")
    for state in ("New", "In Progress", "On Hold"):
        tick(dialog.ui.stateList, state)
    qtbot.waitUntil(lambda: dialog.preview_label.text().endswith("match now")
                    and not dialog.preview_label.text().startswith("260"), timeout=10_000)
    with qtbot.waitSignal(window.model.reloaded, timeout=10_000):
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    queue = window.current_queue
    assert queue is not None and queue.kind == QueueKind.SAVED
    assert queue.title == "Critical and open" and titles(window)[-1] == "Critical and open"
    rows = [window.model.row_at(r) for r in range(window.model.rowCount())]
    assert rows and all(r.priority == 1 and r.state.is_open for r in rows)
    assert window.current_count == len(rows)
    assert window.action("actionDeleteFilter").isEnabled()

    window.action("actionDeleteFilter").trigger()
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    with qtbot.waitSignal(window.model.reloaded, timeout=10_000):
        box.button(QMessageBox.StandardButton.Yes).click()
    wait_idle(qtbot, window)
    assert "Critical and open" not in titles(window)
    assert window.current_queue is not None
    assert window.current_queue.key == "built_in:all_open"


def test_search_as_you_type_then_escape_goes_back(
        qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    with qtbot.waitSignal(window.model.reloaded, timeout=10_000):
        qtbot.keyClicks(window.search_box, "floor 3")
    wait_idle(qtbot, window)
    queue = window.current_queue
    assert queue is not None and queue.kind == QueueKind.SEARCH
    assert titles(window)[0] == "Search: floor 3"
    # Newest number first, read off the search index; the user's order comes back after.
    assert (window.model.sort_column, window.model.sort_order) == (
        Column.NUMBER, Qt.SortOrder.DescendingOrder)
    assert window.table.horizontalHeader().sortIndicatorSection() == Column.NUMBER
    shown = [window.model.row_at(r) for r in range(window.model.rowCount())]
    assert shown and all("floor 3" in r.short_description for r in shown)
    # The open ones and the resolved ones: a search looks everywhere.
    assert window.current_count == sum(
        1 for i in range(OPEN_INCIDENTS + RESOLVED_INCIDENTS) if i % 7 == 3)
    with qtbot.waitSignal(window.model.reloaded, timeout=10_000):
        qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    assert window.search_box.text() == ""
    assert window.current_queue is not None
    assert window.current_queue.key == "built_in:all_open"
    assert "Search: floor 3" not in titles(window)
    assert window.model.sort_column == Column.OPENED


def test_a_full_number_opens_the_incident(
        qtbot: QtBot, window: MainWindow, service: IncidentService) -> None:
    wanted = service.get_by_number("INC0000007").id
    window.focus_search()
    with qtbot.waitSignal(window.incident_activated, timeout=10_000) as opened:
        qtbot.keyClicks(window.search_box, "inc0000007")
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [wanted]
    assert window.current_queue is not None
    assert window.current_queue.kind == QueueKind.BUILT_IN  # no search queue for a jump


def test_a_number_without_its_padding_is_found_as_typed_and_opened_by_enter(
        qtbot: QtBot, window: MainWindow, service: IncidentService) -> None:
    wanted = service.get_by_number("INC0000007").id
    jumps: list[int] = []
    window.incident_activated.connect(jumps.append)
    window.focus_search()
    # While typing, "inc7" may be on its way to INC0000071: it is listed, not opened.
    with qtbot.waitSignal(window.model.reloaded, timeout=10_000):
        qtbot.keyClicks(window.search_box, "inc7")
    wait_idle(qtbot, window)
    assert window.current_queue is not None
    assert window.current_queue.kind == QueueKind.SEARCH
    assert "INC0000007" in [window.model.row_at(r).number
                            for r in range(window.model.rowCount())]
    assert jumps == []
    with qtbot.waitSignal(window.incident_activated, timeout=10_000) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [wanted]
    for typed in ("0000007", "7"):
        window.search_box.clear()
        with qtbot.waitSignal(window.incident_activated, timeout=10_000) as opened:
            qtbot.keyClicks(window.search_box, typed)
            qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
        assert opened.args == [wanted]
        wait_idle(qtbot, window)


def test_the_keyboard_opens_and_logs(qtbot: QtBot, window: MainWindow) -> None:
    table = window.table
    table.setFocus()
    table.selectionModel().setCurrentIndex(
        window.model.index(2, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.incident_activated) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == [window.model.row_at(3).id]
    with qtbot.waitSignal(window.log_call_requested):
        qtbot.keyClick(table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(window.incident_activated) as opened:
        window.action("actionOpen").trigger()
    assert opened.args == [window.model.row_at(3).id]


def test_a_call_logged_at_another_desk_appears_and_the_selection_stays(
        qtbot: QtBot, window: MainWindow, database_url: str, admin: User, clock: FakeClock,
        caller: CallerView) -> None:
    table = window.table
    chosen = window.model.row_at(5)
    table.selectRow(5)
    other = open_database(database_url)
    try:
        desk = IncidentService(other.uow_factory, admin.id, clock)
        clock.advance(minutes=5)
        detail, _ = desk.log_call(LogCallRequest(caller.id, "Badge reader dead", 2, 2))
        qtbot.waitUntil(lambda: window.model.rowCount() > 0
                        and window.model.row_at(0).id == detail.id, timeout=10_000)
    finally:
        other.close()
    wait_idle(qtbot, window)
    selected = table.selectionModel().selectedRows()
    assert [i.data(ItemRole.ID) for i in selected] == [chosen.id]
    assert selected[0].row() == 6  # one row further down: the new call came in above
    qtbot.waitUntil(lambda: window.current_count == OPEN_INCIDENTS + 1)


def test_a_lost_connection_shows_a_banner_until_it_is_back(
        qtbot: QtBot, window: MainWindow, database: Database, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("a file database has no connection to lose")
    assert not window.banner.isVisible()
    qtbot.waitUntil(lambda: _live_backends(database) == 1, timeout=5000)
    seen = _BannerStates(window)
    with database.engine.begin() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'deskapp live' AND datname = current_database()"))
    # The feed may be back within milliseconds: record what the user was shown, in order,
    # rather than hoping to poll the banner while it is up.
    qtbot.waitUntil(lambda: len(seen.states) >= 2, timeout=10_000)
    assert seen.states[:2] == [(True, "● Reconnecting…"), (False, "● Connected")]
    assert not window.banner.isVisible()


class _BannerStates(QObject):
    """Records each showing and hiding of the banner, with the connection label of the time."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.states: list[tuple[bool, str]] = []
        self._window = window
        window.banner.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self.states.append((event.type() == QEvent.Type.Show,
                                self._window.connection_label.text()))
        return False


def _live_backends(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'deskapp live' "
            "AND datname = current_database()")).scalar_one())
