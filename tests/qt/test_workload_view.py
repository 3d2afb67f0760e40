"""The workload panel: figures against a direct count, live updates, drops, notifications."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import Role
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.qt.models.incident_mime import DraggedIncident, pack_incidents, unpack_incidents
from deskapp.qt.models.incident_table_model import Column
from deskapp.qt.models.workload_model import WorkloadModel
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.reassign_dialog import ReassignDialog
from deskapp.qt.views.team_menu import TeamMenu
from deskapp.services.assignment import AssignmentService, IncidentRef
from deskapp.services.incidents import IncidentService
from deskapp.services.reference import ReferenceService
from deskapp.services.workload import WorkloadService
from deskapp.services.workload_dto import AgentLoad, GroupLoad
from deskapp.user_settings import NotificationSettings, NotifyWhere
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await
from tests.qt.team_support import (
    Team,
    assignee_counts,
    assignee_of,
    make_team,
    open_window,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def team(database: Database, service: IncidentService, clock: FakeClock) -> Team:
    return make_team(database, service, clock)


def _rows(model: WorkloadModel) -> dict[tuple[str, str], QModelIndex]:
    """Every row's first cell by (group name, row name)."""
    found = {}
    for row in range(model.rowCount()):
        group = model.index(row, 0)
        found[(str(group.data()), "")] = group
        for child in range(model.rowCount(group)):
            index = model.index(child, 0, group)
            found[(str(group.data()), str(index.data()))] = index
    return found


def test_the_model_passes_the_model_tester_through_loads_and_changes(
        qtmodeltester: ModelTester, database: Database, team: Team, clock: FakeClock,
        service: IncidentService, admin: User) -> None:
    model = WorkloadModel()
    model.set_priorities(ReferenceService(database.uow_factory).priorities())
    qtmodeltester.check(model)
    manager_view = WorkloadService(database.uow_factory, admin.id, clock)
    model.set_workload(manager_view.workload())
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.columnCount() == 10
    # Same shape: figures change in place; a new agent changes the shape: a reset.
    first = service.get_by_number(team.numbers[0])
    service.assign(first.id, first.version, team.desk.id, team.ann.id)
    model.set_workload(manager_view.workload())
    with database.uow_factory(write=True) as uow:
        uow.users.add(User(0, "dan", "Dan New", "dan@example.com", team.ann.role))
        uow.commit()
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO group_members (group_id, user_id) SELECT {team.network.id}, id "
            "FROM users WHERE username = 'dan'")
    model.set_workload(manager_view.workload())
    qtmodeltester.check(model)


def test_the_panel_shows_what_a_direct_count_finds(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.lead, runner, window_settings, clock)
    assert menu.dock.isVisible()  # a lead sees it from the start
    # The dock's title names it; no label shows markup literally.
    assert menu.dock.windowTitle() == "Team workload"
    assert not [label.text() for label in menu.panel.findChildren(QLabel)
                if "<" in label.text()]
    run(menu.panel.refresh())
    model = menu.panel.model
    rows = _rows(model)
    # The lead runs the Service Desk only.
    assert [k for k in rows if k[1] == ""] == [("Service Desk", "")]
    counts = assignee_counts(database)
    desk = team.desk.id
    assert rows[("Service Desk", "")].siblingAtColumn(model.open_column).data() == \
        str(sum(n for (g, _), n in counts.items() if g == desk))
    for name, user_id in (("Ann Agent", team.ann.id), ("Bob Away (away)", team.bob.id),
                          ("Unassigned pile", None)):
        index = rows[("Service Desk", name)]
        assert index.siblingAtColumn(model.open_column).data(ItemRole.COUNT) == \
            counts.get((desk, user_id), 0), name
    # Per-priority cells add up to the open count and carry their priority's colour.
    ann = rows[("Service Desk", "Ann Agent")]
    by_priority = [ann.siblingAtColumn(model.priority_column(rank)).data(ItemRole.COUNT)
                   for rank in range(1, 6)]
    assert sum(by_priority) == counts[(desk, team.ann.id)]
    assert ann.siblingAtColumn(model.priority_column(1)).data(ItemRole.PRIORITY_COLOUR) \
        is not None
    away = rows[("Service Desk", "Bob Away (away)")]
    assert "away" in away.data(Qt.ItemDataRole.ToolTipRole)
    window.close()


def test_the_panel_follows_a_change_made_elsewhere(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, service: IncidentService) -> None:
    window, menu = open_window(qtbot, database, team.lead, runner, window_settings, clock,
                               live_updates=True)
    run(window.refresh())
    qtbot.waitUntil(lambda: menu.panel.model.rowCount() == 1, timeout=10_000)
    ann = menu.panel.model.agent_index(team.desk.id, team.ann.id)
    before = ann.siblingAtColumn(menu.panel.model.open_column).data(ItemRole.COUNT)
    # Another agent's desktop (another connection) takes an incident of the pile for Ann.
    pile = [n for n in team.numbers if assignee_of(database, n)[:2] == (team.desk.id, None)]
    detail = service.get_by_number(pile[0])
    service.assign(detail.id, detail.version, team.desk.id, team.ann.id)

    def moved() -> bool:
        index = menu.panel.model.agent_index(team.desk.id, team.ann.id)
        return index.siblingAtColumn(menu.panel.model.open_column).data(ItemRole.COUNT) == \
            before + 1
    qtbot.waitUntil(moved, timeout=15_000)
    window.close()


