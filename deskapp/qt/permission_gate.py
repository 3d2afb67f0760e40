"""Which permission each action of the main window needs, applied once the window is built.

The services check every call (``services.permissions``); this module makes the window say
the same before anyone clicks:

- an action whose permission the role never has is **hidden** (menus, toolbar, the queue's
  context menu) and its keyboard shortcut does nothing but say why in the status bar;
- an action that opens a window which is read-only without the permission (the priority
  matrix, the assignment rules...) stays, and its tip says it opens read-only;
- an action on the queue's selected incidents (reassign, escalate...) is **disabled**, its
  tip saying why, while a selected incident is beyond the role's reach
  (``permissions.reaches``, with the user's groups); its shortcut then says why too.

Declaring a new action: one line in ``GATES`` (its object name and what it needs), or
``ALWAYS_ALLOWED`` for one every role may use. An action made elsewhere may instead carry
its permission as the Qt property ``PERMISSION_PROPERTY`` (``"manage_people"``, or several
comma-separated, all needed); the gate hides it like a ``GATES`` entry. Every action of the
window must have one of these decisions: tests/qt/test_permission_gate.py walks them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar, QWidget

from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import User
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.dto import IncidentRow
from deskapp.services.permissions import (
    CSV_IMPORT,
    QUEUE_EXPORT,
    SERVICENOW_IMPORT,
    Permission,
    allowed,
    require_reach,
)

log = logging.getLogger(__name__)

PERMISSION_PROPERTY = "deskappPermission"
"""The Qt property an action may carry instead of a ``GATES`` line: permission values,
comma-separated, all needed."""

RowCheck = Callable[[User, frozenset[int], IncidentRow], str | None]
"""Why the user may not do it to this selected incident (None: they may)."""


def _reach(permission: Permission) -> RowCheck:
    def check(user: User, group_ids: frozenset[int], row: IncidentRow) -> str | None:
        try:
            require_reach(user, permission, group_ids, row.assignment_group_id,
                          row.assignee_id, row.number)
        except PermissionDeniedError as exc:
            return str(exc)
        return None
    return check


def _may_take(user: User, group_ids: frozenset[int], row: IncidentRow) -> str | None:
    # AssignmentService.assign_to_me: unassigned (or already one's own), of one's groups.
    if row.assignee_id == user.id:
        return None
    if row.assignee_id is not None:
        return f"{row.number} is assigned to {row.assignee_name or 'someone'} already."
    if row.assignment_group_id is None:
        return f"{row.number} is in no group: reassign it instead."
    if row.assignment_group_id not in group_ids:
        return f"{row.number} is in {row.group_name or 'a group'}, not one of your groups."
    return None


def _may_hand_back(user: User, group_ids: frozenset[int], row: IncidentRow) -> str | None:
    if row.assignee_id is None:
        return f"{row.number} is not assigned to anyone."
    if row.assignment_group_id is None:
        return f"{row.number} has no group to hand it back to: reassign it instead."
    return _reach(Permission.REASSIGN)(user, group_ids, row)


@dataclass(frozen=True)
class Gate:
    """What one action needs.

    Attributes:
        needs: The permissions the action needs, all of them (or one, with ``any_of``).
        any_of: One of ``needs`` is enough.
        read_only: Without ``needs`` the action stays: the window it opens is read-only.
        row_check: For actions on the selected incidents: why a selected row is beyond the
            user (the action is disabled while one is selected).
    """

    needs: tuple[Permission, ...]
    any_of: bool = False
    read_only: bool = False
    row_check: RowCheck | None = None

    def allows(self, user: User) -> bool:
        """Whether the user's role has what the action needs (reach aside)."""
        granted = [allowed(user, p) for p in self.needs]
        return any(granted) if self.any_of else all(granted)


