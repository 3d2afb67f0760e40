"""The incident detail form: fields, transitions, timeline, notes and save conflicts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import cast

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPalette, QStandardItemModel
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.app import build_main_window
from deskapp.domain.enums import ActivityKind, HoldReason, ResolutionCode, Role, State
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.qt import theme
from deskapp.qt.models.activity_model import ActivityModel
from deskapp.qt.models.conflict_model import ConflictColumn, ConflictModel
from deskapp.qt.models.incident_list_model import IncidentListModel
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.caller_edit_dialog import CallerEditDialog
from deskapp.qt.views.conflict_dialog import ConflictDialog
from deskapp.qt.views.form_host import FormHost
from deskapp.qt.views.incident_form import IncidentForm
from deskapp.qt.widgets.questions import QuestionBox
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, MergeRequest
from deskapp.services.catalog import CatalogService
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.merge import compare, values_of
from deskapp.services.people_admin import PeopleAdminService
from deskapp.user_settings import ThemeChoice
from tests.conftest import FakeClock, add_user, table_count
from tests.qt.conftest import Await
from tests.qt.forms import (
    MARKUP_NAME,
    OFFSCREEN_FORM_NOISE,
    Keyboard,
    add_catalog,
    add_markup_user,
    key_target,
    looks_read_only,
    screenshot,
    shown_conflict,
    shown_text,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)

Key = Qt.Key
Opener = Callable[..., IncidentForm]


@pytest.fixture
def catalog_ids(database: Database) -> dict[str, int]:
    return add_catalog(database)


@pytest.fixture
def team(database: Database) -> dict[str, int]:
    ann = add_user(database, "ann")
    bob = add_user(database, "bob")
    with database.uow_factory(write=True) as uow:
        desk = uow.groups.add(Group(0, "Service Desk"), [ann.id, bob.id])
        network = uow.groups.add(Group(0, "Network team"), [bob.id])
        uow.commit()
    return {"ann": ann.id, "bob": bob.id, "desk": desk.id, "network": network.id}


@pytest.fixture
def incident_id(service: IncidentService, caller: CallerView, clock: FakeClock,
                catalog_ids: dict[str, int]) -> int:
    detail, _ = service.log_call(LogCallRequest(
        caller.id, "Outlook cannot send mail", 2, 2, description="Error 0x800CCC0E",
        service_id=catalog_ids["Email (Exchange Online)"], category_id=catalog_ids["Software"],
        subcategory_id=catalog_ids["Software/Email"], call_started_at=clock.now,
        call_seconds=125))
    clock.advance(minutes=3)
    service.add_work_note(detail.id, "Asked for a screenshot of the error.")
    clock.advance(minutes=2)
    return detail.id


@pytest.fixture
def open_form(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
              clock: FakeClock) -> Iterator[Opener]:
    forms: list[IncidentForm] = []

    def opener(incident_id: int, user: User = admin) -> IncidentForm:
        form = IncidentForm(incident_id,
                            incidents=IncidentService(database.uow_factory, user.id, clock),
                            catalog=CatalogService(database.uow_factory), runner=runner,
                            user=user, clock=clock)
        forms.append(form)
        form.resize(1320, 860)
        form.show()
        qtbot.waitExposed(form)
        form.activateWindow()
        qtbot.waitUntil(form.isActiveWindow)
        run(form.start())
        assert form.detail is not None
        return form

    yield opener
    for form in forms:
        form.discard()
        form.deleteLater()


def test_the_form_shows_the_incident_and_its_timeline(
        open_form: Opener, incident_id: int, caller: CallerView, clock: FakeClock) -> None:
    form = open_form(incident_id)
    ui = form.ui
    assert ui.numberLabel.text() == "INC0000001"
    assert ui.stateLabel.text() == "New"
    assert ui.priorityLabel.text() == "P3 - Moderate"
    assert ui.callerEdit.text() == "Grace Hopper"
    assert ui.shortDescriptionEdit.text() == "Outlook cannot send mail"
    assert ui.descriptionEdit.toPlainText() == "Error 0x800CCC0E"
    assert ui.serviceEdit.text() == "Email (Exchange Online)"
    assert (ui.categoryEdit.text(), ui.subcategoryEdit.text()) == ("Software", "Email")
    assert ui.impactCombo.currentText() == "2 - Medium"
    assert not form.dirty
    # Newest first: the work note, then the call, then the logging.
    kinds = [e.kind for e in form.activity_model.entries]
    assert kinds == [ActivityKind.WORK_NOTE, ActivityKind.CALL, ActivityKind.CREATED]
    first = form.activity_model.index(0).data()
    assert "Desk Administrator · Work note (internal)" in first
    assert "Asked for a screenshot of the error." in first
    assert "02:05 long" in form.activity_model.index(1).data()
    assert set(form.state_buttons()) == {State.IN_PROGRESS, State.ON_HOLD, State.RESOLVED,
                                         State.CANCELLED}
    assert ui.timeLeftValue.text() == "23h 55m left"
    assert ui.onHoldValue.text() == "never"
    assert "overdue" not in ui.responseDueValue.text()


def test_changes_are_saved_at_once_and_the_priority_follows(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        team: dict[str, int]) -> None:
    form = open_form(incident_id)
    ui = form.ui
    keys = Keyboard(qtbot)
    ui.impactCombo.setFocus()
    keys.press(Key.Key_1)
    assert "P2 - High" in ui.priorityHint.text()  # live, before saving
    assert ui.priorityLabel.text() == "P3 - Moderate"  # what is stored
    ui.shortDescriptionEdit.setFocus()
    keys.press(Key.Key_End)
    keys.type(" to external addresses")
    ui.groupCombo.setFocus()
    ui.groupCombo.setCurrentIndex(ui.groupCombo.findData(team["desk"]))
    qtbot.waitUntil(lambda: ui.assigneeCombo.findData(team["ann"]) > 0, timeout=5000)
    ui.assigneeCombo.setCurrentIndex(ui.assigneeCombo.findData(team["ann"]))
    assert form.dirty
    assert set(form.changes()) == {"impact", "short_description", "assignment_group_id",
                                   "assignee_id"}
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        keys.ctrl(Key.Key_S)
    change = saved.args[0]
    assert isinstance(change, Change)
    assert {ChangeKind.FIELDS, ChangeKind.PRIORITY, ChangeKind.ASSIGNMENT} <= change.kinds
    stored = service.get(incident_id)
    assert (stored.version, stored.priority, stored.impact) == (2, 2, 1)
    assert stored.short_description == "Outlook cannot send mail to external addresses"
    assert (stored.assignment_group_id, stored.assignee_id) == (team["desk"], team["ann"])
    assert ui.priorityLabel.text() == "P2 - High" and not form.dirty
    assert "Saved INC0000001" in ui.savedBanner.text()
    texts = [e.body for e in form.activity_model.entries[:5]]
    assert "Impact: 2 - Medium → 1 - High" in texts
    assert "Assigned to: — → Ann" in texts


def test_transitions_ask_inline_for_what_they_need(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        clock: FakeClock) -> None:
    form = open_form(incident_id)
    ui = form.ui
    keys = Keyboard(qtbot)
    keys.press(Key.Key_2, Qt.KeyboardModifier.AltModifier)  # "Put on hold"
    assert form.pending_transition == State.ON_HOLD and ui.transitionBox.isVisible()
    assert key_target() is ui.holdReasonCombo
    assert not ui.resolutionCodeCombo.isVisible()
    keys.ctrl(Key.Key_S)
    assert ui.transitionError.text() == "Say why the incident waits."
    assert service.get(incident_id).version == 1
    keys.press(Key.Key_Down)
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    stored = service.get(incident_id)
    assert (stored.state, stored.hold_reason) == (State.ON_HOLD, HoldReason.AWAITING_CALLER)
    assert ui.stateLabel.text() == "On Hold" and not ui.transitionBox.isVisible()
    assert set(form.state_buttons()) == {State.IN_PROGRESS, State.RESOLVED, State.CANCELLED}

    clock.advance(hours=2)
    form.state_buttons()[State.RESOLVED].setFocus()
    keys.press(Key.Key_Space)
    assert key_target() is ui.resolutionCodeCombo
    keys.press(Key.Key_Down)
    keys.tab()
    assert key_target() is ui.resolutionNotesEdit
    keys.ctrl(Key.Key_S)
    assert ui.transitionError.text() == "Say what was done: resolution notes are required."
    keys.type("Cleared the outbox; mail flows again.")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_S)
    stored = service.get(incident_id)
    assert stored.state == State.RESOLVED
    assert stored.resolution_code == ResolutionCode.SOLVED_PERMANENTLY
    assert stored.sla_paused_seconds == 2 * 3600
    assert ui.onHoldValue.text() == "2h 00m"
    assert ui.timeLeftValue.text() == "Met"
    assert "Solved permanently" in ui.resolutionValue.text()
    assert set(form.state_buttons()) == {State.IN_PROGRESS, State.CLOSED}
    assert form.state_buttons()[State.IN_PROGRESS].text() == "Reopen"

    keys.press(Key.Key_1, Qt.KeyboardModifier.AltModifier)  # Reopen asks why
    assert key_target() is ui.reopenReasonEdit
    keys.press(Key.Key_Escape)  # changed my mind
    assert not ui.transitionBox.isVisible() and form.pending_transition is None


def test_notes_and_comments_are_one_shortcut_away(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService) -> None:
    form = open_form(incident_id)
    ui = form.ui
    keys = Keyboard(qtbot)
    keys.ctrl(Key.Key_W, shift=True)
    assert key_target() is ui.noteEdit
    keys.type("Checked the mail queue: 40 messages stuck.")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_Return)
    assert ui.noteEdit.toPlainText() == ""
    newest = form.activity_model.entries[0]
    assert newest.kind == ActivityKind.WORK_NOTE
    assert newest.body == "Checked the mail queue: 40 messages stuck."
    keys.ctrl(Key.Key_C, shift=True)
    assert "Comment" in ui.noteKindLabel.text()
    keys.type("We are on it; expect mail to flow within the hour.")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        keys.ctrl(Key.Key_Return)
    assert form.activity_model.entries[0].kind == ActivityKind.COMMENT
    assert service.get(incident_id).first_response_at is not None
    assert service.get(incident_id).version == 1  # notes claim no version
    ui.activityFilter.setCurrentIndex(2)  # changes only
    assert {e.kind for e in form.activity_model.entries} == {ActivityKind.CREATED}


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService) -> None:
    form = open_form(incident_id)
    ui = form.ui
    keys = Keyboard(qtbot)
    ui.shortDescriptionEdit.setFocus()
    ui.shortDescriptionEdit.selectAll()
    keys.press(Key.Key_Delete)
    ui.descriptionEdit.setPlainText("y" * 4001)
    ui.impactCombo.setCurrentIndex(0)
    assert form.save() is None
    assert ui.shortDescriptionError.text() == "Short description is required."
    assert "4,001 characters long" in ui.descriptionError.text()
    assert key_target() is ui.shortDescriptionEdit
    ui.serviceEdit.setFocus()
    ui.serviceEdit.selectAll()
    keys.type("no such thing")
    ui.shortDescriptionEdit.setText("Fine now")
    ui.descriptionEdit.setPlainText("ok")
    assert form.save() is None
    assert "Choose a service" in ui.catalogError.text()
    assert service.get(incident_id).version == 1
    assert service.get(incident_id).impact == 2


def test_two_forms_on_one_incident_do_not_overwrite_each_other(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        database: Database, clock: FakeClock, backend: str) -> None:
    ann = add_user(database, "ann")
    theirs = open_form(incident_id, ann)
    mine = open_form(incident_id)

    theirs.ui.shortDescriptionEdit.setText("Outlook: mail stuck in the outbox")
    theirs.ui.urgencyCombo.setCurrentIndex(theirs.ui.urgencyCombo.findData(1))
    with qtbot.waitSignal(theirs.saved, timeout=10_000):
        theirs.save()
    clock.advance(minutes=1)

    mine.ui.shortDescriptionEdit.setText("Outlook cannot send mail since the update")
    mine.ui.impactCombo.setCurrentIndex(mine.ui.impactCombo.findData(1))
    task = mine.save()
    assert task is not None
    dialog = shown_conflict(qtbot, mine)
    if backend == "sqlite":
        screenshot(dialog, "conflict_dialog")
    rows = {r.field: r for r in dialog.model.rows}
    assert set(rows) == {"short_description", "urgency", "impact", "priority"}
    assert rows["short_description"].clash
    assert dialog.model.rows[0].field == "short_description"  # clashes first
    model = dialog.model
    assert model.index(0, ConflictColumn.THEIRS).data() == "Outlook: mail stuck in the outbox"
    assert model.index(0, ConflictColumn.MINE).data() == \
        "Outlook cannot send mail since the update"
    assert "Ann saved this incident" in dialog.ui.messageLabel.text()
    # "Apply mine on top" is the default button: Enter takes it.
    with qtbot.waitSignal(mine.saved, timeout=10_000):
        qtbot.keyClick(dialog, Key.Key_Return)
    qtbot.waitUntil(lambda: task.done(), timeout=10_000)
    assert task.result() is True
    stored = service.get(incident_id)
    assert stored.version == 3
    assert stored.short_description == "Outlook cannot send mail since the update"
    assert (stored.impact, stored.urgency, stored.priority) == (1, 1, 1)
    assert not mine.dirty and mine.detail == stored


def test_the_conflict_shows_the_priority_the_merge_will_store(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        database: Database, backend: str) -> None:
    """Priority is no choice: the row shows what the impact and urgency kept will give."""
    ann = add_user(database, "ann")
    theirs = open_form(incident_id, ann)
    mine = open_form(incident_id)
    theirs.ui.impactCombo.setCurrentIndex(theirs.ui.impactCombo.findData(3))  # P4 - Low
    with qtbot.waitSignal(theirs.saved, timeout=10_000):
        theirs.save()
    mine.ui.urgencyCombo.setCurrentIndex(mine.ui.urgencyCombo.findData(1))  # mine: P2 - High
    task = mine.save()
    assert task is not None
    dialog = shown_conflict(qtbot, mine)
    model = dialog.model
    fields = [r.field for r in model.rows]
    assert set(fields) == {"impact", "urgency", "priority"}
    priority = model.index(fields.index("priority"), ConflictColumn.KEEP)
    urgency = fields.index("urgency")

    def row_text(column: ConflictColumn) -> str:
        return str(model.index(priority.row(), column).data())

    assert row_text(ConflictColumn.FIELD) == "Priority (from impact and urgency)"
    assert row_text(ConflictColumn.THEIRS) == "P4 - Low"
    assert row_text(ConflictColumn.MINE) == "P2 - High"
    assert not model.flags(priority) & Qt.ItemFlag.ItemIsUserCheckable  # not offered
    assert priority.data(Qt.ItemDataRole.CheckStateRole) is None
    # Their impact 3 with my urgency 1: P3, neither side's priority.
    assert priority.data() == "Result: P3 - Moderate"
    if backend == "sqlite":
        screenshot(dialog, "conflict_dialog_priority")
    table = dialog.ui.conflictTable
    table.setCurrentIndex(model.index(urgency, ConflictColumn.FIELD))
    with qtbot.waitSignal(model.dataChanged):
        qtbot.keyClick(table, Key.Key_Space)  # their urgency after all
    assert priority.data() == "Result: P4 - Low"
    qtbot.keyClick(table, Key.Key_Space)  # mine again
    assert priority.data() == "Result: P3 - Moderate"
    assert "matrix" in str(priority.data(Qt.ItemDataRole.ToolTipRole))
    with qtbot.waitSignal(mine.saved, timeout=10_000):
        dialog.ui.applyChosenButton.click()
    qtbot.waitUntil(task.done, timeout=10_000)
    stored = service.get(incident_id)
    assert (stored.impact, stored.urgency, stored.priority) == (3, 1, 3)
    assert mine.ui.priorityLabel.text() == "P3 - Moderate"


def test_a_conflict_can_keep_theirs_or_go_field_by_field(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        database: Database) -> None:
    ann = add_user(database, "ann")
    theirs = open_form(incident_id, ann)
    mine = open_form(incident_id)
    theirs.ui.shortDescriptionEdit.setText("Theirs")
    with qtbot.waitSignal(theirs.saved, timeout=10_000):
        theirs.save()

    mine.ui.shortDescriptionEdit.setText("Mine")
    mine.ui.descriptionEdit.setPlainText("My description")
    mine.save()
    qtbot.waitUntil(lambda: mine.findChild(ConflictDialog) is not None, timeout=10_000)
    dialog = mine.findChild(ConflictDialog)
    assert dialog is not None
    table = dialog.ui.conflictTable
    table.setCurrentIndex(dialog.model.index(0, 0))
    qtbot.keyClick(table, Key.Key_Space)  # short description: theirs after all
    assert dialog.model.index(0, ConflictColumn.KEEP).data() == "Theirs"
    with qtbot.waitSignal(mine.saved, timeout=10_000):
        dialog.ui.applyChosenButton.click()
    stored = service.get(incident_id)
    assert (stored.short_description, stored.description) == ("Theirs", "My description")

    theirs_again = open_form(incident_id, ann)
    theirs_again.ui.descriptionEdit.setPlainText("Their description")
    with qtbot.waitSignal(theirs_again.saved, timeout=10_000):
        theirs_again.save()
    mine.ui.impactCombo.setCurrentIndex(mine.ui.impactCombo.findData(3))
    task = mine.save()
    assert task is not None
    qtbot.waitUntil(lambda: mine.findChild(ConflictDialog) is not None, timeout=10_000)
    dialog = mine.findChild(ConflictDialog)
    assert dialog is not None
    dialog.ui.keepTheirsButton.click()
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is False
    assert mine.ui.descriptionEdit.toPlainText() == "Their description"
    assert mine.ui.impactCombo.currentData() == 2 and not mine.dirty
    assert service.get(incident_id).version == 4


def test_closing_with_unsaved_changes_asks_first(qtbot: QtBot, open_form: Opener,
                                                incident_id: int) -> None:
    form = open_form(incident_id)
    form.ui.shortDescriptionEdit.setText("Changed")
    form.close()
    qtbot.waitUntil(lambda: form.findChild(QuestionBox) is not None, timeout=5000)
    box = form.findChild(QuestionBox)
    assert box is not None and form.isVisible()
    with qtbot.waitSignal(form.closed):
        box.button(QuestionBox.StandardButton.Discard).click()
    assert not form.isVisible()


def test_a_manager_reads_but_does_not_edit(open_form: Opener, incident_id: int,
                                           database: Database) -> None:
    manager = add_user(database, "max", Role.MANAGER)
    form = open_form(incident_id, manager)
    ui = form.ui
    assert ui.shortDescriptionEdit.isReadOnly() and not ui.impactCombo.isEnabled()
    # Managers reassign anything (issue 5), so the assignment stays open to them.
    assert ui.groupCombo.isEnabled() and not ui.noteEdit.isEnabled()
    assert not any(b.isEnabled() for b in form.state_buttons().values())
    assert "may only read" in ui.messageBanner.text()


def test_parent_and_children_link_to_each_other(
        qtbot: QtBot, open_form: Opener, service: IncidentService, caller: CallerView) -> None:
    major, _ = service.log_call(LogCallRequest(caller.id, "Exchange outage", 1, 1))
    service.update(major.id, major.version, is_major=True)
    child, _ = service.log_call(LogCallRequest(caller.id, "No mail", 2, 2, parent_id=major.id))
    form = open_form(major.id)
    assert form.ui.majorLabel.isVisible()
    assert [e.row.id for e in form.children_model.entries] == [child.id]
    with qtbot.waitSignal(form.open_incident_requested) as requested:
        form.ui.childrenList.activated.emit(form.children_model.index(0))
    assert requested.args == [child.id]
    child_form = open_form(child.id)
    assert child_form.ui.parentEdit.text() == major.number
    assert major.number in child_form.ui.parentLink.text()


def test_the_incident_form_screenshot(
        qtbot: QtBot, open_form: Opener, incident_id: int, service: IncidentService,
        team: dict[str, int], clock: FakeClock, backend: str) -> None:
    detail = service.get(incident_id)
    detail, _ = service.assign(incident_id, detail.version, team["desk"], team["ann"])
    service.add_comment(incident_id, "We are looking into it.")
    clock.advance(minutes=20)
    form = open_form(incident_id)
    qtbot.waitUntil(lambda: form.ui.assigneeCombo.count() > 2, timeout=5000)
    form.ui.impactCombo.setCurrentIndex(0)
    form.begin_transition(State.RESOLVED)
    if backend == "sqlite":
        screenshot(form, "incident_form")


def test_the_main_window_opens_forms(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, incident_id: int) -> None:
    window = build_main_window(database, admin, runner, window_settings=window_settings,
                               clock=clock, live_updates=False)
    qtbot.addWidget(window)
    host = window.findChild(FormHost)
    assert host is not None
    window.incident_activated.emit(incident_id)
    form = host.incident_forms[incident_id]
    qtbot.waitUntil(lambda: form.detail is not None, timeout=10_000)
    window.incident_activated.emit(incident_id)  # the same window, brought forward
    assert list(host.incident_forms) == [incident_id]
    window.log_call_requested.emit()  # Ctrl+N
    call_form = host.call_form
    assert call_form is not None
    qtbot.waitUntil(lambda: call_form.catalog is not None, timeout=10_000)
    assert host.open_call_form() is call_form
    host.close_all()
    qtbot.waitUntil(lambda: not host.incident_forms and host.call_form is None)
    QApplication.processEvents()


def test_models_pass_the_model_tester(qtmodeltester: ModelTester, service: IncidentService,
                                      incident_id: int) -> None:
    activity = ActivityModel(lambda v: v.body or "")
    qtmodeltester.check(activity)
    activity.set_activity(service.activity(incident_id))
    activity.set_kinds(frozenset({ActivityKind.CALL}))
    assert activity.rowCount() == 1

    listed = IncidentListModel()
    qtmodeltester.check(listed)
    listed.set_rows(service.load_form(incident_id).children)
    listed.set_rows(service.caller_history(service.get(incident_id).caller_id).recent)
    assert listed.rowCount() == 1

    detail = service.get(incident_id)
    base = {"short_description": "a", "impact": 2, "urgency": 2}
    rows = compare(base, {**base, "short_description": "b", "urgency": 1},
                   {**base, "short_description": "c", "impact": 1})
    conflicts = ConflictModel(rows, lambda _f, v: str(v))
    qtmodeltester.check(conflicts)
    conflicts.toggle(0)
    conflicts.set_all(True)
    assert conflicts.use_mine() == {"short_description": True, "urgency": False,
                                    "impact": True, "priority": False}
    assert detail.number == "INC0000001"



def test_a_resolved_incident_was_never_on_hold_and_a_vip_shows(
        open_form: Opener, incident_id: int, service: IncidentService,
        clock: FakeClock) -> None:
    detail = service.get(incident_id)
    service.transition(incident_id, detail.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY,
                       resolution_notes="Cleared the outbox.")
    clock.advance(days=3)  # the clock stopped at the resolution; that is not time on hold
    form = open_form(incident_id)
    assert form.ui.onHoldValue.text() == "never"
    assert form.ui.vipLabel.isVisible()  # Grace Hopper is a VIP caller


def test_an_inactive_group_and_assignee_are_named_but_not_offered(
        qtbot: QtBot, open_form: Opener, service: IncidentService, incident_id: int,
        team: dict[str, int], database: Database, admin: User, clock: FakeClock) -> None:
    detail = service.get(incident_id)
    service.assign(incident_id, detail.version, team["desk"], team["ann"])
    people = PeopleAdminService(database.uow_factory, admin.id, None, clock)
    ann = next(u for u in people.users() if u.id == team["ann"])
    people.deactivate_user(ann.id, ann.version)
    desk = next(g for g in people.groups() if g.id == team["desk"])
    people.deactivate_group(desk.id, desk.version)
    form = open_form(incident_id)
    ui = form.ui
    qtbot.waitUntil(lambda: team["desk"] in form._members)
    assert ui.groupCombo.currentText() == "Service Desk (inactive)"
    assert ui.assigneeCombo.currentText() == "Ann (inactive)"
    groups = cast(QStandardItemModel, ui.groupCombo.model())
    assert not groups.item(ui.groupCombo.findData(team["desk"])).isEnabled()
    assert groups.item(ui.groupCombo.findData(team["network"])).isEnabled()
    assignees = cast(QStandardItemModel, ui.assigneeCombo.model())
    assert not assignees.item(ui.assigneeCombo.findData(team["ann"])).isEnabled()
    assert not form.dirty


def _open_caller_dialog(qtbot: QtBot, form: IncidentForm) -> CallerEditDialog:
    form.ui.editCallerButton.click()
    dialog = form.edit_caller.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled())
    return dialog


def test_edit_caller_refuses_a_stale_save_then_saves_knowingly(
        qtbot: QtBot, open_form: Opener, incident_id: int, database: Database,
        caller: CallerView, clock: FakeClock) -> None:
    form = open_form(incident_id)
    dialog = _open_caller_dialog(qtbot, form)
    # Meanwhile another agent corrects the same caller.
    ann = add_user(database, "ann")
    CallerAdminService(database.uow_factory, ann.id, clock).edit(
        caller.id, dialog.row.version if dialog.row else 0,
        CallerEdit("Grace Hopper", "grace@example.com", "555 0100", vip=True))
    dialog.edits["name"].setText("Grace B. Hopper")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.isVisible() and dialog.edits["name"].text() == "Grace B. Hopper"
    message = dialog.error.text()
    assert "Not saved: Grace Hopper was changed by Ann at 2026-03-02 09:05" in message
    assert "phone is now “555 0100”" in message
    screenshot(dialog, "caller_edit_dialog_stale")
    callers = CallerAdminService(database.uow_factory, ann.id)
    assert callers.get(caller.id).name == "Grace Hopper"  # theirs stands, nothing written
    assert form.ui.callerEdit.text() == "Grace Hopper"

    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()  # knowing their change now: store what was typed
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert callers.get(caller.id).name == "Grace B. Hopper"
    assert form.ui.callerEdit.text() == "Grace B. Hopper" and not form.dirty
    assert form.ui.vipLabel.isVisible()


def _changed_meanwhile_then_save(qtbot: QtBot, dialog: CallerEditDialog, database: Database,
                                 clock: FakeClock, theirs: CallerEdit,
                                 ) -> tuple[CallerAdminService, str]:
    """Ann saves ``theirs`` over the dialog's caller, then the dialog's Save is refused.

    Returns Ann's callers service and the dialog's message."""
    assert dialog.row is not None
    callers = CallerAdminService(database.uow_factory, add_user(database, "ann").id, clock)
    callers.edit(dialog.row.id, dialog.row.version, theirs)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    return callers, dialog.error.text()


def test_edit_caller_after_a_conflict_saves_only_the_users_changes_on_theirs(
        qtbot: QtBot, open_form: Opener, incident_id: int, database: Database,
        caller: CallerView, clock: FakeClock) -> None:
    dialog = _open_caller_dialog(qtbot, open_form(incident_id))
    dialog.edits["department"].setText("Navy Research")
    dialog.vip.setChecked(False)
    # Meanwhile another admin corrects the phone and the location.
    callers, message = _changed_meanwhile_then_save(
        qtbot, dialog, database, clock, CallerEdit("Grace Hopper", "grace@example.com",
                                                   "555 0100", location="Arlington", vip=True))
    assert "phone is now “555 0100”, location is now “Arlington”" in message
    assert "You both changed" not in message
    assert (dialog.edits["phone"].text(), dialog.edits["location"].text()) == (
        "555 0100", "Arlington")  # theirs, now in the fields
    assert dialog.edits["department"].text() == "Navy Research" and not dialog.vip.isChecked()

    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    stored = callers.get(caller.id)
    assert (stored.phone, stored.location, stored.department, stored.vip) == (
        "555 0100", "Arlington", "Navy Research", False)


def test_edit_caller_names_both_values_when_both_changed_a_field_and_keeps_the_typed(
        qtbot: QtBot, open_form: Opener, incident_id: int, database: Database,
        caller: CallerView, clock: FakeClock) -> None:
    dialog = _open_caller_dialog(qtbot, open_form(incident_id))
    dialog.edits["phone"].setText("555 0199")
    callers, message = _changed_meanwhile_then_save(
        qtbot, dialog, database, clock,
        CallerEdit("Grace Hopper", "grace@navy.mil", "555 0100", vip=True))
    assert "You both changed phone: yours “555 0199”, theirs “555 0100”" in message
    assert "yours winning where you both changed" in message
    assert dialog.edits["email"].text() == "grace@navy.mil"
    # The dialog grew to show the whole message, without squeezing the fields.
    assert dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width())
    assert dialog.edits["phone"].height() >= dialog.edits["phone"].sizeHint().height()
    screenshot(dialog, "caller_edit_dialog_both_changed")
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    stored = callers.get(caller.id)
    assert (stored.phone, stored.email) == ("555 0199", "grace@navy.mil")


def _open_then_merge_its_caller(open_form: Opener, service: IncidentService,
                                database: Database, admin: User,
                                clock: FakeClock) -> tuple[IncidentForm, int, CallerView]:
    """An incident of "Fay F." open in a form; then Fay F. is merged into "Fay Fine".

    Returns the form, the incident's id and the survivor."""
    survivor = service.add_caller("Fay Fine", "fay@example.com")
    duplicate = service.add_caller("Fay F.")
    detail, _ = service.log_call(LogCallRequest(duplicate.id, "Dock flickers", 3, 3))
    form = open_form(detail.id)
    clock.advance(minutes=1)
    CallerAdminService(database.uow_factory, admin.id, clock).merge(MergeRequest(
        survivor.id, (duplicate.id,), {survivor.id: 1, duplicate.id: 1}))
    return form, detail.id, survivor