def test_the_queue_drags_ids_and_versions(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, _menu = open_window(qtbot, database, team.lead, runner, window_settings, clock)
    run(window.refresh())
    qtbot.waitUntil(lambda: window.model.rowCount() == len(team.numbers))
    model = window.model
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled
    indexes = [model.index(r, c) for r in (0, 2) for c in (Column.NUMBER, Column.STATE)]
    dragged = unpack_incidents(model.mimeData(indexes))
    assert [(d.id, d.version, d.number) for d in dragged] == [
        (model.row_at(r).id, model.row_at(r).version, model.row_at(r).number) for r in (0, 2)]
    # Anything else is not incidents.
    assert unpack_incidents(None) == []
    window.close()


def test_dropping_incidents_on_an_agent_reassigns_them_after_asking_the_reason(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.lead, runner, window_settings, clock)
    run(window.refresh())
    run(menu.panel.refresh())
    qtbot.waitUntil(lambda: window.model.rowCount() == len(team.numbers))
    pile_rows = [r for r in range(window.model.rowCount())
                 if window.model.row_at(r).assignee_name is None]
    chosen = pile_rows[:2]
    data = window.model.mimeData([window.model.index(r, 0) for r in chosen])
    target = menu.panel.model.agent_index(team.desk.id, team.ann.id)
    assert menu.panel.model.canDropMimeData(data, Qt.DropAction.CopyAction, -1, -1, target)
    # Not on the header, and not anything that is not incidents.
    assert not menu.panel.model.canDropMimeData(data, Qt.DropAction.CopyAction, -1, -1,
                                                QModelIndex())
    assert not menu.panel.model.canDropMimeData(pack_incidents([]), Qt.DropAction.CopyAction,
                                                -1, -1, target)
    assert menu.panel.model.dropMimeData(data, Qt.DropAction.CopyAction, -1, -1, target)
    dialog = menu.dialog
    assert isinstance(dialog, ReassignDialog)
    qtbot.waitUntil(lambda: dialog.group_combo.count() > 0)
    assert dialog.group_combo.currentData() == team.desk.id
    assert dialog.agent_combo.currentData() == team.ann.id
    numbers = [window.model.row_at(r).number for r in chosen]
    assert all(n in dialog.findChild(type(dialog.error_label), "summaryLabel").text()
               for n in numbers)
    dialog.reason_edit.setPlainText("Ann knows these laptops")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert all(assignee_of(database, n)[:2] == (team.desk.id, team.ann.id) for n in numbers)
    # The window heard its own change: the panel counts again.
    qtbot.waitUntil(lambda: menu.panel.model.agent_index(team.desk.id, team.ann.id)
                    .siblingAtColumn(menu.panel.model.open_column).data(ItemRole.COUNT)
                    == assignee_counts(database)[(team.desk.id, team.ann.id)], timeout=10_000)
    window.close()


def test_a_drop_between_agents_means_their_group(database: Database, team: Team,
                                                  clock: FakeClock, admin: User) -> None:
    model = WorkloadModel()
    model.set_workload(WorkloadService(database.uow_factory, admin.id, clock).workload())
    seen: list[tuple[list[DraggedIncident], int, int | None]] = []
    model.reassign_requested.connect(lambda i, g, a: seen.append((i, g, a)))
    group_row = next(r for r in range(model.rowCount())
                     if isinstance(model.group_at(r), GroupLoad)
                     and model.group_at(r).group_id == team.network.id)
    data = pack_incidents([DraggedIncident(1, 1, "INC0000001")])
    assert model.dropMimeData(data, Qt.DropAction.CopyAction, 1, 0, model.index(group_row, 0))
    assert seen[-1][1:] == (team.network.id, None)
    load = model.load_at(model.agent_index(team.network.id, team.carl.id))
    assert isinstance(load, AgentLoad) and load.name == "Carl Cable"


def test_an_assignment_by_someone_else_is_announced_and_opens_on_click(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.ann, runner, window_settings, clock,
                               live_updates=True)
    run(window.refresh())
    run(menu.notifier.start())
    assert not menu.dock.isVisible()  # agents open the panel when they want it
    popup = menu.notifier.popup
    assert not popup.isVisible()
    # The lead, at another desk, gives Ann an incident of the pile; Ann taking one herself
    # is no news.
    lead = AssignmentService(database.uow_factory, team.lead.id, clock)
    pile = [n for n in team.numbers if assignee_of(database, n)[:2] == (team.desk.id, None)]
    given = IncidentService(database.uow_factory, team.lead.id, clock).get_by_number(pile[0])
    lead.reassign([IncidentRef(given.id, given.version)], team.desk.id, team.ann.id,
                  "Ann is free")
    with qtbot.waitSignal(menu.notifier.notified, timeout=15_000) as notified:
        pass
    assert [n.number for n in notified.args[0]] == [given.number]
    assert popup.isVisible()
    assert given.number in popup.label.text() and "Lena Lead" in popup.label.text()
    with qtbot.waitSignal(window.incident_activated) as opened:
        qtbot.mouseClick(popup, Qt.MouseButton.LeftButton)
    assert opened.args == [given.id]
    assert not popup.isVisible()
    QApplication.processEvents()
    window.close()


def test_the_settings_switch_the_announcements_off_and_on(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.ann, runner, window_settings, clock,
                               live_updates=False)
    notifier = menu.notifier
    run(window.refresh())
    run(notifier.start())
    lead = AssignmentService(database.uow_factory, team.lead.id, clock)
    incidents = IncidentService(database.uow_factory, team.lead.id, clock)
    pile = [n for n in team.numbers if assignee_of(database, n)[:2] == (team.desk.id, None)]

    def give(number: str) -> None:
        given = incidents.get_by_number(number)
        lead.reassign([IncidentRef(given.id, given.version)], team.desk.id, team.ann.id,
                      "Ann is free")

    # Off in Settings > Notifications: nothing is shown, and the news is read past.
    notifier.set_settings(NotificationSettings(on_assignment=False))
    give(pile[0])
    assert run(notifier.check()) == []
    assert not notifier.popup.isVisible()
    # On again, asking for the tray on a desktop without one: the window says it instead,
    # and only what came after.
    notifier.set_settings(NotificationSettings(on_assignment=True, where=NotifyWhere.TRAY))
    give(pile[1])
    shown = run(notifier.check())
    assert [n.number for n in shown] == [pile[1]]
    assert notifier.popup.isVisible() and pile[1] in notifier.popup.label.text()
    assert notifier.tray is None
    window.close()


def _groups_shown(menu: TeamMenu) -> list[tuple[str, int, bool]]:
    model, tree = menu.panel.model, menu.panel.tree
    return [(str(model.index(r, 0).data()), model.group_at(r).total.open,
             tree.isExpanded(model.index(r, 0))) for r in range(model.rowCount())]


def test_busy_groups_come_first_open_and_empty_ones_closed(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, admin: User) -> None:
    with database.uow_factory(write=True) as uow:
        for name in ("Group 10", "Group 2", "Access"):
            uow.groups.add(Group(0, name), [team.carl.id])
        uow.commit()
    window, menu = open_window(qtbot, database, admin, runner, window_settings, clock)
    run(menu.panel.refresh())
    # The busiest on top, then the empty ones, each part in natural name order.
    assert _groups_shown(menu) == [("Service Desk", 12, True), ("Network", 4, True),
                                   ("Access", 0, False), ("Group 2", 0, False),
                                   ("Group 10", 0, False)]
    # What the user opens or closes by hand stays so when the figures come again.
    menu.panel.tree.collapse(menu.panel.model.index(0, 0))
    menu.panel.tree.expand(menu.panel.model.index(3, 0))
    run(menu.panel.refresh())
    assert [expanded for _, _, expanded in _groups_shown(menu)] == \
        [False, True, False, True, False]
    # "Expand all" is a choice too: the next figures keep every group open.
    menu.panel._ui.expandButton.click()
    run(menu.panel.refresh())
    assert [expanded for _, _, expanded in _groups_shown(menu)] == [True] * 5
    window.close()


def test_the_dock_leaves_the_queue_most_of_the_window_and_keeps_the_users_width(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    window, menu = open_window(qtbot, database, team.lead, runner, window_settings, clock)
    run(menu.panel.refresh())
    qtbot.wait(50)
    assert menu.dock.isVisible()
    assert menu.dock.width() <= 0.3 * window.width() + 10, menu.dock.width()
    assert menu.panel.tree.header().sectionSize(0) >= 120  # names stay readable
    window.resizeDocks([menu.dock], [560], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(menu.dock.width() - 560) <= 10)
    window.close()

    window, menu = open_window(qtbot, database, team.lead, runner, window_settings, clock)
    run(menu.panel.refresh())
    qtbot.waitUntil(lambda: abs(menu.dock.width() - 560) <= 10)
    window.close()


def test_a_lead_in_no_group_gets_a_short_note_not_a_wide_empty_panel(
        qtbot: QtBot, run: Await, database: Database, team: Team, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        loner = uow.users.add(User(0, "lone", "Lone Lead", "", Role.LEAD))
        uow.commit()
    window, menu = open_window(qtbot, database, loner, runner, window_settings, clock)
    run(window.refresh())
    # At start it steps aside for the queue, and says why.
    qtbot.waitUntil(lambda: not menu.dock.isVisible())
    assert "no assignment group" in window.statusBar().currentMessage()
    # Asked for, it shows a note, narrow.
    menu.workload_action.trigger()
    qtbot.waitUntil(menu.dock.isVisible)
    run(menu.panel.refresh())
    qtbot.wait(50)
    assert menu.panel.findChild(QLabel, "noteLabel").isVisible()
    assert not menu.panel.tree.isVisible()
    assert menu.dock.width() <= 260, menu.dock.width()
    window.close()
