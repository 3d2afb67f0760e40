"""The call form: a whole call typed with the keyboard alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import delete
from sqlalchemy.orm import Session

from deskapp.domain.enums import ActivityKind, Channel, ResolutionCode, Role, State
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.persistence.tables import GroupMemberRecord
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.call_form import CallForm, format_call_time
from deskapp.qt.widgets.lookup import LookupEdit, LookupItem, LookupModel, match_locally
from deskapp.qt.widgets.questions import QuestionBox
from deskapp.services.catalog import CatalogService
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueFilter
from tests.conftest import FakeClock
from tests.qt.conftest import Await
from tests.qt.forms import (
    OFFSCREEN_FORM_NOISE,
    FakeElapsed,
    Keyboard,
    add_catalog,
    key_target,
    screenshot,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)

Key = Qt.Key


@pytest.fixture
def catalog_ids(database: Database) -> dict[str, int]:
    return add_catalog(database)


@pytest.fixture
def team(database: Database) -> dict[str, int]:
    """Two groups: the service desk (Ann and Bob) and the network team (Bob)."""
    with database.uow_factory(write=True) as uow:
        ann = uow.users.add(User(0, "ann", "Ann Archer", "ann@example.com", Role.AGENT))
        bob = uow.users.add(User(0, "bob", "Bob Brown", "bob@example.com", Role.AGENT,
                                 away=True))
        desk = uow.groups.add(Group(0, "Service Desk"), [ann.id, bob.id])
        network = uow.groups.add(Group(0, "Network team"), [bob.id])
        uow.commit()
    return {"ann": ann.id, "bob": bob.id, "desk": desk.id, "network": network.id}


@pytest.fixture
def elapsed() -> FakeElapsed:
    return FakeElapsed()


@pytest.fixture
def form(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
         clock: FakeClock, elapsed: FakeElapsed, catalog_ids: dict[str, int],
         caller: CallerView) -> Iterator[CallForm]:
    call_form = CallForm(incidents=IncidentService(database.uow_factory, admin.id, clock),
                         catalog=CatalogService(database.uow_factory), runner=runner,
                         user=admin, clock=clock, elapsed=elapsed)
    call_form.resize(1180, 760)
    call_form.show()
    qtbot.waitExposed(call_form)
    call_form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is call_form.ui.callerEdit)
    with qtbot.waitSignal(call_form.ready):
        run(call_form.start())
    yield call_form
    call_form.discard()  # not qtbot.addWidget: its close would ask "discard this call?"
    call_form.deleteLater()


def choose_first(qtbot: QtBot, keys: Keyboard, edit: LookupEdit) -> None:
    """Wait for the look-up's popup, then Down and Enter, as the agent does."""
    qtbot.waitUntil(lambda: edit.popup_visible and edit.model.rowCount() > 0, timeout=5000)
    keys.press(Key.Key_Down)
    keys.press(Key.Key_Return)