def test_edit_caller_on_a_merged_caller_names_the_survivor(
        qtbot: QtBot, open_form: Opener, service: IncidentService, database: Database,
        admin: User, clock: FakeClock) -> None:
    form, _, survivor = _open_then_merge_its_caller(open_form, service, database, admin, clock)
    form.ui.editCallerButton.click()
    dialog = form.edit_caller.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.error.text() == (f"Fay F. was merged into Fay Fine (#{survivor.id}); "
                                   "edit that caller instead.")
    assert not dialog.save_button.isEnabled()
    dialog.reject()


def test_edit_caller_names_a_bad_email_and_saves_nothing(
        qtbot: QtBot, open_form: Opener, incident_id: int, database: Database,
        caller: CallerView, admin: User) -> None:
    form = open_form(incident_id)
    dialog = _open_caller_dialog(qtbot, form)
    before = table_count(database, "audit_log")
    dialog.edits["email"].setText("grace.example.com")
    dialog.edits["name"].setText("Grace H.")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.error.text() == "'grace.example.com' is not an email address."
    assert QApplication.focusWidget() is dialog.edits["email"]
    assert dialog.isVisible()
    stored = CallerAdminService(database.uow_factory, admin.id).get(caller.id)
    assert (stored.name, stored.email) == ("Grace Hopper", "grace@example.com")
    assert table_count(database, "audit_log") == before
    dialog.edits["email"].setText("")
    dialog.edits["name"].setText("   ")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.text() == "A caller needs a name.")
    dialog.reject()
    assert form.ui.callerEdit.text() == "Grace Hopper"


