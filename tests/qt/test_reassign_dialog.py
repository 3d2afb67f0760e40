"""The bulk reassignment dialog and the Team menu's other actions, on both databases."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import Escalation
from deskapp.persistence.database import Database
from deskapp.qt.models.incident_table_model import Column
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.reassign_dialog import NoteDialog, ReassignDialog
from deskapp.qt.views.team_menu import TeamMenu
from deskapp.services.incidents import IncidentService
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await
from tests.qt.team_support import Team, assignee_of, make_team, open_window, select_rows

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def team(database: Database, service: IncidentService, clock: FakeClock) -> Team:
    return make_team(database, service, clock)


def _lead_window(qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
                 settings: QSettings, clock: FakeClock) -> tuple[MainWindow, TeamMenu]:
    window, menu = open_window(qtbot, database, team.lead, runner, settings, clock)
    run(window.refresh())
    qtbot.waitUntil(lambda: window.model.rowCount() == len(team.numbers))
    return window, menu


def _open_dialog(qtbot: QtBot, window: MainWindow, menu: TeamMenu) -> ReassignDialog:
    window.table.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    dialog = menu.dialog
    assert isinstance(dialog, ReassignDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.group_combo.count() > 0 and dialog.ok_button.isEnabled())
    return dialog


def _desk_rows(window: MainWindow, team: Team) -> list[int]:
    return [r for r in range(window.model.rowCount())
            if window.model.row_at(r).group_name == team.desk.name]


def test_ctrl_r_reassigns_the_selected_rows_with_a_reason(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = _lead_window(qtbot, run, database, team, runner, window_settings, clock)
    rows = _desk_rows(window, team)[:5]
    select_rows(window, rows)
    numbers = [window.model.row_at(r).number for r in rows]
    dialog = _open_dialog(qtbot, window, menu)
    assert [d.number for d in dialog.incidents] == numbers
    # Groups in reading order; away agents marked and greyed.
    assert [dialog.group_combo.itemText(i) for i in range(dialog.group_combo.count())] == \
        ["Network", "Service Desk"]
    dialog.group_combo.setCurrentIndex(dialog.group_combo.findData(team.desk.id))
    agents = {dialog.agent_combo.itemText(i): dialog.agent_combo.itemData(i)
              for i in range(dialog.agent_combo.count())}
    assert agents["Bob Away (away)"] == team.bob.id
    assert agents["Nobody (the group's unassigned pile)"] is None
    away_row = dialog.agent_combo.findData(team.bob.id)
    assert isinstance(dialog.agent_combo.itemData(away_row, Qt.ItemDataRole.ForegroundRole),
                      QColor)
    dialog.agent_combo.setCurrentIndex(dialog.agent_combo.findData(team.ann.id))
    # The reason is required: the dialog says so and stays open.
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert "reason" in dialog.error_label.text().lower()
    assert dialog.isVisible()
    assert all(assignee_of(database, n)[1] != team.ann.id or n in numbers for n in numbers)
    qtbot.keyClicks(dialog.reason_edit, "Ann takes the laptops this week")
    assert not dialog.error_label.isVisible()  # typing clears the message
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert all(assignee_of(database, n)[:2] == (team.desk.id, team.ann.id) for n in numbers)
    # The queue shows the new assignee once the window has refreshed.
    qtbot.waitUntil(lambda: all(window.model.row_at(r).assignee_name == "Ann Agent"
                                for r in range(window.model.rowCount())
                                if window.model.row_at(r).number in numbers), timeout=10_000)


def test_a_conflict_names_the_incident_writes_nothing_and_retry_succeeds(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, service: IncidentService) -> None:
    window, menu = _lead_window(qtbot, run, database, team, runner, window_settings, clock)
    rows = _desk_rows(window, team)
    select_rows(window, rows)
    numbers = [window.model.row_at(r).number for r in rows]
    before = {n: assignee_of(database, n) for n in numbers}
    dialog = _open_dialog(qtbot, window, menu)
    dialog.group_combo.setCurrentIndex(dialog.group_combo.findData(team.network.id))
    dialog.agent_combo.setCurrentIndex(dialog.agent_combo.findData(team.carl.id))
    dialog.reason_edit.setPlainText("Network problem, not a laptop")
    # Meanwhile, at another desk (another connection), someone edits one of them.
    victim = numbers[2]
    detail = service.get_by_number(victim)
    service.update(detail.id, detail.version, short_description="Laptop boots, Wi-Fi does not")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.conflict_frame.isVisible(), timeout=10_000)
    stale = [dialog.stale_list.item(i).text() for i in range(dialog.stale_list.count())]
    assert len(stale) == 1 and stale[0].startswith(victim)
    assert "Desk Administrator" in stale[0]
    # All or nothing: not one of them moved.
    assert {n: assignee_of(database, n) for n in numbers} == {
        n: (v[0], v[1], v[2] + (1 if n == victim else 0)) for n, v in before.items()}
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    assert all(assignee_of(database, n)[:2] == (team.network.id, team.carl.id)
               for n in numbers)
    activity = service.activity(detail.id)
    assert any(a.body and "Network problem, not a laptop" in a.body for a in activity)


def test_a_forbidden_reassignment_is_explained_in_the_dialog(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    # Carl is an agent of Network: the Service Desk's incidents are not his to move.
    window, menu = open_window(qtbot, database, team.carl, runner, window_settings, clock)
    run(window.refresh())
    run(window.choose_queue("all_open"))
    qtbot.waitUntil(lambda: window.model.rowCount() == len(team.numbers))
    rows = _desk_rows(window, team)[:2]
    select_rows(window, rows)
    numbers = [window.model.row_at(r).number for r in rows]
    before = [assignee_of(database, n) for n in numbers]
    # The window knows it too (permission_gate, once it has read Carl's groups): Ctrl+R is
    # off. The dialog still explains the service's refusal when it is opened regardless.
    qtbot.waitUntil(lambda: not menu.reassign_action.isEnabled())
    dialog = menu.open_reassign()
    assert isinstance(dialog, ReassignDialog)
    qtbot.waitUntil(lambda: dialog.group_combo.count() > 0 and dialog.ok_button.isEnabled())
    dialog.reason_edit.setPlainText("I will do them")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=10_000)
    assert dialog.error_label.text().startswith("⚠ Not allowed:")
    assert "Nothing was changed" in dialog.error_label.text()
    assert dialog.isVisible()
    assert [assignee_of(database, n) for n in numbers] == before
    dialog.reject()


def test_assign_to_me_hand_back_and_escalations_from_the_queue(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.ann, runner, window_settings, clock)
    run(window.refresh())
    run(window.choose_queue("all_open"))
    qtbot.waitUntil(lambda: window.model.rowCount() == len(team.numbers))
    pile = next(r for r in range(window.model.rowCount())
                if window.model.row_at(r).group_name == team.desk.name
                and window.model.row_at(r).assignee_name is None)
    number = window.model.row_at(pile).number
    select_rows(window, [pile])
    window.table.setCurrentIndex(window.model.index(pile, 0))
    # One key takes it.
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: assignee_of(database, number)[1] == team.ann.id, timeout=10_000)

    def current_row() -> int:
        return next(r for r in range(window.model.rowCount())
                    if window.model.row_at(r).number == number)

    def refreshed() -> bool:
        return window.model.row_at(current_row()).version == assignee_of(database, number)[2]

    qtbot.waitUntil(refreshed, timeout=10_000)
    # Hierarchical escalation: a reason, then the queue marks it.
    select_rows(window, [current_row()])
    menu.escalate_lead_action.trigger()
    dialog = menu.dialog
    assert isinstance(dialog, NoteDialog)
    run(dialog.submit())
    assert dialog.error_label.isVisible()  # a reason is required
    dialog.text_edit.setPlainText("The caller is the CFO and cannot work")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: refreshed() and window.model.row_at(current_row()).escalation
                    == Escalation.HIERARCHICAL, timeout=10_000)
    state = window.model.index(current_row(), Column.STATE)
    assert state.data(Qt.ItemDataRole.DecorationRole) is not None
    assert "Escalated to the lead" in state.data(Qt.ItemDataRole.ToolTipRole)
    # Hand back with a note: back in the group's pile.
    select_rows(window, [current_row()])
    menu.hand_back_action.trigger()
    dialog = menu.dialog
    assert isinstance(dialog, NoteDialog)
    dialog.text_edit.setPlainText("Needs a new disk; ordered")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert assignee_of(database, number)[:2] == (team.desk.id, None)
    # The context menu offers all of it.
    context = menu.table_menu()
    assert {a.objectName() for a in context.actions()} >= {
        "assignToMeAction", "reassignAction", "handBackAction", "escalateFunctionalAction",
        "escalateHierarchicalAction"}
    context.deleteLater()


def test_functional_escalation_sends_the_rows_to_another_group(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = _lead_window(qtbot, run, database, team, runner, window_settings, clock)
    rows = _desk_rows(window, team)[:2]
    select_rows(window, rows)
    numbers = [window.model.row_at(r).number for r in rows]
    menu.escalate_action.trigger()
    dialog = menu.dialog
    assert isinstance(dialog, ReassignDialog)
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled())
    assert not dialog.agent_combo.isVisible()
    dialog.group_combo.setCurrentIndex(dialog.group_combo.findData(team.network.id))
    dialog.reason_edit.setPlainText("Looks like the switch on floor 3")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert all(assignee_of(database, n)[0] == team.network.id for n in numbers)
