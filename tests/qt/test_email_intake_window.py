"""The email intake inside the app: the Settings dialog's tab (password to the keyring, not the
file), and the intake running in the main window against a private Dovecot, shown in the
status bar, stopped when the window closes or the setting goes off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp import user_settings
from deskapp.domain.people import User
from deskapp.intake.imap_mailbox import ENV_PASSWORD, KEYRING_SERVICE
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.email_intake import KEPT_PLACEHOLDER, InWindowEmailIntake
from deskapp.user_settings import EmailIntakeSettings, UserSettings
from tests.conftest import table_count
from tests.qt.conftest import OFFSCREEN_NOISE, Await
from tests.qt.test_settings_dialog import MemoryKeyring, failing_check, make_dialog, press_ok
from tests.support.dovecot import (
    PASSWORD,
    USER,
    DovecotServer,
    dovecot_for_tests,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

OUTPUT = Path(__file__).resolve().parent.parent / "output"
MAILBOX_PASSWORD = "imap-pässword; x"


@pytest.fixture
def test_keyring() -> Iterator[MemoryKeyring]:
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


def test_the_tab_saves_the_mailbox_and_the_password_goes_to_the_keyring(
        qtbot: QtBot, test_keyring: MemoryKeyring, settings_file: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
    tab = dialog.emailTab
    assert not tab.runCheck.isChecked()  # off by default
    assert tab.portSpin.value() == 993
    tab.hostEdit.setText("imap.example.com")
    tab.securityCombo.setCurrentIndex(tab.securityCombo.findData(True))
    assert tab.portSpin.value() == 143  # follows STARTTLS
    tab.userEdit.setText("desk@example.com")
    tab.passwordEdit.setText(MAILBOX_PASSWORD)
    tab.folderEdit.setText("Support")
    tab.intervalSpin.setValue(30)
    tab.runCheck.setChecked(True)
    with qtbot.waitSignal(dialog.applied) as applied:
        press_ok(dialog)

    expected = EmailIntakeSettings(host="imap.example.com", port=143, user="desk@example.com",
                                   folder="Support", starttls=True, interval=30,
                                   run_in_window=True)
    assert applied.args[0].email_intake == expected
    assert test_keyring.passwords == {
        (KEYRING_SERVICE, "desk@example.com@imap.example.com"): MAILBOX_PASSWORD}
    raw = settings_file.read_text(encoding="utf-8")
    assert "pässword" not in raw
    assert json.loads(raw)["email_intake"] == {
        "host": "imap.example.com", "port": 143, "user": "desk@example.com",
        "folder": "Support", "starttls": True, "interval": 30, "run_in_window": True}
    assert user_settings.load(settings_file).email_intake == expected

    again = make_dialog(qtbot, user_settings.load(settings_file), settings_file, failing_check)
    assert again.emailTab.passwordEdit.text() == ""
    assert again.emailTab.passwordEdit.placeholderText() == KEPT_PLACEHOLDER
    assert again.emailTab.settings() == expected


def test_switching_the_intake_on_without_a_server_says_what_is_missing(
        qtbot: QtBot, test_keyring: MemoryKeyring, settings_file: Path) -> None:
    dialog = make_dialog(qtbot, UserSettings(), settings_file, failing_check)
    dialog.emailTab.runCheck.setChecked(True)
    press_ok(dialog)
    assert dialog.isVisible()
    assert dialog.ui.errorLabel.text() == "Enter the IMAP server's host name."
    assert dialog.ui.tabs.currentWidget() is dialog.emailTab
    assert not settings_file.exists() and test_keyring.passwords == {}


# --- running in the window, against a real IMAP server --------------------------------------

@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[DovecotServer]:
    yield from dovecot_for_tests()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> DovecotServer:
    dovecot_server.empty()
    # The window trusts the system's CAs; the test's private CA stands in for them.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_server.cafile))
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    return dovecot_server


def message(subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada.inwindow@example.com>"
    mail["To"] = "servicedesk@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("My screen stays black after the update.")
    return mail.as_bytes()


def intake_settings(server: DovecotServer, *, run: bool = True) -> EmailIntakeSettings:
    return EmailIntakeSettings(host=server.host, port=server.port, user=USER, interval=5,
                               run_in_window=run)


def test_the_intake_runs_in_the_window_and_stops_when_it_closes(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, dovecot: DovecotServer,
        test_keyring: MemoryKeyring, run: Await) -> None:
    from deskapp import app

    test_keyring.set_password(KEYRING_SERVICE, f"{USER}@{dovecot.host}", PASSWORD)
    dovecot.deliver(message("Screen black after update"))
    window = app.build_main_window(database, admin, runner, window_settings=window_settings)
    qtbot.addWidget(window)
    window.resize(1200, 500)
    window.show()
    run(window.refresh())
    qtbot.waitUntil(lambda: not window.busy, timeout=15_000)
    assert window.model.rowCount() == 0
    intake = window.findChild(InWindowEmailIntake)
    assert intake is not None and not intake.running  # off by default

    intake.apply(intake_settings(dovecot))
    assert intake.running
    qtbot.waitUntil(lambda: "last checked" in intake.text, timeout=30_000)
    assert intake.text.endswith(", 1 new"), intake.text
    assert intake.label.isVisible()
    with database.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT i.short_description, i.channel, c.email, c.needs_review "
            "FROM incidents i JOIN callers c ON c.id = i.caller_id")).one()
    assert tuple(row) == ("Screen black after update", "email", "ada.inwindow@example.com",
                          True)
    assert dovecot.unseen_count() == 0
    # The window's live refresh shows the new incident like anyone else's.
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=15_000)
    OUTPUT.mkdir(exist_ok=True)
    window.grab().save(str(OUTPUT / "email-intake-status.png"))

    window.close()
    assert not intake.running
    assert table_count(database, "incidents") == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_wrong_password_shows_in_one_line_and_switching_off_stops(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, dovecot: DovecotServer,
        test_keyring: MemoryKeyring) -> None:
    from deskapp import app

    test_keyring.set_password(KEYRING_SERVICE, f"{USER}@{dovecot.host}", "wrong")
    dovecot.deliver(message("Printer offline"))
    window = app.build_main_window(database, admin, runner, window_settings=window_settings)
    qtbot.addWidget(window)
    intake = window.findChild(InWindowEmailIntake)
    assert intake is not None
    intake.apply(intake_settings(dovecot))
    qtbot.waitUntil(lambda: "trying again" in intake.text, timeout=30_000)
    assert "refused the login" in intake.text and "\n" not in intake.text
    assert table_count(database, "incidents") == 0

    intake.apply(intake_settings(dovecot, run=False))
    assert not intake.running and intake.text == ""
    window.close()