def test_edit_caller_is_disabled_without_the_edit_permission(
        qtbot: QtBot, open_form: Opener, incident_id: int, database: Database) -> None:
    manager = add_user(database, "max", Role.MANAGER)
    form = open_form(incident_id, manager)
    button = form.ui.editCallerButton
    assert not button.isEnabled() and "edit permission" in button.toolTip()
    Keyboard(qtbot).ctrl(Key.Key_E, shift=True)
    assert form.edit_caller.dialog is None and form.edit_caller.open() is None
    assert not form.edit_caller.context_menu().actions()[0].isEnabled()


def test_a_form_opened_before_a_caller_merge_shows_it_and_keeps_the_survivor(
        qtbot: QtBot, open_form: Opener, service: IncidentService, database: Database,
        admin: User, clock: FakeClock) -> None:
    form, incident, survivor = _open_then_merge_its_caller(open_form, service, database, admin,
                                                           clock)

    form.ui.shortDescriptionEdit.setText("Dock flickers on both screens")
    task = form.save()
    assert task is not None
    dialog = shown_conflict(qtbot, form)
    rows = {r.field: r for r in dialog.model.rows}
    assert set(rows) == {"caller_id", "short_description"} and not rows["caller_id"].clash
    at = dialog.model.rows.index(rows["caller_id"])
    assert dialog.model.index(at, ConflictColumn.THEIRS).data() == "Fay Fine"  # not "caller 1"
    with qtbot.waitSignal(form.saved, timeout=10_000):
        qtbot.keyClick(dialog, Key.Key_Return)  # apply mine on top of the merge
    qtbot.waitUntil(lambda: task.done(), timeout=10_000)
    stored = service.get(incident)
    assert (stored.caller_id, stored.short_description) == (
        survivor.id, "Dock flickers on both screens")
    assert form.ui.callerEdit.text() == "Fay Fine"
    assert "Caller: Fay F. → Fay Fine" in form.activity_model.index(1).data()  # the merge's

    form.close()  # a form opened after the merge names both callers too
    again = open_form(incident)
    assert "Caller: Fay F. → Fay Fine" in again.activity_model.index(1).data()


