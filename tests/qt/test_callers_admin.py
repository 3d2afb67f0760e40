"""Admin > Callers…: the paged model, the window (search, edit, deactivate, merge), the merge
dialog, and "Merge into existing caller…" from the callers to review."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp import app
from deskapp.domain.enums import Role
from deskapp.domain.people import Caller, User
from deskapp.persistence.database import Database
from deskapp.qt.models.caller_admin_model import CallerAdminModel, CallerColumn
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.admin_menu import AdminMenu
from deskapp.qt.views.callers_admin import (
    CallerPickerDialog,
    CallersAdminWindow,
    DuplicatesDialog,
    MergeDialog,
    visible_spaces,
)
from deskapp.qt.views.callers_review import CallersReviewDialog
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerAdminRow, CallerEdit
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.intake.caller_review import CallerReviewService
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await
from tests.qt.forms import screenshot
from tests.qt.test_callers_review import mail_from, take_in

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
OUTPUT = Path(__file__).resolve().parent.parent / "output"


def _row(caller_id: int, name: str, email: str = "", phone: str = "", *, count: int = 0,
         version: int = 1, vip: bool = False) -> CallerAdminRow:
    return CallerAdminRow(caller_id, name, email, phone, "Finance", "Oslo", vip, True, None,
                          False, version, count)


def _log(service: IncidentService, caller: CallerView, count: int) -> None:
    for n in range(count):
        service.log_call(LogCallRequest(caller_id=caller.id, short_description=f"Call {n}",
                                        impact=3, urgency=3))


@pytest.fixture
def callers_window(qtbot: QtBot, database: Database, admin: User,
                   runner: DbRunner) -> CallersAdminWindow:
    window = CallersAdminWindow(CallerAdminService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(window)
    return window


def test_the_model_passes_the_model_tester(qtmodeltester: ModelTester, runner: DbRunner,
                                           database: Database, admin: User) -> None:
    model = CallerAdminModel(CallerAdminService(database.uow_factory, admin.id).page, runner)
    model.set_rows([_row(1, "Ada Lovelace", "ada@example.com", count=3, vip=True),
                    _row(2, "Bob", phone="555 0100")])
    qtmodeltester.check(model)
    assert model.index(0, CallerColumn.VIP).data() == "VIP"
    assert model.index(0, CallerColumn.INCIDENTS).data() == "3"
    assert model.index(1, CallerColumn.STATUS).data() == "Active"
    assert model.headerData(CallerColumn.EMAIL, Qt.Orientation.Horizontal) == "Email"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_list_pages_as_it_scrolls_and_the_search_waits_for_typing(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database,
        admin: User, runner: DbRunner, qtmodeltester: ModelTester) -> None:
    with database.uow_factory(write=True) as uow:
        uow.bulk.add_callers([Caller(0, f"Person {n:04d}", f"p{n}@example.com")
                              for n in range(450)])
        uow.commit()
    model = CallerAdminModel(CallerAdminService(database.uow_factory, admin.id).page, runner,
                             page_size=100)
    task = model.search("", True)
    qtbot.waitUntil(task.done)
    assert model.rowCount() == 100 and model.canFetchMore()
    qtmodeltester.check(model)  # it may fetch a page itself
    while not model.exhausted:
        qtbot.waitUntil(lambda: not model.loading)
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading)
    assert model.rowCount() == 450
    assert model.index(449, 0).data() == "Person 0449"

    window = CallersAdminWindow(CallerAdminService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(window)
    run(window.load())
    qtbot.keyClicks(window.search, "p12")
    assert window.model.rowCount() == 200  # not searched yet: the typing goes on
    qtbot.waitUntil(lambda: window.model.rowCount() == 11)  # p12, p120..p129
    assert window.model.index(0, CallerColumn.EMAIL).data() == "p12@example.com"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_list_reads_caller_2_before_caller_10_page_after_page(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner) -> None:
    with database.uow_factory(write=True) as uow:
        uow.bulk.add_callers([Caller(0, f"Caller {n}", f"c{n}@example.com")
                              for n in range(120, 0, -1)])
        uow.commit()
    model = CallerAdminModel(CallerAdminService(database.uow_factory, admin.id).page, runner,
                             page_size=25)
    qtbot.waitUntil(model.search("", True).done)
    while not model.exhausted:
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.loading)
    names = [model.index(r, CallerColumn.NAME).data() for r in range(model.rowCount())]
    assert names == [f"Caller {n}" for n in range(1, 121)]

    window = CallersAdminWindow(CallerAdminService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(window)
    window.resize(1150, 420)
    window.show()
    run(window.load())
    QApplication.processEvents()
    shown = [window.model.index(r, CallerColumn.NAME).data() for r in range(12)]
    assert shown[:3] == ["Caller 1", "Caller 2", "Caller 3"] and shown[9] == "Caller 10"
    OUTPUT.mkdir(exist_ok=True)
    window.grab().save(str(OUTPUT / "callers-natural-order.png"))
    window.close()


def test_the_window_edits_refuses_stale_edits_and_deactivates(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database,
        callers_window: CallersAdminWindow) -> None:
    ada = service.add_caller("Ada Lovelace", "ada@example.com", "+44 20 7946 0001")
    _log(service, ada, 2)
    window = callers_window
    window.show()
    run(window.load())
    assert window.model.rowCount() == 1 and window.edits["name"].text() == "Ada Lovelace"
    assert "2 incidents" in window.infoLabel.text()
    # The panel is titled by the caller's name (it read "Caller #4925").
    assert window.panel.title() == f"Ada Lovelace (caller #{ada.id})"
    screenshot(window, "callers-panel-title")
    window.edits["department"].setFocus()
    qtbot.keyClicks(window.edits["department"], "Analytics")
    qtbot.keyClick(window.vip, Qt.Key.Key_Space)
    assert window.saveButton.isEnabled()
    saved = run(window.save_now())
    assert saved is not None and saved.department == "Analytics" and saved.vip
    assert window.model.index(0, CallerColumn.VIP).data() == "VIP"

    # Someone else changes the caller; our next edit is refused and what we typed stays.
    other = CallerAdminService(database.uow_factory, add_user(database, "otto", Role.ADMIN).id)
    other.edit(ada.id, saved.version, CallerEdit("Ada King", "ada@example.com"))
    window.edits["location"].setText("London")
    window._edited()
    assert run(window.save_now()) is None
    assert "changed by Otto at " in window.status.text()  # who, not "another user"
    assert "name is now “Ada King”" in window.status.text()
    # Their change is in the field this user did not touch; what they typed stays.
    assert (window.edits["name"].text(), window.edits["location"].text()) == (
        "Ada King", "London")
    assert window.model.index(0, 0).data() == "Ada King"
    saved = run(window.save_now())  # Save again: mine on top of theirs, nothing undone
    assert saved is not None and (saved.name, saved.location) == ("Ada King", "London")
    assert other.get(ada.id).name == "Ada King"
    window.edits["location"].setText("Paris")
    window._edited()
    qtbot.keyClick(window.edits["location"], Qt.Key.Key_Escape)
    _answer(qtbot, window, Button.Discard)  # Esc asks before it drops the typing
    qtbot.waitUntil(lambda: window.edits["location"].text() == "London")

    row = run(window.set_active(False))
    assert row is not None and not row.active
    assert window.activeButton.text() == "Reac&tivate"
    assert service.lookup_callers("Ada") == []
    window.close()


def test_the_merge_dialog_shows_callers_side_by_side(qtbot: QtBot) -> None:
    rows = [_row(1, "Ada Lovelace", "", "+44 20 7946 0001", count=2),
            _row(2, "Ada L", "ada@example.com", count=5, version=3),
            _row(3, "A. Lovelace", "ada.l@example.com", "020 7946 0001", count=1)]
    dialog = MergeDialog(rows)
    qtbot.addWidget(dialog)
    assert dialog.survivor_id == 1 and dialog.duplicate_ids == (2, 3)
    assert dialog.moveLabel.text().startswith("6 incidents will move to Ada Lovelace (#1)")
    # Defaults: the survivor's values where it has one, else the first duplicate's.
    assert dialog.choices() == {"name": 1, "email": 2, "phone": 1, "department": 1,
                                "location": 1, "vip": 1}
    dialog.field_groups["email"].button(3).setChecked(True)
    request = dialog.request()
    assert request.survivor_id == 1 and request.choices["email"] == 3
    assert dict(request.versions) == {1: 1, 2: 3, 3: 1}
    # A different survivor starts again from its own values.
    dialog.survivor_group.button(2).setChecked(True)
    assert dialog.duplicate_ids == (1, 3) and dialog.choices()["email"] == 2
    assert dialog.choices()["phone"] == 1
    assert dialog.moveLabel.text().startswith("3 incidents will move to Ada L (#2)")
    # Keyboard: the survivor row has the focus; arrows move between its radio buttons.
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.survivor_group.button(2).setFocus()
    qtbot.keyClick(dialog.survivor_group.button(2), Qt.Key.Key_Right)
    assert dialog.survivor_id == 3


def test_find_duplicates_and_merge_from_the_window(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database,
        callers_window: CallersAdminWindow) -> None:
    first = service.add_caller("Bo Bright", "bo@example.com", "555 0100", "Sales")
    second = service.add_caller("Bo Bright", "bo@example.com", "", "", "Bergen")
    service.add_caller("Cy Other", "cy@example.com")
    _log(service, second, 3)
    window = callers_window
    window.show()
    run(window.load())
    dialog = run(window._find_duplicates())
    assert isinstance(dialog, DuplicatesDialog)
    assert dialog.list.count() == 1  # same email and same name: one group, shown once
    assert dialog.list.item(0).text().startswith("Same email “bo@example.com”")
    qtbot.keyClick(dialog.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.merge_flow.dialog is not None
                    and window.merge_flow.dialog.isVisible())
    merge = window.merge_flow.dialog
    assert merge is not None and "3 incidents will move" in merge.moveLabel.text()
    assert merge.choices()["location"] == second.id
    result = run(window.merge_flow.merge(merge.request()))
    assert result is not None and result.incidents_moved == 3
    assert result.survivor.location == "Bergen" and result.survivor.department == "Sales"
    qtbot.waitUntil(lambda: window.status.text().startswith(
        "Merged 1 caller into Bo Bright") and "2 callers shown" in window.status.text())
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incidents WHERE caller_id = :c"),
                                  {"c": first.id}).scalar_one() == 3
    merge.close()
    window.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_admin_menu_offers_callers_to_admins_only(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    for user, visible in ((admin, True), (agent, False)):
        window = app.build_main_window(database, user, runner, window_settings=window_settings,
                                       clock=clock, live_updates=False)
        qtbot.addWidget(window)
        menu = window.findChild(AdminMenu)
        assert menu is not None
        assert menu.callers_action.objectName() == "callersAdminAction"
        assert menu.callers_action.isVisible() is visible
        if visible:
            callers = menu.open_callers()
            status = callers.status
            qtbot.waitUntil(lambda: " shown" in status.text())  # noqa: B023
            callers.close()
        window.close()


def test_a_flagged_caller_is_merged_into_an_existing_one(
        qtbot: QtBot, database: Database, admin: User, service: IncidentService,
        runner: DbRunner) -> None:
    known = service.add_caller("Ada Lovelace", "ada@work.example.com", "+44 20 7946 0001")
    take_in(database, mail_from("Ada Lovelace <ada@home.example.com>", "VPN drops"))
    dialog = CallersReviewDialog(CallerReviewService(database.uow_factory, admin.id), runner,
                                 admin=CallerAdminService(database.uow_factory, admin.id))
    qtbot.addWidget(dialog)
    dialog.reload()
    qtbot.waitUntil(lambda: dialog.loaded)
    dialog.table.selectRow(0)
    assert dialog.mergeButton.isVisible() is False or dialog.mergeButton.isEnabled()
    assert dialog.mergeButton.isEnabled()
    dialog.mergeButton.click()
    qtbot.waitUntil(lambda: dialog.findChild(CallerPickerDialog) is not None)
    picker = dialog.findChild(CallerPickerDialog)
    assert picker is not None
    # The name matches: the known caller is offered before anything is typed.
    qtbot.waitUntil(lambda: picker.list.count() == 1)
    chosen = picker.chosen()
    assert chosen is not None and chosen.id == known.id
    qtbot.keyClick(picker.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.findChild(MergeDialog) is not None)
    merge = dialog.findChild(MergeDialog)
    assert merge is not None and merge.survivor_id == known.id
    assert "1 incident will move to Ada Lovelace" in merge.moveLabel.text()
    merge.mergeButton.click()
    qtbot.waitUntil(lambda: "Merged 1 caller into" in dialog.statusLabel.text())
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incidents WHERE caller_id = :c"),
                                  {"c": known.id}).scalar_one() == 1
    dialog.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_render_the_window_and_the_merge_dialog(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database, admin: User,
        callers_window: CallersAdminWindow) -> None:
    people = [("Ada Lovelace", "ada@example.com", "+44 20 7946 0001", "Analytics", "London"),
              ("Ada Lovelace", "a.lovelace@example.com", "020 7946 0001", "", "London"),
              ("Ada L", "ada@example.com", "", "Analytics", ""),
              ("Bo Bright", "bo@example.com", "555 0100", "Sales", "Bergen"),
              ("Grace Hopper", "grace@example.com", "+1 202 555 0111", "Navy", "Arlington"),
              ("Linus T", "linus@example.com", "", "Kernel", "Portland")]
    made = [service.add_caller(*p) for p in people]
    for caller, count in zip(made, (4, 2, 1, 0, 7, 3), strict=True):
        _log(service, caller, count)
    window = callers_window
    window.resize(1150, 420)
    window.show()
    run(window.load())
    QApplication.processEvents()
    OUTPUT.mkdir(exist_ok=True)
    window.grab().save(str(OUTPUT / "callers-admin.png"))
    admin_service = CallerAdminService(database.uow_factory, admin.id)
    dialog = MergeDialog([admin_service.get(c.id) for c in made[:3]], window)
    dialog.show()
    QApplication.processEvents()
    dialog.grab().save(str(OUTPUT / "callers-merge.png"))
    dialog.close()
    window.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_window_works_from_the_keyboard(
        qtbot: QtBot, run: Await, service: IncidentService,
        callers_window: CallersAdminWindow) -> None:
    service.add_caller("Ada Lovelace", "ada@example.com")
    service.add_caller("Grace Hopper", "grace@example.com")
    window = callers_window
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    run(window.load())
    assert window.search.hasFocus()
    qtbot.keyClicks(window.search, "gra")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    qtbot.keyClick(window.search, Qt.Key.Key_Down)
    assert window.table.hasFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    name = window.edits["name"]
    assert name.hasFocus() and name.selectedText() == "Grace Hopper"
    qtbot.keyClicks(name, "Grace B. Hopper")
    qtbot.keyClick(name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.status.text() == "Saved Grace B. Hopper (#2).")
    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus() and window.search.selectedText() == "gra"
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)  # nothing unsaved: Esc closes
    assert not window.isVisible()


def _answer(qtbot: QtBot, window: CallersAdminWindow, button: Button) -> str:
    """Answer the open question as a user would; what it asked."""
    def open_box() -> QuestionBox | None:
        # An answered box may linger (deleteLater) next to the new one.
        return next((b for b in window.findChildren(QuestionBox) if b.isVisible()), None)

    qtbot.waitUntil(lambda: open_box() is not None)
    box = open_box()
    assert box is not None
    text = box.text()
    box.button(button).click()
    return text


def _click_row(qtbot: QtBot, window: CallersAdminWindow, row: int) -> None:
    rect = window.table.visualRect(window.model.index(row, CallerColumn.NAME))
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _stored_email(database: Database, caller_id: int) -> str:
    with database.engine.connect() as connection:
        email: str = connection.execute(text("SELECT email FROM callers WHERE id = :c"),
                                        {"c": caller_id}).scalar_one()
    return email


def test_unsaved_edits_are_not_lost_moving_to_another_caller(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database,
        callers_window: CallersAdminWindow) -> None:
    ada = service.add_caller("Ada Lovelace")
    bo = service.add_caller("Bo Bright")
    window = callers_window
    window.show()
    run(window.load())
    assert window.edits["name"].text() == "Ada Lovelace"
    qtbot.keyClicks(window.edits["email"], "ada@example.com")

    # A click on the next row asks first; Cancel keeps Ada and what was typed.
    _click_row(qtbot, window, 1)
    assert "Ada Lovelace" in _answer(qtbot, window, Button.Cancel)
    qtbot.waitUntil(lambda: not window._asking)
    assert window.edits["email"].text() == "ada@example.com"
    assert window.table.currentIndex().row() == 0
    assert window.panel.title() == f"{ada.name} (caller #{ada.id})"

    # Down in the list asks too; Save stores the email, then Bo is shown.
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    _answer(qtbot, window, Button.Save)
    qtbot.waitUntil(lambda: window.edits["name"].text() == "Bo Bright")
    assert window.table.currentIndex().row() == 1 and not window.saveButton.isEnabled()
    assert _stored_email(database, ada.id) == "ada@example.com"

    # Discard drops the typing and moves on.
    qtbot.keyClicks(window.edits["email"], "bo@example.com")
    _click_row(qtbot, window, 0)
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: window.edits["name"].text() == "Ada Lovelace")
    assert window.edits["email"].text() == "ada@example.com"
    assert _stored_email(database, bo.id) == ""

    # A new search keeps the edited caller in the panel, without a question.
    qtbot.keyClicks(window.edits["phone"], "555 0100")
    qtbot.keyClicks(window.search, "B")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.edits["phone"].text() == "555 0100"
    assert window.panel.title() == f"{ada.name} (caller #{ada.id})"
    assert not [b for b in window.findChildren(QuestionBox) if b.isVisible()]
    window.close()
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_esc_and_closing_with_unsaved_edits_ask_first(
        qtbot: QtBot, run: Await, service: IncidentService, database: Database,
        callers_window: CallersAdminWindow) -> None:
    ada = service.add_caller("Ada Lovelace")
    window = callers_window
    window.show()
    run(window.load())
    email = window.edits["email"]
    qtbot.keyClicks(email, "ada@example.com")

    # Esc asks; Cancel goes on typing, Discard shows the caller as stored (window open).
    qtbot.keyClick(email, Qt.Key.Key_Escape)
    _answer(qtbot, window, Button.Cancel)
    qtbot.waitUntil(lambda: not window._asking)
    assert window.isVisible() and email.text() == "ada@example.com"
    window.activateWindow()  # offscreen, the answered box does not hand activation back
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(email, Qt.Key.Key_Escape)
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: email.text() == "")
    assert window.isVisible() and window.status.text() == "Changes discarded."

    # Closing asks; Cancel keeps the window, Save stores and closes.
    qtbot.keyClicks(email, "ada@example.com")
    window.close()
    _answer(qtbot, window, Button.Cancel)
    qtbot.waitUntil(lambda: not window._asking)
    assert window.isVisible() and email.text() == "ada@example.com"
    window.close()
    _answer(qtbot, window, Button.Save)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert _stored_email(database, ada.id) == "ada@example.com"

    # Discard on close closes; shown again, the panel holds what is stored.
    window.show()
    run(window.load())
    qtbot.keyClicks(email, ".uk")
    window.close()
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert _stored_email(database, ada.id) == "ada@example.com"
    window.show()
    run(window.load())
    assert email.text() == "ada@example.com" and not window.saveButton.isEnabled()
    window.close()
    assert not window.isVisible()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_long_message_gets_the_lines_it_needs_at_once(
        qtbot: QtBot, run: Await, service: IncidentService,
        callers_window: CallersAdminWindow) -> None:
    service.add_caller("Ada Lovelace")
    window = callers_window
    window.show()
    run(window.load())
    QApplication.processEvents()
    one_line = window.status.height()
    for width in (1100, 700):
        window.resize(width, 500)
        QApplication.processEvents()
        window.show_message("Caller “Ada Lovelace” (#1) was changed by another user after you "
                            "opened it; reload it to see their change, then apply yours "
                            "again. (Esc, then Discard, drops your changes and shows the "
                            "caller as stored.)", True)
        # No event loop in between: a grab (or a paint) now shows every line.
        status = window.status
        assert status.height() >= status.heightForWidth(status.width()) > one_line
        assert status.geometry().bottom() < window.height()
        window.show_message("1 caller shown.")
    window.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_column_shows_its_text_whole_at_the_default_size(
        callers_window: CallersAdminWindow) -> None:
    window = callers_window
    merged = CallerAdminRow(5246, "Jane Duplicate", "jane.dup@example.com", "+47 555 12345",
                            "Finance", "Oslo", False, False, 5247, True, 3, 0)
    window.model.set_rows([_row(5247, "Jane  Duplicate", "Jane.Dup@Example.com",
                                "+47 555 12345", count=1234, vip=True),
                           merged,
                           CallerAdminRow(5248, "Ann Other", "", "", "Changed by other",
                                          "Bergen", False, False, None, False, 1, 0)])
    window.show()
    QApplication.processEvents()
    table = window.table
    assert not table.wordWrap()
    assert window.model.index(1, CallerColumn.STATUS).data() == "Merged into #5247, to review"
    for column in CallerColumn:
        if column != CallerColumn.NAME:
            assert table.columnWidth(column) >= table.sizeHintForColumn(column), column.name
    assert table.columnWidth(CallerColumn.NAME) >= table.sizeHintForColumn(CallerColumn.NAME)
    assert not table.horizontalScrollBar().isVisible()
    window.close()


def test_the_merge_dialog_shows_names_differing_only_in_spaces_apart(qtbot: QtBot) -> None:
    assert visible_spaces("Jane  Duplicate") == "Jane··Duplicate"
    assert visible_spaces(" Ada\tL ") == "·Ada·L·"
    assert visible_spaces("Ada Lovelace") == "Ada Lovelace"
    rows = [_row(5246, "Jane Duplicate", count=3), _row(5247, "Jane  Duplicate"),
            _row(5248, "Smith & <Jones>")]
    dialog = MergeDialog(rows)
    qtbot.addWidget(dialog)
    titles = [dialog.findChild(QLabel, f"mergeTitle_{i}") for i in (5246, 5247, 5248)]
    shown = [QTextDocumentFragment.fromHtml(t.text()).toPlainText() for t in titles if t]
    assert [line.split("\n")[0] for line in shown] == [
        "Jane Duplicate (#5246)", "Jane··Duplicate (#5247)", "Smith & <Jones> (#5248)"]
    note = dialog.findChild(QLabel, "mergeSpacesNote")
    assert note is not None and note.text().startswith("“·” in a name above marks")
    # The radio buttons keep the exact values.
    names = dialog.field_groups["name"]
    assert [names.button(i).text() for i in (5246, 5247, 5248)] == [
        "Jane Duplicate", "Jane  Duplicate", "Smith && <Jones>"]
    dialog.survivor_group.button(5247).setChecked(True)
    assert "move to Jane··Duplicate (#5247)" in dialog.moveLabel.text()
    assert dialog.findChild(QLabel, "mergeSpacesNote") is not None
    plain = MergeDialog([*rows[:1], _row(2, "Ada Lovelace")])
    qtbot.addWidget(plain)
    assert plain.findChild(QLabel, "mergeSpacesNote") is None