def test_a_whole_call_typed_with_the_keyboard_alone(
        qtbot: QtBot, form: CallForm, service: IncidentService, clock: FakeClock,
        elapsed: FakeElapsed, catalog_ids: dict[str, int], caller: CallerView) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    started = form.call_started_at
    assert started == clock.now
    assert ui.channelCombo.currentData() == Channel.PHONE  # calls come by phone

    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    assert form.caller == caller
    assert ui.callerEdit.text() == "Grace Hopper"
    assert ui.vipLabel.isVisible()
    assert "VIP" in ui.callerCard.text()

    keys.tab()
    assert key_target() is ui.shortDescriptionEdit
    keys.type("Outlook cannot send mail")
    keys.tab()
    assert key_target() is ui.descriptionEdit
    keys.type("Error 0x800CCC0E since this morning.")
    keys.tab()
    assert key_target() is ui.serviceEdit
    keys.type("email")
    keys.tab()  # the only match is taken on the way out
    assert ui.serviceEdit.item_id == catalog_ids["Email (Exchange Online)"]
    keys.type("softw")
    keys.tab()
    assert ui.categoryEdit.item_id == catalog_ids["Software"]
    assert key_target() is ui.subcategoryEdit
    keys.type("ema")
    keys.tab()
    assert ui.subcategoryEdit.item_id == catalog_ids["Software/Email"]

    assert key_target() is ui.impactCombo
    keys.press(Key.Key_1)  # "1 - High"
    assert ui.priorityLabel.text() == "P2 - High"  # impact 1 x urgency 2, live
    keys.tab()
    keys.press(Key.Key_1)
    assert ui.priorityLabel.text() == "P1 - Critical"
    assert "Response by" in ui.dueLabel.text() and "(15m)" in ui.dueLabel.text()
    keys.press(Key.Key_2)
    assert ui.priorityLabel.text() == "P2 - High"

    elapsed.seconds += 95  # the call went on while the agent typed
    clock.advance(seconds=95)
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        keys.ctrl(Key.Key_S)
    change = saved.args[0]
    assert isinstance(change, Change) and ChangeKind.CREATED in change.kinds

    detail = form.last_saved
    assert detail is not None and detail.number == "INC0000001"
    assert "INC0000001" in ui.savedBanner.text() and ui.savedBanner.isVisible()
    stored = service.get(detail.id)
    assert (stored.caller_id, stored.short_description, stored.priority) == (
        caller.id, "Outlook cannot send mail", 2)
    assert stored.description == "Error 0x800CCC0E since this morning."
    assert (stored.service_id, stored.category_id, stored.subcategory_id) == (
        catalog_ids["Email (Exchange Online)"], catalog_ids["Software"],
        catalog_ids["Software/Email"])
    assert stored.channel == Channel.PHONE and stored.state == State.NEW
    call = [a for a in service.activity(detail.id) if a.kind == ActivityKind.CALL]
    assert len(call) == 1
    assert (call[0].call_started_at, call[0].call_seconds) == (started, 95)

    # The saved call stays on screen to be read out; the next call is one shortcut away.
    assert not ui.shortDescriptionEdit.isEnabled()
    with qtbot.waitSignal(form.ready):
        keys.ctrl(Key.Key_S, shift=True)
    assert key_target() is ui.callerEdit
    assert ui.shortDescriptionEdit.text() == "" and form.caller is None
    assert "INC0000001" in ui.savedBanner.text()
    assert not form.dirty