GATES: dict[str, Gate] = {
    # File
    "actionLogCall": Gate((Permission.LOG,)),
    # Data
    "actionExport": Gate(QUEUE_EXPORT),
    "actionImportServiceNow": Gate(SERVICENOW_IMPORT),
    "actionImportCsv": Gate(CSV_IMPORT),
    "actionCallersToReview": Gate((Permission.EDIT,), read_only=True),
    # Reports: the review form is read-only for the one of the two who may not write it.
    "actionReview": Gate((Permission.EDIT, Permission.EXPORT_REPORTS), any_of=True),
    "actionPeriodReport": Gate((Permission.EXPORT_REPORTS,)),
    # Team, the queue's context menu, rows dropped on the workload panel (= reassign)
    "reassignAction": Gate((Permission.REASSIGN,), row_check=_reach(Permission.REASSIGN)),
    "assignToMeAction": Gate((Permission.REASSIGN,), row_check=_may_take),
    "handBackAction": Gate((Permission.REASSIGN,), row_check=_may_hand_back),
    "escalateFunctionalAction": Gate((Permission.REASSIGN, Permission.ESCALATE),
                                     row_check=_reach(Permission.REASSIGN)),
    "escalateHierarchicalAction": Gate((Permission.ESCALATE,),
                                       row_check=_reach(Permission.ESCALATE)),
    "assignmentRulesAction": Gate((Permission.MANAGE_ASSIGNMENT_RULES,), read_only=True),
    # Admin: managers (and agents) read the matrix and the alert mappings.
    "priorityMatrixAction": Gate((Permission.EDIT_MATRIX,), read_only=True),
    "alertMappingsAction": Gate((Permission.EDIT_MATRIX,), read_only=True),
    "auditTrailAction": Gate((Permission.MANAGE_PEOPLE,)),
    "usersAction": Gate((Permission.MANAGE_PEOPLE,)),
    "groupsAction": Gate((Permission.MANAGE_PEOPLE,)),
    "callersAdminAction": Gate((Permission.MANAGE_PEOPLE,)),
    "categoriesAdminAction": Gate((Permission.MANAGE_CATALOG,)),
    "servicesAdminAction": Gate((Permission.MANAGE_CATALOG,)),
}
"""Actions by object name, with what they need."""

ALWAYS_ALLOWED: frozenset[str] = frozenset({
    "actionOpen",  # the incident form itself opens read-only where the user may not change
    "actionQuit", "actionRefresh", "actionSearch",
    "actionNewFilter", "actionEditFilter", "actionDeleteFilter",  # one's own saved filters
    "workloadAction",  # reading the workload; a drop on it is a reassignment (gated)
    "awayAction",  # anyone may mark themselves away (SET_AWAY is for marking others)
    "actionSettings", "aboutAction", "actionKeyboardShortcuts",
    "changePasswordAction",  # one's own password
})
"""Actions every role may use, by object name."""


def declared_gate(action: QAction) -> Gate | None:
    """The action's gate: its ``GATES`` line, or one made from its permission property."""
    gate = GATES.get(action.objectName())
    if gate is not None:
        return gate
    value = action.property(PERMISSION_PROPERTY)
    if not value:
        return None
    return Gate(tuple(Permission(v.strip()) for v in str(value).split(",") if v.strip()))


def is_qt_plumbing(action: QAction, window: MainWindow) -> bool:
    """Actions that are no command: separators, menu titles, Qt's own (a line edit's clear
    button), a widget a tool bar holds (the search box), and the show/hide toggles of tool
    bars."""
    if action.isSeparator() or action.menu() is not None:
        return True
    if action.objectName().startswith("_q_"):
        return True
    parent = action.parent()
    if isinstance(parent, QToolBar) and parent.widgetForAction(action) is not None \
            and not action.text():
        return True
    toggles = [*(bar.toggleViewAction() for bar in window.findChildren(QToolBar)),
               *(dock.toggleViewAction() for dock in window.findChildren(QDockWidget))]
    return not action.objectName() and any(action is toggle for toggle in toggles)


def _label(action: QAction) -> str:
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def _missing(user: User, gate: Gate) -> str:
    names = [p.value.replace("_", " ") for p in gate.needs if not allowed(user, p)]
    return " or ".join(names) if gate.any_of else " and ".join(names)


