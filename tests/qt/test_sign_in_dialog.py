"""The sign-in dialog and the first start's admin form, driven through their widgets."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import Role
from deskapp.persistence.database import Database
from deskapp.qt.views.sign_in_dialog import SignInAnswer, SignInDialog, SignInMode
from deskapp.services.accounts import AccountService
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE

SHOTS = Path("/tmp")

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def accounts(database: Database, clock: FakeClock) -> AccountService:
    return AccountService(database.uow_factory, None, clock,
                          PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_first_start_creates_the_admin_and_checks_the_repeat(
        qtbot: QtBot, accounts: AccountService, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("local accounts are the SQLite desk's")
    dialog = SignInDialog(
        SignInMode.FIRST_RUN,
        lambda a: accounts.create_first_admin(a.username, a.full_name, a.password))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.username.text() == "admin"
    qtbot.keyClicks(dialog.password, "correct horse battery")
    qtbot.keyClicks(dialog.repeat, "correct horse batteyr")
    ok = dialog.findChild(QPushButton, "signInButton")
    assert ok is not None and ok.text() == "Create and sign in"
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible() and dialog.error.text() == "The two passwords differ."
    assert dialog.password.text() == "" and dialog.result() != QDialog.DialogCode.Accepted

    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.repeat, "short")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert "at least 8" in dialog.error.text()
    dialog.grab().save(str(SHOTS / "sec-first-run.png"))

    qtbot.keyClicks(dialog.password, "correct horse battery")
    qtbot.keyClicks(dialog.repeat, "correct horse battery")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.user is not None and dialog.user.role is Role.ADMIN
    assert not accounts.needs_first_admin()


def test_sign_in_says_why_not_and_keeps_the_username(
        qtbot: QtBot, accounts: AccountService, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("local accounts are the SQLite desk's")
    admin = accounts.create_first_admin("admin", "Admin", "correct horse battery")
    dialog = SignInDialog(SignInMode.SIGN_IN, lambda a: accounts.sign_in(a.username,
                                                                        a.password),
                          username="admin", desk="sqlite:///desk.db")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.full_name.isVisible() and not dialog.repeat.isVisible()
    qtbot.keyClicks(dialog.password, "wrong one")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.error.text() == "Wrong username or password."
    assert dialog.username.text() == "admin" and dialog.password.text() == ""
    dialog.grab().save(str(SHOTS / "sec-sign-in.png"))
    qtbot.keyClicks(dialog.password, "correct horse battery")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.user == admin


def test_cancel_signs_nobody_in(qtbot: QtBot, accounts: AccountService) -> None:
    dialog = SignInDialog(SignInMode.SIGN_IN, lambda a: accounts.sign_in(a.username,
                                                                        a.password))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClick(dialog.username, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.user is None


def test_the_answer_never_shows_its_password() -> None:
    assert "s3cret-value" not in repr(SignInAnswer("admin", "s3cret-value"))