def test_a_caller_change_made_meanwhile_is_named_when_a_note_reloads_the_timeline(
        qtbot: QtBot, open_form: Opener, service: IncidentService, incident_id: int,
        caller: CallerView) -> None:
    form = open_form(incident_id)
    other = service.add_caller("Ann  Dup")
    detail = service.get(incident_id)
    service.update(incident_id, detail.version, caller_id=other.id)
    form.ui.noteEdit.setPlainText("Called back")
    form.ui.addWorkNoteButton.click()
    rows = form.activity_model.rowCount()
    qtbot.waitUntil(lambda: form.activity_model.rowCount() > rows)
    timeline = "\n".join(form.activity_model.index(r).data()
                          for r in range(form.activity_model.rowCount()))
    assert "Caller: Grace Hopper → Ann  Dup" in timeline


def test_a_reopened_incident_shows_neither_hold_time_nor_its_old_resolution(
        open_form: Opener, incident_id: int, service: IncidentService,
        clock: FakeClock) -> None:
    detail = service.get(incident_id)
    detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Cleared the outbox.")
    clock.advance(hours=5)  # Resolved: the SLA clock is paused, but nobody waits on hold
    service.reopen(incident_id, detail.version, "Mail is stuck again")
    clock.advance(minutes=10)
    form = open_form(incident_id)
    assert form.ui.onHoldValue.text() == "never"
    assert not form.ui.resolutionValue.isVisible()
    timeline = "\n".join(form.activity_model.index(row).data()
                          for row in range(form.activity_model.rowCount()))
    assert "Resolution code: Solved permanently → " in timeline  # the history stays
    assert "Resolution notes: Cleared the outbox. → " in timeline