def test_a_p1_call_goes_to_a_group_and_an_agent_by_keyboard(
        qtbot: QtBot, team: dict[str, int], form: CallForm, service: IncidentService,
        catalog_ids: dict[str, int], backend: str) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    assert not ui.assigneeEdit.isEnabled()  # an agent is chosen within a group
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    keys.tab()
    keys.type("Nobody can log in to the VPN")
    keys.tab(2)
    keys.type("vpn")
    keys.tab()
    keys.type("netw")
    keys.tab()
    keys.type("vp")
    keys.tab()
    assert ui.subcategoryEdit.item_id == catalog_ids["Network/VPN"]
    assert key_target() is ui.impactCombo
    keys.press(Key.Key_1)
    keys.tab()
    keys.press(Key.Key_1)
    assert ui.priorityLabel.text() == "P1 - Critical"

    keys.tab()  # after the classification: who takes it on
    assert key_target() is ui.groupEdit
    keys.type("netw")
    choose_first(qtbot, keys, ui.groupEdit)
    assert ui.groupEdit.item_id == team["network"]
    keys.tab()
    assert key_target() is ui.assigneeEdit
    qtbot.waitUntil(lambda: form.assignees is not None, timeout=5000)
    assert [a.full_name for a in form.assignees or []] == ["Bob Brown"]
    keys.press(Key.Key_Backtab)  # the desk takes it after all
    keys.press(Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type("serv")
    keys.tab()  # the only match is taken on the way out
    assert ui.groupEdit.item_id == team["desk"]
    assert key_target() is ui.assigneeEdit
    qtbot.waitUntil(lambda: form.assignees is not None and len(form.assignees) == 2,
                    timeout=5000)
    keys.type("ann")
    choose_first(qtbot, keys, ui.assigneeEdit)
    assert ui.assigneeEdit.item_id == team["ann"]
    assert ui.assigneeEdit.text() == "Ann Archer"
    keys.tab()
    assert key_target() is ui.channelCombo
    if backend == "sqlite":
        screenshot(form, "call_form_assignment")

    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    assert form.last_saved is not None
    stored = service.get(form.last_saved.id)
    assert (stored.priority, stored.state) == (1, State.NEW)
    assert (stored.assignment_group_id, stored.assignee_id) == (team["desk"], team["ann"])
    assert not ui.groupEdit.isEnabled() and not ui.assigneeEdit.isEnabled()  # read out
    lookups = (ui.callerEdit, ui.categoryEdit, ui.subcategoryEdit, ui.groupEdit,
               ui.assigneeEdit)
    assert all(edit.text() for edit in lookups)
    # Greyed out to be read out, not to be cleared: no clear button on any of them.
    assert not [edit.objectName() for edit in lookups if edit.isClearButtonEnabled()]
    if backend == "sqlite":
        screenshot(form, "call_form_saved")

    # The next call starts with no group and no agent.
    with qtbot.waitSignal(form.ready):
        keys.ctrl(Key.Key_S, shift=True)
    assert ui.groupEdit.text() == "" and ui.groupEdit.item is None
    assert ui.assigneeEdit.text() == "" and not ui.assigneeEdit.isEnabled()
    assert all(edit.isClearButtonEnabled() for edit in lookups if edit.isEnabled())
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    keys.tab()
    keys.type("Mouse wheel sticks")
    ui.groupEdit.setFocus()
    keys.type("service desk")  # a group alone is enough: anyone in it may take it
    with qtbot.waitSignal(form.ready, timeout=10_000):
        keys.ctrl(Key.Key_S, shift=True)
    assert form.last_saved is not None
    stored = service.get(form.last_saved.id)
    assert (stored.assignment_group_id, stored.assignee_id) == (team["desk"], None)


def test_the_assignment_is_checked_and_explained_next_to_it(
        qtbot: QtBot, team: dict[str, int], form: CallForm, service: IncidentService,
        database: Database, backend: str) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    keys.tab()
    keys.type("Printer offline")
    ui.groupEdit.setFocus()
    keys.type("no such team")
    assert form.save() is None
    assert ui.assignmentError.text() == "Choose an assignment group from the list."
    assert key_target() is ui.groupEdit

    keys.press(Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type("service")
    keys.tab()
    assert not ui.assignmentError.isVisible()  # choosing the group took the message away
    qtbot.waitUntil(lambda: form.assignees is not None, timeout=5000)
    keys.type("zed")
    assert form.save() is None
    assert ui.assignmentError.text() == ("Choose an agent of Service Desk from the list, or "
                                         "leave the field empty.")
    assert key_target() is ui.assigneeEdit

    keys.press(Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type("ann")
    assert not ui.assignmentError.isVisible()  # typing again takes it away
    choose_first(qtbot, keys, ui.assigneeEdit)
    # Ann leaves the desk while the form still offers her: the service refuses her.
    with Session(database.engine) as session:
        session.execute(delete(GroupMemberRecord).where(
            GroupMemberRecord.group_id == team["desk"],
            GroupMemberRecord.user_id == team["ann"]))
        session.commit()
    task = form.save()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is False
    assert ui.assignmentError.isVisible()
    assert ui.assignmentError.text() == "That agent is not a member of Service Desk."
    assert not ui.formError.isVisible()
    assert key_target() is ui.assigneeEdit
    assert service.count(QueueFilter()) == 0
    if backend == "sqlite":
        screenshot(form, "call_form_assignment_refused")

    # Choosing the group again asks who is in it now.
    ui.groupEdit.setFocus()
    keys.press(Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    keys.type("service")
    keys.tab()
    qtbot.waitUntil(lambda: form.assignees is not None and len(form.assignees) == 1,
                    timeout=5000)
    keys.type("bo")
    choose_first(qtbot, keys, ui.assigneeEdit)
    assert "away" in ui.assigneeEdit.model.item(0).display  # told before choosing
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    assert form.last_saved is not None
    stored = service.get(form.last_saved.id)
    assert (stored.assignment_group_id, stored.assignee_id) == (team["desk"], team["bob"])


def test_save_and_new_clears_the_form_for_the_next_call(
        qtbot: QtBot, form: CallForm, service: IncidentService, clock: FakeClock,
        elapsed: FakeElapsed) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    for number, text in ((1, "Printer jams"), (2, "Monitor flickers")):
        keys.type("grace")
        choose_first(qtbot, keys, ui.callerEdit)
        keys.tab()
        keys.type(text)
        elapsed.seconds += 30
        with qtbot.waitSignal(form.ready, timeout=10_000):
            keys.ctrl(Key.Key_Return, shift=True)
        assert form.last_saved is not None
        assert form.last_saved.number == f"INC000000{number}"
        assert f"INC000000{number}" in ui.savedBanner.text()
        assert key_target() is ui.callerEdit and ui.shortDescriptionEdit.text() == ""
        assert ui.callTimerLabel.text() == "00:00"  # the next call's timer starts afresh
    assert [service.get(i).short_description for i in (1, 2)] == ["Printer jams",
                                                                   "Monitor flickers"]


def test_missing_fields_are_shown_next_to_them_and_nothing_is_saved(
        qtbot: QtBot, form: CallForm, service: IncidentService) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("nobody we know")
    keys.tab()
    keys.tab(2)
    keys.type("no such service")
    assert form.save() is None
    assert ui.callerError.isVisible() and "Choose the caller" in ui.callerError.text()
    assert ui.shortDescriptionError.text() == "Short description is required."
    assert "Choose a service" in ui.serviceError.text()
    assert key_target() is ui.callerEdit  # the first problem gets the focus
    ui.resolveCheck.setChecked(True)
    assert form.save() is None
    assert ui.resolutionError.text() == "Choose how the incident was resolved."
    assert service.count(QueueFilter()) == 0

    ui.descriptionEdit.setPlainText("x" * 4001)
    form.save()
    assert ui.descriptionError.text() == ("Description is 4,001 characters long; at most "
                                          "4,000 are allowed.")
    assert ui.shortDescriptionEdit.maxLength() == 160
    # Correcting a field takes its message away at once, not at the next save.
    qtbot.keyClicks(ui.shortDescriptionEdit, "Printer jams")
    assert not ui.shortDescriptionError.isVisible()
    ui.descriptionEdit.setPlainText("Paper stuck in tray 2")
    assert not ui.descriptionError.isVisible()


def test_resolved_on_first_contact_in_the_same_form(
        qtbot: QtBot, form: CallForm, service: IncidentService) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    keys.tab()
    keys.type("Forgot my password")
    ui.resolveCheck.setFocus()
    keys.press(Key.Key_Space)
    assert ui.resolutionBox.isVisible()
    keys.tab()
    assert key_target() is ui.resolutionCodeCombo
    keys.press(Key.Key_Down, times=3)
    assert ui.resolutionCodeCombo.currentData() == ResolutionCode.SOLVED_REMOTELY
    keys.tab()
    keys.type("Reset the password with the caller on the line.")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_Return)
    assert form.last_saved is not None
    detail = service.get(form.last_saved.id)
    assert detail.state == State.RESOLVED
    assert detail.resolution_code == ResolutionCode.SOLVED_REMOTELY
    assert detail.resolution_notes == "Reset the password with the caller on the line."
    assert "(resolved)" in ui.savedBanner.text()


def test_an_unknown_caller_is_created_inline(
        qtbot: QtBot, form: CallForm, service: IncidentService) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("alan.turing@example.com")
    qtbot.waitUntil(lambda: ui.callerEdit.popup_visible, timeout=5000)
    assert ui.callerEdit.model.item(ui.callerEdit.model.rowCount() - 1).create
    keys.press(Key.Key_Up)  # the last row: "+ New caller ..."
    keys.press(Key.Key_Return)
    assert ui.newCallerBox.isVisible()
    assert ui.newCallerEmailEdit.text() == "alan.turing@example.com"
    assert key_target() is ui.newCallerNameEdit
    keys.press(Key.Key_Return)
    assert ui.newCallerError.text() == "The caller needs a name."
    keys.type("Alan Turing")
    keys.tab(2)
    keys.type("+44 161 555 0100")
    keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: form.caller is not None, timeout=10_000)
    assert form.caller is not None
    assert (form.caller.name, form.caller.email, form.caller.phone) == (
        "Alan Turing", "alan.turing@example.com", "+44 161 555 0100")
    assert not ui.newCallerBox.isVisible()
    assert key_target() is ui.shortDescriptionEdit
    assert service.lookup_callers("alan")[0].id == form.caller.id


def test_similar_open_incidents_and_linking_to_a_major_one(
        qtbot: QtBot, form: CallForm, service: IncidentService, caller: CallerView,
        catalog_ids: dict[str, int]) -> None:
    email = catalog_ids["Email (Exchange Online)"]
    major, _ = service.log_call(LogCallRequest(caller.id, "Exchange outage: no mail", 1, 1,
                                               service_id=email))
    service.update(major.id, major.version, is_major=True)
    plain, _ = service.log_call(LogCallRequest(caller.id, "Outlook sending fails", 3, 3))
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    qtbot.waitUntil(lambda: form.open_model.rowCount() == 2, timeout=5000)
    assert form.recent_model.rowCount() == 2
    keys.tab()
    keys.type("Outlook sending")
    qtbot.waitUntil(lambda: form.similar_model.rowCount() == 1, timeout=5000)
    assert form.similar_model.entry(0).row.id == plain.id
    keys.ctrl(Key.Key_L)  # not a major incident: it says so, and suggests Ctrl+D
    assert "not a major incident" in ui.formError.text()
    keys.tab(2)
    keys.type("email")
    keys.tab()
    qtbot.waitUntil(lambda: form.similar_model.rowCount() == 2, timeout=5000)
    top = form.similar_model.entry(0)
    assert top.row.id == major.id and top.row.is_major and "same service" in top.note
    keys.ctrl(Key.Key_L)
    assert form.link is not None and form.link[0] == "child"
    assert major.number in ui.linkLabel.text()
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    assert form.last_saved is not None
    assert service.get(form.last_saved.id).parent_id == major.id
    assert [r.id for r in service.load_form(major.id).children] == [form.last_saved.id]


def test_marking_the_call_a_duplicate(qtbot: QtBot, form: CallForm, service: IncidentService,
                                      caller: CallerView) -> None:
    original, _ = service.log_call(LogCallRequest(caller.id, "VPN drops every ten minutes",
                                                  2, 2))
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    keys.tab()
    keys.type("VPN drops")
    qtbot.waitUntil(lambda: form.similar_model.rowCount() == 1, timeout=5000)
    keys.ctrl(Key.Key_J)
    assert key_target() is ui.similarList
    keys.ctrl(Key.Key_D)
    assert form.link is not None and form.link[0] == "duplicate"
    assert not ui.resolveCheck.isEnabled()
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        keys.ctrl(Key.Key_S)
    assert saved.args[0].incident_ids == {form.last_saved.id, original.id}  # type: ignore[union-attr]
    assert form.last_saved is not None
    assert form.last_saved.resolution_code == ResolutionCode.DUPLICATE
    assert form.last_saved.resolution_notes.startswith(f"Duplicate of {original.number}")


def test_closing_with_a_call_typed_asks_first(qtbot: QtBot, form: CallForm) -> None:
    keys = Keyboard(qtbot)
    keys.tab()
    keys.type("Half a call")
    assert form.dirty
    form.close()
    qtbot.waitUntil(lambda: form.findChild(QuestionBox) is not None
                    and form.findChild(QuestionBox).isVisible(), timeout=5000)  # type: ignore[union-attr]
    assert form.isVisible()
    box = form.findChild(QuestionBox)
    assert box is not None
    box.button(QuestionBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: form.findChild(QuestionBox) is None, timeout=5000)
    assert form.isVisible()
    form.close()
    qtbot.waitUntil(lambda: form.findChild(QuestionBox) is not None, timeout=5000)
    box = form.findChild(QuestionBox)
    assert box is not None
    with qtbot.waitSignal(form.closed):
        box.button(QuestionBox.StandardButton.Discard).click()
    assert not form.isVisible()


def test_the_call_form_screenshot(qtbot: QtBot, form: CallForm, service: IncidentService,
                                  caller: CallerView, catalog_ids: dict[str, int],
                                  backend: str, elapsed: FakeElapsed) -> None:
    email = catalog_ids["Email (Exchange Online)"]
    major, _ = service.log_call(LogCallRequest(caller.id, "Exchange outage: no mail", 1, 1,
                                               service_id=email))
    service.update(major.id, major.version, is_major=True)
    service.log_call(LogCallRequest(caller.id, "Laptop battery swells", 2, 3))
    keys = Keyboard(qtbot)
    ui = form.ui
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    qtbot.waitUntil(lambda: form.open_model.rowCount() == 2, timeout=5000)
    keys.tab()
    keys.type("Outlook cannot send mail")
    keys.tab()
    keys.type("Error 0x800CCC0E since this morning; webmail works.")
    keys.tab()
    keys.type("email")
    keys.tab()
    qtbot.waitUntil(lambda: form.similar_model.rowCount() >= 1, timeout=5000)
    keys.type("softw")
    keys.tab()
    keys.type("ema")
    keys.tab()
    keys.press(Key.Key_1)
    elapsed.seconds += 83
    form._tick()
    keys.ctrl(Key.Key_L)
    if backend == "sqlite":
        screenshot(form, "call_form")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    qtbot.waitUntil(lambda: form.open_model.rowCount() == 3, timeout=5000)
    if backend == "sqlite":
        screenshot(form, "call_form_saved")


def test_lookup_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = LookupModel()
    qtmodeltester.check(model)
    model.set_items([LookupItem(1, "Grace Hopper", "grace@example.com", "★ "),
                     LookupItem(0, "+ New caller", payload="x", create=True)])
    qtmodeltester.check(model)
    index = model.index(0)
    assert index.data() == "★ Grace Hopper  —  grace@example.com"
    assert index.data(Qt.ItemDataRole.EditRole) == "Grace Hopper"


def test_local_matching_takes_word_starts() -> None:
    items = [LookupItem(1, "Email (Exchange Online)"), LookupItem(2, "Remote access VPN"),
             LookupItem(3, "Email security gateway")]
    assert [i.id for i in match_locally(items, "email sec")] == [3]
    assert [i.id for i in match_locally(items, "vpn")] == [2]
    assert [i.id for i in match_locally(items, "exch")] == [1]
    assert [i.id for i in match_locally(items, "email")] == [1, 3]


def test_call_times_read_like_a_stopwatch() -> None:
    assert format_call_time(0) == "00:00"
    assert format_call_time(247.9) == "04:07"
    assert format_call_time(3723) == "1:02:03"


def test_edit_caller_corrects_the_caller_during_the_call(
        qtbot: QtBot, form: CallForm, service: IncidentService, caller: CallerView) -> None:
    keys = Keyboard(qtbot)
    ui = form.ui
    assert not ui.editCallerButton.isEnabled()  # no caller chosen yet
    assert "Choose a caller" in ui.editCallerButton.toolTip()
    keys.type("grace")
    choose_first(qtbot, keys, ui.callerEdit)
    assert ui.editCallerButton.isEnabled() and "Ctrl+Shift+E" in ui.editCallerButton.toolTip()
    menu = form.edit_caller.context_menu()
    first = menu.actions()[0]
    assert (first.text(), first.isEnabled()) == ("&Edit caller…", True)
    menu.close()

    keys.ctrl(Key.Key_E, shift=True)
    dialog = form.edit_caller.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled())
    assert dialog.edits["name"].text() == "Grace Hopper" and dialog.vip.isChecked()
    assert key_target() is dialog.edits["name"]
    keys.tab(2)
    assert key_target() is dialog.edits["phone"]
    keys.type("+1 202 555 0143")
    keys.tab()
    keys.type("Navy Research")
    screenshot(dialog, "caller_edit_dialog")
    with qtbot.waitSignal(dialog.saved):
        keys.press(Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())

    assert form.caller is not None and form.caller.phone == "+1 202 555 0143"
    assert "+1 202 555 0143" in ui.callerCard.text() and "Navy Research" in ui.callerCard.text()
    assert ui.callerEdit.item_id == caller.id and ui.vipLabel.isVisible()
    stored = service.lookup_callers("Grace")[0]
    assert (stored.phone, stored.department, stored.vip) == (
        "+1 202 555 0143", "Navy Research", True)
