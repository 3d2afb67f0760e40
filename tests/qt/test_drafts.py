"""Drafts: unsaved form text survives the application going away and is offered back."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.drafts import CALL_KEY, Draft, DraftStore, capture
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.call_form import CallForm
from deskapp.qt.views.form_host import FormHost
from deskapp.qt.widgets.questions import QuestionBox
from deskapp.services.catalog import CatalogService
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService
from deskapp.user_settings import CallFormDefaults
from tests.conftest import FakeClock
from tests.qt.conftest import AttachedLoop
from tests.qt.forms import OFFSCREEN_FORM_NOISE, Keyboard, add_catalog

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)

Key = Qt.Key
DESCRIPTION = "Paper jams at tray 2.\nTried: reseated tray, new paper.\n\tÆøå — 打印机 ✓"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # drafts are the GUI's; the database only fills the pickers


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    return DraftStore("admin@test", root=tmp_path / "drafts")


class Desk:
    """One run of the application: a window and its form host (several per test)."""

    def __init__(self, qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
                 clock: FakeClock, store: DraftStore) -> None:
        self.window = QWidget()
        qtbot.addWidget(self.window)
        self.window.show()
        self.host = FormHost(incidents=IncidentService(database.uow_factory, admin.id, clock),
                             catalog=CatalogService(database.uow_factory), runner=runner,
                             user=admin, window=self.window, clock=clock, drafts=store)

    def quit(self) -> None:
        """What the main window's closing does: close every form without asking."""
        self.host.close_all()


Desks = Callable[[], Desk]
"""Starts the application once more (a new Desk on the same database and drafts)."""


@pytest.fixture
def desks(qtbot: QtBot, database: Database, admin: User, runner: DbRunner, clock: FakeClock,
          store: DraftStore) -> Iterator[Desks]:
    made: list[Desk] = []
    add_catalog(database)

    def desk() -> Desk:
        made.append(Desk(qtbot, database, admin, runner, clock, store))
        return made[-1]

    yield desk
    for one in made:
        one.quit()
    made.clear()
    # Collect the forms' wrappers here, on the GUI thread: a later collection could run in
    # a database worker, where Qt objects with timers must not be destroyed.
    QApplication.processEvents()
    gc.collect()


def open_call_form(qtbot: QtBot, desk: Desk) -> CallForm:
    """Ctrl+N in the main window, then wait until the pickers are filled."""
    form = desk.host.open_call_form()
    assert form is not None
    qtbot.waitSignal(form.ready, timeout=10_000).wait()
    return form


def type_a_call(qtbot: QtBot, form: CallForm) -> None:
    ui = form.ui
    form.activateWindow()
    ui.shortDescriptionEdit.setFocus()
    qtbot.keyClicks(ui.shortDescriptionEdit, "Printer on floor 3 jams")
    ui.descriptionEdit.setFocus()
    ui.descriptionEdit.insertPlainText(DESCRIPTION)
    ui.categoryEdit.set_item_id(next(i.id for i in ui.categoryEdit._items
                                     if i.text == "Hardware"))
    ui.subcategoryEdit.set_item_id(next(i.id for i in ui.subcategoryEdit._items
                                        if i.text == "Printer"))
    ui.impactCombo.setCurrentIndex(0)
    ui.urgencyCombo.setCurrentIndex(2)
    ui.channelCombo.setCurrentIndex(ui.channelCombo.findData("email"))


def answer(qtbot: QtBot, desk: Desk, qloop: AttachedLoop, choice: str) -> tuple[str, Any]:
    """Start offering drafts, answer the first question with ``choice``; (question, task)."""
    task = qloop.create_task(desk.host.offer_drafts())
    qtbot.waitUntil(lambda: _box(desk) is not None, timeout=5000)
    box = _box(desk)
    assert box is not None
    text = box.text()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == choice)
    button.click()
    return text, task


def _box(desk: Desk) -> QuestionBox | None:
    box = desk.window.findChild(QuestionBox, "draftQuestion")
    return box if box is not None and box.isVisible() else None


def test_a_call_typed_and_not_saved_is_offered_back_at_the_next_start_exactly(
        qtbot: QtBot, qloop: AttachedLoop, desks: Desks, store: DraftStore) -> None:
    first = desks()
    form = open_call_form(qtbot, first)
    type_a_call(qtbot, form)
    typed = capture(form)
    assert typed["shortDescriptionEdit"] == "Printer on floor 3 jams"
    first.quit()  # the application goes away, nothing saved
    draft = store.load(CALL_KEY)
    assert draft is not None and draft.fields == typed

    second = desks()
    question, task = answer(qtbot, second, qloop, "Restore")
    local = draft.saved_at.astimezone().strftime("%H:%M")
    assert question == f"You have an unsaved call from {local}."
    qtbot.waitUntil(task.done, timeout=10_000)
    assert [d.key for d in task.result()] == [CALL_KEY]
    restored = second.host.call_form
    assert restored is not None
    ui = restored.ui
    assert ui.shortDescriptionEdit.text() == "Printer on floor 3 jams"
    assert ui.descriptionEdit.toPlainText() == DESCRIPTION
    assert ui.categoryEdit.item is not None and ui.categoryEdit.item.text == "Hardware"
    assert ui.subcategoryEdit.item is not None and ui.subcategoryEdit.item.text == "Printer"
    assert (ui.impactCombo.currentIndex(), ui.urgencyCombo.currentIndex()) == (0, 2)
    assert ui.channelCombo.currentData() == "email"
    assert capture(restored) == typed
    assert restored.dirty