def test_time_on_hold_is_the_time_spent_on_hold(
        open_form: Opener, incident_id: int, service: IncidentService,
        clock: FakeClock) -> None:
    detail = service.get(incident_id)
    detail, _ = service.transition(incident_id, detail.version, State.ON_HOLD,
                                   hold_reason=HoldReason.AWAITING_CALLER)
    clock.advance(hours=3)
    detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Cleared the outbox.")
    clock.advance(days=2)
    detail, _ = service.reopen(incident_id, detail.version, "Mail is stuck again")
    clock.advance(hours=1)
    form = open_form(incident_id)
    assert detail.sla_paused_seconds == 3 * 3600 + 2 * 86400
    assert form.ui.onHoldValue.text() == "3h 00m"


def test_a_resolved_incidents_sla_verdict_is_the_one_it_was_given(
        open_form: Opener, incident_id: int, service: IncidentService, database: Database,
        clock: FakeClock) -> None:
    detail = service.get(incident_id)
    service.transition(incident_id, detail.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                       resolution_notes="Cleared the outbox.")
    # As the ServiceNow import leaves it: resolved after the due time by our clock, made SLA
    # by the other tool's (which the queue, the export and the review report believe).
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE incidents SET resolution_due_at = opened_at "
                                "WHERE id = :id"), {"id": incident_id})
    clock.advance(days=3)
    form = open_form(incident_id)
    assert form.detail is not None and not form.detail.resolution_breached
    assert form.ui.timeLeftValue.text() == "Met"


