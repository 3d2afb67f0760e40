"""The composition root: start-up errors, first-start demo data, and a whole run of the GUI."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from deskapp import app
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.sign_in_dialog import Attempt, SignInAnswer, SignInDialog, SignInMode
from deskapp.services import audit
from deskapp.services.audit import AuditService
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService
from deskapp.settings import ENV_DATA_DIR, Settings, default_database_url
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await, log_incidents

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def critical(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer start-up message boxes, remembering what they said."""
    said: list[str] = []

    def answer(_parent: QWidget | None, _title: str, text: str) -> QMessageBox.StandardButton:
        said.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", answer)
    return said


@pytest.fixture
def restore_quit_on_close(qapp: QApplication) -> object:
    before = qapp.quitOnLastWindowClosed()
    yield
    qapp.setQuitOnLastWindowClosed(before)


@pytest.mark.usefixtures("restore_quit_on_close")
def test_a_database_that_cannot_be_opened_is_a_message_and_exit_code_2(
        qapp: QApplication, tmp_path: Path, critical: list[str]) -> None:
    # A directory is no SQLite file.
    assert app.run_gui(Settings(database_url=f"sqlite:///{tmp_path}")) == 2
    assert len(critical) == 1
    assert critical[0].startswith("Cannot open the database")
    assert "\n" not in critical[0]


@pytest.mark.usefixtures("restore_quit_on_close")
def test_an_unknown_user_is_a_message_and_exit_code_2(
        qapp: QApplication, database_url: str, database: Database,
        critical: list[str]) -> None:
    assert app.run_gui(Settings(database_url=database_url, username="nobody",
                                password="whatever-it-is")) == 2
    assert len(critical) == 1


@pytest.mark.usefixtures("restore_quit_on_close")
def test_the_gui_runs_until_its_window_closes(
        qapp: QApplication, database_url: str, database: Database,
        service: IncidentService, clock: FakeClock, caller: CallerView,
        critical: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    log_incidents(service, clock, caller, 3)
    asked: list[SignInMode] = []

    def first_start(mode: SignInMode, attempt: Attempt, **_kw: str) -> User:
        # The test database's admin has no password yet: the first start sets one.
        asked.append(mode)
        return attempt(SignInAnswer("admin", "correct horse battery", "Desk Administrator"))

    monkeypatch.setattr(SignInDialog, "ask", first_start)
    seen: list[int | None] = []

    def close_when_loaded() -> None:
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)]
        if windows and windows[0].current_count is not None and not windows[0].busy:
            seen.append(windows[0].current_count)
            seen.append(windows[0].model.rowCount())
            windows[0].close()
            poll.stop()

    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(close_when_loaded)
    poll.start()
    try:
        assert app.run_gui(Settings(database_url=database_url)) == 0
    finally:
        poll.stop()
    assert seen == [3, 3]
    assert critical == []
    assert asked == ([SignInMode.FIRST_RUN] if database.dialect == "sqlite" else [])
    signed_in = AuditService(database.uow_factory, service.actor_id).latest(
        1, action=audit.SIGN_IN)
    assert signed_in[0].details_dict()["method"] == (
        "first start" if database.dialect == "sqlite" else "database owner")


def test_demo_data_only_for_a_new_default_database(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: Database, admin: User,
        service: IncidentService, clock: FakeClock, caller: CallerView) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    default = Settings(database_url=default_database_url())
    assert default.is_default_database
    assert not app.needs_demo_data(Settings(database_url="sqlite:///elsewhere.db"), database,
                                   admin)
    assert app.needs_demo_data(default, database, admin)
    log_incidents(service, clock, caller, 1)
    assert not app.needs_demo_data(default, database, admin)


def test_first_start_fills_then_shows_or_says_why_not(
        monkeypatch: pytest.MonkeyPatch, qtbot: QtBot, run: Await, database: Database,
        admin: User, runner: DbRunner, window_settings: QSettings, service: IncidentService,
        clock: FakeClock, caller: CallerView) -> None:
    def fake_demo(_settings: Settings, _database: Database) -> None:
        log_incidents(service, clock, caller, 4)

    def broken_demo(_settings: Settings, _database: Database) -> None:
        raise ModuleNotFoundError("No module named 'deskapp.services.demo'")

    settings = Settings(database_url=default_database_url(), demo_incidents_on_first_start=4)
    window = app.build_main_window(database, admin, runner, window_settings=window_settings,
                                   clock=clock)
    qtbot.addWidget(window)
    monkeypatch.setattr(app, "fill_demo_data", fake_demo)
    run(app._first_start(settings, database, runner, window))
    assert window.current_count == 4
    assert window.model.rowCount() == 4

    monkeypatch.setattr(app, "fill_demo_data", broken_demo)
    run(app._first_start(settings, database, runner, window))
    assert "Could not create the demo data" in window.statusBar().currentMessage()
    assert window.current_count == 4  # the desk still works
    assert window.error_box is not None
    window.error_box.accept()
