"""Sign-in at start, and the first start's "create the admin account" form.

Shown before the event loop runs, so ``ask`` uses ``exec()``. The dialog does not know how
accounts work: it hands what was typed to ``attempt`` and shows the error that comes back
(wrong password, locked account, a password too short), keeping the dialog open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.domain.people import User


class SignInMode(Enum):
    """What the dialog asks for."""

    SIGN_IN = "sign_in"
    FIRST_RUN = "first_run"


@dataclass(frozen=True)
class SignInAnswer:
    """What the person typed; the password is kept out of ``repr``."""

    username: str
    password: str = field(repr=False)
    full_name: str = ""


Attempt = Callable[[SignInAnswer], User]
"""Signs in (or creates the admin) with an answer; raises DeskappError to say why not."""


class SignInDialog(QDialog):
    """Username and password (and, on a new desk, the admin's name and the password twice)."""

    def __init__(self, mode: SignInMode, attempt: Attempt, *, username: str = "",
                 desk: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self._mode = mode
        self._attempt = attempt
        self.user: User | None = None
        first = mode is SignInMode.FIRST_RUN
        self.setWindowTitle("Create the admin account" if first else "Sign in to Deskapp")
        layout = QVBoxLayout(self)
        intro = QLabel(
            "This desk is new. Choose the administrator's username and password: the admin "
            "signs in first and creates everyone else's account." if first else
            f"Sign in{f' to {desk}' if desk else ''}.", self)
        intro.setObjectName("introLabel")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)
        self.username = QLineEdit(username or ("admin" if first else ""), self)
        self.username.setObjectName("usernameEdit")
        self.username.setMaxLength(63)
        form.addRow("&Username:", self.username)
        self.full_name = QLineEdit("Desk Administrator" if first else "", self)
        self.full_name.setObjectName("fullNameEdit")
        self.full_name.setMaxLength(120)
        if first:
            form.addRow("&Full name:", self.full_name)
        else:
            self.full_name.hide()
        self.password = QLineEdit(self)
        self.password.setObjectName("passwordEdit")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Password:", self.password)
        self.repeat = QLineEdit(self)
        self.repeat.setObjectName("repeatEdit")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        if first:
            form.addRow("&Again:", self.repeat)
        else:
            self.repeat.hide()
        self.error = QLabel("", self)
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Create and sign in" if first else "Sign in")
        ok.setObjectName("signInButton")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        (self.password if self.username.text() else self.username).setFocus()
        self.setMinimumWidth(380)

    def try_accept(self) -> None:
        """Hand the answer to ``attempt``; close on success, else say why and stay."""
        if self._mode is SignInMode.FIRST_RUN and self.password.text() != self.repeat.text():
            self._show_error("The two passwords differ.")
            return
        answer = SignInAnswer(self.username.text().strip(), self.password.text(),
                              self.full_name.text().strip())
        try:
            self.user = self._attempt(answer)
        except DeskappError as exc:
            self._show_error(str(exc))
            return
        self.accept()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.password.clear()
        self.repeat.clear()
        self.password.setFocus()

    @classmethod
    def ask(cls, mode: SignInMode, attempt: Attempt, *, username: str = "",
            desk: str = "") -> User | None:
        """Show the dialog until the person signs in (their user) or cancels (None)."""
        dialog = cls(mode, attempt, username=username, desk=desk)
        try:
            dialog.exec()
            return dialog.user
        finally:
            dialog.deleteLater()
