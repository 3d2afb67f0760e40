"""The main window's Admin menu: the priority matrix editor (one window, reused)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from deskapp.domain.people import User
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.widgets.windows import bring_to_front
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import Permission, allowed
from deskapp.services.ports import Clock, UnitOfWorkFactory

if TYPE_CHECKING:
    # The windows and their services load when first opened, not at the window's start.
    from deskapp.qt.views.alert_rules_editor import AlertRulesEditor
    from deskapp.qt.views.audit_viewer import AuditViewer
    from deskapp.qt.views.callers_admin import CallersAdminWindow
    from deskapp.qt.views.catalog_admin import CatalogAdminWindow
    from deskapp.qt.views.groups_admin import GroupsWindow
    from deskapp.qt.views.matrix_editor import MatrixEditor
    from deskapp.qt.views.users_admin import UsersWindow
    from deskapp.services.accounts import DatabaseLogins


class AdminMenu(QObject):
    """The Admin menu and its editor window; a child of the main window (``findChild``)."""

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                 runner: DbRunner, user: User, clock: Clock = utc_now,
                 logins: DatabaseLogins | None = None) -> None:
        super().__init__(window)
        self.setObjectName("adminMenu")
        self._window = window
        self._runner = runner
        self._uow_factory = uow_factory
        self._user = user
        self._clock = clock
        self.editor: MatrixEditor | None = None
        self.menu = window.menuBar().addMenu("&Admin")
        self.menu.setObjectName("adminMenu")
        self.matrix_action = QAction("&Priority matrix…", self.menu)
        self.matrix_action.setObjectName("priorityMatrixAction")
        self.matrix_action.triggered.connect(self.open_matrix_editor)
        self.menu.addAction(self.matrix_action)
        # Monitoring intake: the alert mapping editor (deskapp.qt.views.alert_rules_editor).
        self.alert_rules_editor: AlertRulesEditor | None = None
        self.alert_rules_action = QAction("&Alert mappings…", self.menu)
        self.alert_rules_action.setObjectName("alertMappingsAction")
        self.alert_rules_action.triggered.connect(self.open_alert_rules)
        self.menu.addAction(self.alert_rules_action)
        self.audit_viewer: AuditViewer | None = None
        self.audit_action = QAction("&Audit trail…", self.menu)
        self.audit_action.setObjectName("auditTrailAction")
        self.audit_action.triggered.connect(self.open_audit_viewer)
        # Only admins read the trail (the service refuses anyone else too).
        self.audit_action.setVisible(allowed(user, Permission.MANAGE_PEOPLE))
        self.menu.addAction(self.audit_action)
        # People administration (admins): windows in users_admin.py and groups_admin.py.
        self._people_args = (uow_factory, user.id, logins, clock)
        self.users_window: UsersWindow | None = None
        self.groups_window: GroupsWindow | None = None
        self.users_action = self._people_action("&Users…", "usersAction", self.open_users, user)
        self.groups_action = self._people_action("&Groups…", "groupsAction", self.open_groups,
                                                 user)
        # The catalogue (deskapp.qt.views.catalog_admin), for admins only.
        self.catalog_windows: dict[str, CatalogAdminWindow] = {}
        for text, name in (("&Categories…", "categoriesAdminAction"),
                           ("&Services and CIs…", "servicesAdminAction")):
            action = self.menu.addAction(text)
            action.setObjectName(name)
            action.setVisible(allowed(user, Permission.MANAGE_CATALOG))
            action.triggered.connect(lambda _=False, n=name: self.open_catalog_admin(n))
        # Callers: edit, deactivate, merge duplicates (deskapp.qt.views.callers_admin).
        self.callers_window: CallersAdminWindow | None = None
        self.callers_action = QAction("Ca&llers…", self.menu)
        self.callers_action.setObjectName("callersAdminAction")
        self.callers_action.triggered.connect(self.open_callers)
        self.callers_action.setVisible(allowed(user, Permission.MANAGE_PEOPLE))
        self.menu.addAction(self.callers_action)

    def _people_action(self, text: str, name: str, slot: Callable[[], object],
                       user: User) -> QAction:
        action = QAction(text, self.menu)
        action.setObjectName(name)
        action.triggered.connect(slot)
        action.setVisible(allowed(user, Permission.MANAGE_PEOPLE))
        self.menu.addAction(action)
        return action

    def open_users(self) -> UsersWindow:
        """Show Admin > Users… (loading it afresh) and return it."""
        if self.users_window is None:
            from deskapp.qt.views.users_admin import UsersWindow
            from deskapp.services.people_admin import PeopleAdminService

            self.users_window = UsersWindow(PeopleAdminService(*self._people_args),
                                            self._runner, self._window)
        bring_to_front(self.users_window)
        self._runner.spawn(self.users_window.load(), name="users-load")
        return self.users_window

    def open_groups(self) -> GroupsWindow:
        """Show Admin > Groups… (loading it afresh) and return it."""
        if self.groups_window is None:
            from deskapp.qt.views.groups_admin import GroupsWindow
            from deskapp.services.people_admin import PeopleAdminService

            self.groups_window = GroupsWindow(PeopleAdminService(*self._people_args),
                                              self._runner, self._window)
        bring_to_front(self.groups_window)
        self._runner.spawn(self.groups_window.load(), name="groups-load")
        return self.groups_window

    def open_matrix_editor(self) -> MatrixEditor:
        """Show the editor (loading it afresh) and return it."""
        if self.editor is None:
            # Loaded on first use, to keep the app's start short.
            from deskapp.qt.views.matrix_editor import MatrixEditor
            from deskapp.services.matrix_admin import MatrixAdminService

            service = MatrixAdminService(self._uow_factory, self._user.id, self._clock)
            self.editor = MatrixEditor(service, self._runner,
                                       on_change=self._window.apply_change,
                                       parent=self._window)
        bring_to_front(self.editor)
        self._runner.spawn(self.editor.load(), name="matrix-editor-load")
        return self.editor

    def open_alert_rules(self) -> AlertRulesEditor:
        """Show the alert mapping editor (loading it afresh) and return it."""
        if self.alert_rules_editor is None:
            from deskapp.qt.views.alert_rules_editor import AlertRulesEditor
            from deskapp.services.intake.alert_rules import (
                AlertRuleService,
                AlertUnitOfWorkFactory,
            )

            # The composition root's factory holds the alert repository too.
            rules = AlertRuleService(cast(AlertUnitOfWorkFactory, self._uow_factory),
                                     self._user.id)
            self.alert_rules_editor = AlertRulesEditor(rules, self._runner,
                                                       parent=self._window)
        bring_to_front(self.alert_rules_editor)
        self._runner.spawn(self.alert_rules_editor.load(), name="alert-rules-load")
        return self.alert_rules_editor

    def open_callers(self) -> CallersAdminWindow:
        """Show the callers window (searching afresh) and return it."""
        if self.callers_window is None:
            from deskapp.qt.views.callers_admin import CallersAdminWindow
            from deskapp.services.caller_admin import CallerAdminService

            callers = CallerAdminService(self._uow_factory, self._user.id, self._clock)
            self.callers_window = CallersAdminWindow(callers, self._runner, self._window)
        bring_to_front(self.callers_window)
        self._runner.spawn(self.callers_window.load(), name="callers-load")
        return self.callers_window

    def open_catalog_admin(self, action_name: str) -> CatalogAdminWindow:
        """Show the categories (or services and CIs) window, loading it afresh."""
        from deskapp.qt.views.catalog_admin import CategoriesAdmin, ServicesAdmin
        from deskapp.services.catalog_admin import (
            CatalogAdminService,
            CatalogAdminUnitOfWorkFactory,
        )

        window = self.catalog_windows.get(action_name)
        if window is None:
            kind = CategoriesAdmin if action_name == "categoriesAdminAction" else ServicesAdmin
            catalog = CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, self._uow_factory),
                                          self._user.id)
            window = self.catalog_windows[action_name] = kind(catalog, self._runner,
                                                              self._window)
        bring_to_front(window)
        self._runner.spawn(window.load(), name="catalog-admin-load")
        return window

    def open_audit_viewer(self) -> AuditViewer:
        """Show the audit viewer (loading the newest rows) and return it."""
        if self.audit_viewer is None:
            from deskapp.qt.views.audit_viewer import AuditViewer
            from deskapp.services.audit import AuditService

            audit = AuditService(self._uow_factory, self._user.id)
            self.audit_viewer = AuditViewer(audit, self._runner, self._window)
            self.audit_viewer.setWindowFlag(Qt.WindowType.Window, True)
        bring_to_front(self.audit_viewer)
        self._runner.spawn(self.audit_viewer.load(), name="audit-viewer-load")
        return self.audit_viewer


def install_admin_menu(window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                       runner: DbRunner, user: User, clock: Clock = utc_now,
                       logins: DatabaseLogins | None = None) -> AdminMenu:
    """Add the Admin menu to ``window``'s menu bar (``logins``: PostgreSQL's, else None)."""
    return AdminMenu(window, uow_factory=uow_factory, runner=runner, user=user, clock=clock,
                     logins=logins)
