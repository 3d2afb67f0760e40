"""The Team menu: the workload panel, reassignment, taking and handing back, escalation,
and notifications of incidents assigned to the agent by someone else.

Everything here acts on the queue's selected rows at the versions the queue shows; the
services check permissions and versions, and every change reaches the main window as its
Change (``apply_change``), so the queue, the counts and the workload refresh together.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, QPoint, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QMenu, QToolBar

from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import User
from deskapp.qt.models.incident_mime import DraggedIncident
from deskapp.qt.permission_gate import PermissionGate
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.notifications import AssignmentNotifier
from deskapp.qt.views.workload_view import WorkloadPanel
from deskapp.qt.widgets.windows import bring_to_front
from deskapp.services.assignment import AssignmentService, IncidentRef
from deskapp.services.changes import Change
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import Permission, allowed
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.services.reference import ReferenceService
from deskapp.services.workload import WorkloadService

if TYPE_CHECKING:
    # The dialogs and the rules editor load when first opened, not at the window's start.
    from deskapp.qt.views.assignment_rules_editor import AssignmentRulesEditor
    from deskapp.qt.views.reassign_dialog import NoteDialog, ReassignDialog

log = logging.getLogger(__name__)

_Dialog = TypeVar("_Dialog", "ReassignDialog", "NoteDialog")

SHOWS_WORKLOAD_AT_START = frozenset({Role.LEAD, Role.MANAGER, Role.ADMIN})
"""Roles that see the workload panel at first; agents open it from the Team menu."""


class TeamMenu(QObject):
    """The Team menu, the workload dock and the queue's context menu; a child of the window.

    Tests reach it with ``window.findChild(TeamMenu)``.
    """

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                 runner: DbRunner, user: User, clock: Clock = utc_now,
                 use_tray: bool | None = None, settings: QSettings | None = None) -> None:
        super().__init__(window)
        self.setObjectName("teamMenu")
        self._window = window
        self._runner = runner
        self._user = user
        self.assignment = AssignmentService(uow_factory, user.id, clock)
        self.workload = WorkloadService(uow_factory, user.id, clock)
        self.dialog: ReassignDialog | NoteDialog | None = None
        self._uow_factory = uow_factory
        self._clock = clock
        self.rules_editor: AssignmentRulesEditor | None = None

        self._settings = settings if settings is not None else QSettings()
        self.panel = WorkloadPanel(self.workload, ReferenceService(uow_factory), runner)
        self.panel.preferred_width = self._remembered_width()
        self.dock = QDockWidget("Team workload", window)
        self.dock.setObjectName("workloadDock")
        self.dock.setWidget(self.panel)
        self.dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea |
                                  Qt.DockWidgetArea.BottomDockWidgetArea |
                                  Qt.DockWidgetArea.LeftDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.setVisible(user.role in SHOWS_WORKLOAD_AT_START)
        self.dock.visibilityChanged.connect(self._on_dock_visibility)
        self.panel.loaded.connect(self._on_first_load)
        window.closed.connect(self._remember_width)
        self.panel.model.reassign_requested.connect(self._on_dropped)

        self.notifier = AssignmentNotifier(window, self.workload, runner, use_tray=use_tray)
        self._build_actions()
        self._prepare_table()
        window.live_refresh_started.connect(self._on_live_refresh)
        window.action("actionRefresh").triggered.connect(self._on_live_refresh)
        # The panel's figures and the notifications wait for the queue's first rows: the
        # user waits for those, and one database thread serves both on SQLite.
        window.first_rows_shown.connect(self._after_first_rows)

    # --- set-up -------------------------------------------------------------------------

    def _action(self, text: str, name: str, shortcut: str | None, tip: str,
                slot: object) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self._window.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.workload_action = self.dock.toggleViewAction()
        self.workload_action.setText("&Workload")
        self.workload_action.setObjectName("workloadAction")
        self.workload_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.reassign_action = self._action(
            "&Reassign…", "reassignAction", "Ctrl+R",
            "Move the selected incidents to a group and agent, with a reason (Ctrl+R)",
            self.open_reassign)
        self.assign_to_me_action = self._action(
            "&Assign to me", "assignToMeAction", "Ctrl+Shift+A",
            "Take the selected unassigned incidents (Ctrl+Shift+A)", self.start_assign_to_me)
        self.hand_back_action = self._action(
            "&Hand back to group…", "handBackAction", None,
            "Give the selected incident back to its group's pile, with a note",
            self.open_hand_back)
        self.escalate_action = self._action(
            "&Escalate to another group…", "escalateFunctionalAction", None,
            "Send the selected incidents to a group with more skill, with a reason",
            self.open_escalate_functional)
        self.escalate_lead_action = self._action(
            "Escalate to the &lead…", "escalateHierarchicalAction", None,
            "Flag the selected incident to the group's lead or a manager, with a reason",
            self.open_escalate_hierarchical)
        self.away_action = QAction("I am &away", self._window)
        self.away_action.setObjectName("awayAction")
        self.away_action.setCheckable(True)
        self.away_action.setChecked(self._user.away)
        self.away_action.setToolTip("Assignment rules give you no new work while you are away")
        self.away_action.toggled.connect(self._on_away_toggled)
        self.rules_action = self._action(
            "Assignment &rules…", "assignmentRulesAction", None,
            "Which group and agent new incidents of a category or service go to",
            self.open_rules_editor)

        self.menu = self._window.menuBar().addMenu("&Team")
        self.menu.setObjectName("teamMenu")
        for action in (self.workload_action, None, self.reassign_action,
                       self.assign_to_me_action, self.hand_back_action, None,
                       self.escalate_action, self.escalate_lead_action, None,
                       self.away_action, None, self.rules_action):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        toolbar = self._window.findChild(QToolBar, "mainToolBar")
        if toolbar is not None:
            toolbar.insertAction(self._window.action("actionRefresh"), self.assign_to_me_action)

    def _prepare_table(self) -> None:
        table = self._window.table
        # Rows drag out (onto the workload panel) as copies: a drop reassigns, nothing moves.
        table.setDragEnabled(True)
        table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        table.setDefaultDropAction(Qt.DropAction.CopyAction)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._table_menu)

    def table_menu(self) -> QMenu:
        """The queue's context menu (not shown): open, take, reassign, hand back, escalate."""
        menu = QMenu(self._window)
        menu.setObjectName("queueContextMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)  # a disabled entry's tip says why (permission_gate)
        menu.addAction(self._window.action("actionOpen"))
        menu.addSeparator()
        for action in (self.assign_to_me_action, self.reassign_action, self.hand_back_action,
                       self.escalate_action, self.escalate_lead_action):
            menu.addAction(action)
        return menu

    def _table_menu(self, position: QPoint) -> None:
        self.table_menu().popup(self._window.table.viewport().mapToGlobal(position))

    # --- the selection ------------------------------------------------------------------

    def selected_incidents(self) -> list[DraggedIncident]:
        """The queue's selected rows (or its current row) at the versions shown."""
        table = self._window.table
        model = self._window.model
        rows = sorted({i.row() for i in table.selectionModel().selectedRows()})
        if not rows and table.currentIndex().isValid():
            rows = [table.currentIndex().row()]
        incidents = []
        for row in rows:
            if 0 <= row < model.rowCount():
                shown = model.row_at(row)
                incidents.append(DraggedIncident(shown.id, shown.version, shown.number))
        return incidents

    def _need_selection(self) -> list[DraggedIncident] | None:
        incidents = self.selected_incidents()
        if not incidents:
            self._window.statusBar().showMessage("Select incidents in the queue first.", 5000)
            return None
        return incidents

    # --- actions ------------------------------------------------------------------------

    def open_reassign(self, *, incidents: list[DraggedIncident] | None = None,
                      group_id: int | None = None,
                      assignee_id: int | None = None) -> ReassignDialog | None:
        """Open the reassignment dialog for the selection (or for dropped incidents)."""
        chosen = incidents if incidents is not None else self._need_selection()
        if not chosen:
            return None
        from deskapp.qt.views.reassign_dialog import ReassignDialog

        dialog = ReassignDialog(self.assignment, self.workload, self._runner, chosen,
                                group_id=group_id, assignee_id=assignee_id,
                                parent=self._window)
        return self._show(dialog, load=True)

    def open_escalate_functional(self) -> ReassignDialog | None:
        """Escalate the selection to another group, with a reason."""
        chosen = self._need_selection()
        if not chosen:
            return None
        from deskapp.qt.views.reassign_dialog import ReassignDialog

        dialog = ReassignDialog(self.assignment, self.workload, self._runner, chosen,
                                escalate=True, parent=self._window)
        return self._show(dialog, load=True)

    def open_hand_back(self) -> NoteDialog | None:
        """Hand the current incident back to its group's pile, with a note."""
        chosen = self._need_selection()
        if not chosen:
            return None
        first = chosen[0]
        ref = IncidentRef(first.id, first.version)

        async def submit(note: str) -> Change:
            return await self._runner.db(self.assignment.hand_back, ref, note)

        from deskapp.qt.views.reassign_dialog import NoteDialog

        dialog = NoteDialog(f"Hand back {first.number}",
                            "A note for the group: what you found, what is left to do.",
                            "Hand back", submit, self._runner, parent=self._window)
        return self._show(dialog)

    def open_escalate_hierarchical(self) -> NoteDialog | None:
        """Flag the current incident to the lead or a manager, with a reason."""
        chosen = self._need_selection()
        if not chosen:
            return None
        first = chosen[0]
        ref = IncidentRef(first.id, first.version)

        async def submit(reason: str) -> Change:
            return await self._runner.db(self.assignment.escalate_hierarchical, ref, reason)

        from deskapp.qt.views.reassign_dialog import NoteDialog

        dialog = NoteDialog(f"Escalate {first.number} to the lead",
                            "Why the lead or a manager must look at it:", "Escalate",
                            submit, self._runner, parent=self._window)
        return self._show(dialog)

    def _show(self, dialog: _Dialog, *, load: bool = False) -> _Dialog:
        from deskapp.qt.views.reassign_dialog import ReassignDialog

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.close()
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self._applied)
        dialog.finished.connect(lambda _result: self._forget(dialog))
        # open(), not exec(): a nested event loop would stall the coroutines.
        dialog.open()
        bring_to_front(dialog)
        if load and isinstance(dialog, ReassignDialog):
            self._runner.spawn(dialog.load(), name="reassign targets")
        return dialog

    def open_rules_editor(self) -> AssignmentRulesEditor:
        """Show the assignment rules window (one per main window), loading the rules."""
        if self.rules_editor is None:
            from deskapp.qt.views.assignment_rules_editor import AssignmentRulesEditor
            from deskapp.services.assignment_rules import AssignmentRuleService
            from deskapp.services.catalog import CatalogService

            self.rules_editor = AssignmentRulesEditor(
                AssignmentRuleService(self._uow_factory, self._user.id, self._clock),
                CatalogService(self._uow_factory), self._runner,
                can_edit=allowed(self._user, Permission.MANAGE_ASSIGNMENT_RULES),
                parent=self._window)
        self.rules_editor.show()
        bring_to_front(self.rules_editor)
        self._runner.spawn(self.rules_editor.load(), name="assignment rules load")
        return self.rules_editor

    def _forget(self, dialog: QObject) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def start_assign_to_me(self) -> asyncio.Task[int] | None:
        """Take the selected incidents, one by one, in the background."""
        chosen = self._need_selection()
        if not chosen:
            return None
        return self._runner.spawn(self.assign_to_me(chosen), name="assign to me")

    async def assign_to_me(self, incidents: list[DraggedIncident]) -> int:
        """Take these incidents; stops at the first that cannot be taken. Returns how many
        were taken."""
        taken = 0
        for incident in incidents:
            try:
                change = await self._runner.db(self.assignment.assign_to_me,
                                               IncidentRef(incident.id, incident.version))
            except PermissionDeniedError as exc:
                from deskapp.qt.views.reassign_dialog import permission_message

                self._window.show_error(permission_message(exc))
                break
            except Exception as exc:
                self._window.show_error(f"Could not take {incident.number}: "
                                        f"{describe_error(exc)}")
                break
            taken += 1
            self._window.apply_change(change)
        if taken:
            noun = "incident" if taken == 1 else "incidents"
            self._window.statusBar().showMessage(f"Assigned {taken} {noun} to you.", 5000)
        return taken

    def _on_dropped(self, incidents: list[DraggedIncident], group_id: int,
                    assignee_id: int | None) -> None:
        # A drop asks only for the reason: group and agent are where the rows landed.
        gate = self._window.findChild(PermissionGate)
        if isinstance(gate, PermissionGate):
            why = gate.reason(self.reassign_action) if not self.reassign_action.isVisible() \
                else gate.refusal(self.reassign_action, gate.rows_of([i.id for i in incidents]))
            if why is not None:
                self._window.statusBar().showMessage(why, 8000)
                return
        self.open_reassign(incidents=incidents, group_id=group_id, assignee_id=assignee_id)

    def _on_away_toggled(self, away: bool) -> None:
        self._runner.spawn(self._set_away(away), name="set away")

    async def _set_away(self, away: bool) -> None:
        try:
            await self._runner.db(self.assignment.set_away, self._user.id, away)
        except Exception as exc:
            self.away_action.blockSignals(True)
            self.away_action.setChecked(not away)
            self.away_action.blockSignals(False)
            self._window.show_error(describe_error(exc))
            return
        self._window.statusBar().showMessage(
            "Marked away: assignment rules skip you." if away else "Marked back at work.", 5000)
        self.panel.start_refresh()

    # --- refreshing ---------------------------------------------------------------------

    def _applied(self, change: Change) -> None:
        self._window.apply_change(change)
        count = len(change.incident_ids)
        if count:
            noun = "incident" if count == 1 else "incidents"
            self._window.statusBar().showMessage(f"Changed {count} {noun}.", 5000)

    def _on_live_refresh(self) -> None:
        if self.dock.isVisible():
            self.panel.start_refresh()
        self.notifier.check_soon()

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible and self._window.first_rows_done:
            self.panel.start_refresh()

    def _on_first_load(self) -> None:
        # Shown at start to someone with no group to watch, the panel would only take the
        # queue's room to say so: it steps aside (Team → Workload brings its note back).
        self.panel.loaded.disconnect(self._on_first_load)
        if self.panel.has_groups is False and self.dock.isVisible():
            self.dock.hide()
            self._window.statusBar().showMessage(
                "The team workload is hidden: you are in no assignment group.", 8000)

    @property
    def _width_key(self) -> str:
        return f"users/{self._user.username}/workload/dock_width"

    def _remembered_width(self) -> int | None:
        value = self._settings.value(self._width_key)
        try:
            width = int(str(value)) if value is not None else None
        except ValueError:
            return None
        return width if width is not None and width > 0 else None

    def _remember_width(self) -> None:
        """Keep the width the user left the docked panel at, for the next start."""
        if self.dock.isVisible() and not self.dock.isFloating() and \
                self.panel.has_groups:
            self._settings.setValue(self._width_key, self.panel.width())
            self._settings.sync()

    def _after_first_rows(self) -> None:
        if self.dock.isVisible():
            self.panel.start_refresh()
        if not self.notifier.started:
            self._runner.spawn(self.notifier.start(), name="notifications start")


def install_team_menu(window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                      runner: DbRunner, user: User, clock: Clock = utc_now,
                      settings: QSettings | None = None) -> TeamMenu:
    """Add the Team menu, the workload dock and the queue's context menu to ``window``
    (``settings``: where the dock's width is kept; the user's QSettings by default)."""
    menu = TeamMenu(window, uow_factory=uow_factory, runner=runner, user=user, clock=clock,
                    settings=settings)
    return menu
