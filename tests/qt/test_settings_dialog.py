"""The Settings dialog: the connection (password in the keyring, never in the file), Test
connection against a real server, theme, notifications, call form defaults; start-up reading
the saved connection."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import make_url

from deskapp import user_settings
from deskapp.persistence.connection_check import check_connection
from deskapp.qt import theme
from deskapp.qt.views.settings_dialog import SettingsDialog
from deskapp.settings import ENV_DATABASE_URL, Settings
from deskapp.user_settings import (
    CallFormDefaults,
    ConnectionSettings,
    DatabaseKind,
    NotifyWhere,
    PasswordMode,
    ThemeChoice,
    UserSettings,
)
from tests.qt.conftest import OFFSCREEN_NOISE

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

PASSWORD = "s3cr3t; DROP TABLE x -- pässwörd@/:"


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict: the test can look inside."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


def failing_check(url: str) -> str:
    raise AssertionError(f"no connection expected in this test, got {url}")


def make_dialog(qtbot: QtBot, settings: UserSettings, settings_file: Path,
                check: object = check_connection) -> SettingsDialog:
    dialog = SettingsDialog(settings, check_connection=check,  # type: ignore[arg-type]
                            settings_file=settings_file)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def fill_postgres(dialog: SettingsDialog, *, host: str = "db.example.com", port: int = 5432,
                  database: str = "servicedesk", user: str = "alice",
                  password: str = PASSWORD) -> None:
    ui = dialog.ui
    ui.postgresRadio.setChecked(True)
    ui.hostEdit.setText(host)
    ui.portSpin.setValue(port)
    ui.databaseEdit.setText(database)
    ui.userEdit.setText(user)
    ui.passwordEdit.setText(password)
    ui.sslCombo.setCurrentIndex(ui.sslCombo.findData("require"))


def press_ok(dialog: SettingsDialog) -> None:
    button = dialog.ui.buttonBox.button(QDialogButtonBox.StandardButton.Ok)
    assert button is not None
    button.click()


def test_the_password_goes_to_the_keyring_and_never_into_the_settings_file(
        qtbot: QtBot, memory_keyring: MemoryKeyring, settings_file: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
    assert not dialog.ui.postgresBox.isEnabled()  # local file first
    fill_postgres(dialog)
    assert dialog.ui.postgresBox.isEnabled()
    with qtbot.waitSignal(dialog.applied) as applied:
        press_ok(dialog)
    assert not dialog.isVisible()
    saved: UserSettings = applied.args[0]
    account = "alice@db.example.com:5432/servicedesk"
    assert memory_keyring.passwords == {("deskapp", account): PASSWORD}
    text = settings_file.read_text(encoding="utf-8")
    assert "s3cr3t" not in text and "pässwörd" not in text and "password\"" not in text
    data = json.loads(text)
    assert data["connection"] == {
        "kind": "postgresql", "host": "db.example.com", "port": 5432,
        "database": "servicedesk", "user": "alice", "sslmode": "require", "path": "",
        "password_mode": "keyring"}
    assert user_settings.load(settings_file) == saved

    # The next start builds the URL with the password from the keyring.
    started = Settings.load(saved=saved)
    url = make_url(started.database_url)
    assert (url.drivername, url.host, url.port, url.database, url.username) == (
        "postgresql+psycopg", "db.example.com", 5432, "servicedesk", "alice")
    assert url.password == PASSWORD and url.query == {"sslmode": "require"}
    assert not started.needs_password and started.connection == saved.connection

    # Opened again, the dialog shows that a password is kept without showing it.
    again = make_dialog(qtbot, saved, settings_file, failing_check)
    assert again.ui.passwordEdit.text() == ""
    assert "keyring" in again.ui.passwordEdit.placeholderText()


def test_ask_each_time_keeps_no_password_anywhere(
        qtbot: QtBot, memory_keyring: MemoryKeyring, settings_file: Path) -> None:
    connection = ConnectionSettings(kind=DatabaseKind.POSTGRESQL, host="db", user="bob",
                                    database="desk")
    memory_keyring.passwords[("deskapp", connection.keyring_account)] = "old"
    dialog = make_dialog(qtbot, UserSettings(connection=connection), settings_file,
                         failing_check)
    ui = dialog.ui
    ui.passwordModeCombo.setCurrentIndex(ui.passwordModeCombo.findData(PasswordMode.ASK))
    ui.passwordEdit.setText("typed for a test only")
    press_ok(dialog)
    assert memory_keyring.passwords == {}
    assert "typed" not in settings_file.read_text(encoding="utf-8")
    started = Settings.load(saved=user_settings.load(settings_file))
    assert started.needs_password and make_url(started.database_url).password is None
    asked = started.with_password("at start")
    assert make_url(asked.database_url).password == "at start" and not asked.needs_password


def test_a_command_line_or_environment_url_comes_before_the_saved_one(
        memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = UserSettings(connection=ConnectionSettings(
        kind=DatabaseKind.POSTGRESQL, host="db", user="bob", database="desk"))
    assert Settings.load("sqlite:///given.db", saved=saved).database_url == "sqlite:///given.db"
    monkeypatch.setenv(ENV_DATABASE_URL, "sqlite:///env.db")
    assert Settings.load(saved=saved).database_url == "sqlite:///env.db"
    assert Settings.load(saved=saved).connection is None
    monkeypatch.delenv(ENV_DATABASE_URL)
    local = UserSettings(connection=ConnectionSettings(path="/srv/desk/desk.db"))
    assert Settings.load(saved=local).database_url == "sqlite:////srv/desk/desk.db"
    assert Settings.load(saved=UserSettings()).is_default_database


@pytest.fixture
def server() -> dict[str, object]:
    raw = os.environ.get("DESKAPP_TEST_POSTGRES_URL")
    if not raw:
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    url = make_url(raw)
    return {"host": url.host or "127.0.0.1", "port": url.port or 5432,
            "database": url.database or "postgres", "user": url.username or "postgres",
            "password": url.password or ""}


@pytest.mark.postgres
def test_test_connection_reaches_the_real_server(
        qtbot: QtBot, memory_keyring: MemoryKeyring, settings_file: Path,
        server: dict[str, object]) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file)
    fill_postgres(dialog, host=str(server["host"]), port=int(str(server["port"])),
                  database=str(server["database"]), user=str(server["user"]),
                  password=str(server["password"]))
    dialog.ui.sslCombo.setCurrentIndex(dialog.ui.sslCombo.findData("prefer"))
    with qtbot.waitSignal(dialog.tested, timeout=15_000) as tested:
        qtbot.mouseClick(dialog.ui.testButton, Qt.MouseButton.LeftButton)
        assert dialog.testing and not dialog.ui.testButton.isEnabled()
        assert dialog.ui.testResultLabel.text() == "Connecting…"
    ok, message = tested.args
    assert ok, message
    assert message.startswith("Connected: PostgreSQL ")
    assert dialog.ui.testResultLabel.text() == f"✔ {message}"
    assert dialog.ui.testButton.isEnabled() and not dialog.testing
    assert memory_keyring.passwords == {}  # testing stores nothing


@pytest.mark.postgres
def test_a_wrong_port_fails_in_one_line(
        qtbot: QtBot, memory_keyring: MemoryKeyring, settings_file: Path,
        server: dict[str, object]) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file)
    wrong = int(str(server["port"])) + 7
    fill_postgres(dialog, host=str(server["host"]), port=wrong,
                  database=str(server["database"]), user=str(server["user"]), password="")
    with qtbot.waitSignal(dialog.tested, timeout=15_000) as tested:
        dialog.ui.testButton.click()
    ok, message = tested.args
    assert not ok
    assert "\n" not in message and f"port {wrong}" in message
    assert "refused" in message.lower()
    assert dialog.ui.testResultLabel.text() == f"✘ {message}"
    assert not settings_file.exists()  # testing saves nothing


def test_test_connection_reports_an_incomplete_form_without_trying(
        qtbot: QtBot, settings_file: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
    fill_postgres(dialog, host="")
    with qtbot.waitSignal(dialog.tested) as tested:
        dialog.ui.testButton.click()
    assert tested.args == [False, "Enter the PostgreSQL server's host name."]
    press_ok(dialog)  # refused: the dialog stays, saying why
    assert dialog.isVisible() and "host name" in dialog.ui.errorLabel.text()
    assert not settings_file.exists()


def test_a_local_file_is_tested_without_being_created(
        qtbot: QtBot, settings_file: Path, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file)
    target = tmp_path / "new" / "desk.db"
    dialog.ui.pathEdit.setText(str(target))
    with qtbot.waitSignal(dialog.tested, timeout=10_000) as tested:
        dialog.ui.testButton.click()
    assert tested.args == [True, f"{target} does not exist yet; Deskapp will create it."]
    assert not target.exists()


def test_appearance_notifications_and_call_defaults_are_saved_and_the_theme_applied(
        qtbot: QtBot, qapp: QApplication, settings_file: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
    ui = dialog.ui
    assert ui.themeCombo.currentData() == ThemeChoice.SYSTEM
    ui.themeCombo.setCurrentIndex(ui.themeCombo.findData(ThemeChoice.DARK))
    ui.assignmentCheck.setChecked(False)
    ui.trayRadio.setChecked(True)
    ui.channelCombo.setCurrentIndex(ui.channelCombo.findData("email"))
    ui.impactSpin.setValue(1)
    ui.urgencySpin.setValue(3)
    press_ok(dialog)
    saved = user_settings.load(settings_file)
    assert saved.appearance.theme is ThemeChoice.DARK
    assert (saved.notifications.on_assignment, saved.notifications.where) == (
        False, NotifyWhere.TRAY)
    assert saved.call_form == CallFormDefaults(channel="email", impact=1, urgency=3)
    assert saved.connection == ConnectionSettings()  # untouched


def test_a_damaged_settings_file_gives_the_defaults_for_what_cannot_be_read(
        settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"appearance": {"theme": "purple"}, "connection": '
                             '{"port": "five", "host": "db"}, "call_form": {"impact": 2}}')
    loaded = user_settings.load(settings_file)
    assert loaded.appearance.theme is ThemeChoice.SYSTEM
    assert loaded.connection.port == 5432 and loaded.connection.host == "db"
    assert loaded.call_form.impact == 2
    settings_file.write_text("not json")
    assert user_settings.load(settings_file) == UserSettings()
    assert user_settings.load(settings_file.parent / "missing.json") == UserSettings()


def test_the_dialog_is_readable_in_dark(qtbot: QtBot, qapp: QApplication,
                                        settings_file: Path) -> None:
    palette, style = qapp.palette(), qapp.style().name()
    manager = theme.install(qapp, ThemeChoice.DARK)
    try:
        dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
        hint = dialog.ui.restartLabel
        colour = hint.palette().color(hint.foregroundRole())
        background = qapp.palette().color(hint.backgroundRole())
        assert theme.contrast_ratio(colour, background) >= 4.5
    finally:
        manager.setParent(None)
        manager.deleteLater()
        qapp.setStyle(style)
        qapp.setPalette(palette)
        theme._current = theme.Scheme.LIGHT


def test_without_a_keyring_the_dialog_says_so_and_saves_nothing(
        qtbot: QtBot, settings_file: Path) -> None:
    from keyring.backends.fail import Keyring as NoKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
        fill_postgres(dialog)
        press_ok(dialog)
        assert dialog.isVisible()
        message = dialog.ui.errorLabel.text()
        assert message.startswith("Could not save the settings: The system keyring cannot "
                                  "keep the password") and "\n" not in message
        assert not settings_file.exists()
        # "Ask each time" needs no keyring at all.
        ui = dialog.ui
        ui.passwordModeCombo.setCurrentIndex(ui.passwordModeCombo.findData(PasswordMode.ASK))
        press_ok(dialog)
        assert not dialog.isVisible()
        assert user_settings.load(settings_file).connection.password_mode is PasswordMode.ASK
        assert PASSWORD[:6] not in settings_file.read_text(encoding="utf-8")
    finally:
        keyring.set_keyring(previous)


def test_ask_each_time_asks_at_start(monkeypatch: pytest.MonkeyPatch,
                                     memory_keyring: MemoryKeyring) -> None:
    from PySide6.QtWidgets import QInputDialog

    from deskapp import app

    saved = UserSettings(connection=ConnectionSettings(
        kind=DatabaseKind.POSTGRESQL, host="db", user="bob", database="desk",
        password_mode=PasswordMode.ASK))
    settings = Settings.load(saved=saved)
    asked: list[str] = []

    def get_text(_parent: object, _title: str, label: str, *_args: object
                 ) -> tuple[str, bool]:
        asked.append(label)
        return PASSWORD, True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    ready = app._ask_password(settings)
    assert ready is not None and make_url(ready.database_url).password == PASSWORD
    assert asked == ["Password for bob@db:5432/desk:"]
    monkeypatch.setattr(QInputDialog, "getText", lambda *_args: ("", False))
    assert app._ask_password(settings) is None  # cancelled: Deskapp does not start