def test_names_are_shown_as_typed_not_as_markup(
        open_form: Opener, incident_id: int, service: IncidentService, database: Database,
        clock: FakeClock) -> None:
    zoe = add_markup_user(database)
    as_zoe = IncidentService(database.uow_factory, zoe.id, clock)
    detail = service.get(incident_id)
    as_zoe.update(incident_id, detail.version, short_description="<b>Bold</b> & printer")
    form = open_form(incident_id)
    assert shown_text(form.ui.versionLabel).endswith(f"by {MARKUP_NAME}")
    dialog = ConflictDialog(compare(values_of(detail), values_of(as_zoe.get(incident_id)),
                                    {}), form.value_text, MARKUP_NAME, clock.now, form)
    assert shown_text(dialog.ui.messageLabel).startswith(f"{MARKUP_NAME} saved this incident")
    dialog.deleteLater()


def test_a_closed_incident_looks_read_only(
        open_form: Opener, service: IncidentService, caller: CallerView, incident_id: int,
        clock: FakeClock, backend: str) -> None:
    major, _ = service.log_call(LogCallRequest(caller.id, "Exchange outage", 1, 1))
    service.update(major.id, major.version, is_major=True)
    detail = service.get(incident_id)
    detail, _ = service.update(incident_id, detail.version, parent_id=major.id)
    detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Cleared the outbox.")
    clock.advance(days=3)
    service.transition(incident_id, detail.version, State.CLOSED)
    form = open_form(incident_id)
    ui = form.ui
    if backend == "sqlite":
        screenshot(form, "incident_form_closed")
    fields = (ui.callerEdit, ui.shortDescriptionEdit, ui.descriptionEdit, ui.serviceEdit,
              ui.configurationItemEdit, ui.categoryEdit, ui.subcategoryEdit, ui.parentEdit)
    assert [f.objectName() for f in fields if not looks_read_only(f)] == []
    # Read-only, not disabled: the text can still be selected and copied.
    assert all(f.isEnabled() for f in (ui.shortDescriptionEdit, ui.descriptionEdit))


