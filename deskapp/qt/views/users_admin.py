"""Admin > Users…: the desk's people, their role and groups; new accounts, password resets,
deactivation (never deletion: incidents and the audit trail point at people).

Each save states the version of the person it showed; if another admin changed them
meanwhile, the service refuses and the window says who, keeping what was typed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.enums import Role
from deskapp.domain.errors import DeskappError
from deskapp.domain.text import isolate
from deskapp.qt.models.people_models import UserColumn, UsersModel
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.admin_table_window import (
    ERROR_STYLE,
    AdminTableWindow,
    CreateDialog,
    check_list,
    checked_ids,
    fill_check_list,
)
from deskapp.qt.views.password_dialog import PasswordDialog
from deskapp.services.people_admin import PeopleAdminService
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow

OWN_ACCOUNT = "You cannot deactivate your own account; ask another admin."

def role_combo(name: str, parent: QWidget) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName(name)
    for role in Role:
        combo.addItem(role.value.capitalize(), role.value)
    return combo


class NewUserDialog(CreateDialog):
    """Username, name, email, role and a first password; stays open on a refusal."""

    def __init__(self, service: PeopleAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newUserDialog")
        self.setWindowTitle("New user")
        self._service = service
        self._runner = runner
        self.created_id: int | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)
        self.username = QLineEdit(self)
        self.username.setObjectName("usernameEdit")
        self.username.setMaxLength(63)
        self.username.setPlaceholderText("lower case, e.g. ann.smith")
        form.addRow("&Username:", self.username)
        self.full_name = QLineEdit(self)
        self.full_name.setObjectName("fullNameEdit")
        self.full_name.setMaxLength(120)
        form.addRow("Full &name:", self.full_name)
        self.email = QLineEdit(self)
        self.email.setObjectName("emailEdit")
        form.addRow("&Email:", self.email)
        self.role = role_combo("roleCombo", self)
        form.addRow("&Role:", self.role)
        self.password = QLineEdit(self)
        self.password.setObjectName("passwordEdit")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("First &password:", self.password)
        self.repeat = QLineEdit(self)
        self.repeat.setObjectName("repeatEdit")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Again:", self.repeat)
        hint = QLabel("On a local desk the person chooses their own password when they first "
                      "sign in; on PostgreSQL this creates their database login.", self)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.error = QLabel("", self)
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Create")
        self.buttons.accepted.connect(
            lambda: runner.spawn(self.submit(), name="new user"))
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.username.setFocus()
        self.setMinimumWidth(420)

    async def submit(self) -> None:
        """Create the person; close with ``created_id`` set, or say why not."""
        if self.password.text() != self.repeat.text():
            self._error("The two passwords differ.", self.password)
            return
        self.ok_button.setEnabled(False)
        try:
            self.created_id = await self._runner.db(
                self._service.create_user, self.username.text(), self.full_name.text(),
                self.email.text(), Role(self.role.currentData()), self.password.text(), ())
        except DeskappError as exc:
            field = getattr(exc, "field", None)
            widget = {"username": self.username, "full_name": self.full_name,
                      "password": self.password}.get(field or "", self.username)
            self._error(str(exc), widget)
            return
        except Exception as exc:
            self._error(describe_error(exc), self.username)
            return
        finally:
            self.ok_button.setEnabled(True)
        self.accept()

    def _error(self, text: str, focus: QLineEdit) -> None:
        self.error.setText(text)
        self.error.show()
        self.password.clear()
        self.repeat.clear()
        focus.setFocus()


class UsersWindow(AdminTableWindow):
    """Admin > Users…; load with ``load()`` (a coroutine run by the runner)."""

    def __init__(self, service: PeopleAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        self.service = service
        super().__init__(UsersModel(), runner, name="usersWindow", title="Users",
                         noun="user", stretch_column=UserColumn.GROUPS, parent=parent)
        self.model.setParent(self)
        self._groups: list[GroupAdminRow] = []
        self.dialog = None
        self.username_label = QLabel("", self.panel)
        self.username_label.setObjectName("usernameLabel")
        self.form.addRow("Username:", self.username_label)
        self.full_name = QLineEdit(self.panel)
        self.full_name.setObjectName("fullNameEdit")
        self.full_name.setMaxLength(120)
        self.form.addRow("Full &name:", self.full_name)
        self.email = QLineEdit(self.panel)
        self.email.setObjectName("emailEdit")
        self.form.addRow("&Email:", self.email)
        self.role = role_combo("roleCombo", self.panel)
        self.form.addRow("&Role:", self.role)
        self.groups = check_list("groupsList", self.panel)
        self.groups.setToolTip("Space ticks or unticks the current group")
        self.form.addRow("&Groups:", self.groups)
        self.state_label = QLabel("", self.panel)
        self.state_label.setObjectName("stateLabel")
        self.state_label.setWordWrap(True)
        self.form.addRow("Status:", self.state_label)
        self.new_button.clicked.connect(self.open_new_user)
        self.reset_button = self.add_button("Reset &password…", "resetPasswordButton",
                                            self.open_reset_password)
        self.active_button = self.add_button("&Deactivate", "activeButton",
                                             lambda: self.spawn(self.toggle_active(), "active"))
        self.finish_buttons()
        self.saves_on_enter(self.full_name, self.email)
        self.setTabOrder(self.filter_edit, self.table)
        self.setTabOrder(self.table, self.full_name)
        self.setTabOrder(self.full_name, self.email)
        self.setTabOrder(self.email, self.role)
        self.setTabOrder(self.role, self.groups)
        self.setTabOrder(self.groups, self.save_button)
        self.filter_edit.setFocus()
        self.show_record(None)

    def first_field(self) -> QWidget:
        return self.full_name

    def edited(self, row: UserAdminRow) -> bool:
        return (self.full_name.text(), self.email.text(), self.role.currentData(),
                checked_ids(self.groups)) != (row.full_name, row.email, row.role.value,
                                              set(row.group_ids))

    async def fetch(self) -> None:
        users = await self._runner.db(self.service.users)
        self._groups = await self._runner.db(self.service.groups)
        self.model.set_rows(users)

    def show_record(self, row: UserAdminRow | None) -> None:
        for widget in (self.full_name, self.email, self.role, self.groups, self.save_button,
                       self.reset_button, self.active_button):
            widget.setEnabled(row is not None)
        if row is None:
            self.username_label.setText("")
            self.full_name.clear()
            self.email.clear()
            self.groups.clear()
            self.state_label.setText("")
            return
        self.username_label.setText(row.username)
        self.full_name.setText(row.full_name)
        self.email.setText(row.email)
        self.role.setCurrentIndex(max(self.role.findData(row.role.value), 0))
        # Active groups are offered; an inactive one the person is still in stays shown.
        entries = [(g.id, g.name + ("" if g.active else " (inactive)")) for g in self._groups
                   if g.active or g.id in row.group_ids]
        fill_check_list(self.groups, entries, set(row.group_ids))
        self.state_label.setText(self.model.data(
            self.model.index(self.model.row_of(row.id), 4)) or "")
        self.active_button.setText("&Reactivate" if not row.active else "&Deactivate")
        # Refused up front, not after an "Are you sure?": nobody may deactivate themselves.
        own = row.id == self.service.actor_id and row.active
        self.active_button.setEnabled(not own)
        self.active_button.setToolTip(OWN_ACCOUNT if own else "")
        self.panel.setTitle(f"{isolate(row.full_name)} ({row.username})")

    async def save(self, row: UserAdminRow) -> int | None:
        role = Role(self.role.currentData())
        result = await self.call(self._save_user, row, self.full_name.text(),
                                 self.email.text(), role, checked_ids(self.groups))
        if result is None:
            return None
        self.say(result)
        return row.id

    def _save_user(self, row: UserAdminRow, full_name: str, email: str, role: Role,
                   group_ids: set[int]) -> str:
        # One call, one transaction: a refused group change leaves the name alone too.
        return self.service.update_user(row.id, row.version, full_name=full_name,
                                        email=email, role=role, group_ids=group_ids).message

    async def toggle_active(self) -> None:
        """Deactivate (after saying how many open incidents they still hold) or reactivate
        the selected person."""
        row = self.current()
        if row is None:
            return
        if row.active and row.id == self.service.actor_id:
            self.say(OWN_ACCOUNT, error=True)
            return
        await self.toggle_row_active(
            row, reactivate=self.service.reactivate_user,
            deactivate=self.service.deactivate_user, open_count=self.service.open_assigned_to,
            title="Deactivate user",
            question=f"Deactivate {isolate(row.full_name)}? They can no longer sign in and get "
                     "no new work; their history stays.",
            held=lambda count: (
                f"{count:,} open incident{'s' if count != 1 else ''} still assigned to them; "
                f"their team lead should reassign {'it' if count == 1 else 'them'}."
                if count else "No open incidents are assigned to them."))

    def open_new_user(self) -> NewUserDialog:
        return self.open_create_dialog(NewUserDialog(self.service, self._runner, self),
                                       self._created)

    async def _created(self, user_id: int | None) -> None:
        await self.load(user_id)
        self.say("Created; tick their groups and save.")
        self.groups.setFocus()

    def open_reset_password(self) -> PasswordDialog | None:
        row = self.current()
        if row is None:
            return None
        local = self.service.local
        dialog = PasswordDialog(
            "Reset password",
            f"A new password for {isolate(row.full_name)} ({row.username}); it also unlocks the "
            "account." + (" They choose their own at the next sign-in." if local else ""),
            lambda _current, new: self.service.reset_password(row.id, new),
            ask_current=False, runner=self._runner, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.spawn(self._reset_done(row), "reset"))
        self.dialog = dialog
        dialog.open()
        return dialog

    async def _reset_done(self, row: UserAdminRow) -> None:
        await self.load(row.id)
        self.say(f"The password of {isolate(row.full_name)} was reset.")
