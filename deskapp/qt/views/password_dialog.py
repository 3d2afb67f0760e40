"""Passwords in the GUI: "Change password…" for the signed-in person (Help menu), the
change an admin's reset asks for at sign-in, and the admin's "Reset password…".

One dialog serves all three: the current password (only when changing one's own), the new
one and the same again. What was typed goes to ``submit``; its refusal (wrong current
password, too short) is shown inline and the dialog stays open. With a runner the call runs
off the GUI thread; without one (at sign-in, before the event loop runs) it is made
directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.domain.people import User
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.about_dialog import help_menu
from deskapp.services.accounts import AccountService

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #b00020;"
Submit = Callable[[str, str], None]
"""Called with (current password, new password); raises DeskappError to refuse."""


class PasswordDialog(QDialog):
    """Current password (if ``ask_current``), new password and the same again."""

    def __init__(self, title: str, intro: str, submit: Submit, *,
                 ask_current: bool, runner: DbRunner | None = None,
                 current: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passwordDialog")
        self.setWindowTitle(title)
        self._submit = submit
        self._runner = runner
        self._ask_current = ask_current
        self._known_current = current
        layout = QVBoxLayout(self)
        label = QLabel(intro, self)
        label.setObjectName("introLabel")
        label.setWordWrap(True)
        layout.addWidget(label)
        form = QFormLayout()
        layout.addLayout(form)
        self.current = self._password_edit("currentPasswordEdit")
        if ask_current:
            form.addRow("&Current password:", self.current)
        else:
            self.current.hide()
        self.new = self._password_edit("newPasswordEdit")
        form.addRow("&New password:", self.new)
        self.repeat = self._password_edit("repeatPasswordEdit")
        form.addRow("&Again:", self.repeat)
        self.error = QLabel("", self)
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Set password")
        self.ok_button.setObjectName("setPasswordButton")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        (self.current if ask_current else self.new).setFocus()
        self.setMinimumWidth(400)

    def _password_edit(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textEdited.connect(lambda _text: self.error.hide())
        return edit

    def try_accept(self) -> None:
        """Check the two new passwords agree, then hand them to ``submit``."""
        if self.new.text() != self.repeat.text():
            self._show_error("The two new passwords differ.", self.new)
            return
        current = self.current.text() if self._ask_current else self._known_current
        if self._runner is None:
            try:
                self._submit(current, self.new.text())
            except DeskappError as exc:
                self._show_error(str(exc), self.current if "current" in str(exc).lower()
                                 else self.new)
                return
            self.accept()
            return
        self._runner.spawn(self._submit_async(current, self.new.text()), name="password")

    async def _submit_async(self, current: str, new: str) -> None:
        assert self._runner is not None
        self.ok_button.setEnabled(False)
        try:
            await self._runner.db(self._submit, current, new)
        except DeskappError as exc:
            self._show_error(str(exc), self.current if "current" in str(exc).lower()
                             else self.new)
            return
        except Exception as exc:
            log.warning("Setting a password failed", exc_info=exc)
            self._show_error(describe_error(exc), self.new)
            return
        finally:
            self.ok_button.setEnabled(True)
        self.accept()

    def _show_error(self, message: str, focus: QLineEdit) -> None:
        self.error.setText(message)
        self.error.show()
        for edit in (self.new, self.repeat, focus):
            edit.clear()
        focus.setFocus()


def ask_new_password_at_sign_in(accounts: AccountService, user: User,
                                current: str) -> bool:
    """An admin reset this local account: the person chooses their own password before
    the main window opens. False if they cancelled (they are not signed in then)."""
    dialog = PasswordDialog(
        "Choose a new password",
        f"Welcome, {user.full_name}. An administrator set your password; choose your own "
        "before you start.",
        lambda old, new: accounts.change_password(user.id, old, new),
        ask_current=False, current=current)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()


def install_change_password(window: QMainWindow, accounts: AccountService, runner: DbRunner,
                            user: User) -> QAction:
    """Help > Change password… for the signed-in person (object name changePasswordAction).

    Local accounts give their current password; on PostgreSQL the new one becomes the
    login's password (ALTER ROLE of the current login; the server already checked the
    current one when the app connected, so it is not asked again).
    """
    action = QAction("Change &password…", window)
    action.setObjectName("changePasswordAction")

    def show() -> None:
        intro = ("Choose a new password for signing in to this desk." if accounts.local else
                 "Choose a new password for your database login; use it the next time you "
                 "connect.")
        dialog = PasswordDialog(
            "Change password", intro,
            lambda old, new: accounts.change_password(user.id, old, new),
            ask_current=accounts.local, runner=runner, parent=window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    action.triggered.connect(show)
    help_menu(window).addAction(action)
    return action