class PermissionGate(QObject):
    """Applies ``GATES`` to a main window for its user; a child of it (``findChild``).

    Args:
        window: The built main window (every menu installed).
        user: The signed-in user.
        runner: Runs ``load_group_ids`` off the GUI thread.
        load_group_ids: The groups the user belongs to or leads (how far ``reaches`` goes),
            read again whenever the window reloads.
    """

    def __init__(self, window: MainWindow, *, user: User, runner: DbRunner,
                 load_group_ids: Callable[[], Sequence[int]]) -> None:
        super().__init__(window)
        self.setObjectName("permissionGate")
        self._window = window
        self._user = user
        self._runner = runner
        self._load_group_ids = load_group_ids
        self._group_ids: frozenset[int] | None = None
        """None until read: until then nothing is disabled for reach (the service checks)."""
        self._tips: dict[QAction, tuple[str, str]] = {}
        self._explainers: dict[QAction, list[QShortcut]] = {}
        self.selection_actions: list[QAction] = []
        self._apply_soon = QTimer(self)
        self._apply_soon.setSingleShot(True)
        self._apply_soon.timeout.connect(self.apply)
        self._watched: set[QWidget] = set()
        self.apply()
        self._follow_selection()
        window.live_refresh_started.connect(self.start_loading_groups)
        window.action("actionRefresh").triggered.connect(self.start_loading_groups)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop yet: the first refresh reads the groups
        else:
            self.start_loading_groups()

    # --- the walk -----------------------------------------------------------------------

    def actions(self) -> list[QAction]:
        """Every command action of the window (menus, tool bar, shortcuts-only)."""
        return [a for a in dict.fromkeys(self._window.findChildren(QAction))
                if not is_qt_plumbing(a, self._window)]

    def apply(self) -> None:
        """Hide what the role never has, mark what opens read-only; idempotent (a menu
        installed later is covered by calling it again)."""
        user = self._user
        for action in self.actions():
            gate = declared_gate(action)
            if gate is None:
                if action.objectName() not in ALWAYS_ALLOWED:
                    log.warning("Action %r has no permission decision (permission_gate)",
                                action.objectName() or action.text())
                continue
            if gate.allows(user):
                if gate.row_check is not None and action not in self.selection_actions:
                    self.selection_actions.append(action)
                    self._explain_when_disabled(action)
                continue
            if gate.read_only:
                tip = (f"{_label(action)} opens read-only: changing it needs "
                       f"{_missing(user, gate)}, which your role ({user.role.value}) "
                       "does not have.")
                action.setToolTip(plain_tooltip(tip))
                action.setStatusTip(tip)
                continue
            action.setVisible(False)
            if action not in self._explainers:
                self._explain_when_disabled(action)
        self._hide_empty_menus()

    def reason(self, action: QAction) -> str | None:
        """Why the user may not use the action now (None: they may)."""
        gate = declared_gate(action)
        if gate is None:
            return None
        if not gate.allows(self._user):
            if gate.read_only:
                return None
            return (f"{_label(action)} is not for your role ({self._user.role.value}): "
                    f"it needs {_missing(self._user, gate)}.")
        if gate.row_check is None:
            return None
        return self.refusal(action, self._selected_rows())

    def refusal(self, action: QAction, rows: Sequence[IncidentRow]) -> str | None:
        """Why the action may not be done to these incidents (None: as far as the window
        knows, it may; the service decides)."""
        gate = declared_gate(action)
        if gate is None or gate.row_check is None or self._group_ids is None:
            return None
        denied = [why for row in rows
                  if (why := gate.row_check(self._user, self._group_ids, row)) is not None]
        if not denied:
            return None
        more = f" (and {len(denied) - 1} more selected)" if len(denied) > 1 else ""
        return denied[0] + more

    def rows_of(self, incident_ids: Sequence[int]) -> list[IncidentRow]:
        """The queue's rows of these incidents, as the window shows them."""
        wanted = set(incident_ids)
        model = self._window.model
        rows = (model.row_at(i) for i in range(model.rowCount()))
        return [row for row in rows if row.id in wanted]

    def _explain_when_disabled(self, action: QAction) -> None:
        # A hidden or disabled action's shortcut does not fire; these say why instead, and
        # are on only while the action is off, so the two never compete for the keys.
        shortcuts = []
        for keys in action.shortcuts():
            shortcut = QShortcut(QKeySequence(keys), self._window)
            shortcut.setObjectName(f"{action.objectName()}Denied")
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda a=action: self._say_why(a))
            shortcuts.append(shortcut)
        self._explainers[action] = shortcuts
        self._update_explainers(action)

    def _update_explainers(self, action: QAction) -> None:
        off = not (action.isVisible() and action.isEnabled())
        for shortcut in self._explainers.get(action, []):
            shortcut.setEnabled(off)

    def _say_why(self, action: QAction) -> None:
        why = self.reason(action) or f"{_label(action)} is not available now."
        self._window.statusBar().showMessage(why, 8000)

    def _hide_empty_menus(self) -> None:
        for top in self._window.menuBar().actions():
            menu = top.menu()
            if isinstance(menu, QMenu):
                menu.setToolTipsVisible(True)  # so a disabled entry's tip says why
                top.setVisible(any(a.isVisible() and not a.isSeparator()
                                   for a in menu.actions()))
        self._watch_for_new_actions()

    def _watch_for_new_actions(self) -> None:
        # Menus built later (on first show, say) add actions after the walk: each addition
        # is gated on the next turn of the event loop, once its name is set.
        window = self._window
        for widget in [window, window.menuBar(), *window.findChildren(QMenu),
                       *window.findChildren(QToolBar)]:
            if widget not in self._watched:
                self._watched.add(widget)
                widget.installEventFilter(self)
                widget.destroyed.connect(lambda _o=None, w=widget: self._watched.discard(w))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ActionAdded and not self._apply_soon.isActive():
            self._apply_soon.start(0)
        return False

    # --- the selection ------------------------------------------------------------------

    def _follow_selection(self) -> None:
        table = self._window.table
        model = self._window.model
        selection = table.selectionModel()
        selection.selectionChanged.connect(self.update_selection)
        selection.currentChanged.connect(self.update_selection)
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted,
                       model.rowsRemoved, model.dataChanged):
            signal.connect(self.update_selection)
        # Rows dragged onto the workload panel are reassigned: no drag without REASSIGN.
        table.setDragEnabled(allowed(self._user, Permission.REASSIGN))

    def _selected_rows(self) -> list[IncidentRow]:
        table = self._window.table
        model = self._window.model
        rows = sorted({i.row() for i in table.selectionModel().selectedRows()})
        if not rows and table.currentIndex().isValid():
            rows = [table.currentIndex().row()]
        return [model.row_at(r) for r in rows if 0 <= r < model.rowCount()]

    def update_selection(self, *_args: object) -> None:
        """Enable the actions on the selection that reach every selected incident."""
        if not self.selection_actions:
            return
        rows = self._selected_rows()
        for action in self.selection_actions:
            why = self.refusal(action, rows)
            if action not in self._tips:
                self._tips[action] = (action.toolTip(), action.statusTip())
            tip, status = self._tips[action]
            action.setEnabled(why is None)
            action.setToolTip(tip if why is None else plain_tooltip(why))
            action.setStatusTip(status if why is None else why)
            self._update_explainers(action)

    # --- the user's groups --------------------------------------------------------------

    def start_loading_groups(self) -> None:
        """Read the user's groups again, in the background."""
        self._runner.spawn(self.load_groups(), name="permission gate groups")

    async def load_groups(self) -> None:
        """Read the user's groups, then judge the selection with them."""
        try:
            ids = await self._runner.db(self._load_group_ids)
        except Exception as exc:
            log.warning("Reading the user's groups failed; the services still check",
                        exc_info=exc)
            return
        self._group_ids = frozenset(ids)
        self.update_selection()

    @property
    def group_ids(self) -> frozenset[int] | None:
        """The user's groups once read."""
        return self._group_ids


def install_permission_gate(window: MainWindow, *, user: User, runner: DbRunner,
                            load_group_ids: Callable[[], Sequence[int]]) -> PermissionGate:
    """Gate the window's actions for ``user``; call it after every menu is installed."""
    return PermissionGate(window, user=user, runner=runner, load_group_ids=load_group_ids)