def test_a_pause_in_typing_writes_the_draft_so_a_crash_loses_nothing_more(
        qtbot: QtBot, qloop: AttachedLoop, desks: Desks, store: DraftStore) -> None:
    first = desks()
    form = open_call_form(qtbot, first)
    keeper = first.host.keeper(CALL_KEY)
    assert keeper is not None
    with qtbot.waitSignal(keeper.written, timeout=5000):
        type_a_call(qtbot, form)
        assert keeper.pending
    on_disk = store.load(CALL_KEY)
    assert on_disk is not None and on_disk.fields == capture(form)
    # The process dies here: nothing closes. A new start finds the draft.
    second = desks()
    _question, task = answer(qtbot, second, qloop, "Restore")
    qtbot.waitUntil(task.done, timeout=10_000)
    assert second.host.call_form is not None
    assert capture(second.host.call_form) == on_disk.fields


def test_saving_the_call_deletes_its_draft(
        qtbot: QtBot, desks: Desks, store: DraftStore, caller: CallerView) -> None:
    desk = desks()
    form = open_call_form(qtbot, desk)
    keeper = desk.host.keeper(CALL_KEY)
    assert keeper is not None
    keys = Keyboard(qtbot)
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.ui.callerEdit)
    keys.type("grace")
    qtbot.waitUntil(lambda: form.ui.callerEdit.popup_visible, timeout=5000)
    keys.press(Key.Key_Down)
    keys.press(Key.Key_Return)
    keys.tab()
    keys.type("Monitor flickers")
    keeper.write()
    assert store.load(CALL_KEY) is not None
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    assert store.load(CALL_KEY) is None


def test_discard_deletes_the_draft_and_later_keeps_it(
        qtbot: QtBot, qloop: AttachedLoop, desks: Desks, store: DraftStore) -> None:
    store.save(Draft(CALL_KEY, "call", _now(), {"shortDescriptionEdit": "Later, please"}))
    _q, task = answer(qtbot, desks(), qloop, "Later")
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result() == [] and store.load(CALL_KEY) is not None
    _q, task = answer(qtbot, desks(), qloop, "Discard")
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result() == [] and store.all() == []


def test_closing_the_form_on_purpose_leaves_no_draft(
        qtbot: QtBot, desks: Desks, store: DraftStore) -> None:
    desk = desks()
    form = open_call_form(qtbot, desk)
    type_a_call(qtbot, form)
    desk.host.keeper(CALL_KEY).write()  # type: ignore[union-attr]
    assert store.load(CALL_KEY) is not None
    form.discard()  # the agent answered "Discard" to "Discard this call?"
    qtbot.waitUntil(lambda: desk.host.call_form is None)
    assert store.load(CALL_KEY) is None


def test_an_incident_form_change_is_offered_back_over_the_stored_incident(
        qtbot: QtBot, qloop: AttachedLoop, desks: Desks, store: DraftStore,
        service: IncidentService, caller: CallerView) -> None:
    from deskapp.services.incidents import LogCallRequest

    logged, _change = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="VPN drops", impact=2, urgency=2))
    first = desks()
    form = first.host.open_incident(logged.id)
    qtbot.waitSignal(form.loaded, timeout=10_000).wait()
    form.ui.shortDescriptionEdit.setText("VPN drops every 10 minutes")
    form.ui.noteEdit.setPlainText("Asked for the client log.")
    assert form.dirty
    first.quit()
    draft = store.load(f"incident-{logged.id}")
    assert draft is not None and draft.title == logged.number

    second = desks()
    question, task = answer(qtbot, second, qloop, "Restore")
    assert question.startswith(f"You have an unsaved change to {logged.number} from ")
    qtbot.waitUntil(task.done, timeout=10_000)
    restored = second.host.incident_forms[logged.id]
    assert restored.ui.shortDescriptionEdit.text() == "VPN drops every 10 minutes"
    assert restored.ui.noteEdit.toPlainText() == "Asked for the client log."
    assert restored.dirty


def test_call_form_defaults_start_each_call(qtbot: QtBot, desks: Desks) -> None:
    desk = desks()
    desk.host.set_call_defaults(CallFormDefaults(channel="chat", impact=1, urgency=3))
    form = open_call_form(qtbot, desk)
    ui = form.ui
    assert ui.channelCombo.currentData() == "chat"
    assert (ui.impactCombo.currentData(), ui.urgencyCombo.currentData()) == (1, 3)


def _now() -> datetime:
    return datetime.now(UTC)