def painted(field: QWidget) -> QColor:
    """The background a text field paints, away from its text."""
    image = field.grab().toImage()
    return image.pixelColor(image.width() - 40, image.height() // 2)


def test_a_closed_incident_looks_read_only_in_either_theme_with_the_focus_on_a_field(
        open_form: Opener, service: IncidentService, incident_id: int, qtbot: QtBot,
        app_theme: QApplication, backend: str) -> None:
    detail = service.get(incident_id)
    detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Cleared the outbox.")
    service.transition(incident_id, detail.version, State.CLOSED)
    manager = theme.install(app_theme, ThemeChoice.LIGHT)
    form = open_form(incident_id)
    ui = form.ui
    fields = (ui.callerEdit, ui.shortDescriptionEdit, ui.descriptionEdit, ui.serviceEdit,
              ui.categoryEdit, ui.subcategoryEdit, ui.parentEdit)

    def colours() -> dict[str, QColor]:
        return {f.objectName(): painted(f) for f in fields}

    def expected() -> dict[str, QColor]:
        window = theme.palette_for(manager.scheme).color(QPalette.ColorRole.Window)
        return {f.objectName(): window for f in fields}

    for choice in (ThemeChoice.DARK, ThemeChoice.LIGHT):
        # The theme restyles the form (its style sheet, adapted) and changes the palette.
        manager.set_choice(choice)
        ui.callerEdit.setFocus(Qt.FocusReason.MouseFocusReason)
        qtbot.waitUntil(ui.callerEdit.hasFocus)
        # Each field in this theme's window colour (Qt tells windows of a new palette a
        # moment later), the focused caller as grey as the rest.
        with suppress(qtbot.TimeoutError):
            qtbot.waitUntil(lambda: colours() == expected())
        assert colours() == expected()
        assert [f.objectName() for f in fields if not looks_read_only(f)] == []
        if backend == "sqlite":
            screenshot(form, f"incident_form_closed_{choice.value}")


def test_an_open_incident_keeps_its_clear_buttons(open_form: Opener, incident_id: int) -> None:
    form = open_form(incident_id)
    ui = form.ui
    assert ui.callerEdit.isClearButtonEnabled() and ui.categoryEdit.isClearButtonEnabled()
    assert not any(looks_read_only(f) for f in (ui.callerEdit, ui.shortDescriptionEdit,
                                                 ui.descriptionEdit, ui.parentEdit))


