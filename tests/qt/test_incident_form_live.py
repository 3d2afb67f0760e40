"""An open incident form follows saves made elsewhere, on SQLite and PostgreSQL.

Another agent's desktop is another connection: a service of its own on the same database,
which the main window's live updates hear (PostgreSQL's notifications, SQLite's
data_version), and the open forms with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.formatting import format_timestamp
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.form_host import FormHost
from deskapp.qt.views.incident_form import IncidentForm
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.merge import edit_for
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import Await
from tests.qt.forms import OFFSCREEN_FORM_NOISE, Keyboard, add_catalog, screenshot, shown_conflict

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)

Key = Qt.Key
LIVE_TIMEOUT_MS = 15_000


@pytest.fixture
def incident_id(database: Database, service: IncidentService, caller: CallerView,
                clock: FakeClock) -> int:
    add_catalog(database)
    detail, _ = service.log_call(LogCallRequest(
        caller.id, "Printer jams on floor 3", 2, 2, description="Paper tray 2."))
    clock.advance(minutes=5)
    return detail.id


@pytest.fixture
def elsewhere(database: Database, clock: FakeClock) -> IncidentService:
    """Ann, saving from her own desktop (another connection)."""
    ann = add_user(database, "ann")
    return IncidentService(database.uow_factory, ann.id, clock)


@pytest.fixture
def window(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock, live_updates=True)
    qtbot.addWidget(main)
    main.show()
    run(main.refresh())  # the first refresh starts the live updates
    yield main
    host = main.findChild(FormHost)
    if host is not None:
        host.close_all()
    main.close()


def open_form(qtbot: QtBot, window: MainWindow, incident_id: int) -> IncidentForm:
    host = window.findChild(FormHost)
    assert host is not None
    form = host.open_incident(incident_id)
    qtbot.waitExposed(form)
    form.activateWindow()
    qtbot.waitUntil(lambda: form.detail is not None and not form.busy, timeout=10_000)
    return form


def test_a_form_without_changes_shows_their_save_and_keeps_the_cursor(
        qtbot: QtBot, window: MainWindow, incident_id: int, elsewhere: IncidentService,
        clock: FakeClock, backend: str) -> None:
    form = open_form(qtbot, window, incident_id)
    ui = form.ui
    ui.shortDescriptionEdit.setFocus()
    ui.shortDescriptionEdit.setCursorPosition(7)  # the agent reads, the cursor after "Printer"
    ui.noteEdit.setPlainText("Called the caller back")  # a note begun is not a change
    assert not ui.liveBanner.isVisible()

    detail = elsewhere.get(incident_id)
    elsewhere.save_changes(incident_id, detail.version, edit_for(
        {"short_description": "Printer jams on floor 3, tray 2 only",
         "description": "Tray 2 roller worn.", "impact": 1}, detail))

    qtbot.waitUntil(lambda: form.detail is not None and form.detail.version == 2,
                    timeout=LIVE_TIMEOUT_MS)
    assert ui.shortDescriptionEdit.text() == "Printer jams on floor 3, tray 2 only"
    assert ui.descriptionEdit.toPlainText() == "Tray 2 roller worn."
    assert ui.impactCombo.currentData() == 1
    assert ui.priorityLabel.text() == "P2 - High"
    assert ui.liveBanner.isVisible()
    assert ui.liveBanner.text() == f"Updated by Ann at {format_timestamp(clock.now)}."
    assert "Version 2" in ui.versionLabel.text()
    assert QApplication.focusWidget() is ui.shortDescriptionEdit
    assert ui.shortDescriptionEdit.cursorPosition() == 7
    assert ui.noteEdit.toPlainText() == "Called the caller back"
    assert not form.changes()
    if backend == "sqlite":
        screenshot(form, "incident_form_updated_elsewhere")


def test_a_form_with_changes_keeps_them_and_says_who_changed_what(
        qtbot: QtBot, window: MainWindow, incident_id: int, elsewhere: IncidentService,
        service: IncidentService, clock: FakeClock, backend: str) -> None:
    form = open_form(qtbot, window, incident_id)
    ui = form.ui
    keys = Keyboard(qtbot)
    ui.shortDescriptionEdit.setFocus()
    ui.shortDescriptionEdit.end(False)
    keys.type(" (still)")
    ui.urgencyCombo.setCurrentIndex(ui.urgencyCombo.findData(1))
    assert form.dirty

    detail = elsewhere.get(incident_id)
    elsewhere.save_changes(incident_id, detail.version, edit_for(
        {"short_description": "Printer fixed?", "description": "Replaced the roller.",
         "impact": 3}, detail))

    qtbot.waitUntil(ui.liveBanner.isVisible, timeout=LIVE_TIMEOUT_MS)
    assert ui.liveBanner.text() == (
        f"Ann changed this incident at {format_timestamp(clock.now)}: Short description, "
        "Description, Impact, Priority. Your changes are kept; Save will let you merge.")
    # Nothing typed is lost, nothing of theirs is poured over it.
    assert ui.shortDescriptionEdit.text() == "Printer jams on floor 3 (still)"
    assert ui.descriptionEdit.toPlainText() == "Paper tray 2."
    assert ui.urgencyCombo.currentData() == 1 and ui.impactCombo.currentData() == 2
    assert form.detail is not None and form.detail.version == 1
    assert QApplication.focusWidget() is ui.shortDescriptionEdit
    if backend == "sqlite":
        screenshot(form, "incident_form_changed_underneath")

    # Save offers the merge.
    task = form.save()
    assert task is not None
    dialog = shown_conflict(qtbot, form)
    with qtbot.waitSignal(form.saved, timeout=10_000):
        dialog.ui.applyChosenButton.click()  # mine where I changed, theirs elsewhere
    qtbot.waitUntil(task.done, timeout=10_000)
    stored = service.get(incident_id)
    assert (stored.short_description, stored.description, stored.impact, stored.urgency) == (
        "Printer jams on floor 3 (still)", "Replaced the roller.", 3, 1)
    assert not ui.liveBanner.isVisible()  # what it announced is merged and shown now
