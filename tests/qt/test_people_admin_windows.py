"""Admin > Users… and Admin > Groups…, and Help > Change password…, driven with qtbot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp import app
from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.domain.text import isolate
from deskapp.persistence.database import Database
from deskapp.qt.models.people_models import GroupColumn, GroupsModel, UserColumn, UsersModel
from deskapp.qt.runner import DbRunner
from deskapp.qt.views import password_dialog
from deskapp.qt.views.admin_menu import AdminMenu
from deskapp.qt.views.groups_admin import GroupsWindow, NewGroupDialog
from deskapp.qt.views.password_dialog import PasswordDialog
from deskapp.qt.views.sign_in_dialog import SignInAnswer, SignInDialog
from deskapp.qt.views.users_admin import UsersWindow
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.services.accounts import AccountService
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.people_admin import PeopleAdminService
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow
from deskapp.settings import Settings
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await
from tests.qt.forms import screenshot

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "a long enough password"


def test_the_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    users = UsersModel(clock=lambda: now)
    qtmodeltester.check(users, force_py=True)
    users.set_rows([
        UserAdminRow(1, "ann", "Ann Agent", "", Role.AGENT, True, True, 3, (1,), ("Desk",),
                     datetime(2026, 3, 2, 9, 10, tzinfo=UTC), True, True),
        UserAdminRow(2, "bob", "Bob", "", Role.ADMIN, False, False, 1)])
    qtmodeltester.check(users, force_py=True)
    assert users.index(0, UserColumn.STATUS).data() == (
        "Active, away, locked until 09:10 UTC, must choose a new password")
    assert users.index(1, UserColumn.STATUS).data() == "Inactive"
    assert users.index(1, UserColumn.NAME).data(Qt.ItemDataRole.ForegroundRole) is not None
    groups = GroupsModel()
    qtmodeltester.check(groups, force_py=True)
    groups.set_rows([GroupAdminRow(1, "Desk", "First line", 1, "Ann Agent", True, 2, (1, 2),
                                   1234)])
    qtmodeltester.check(groups, force_py=True)
    assert groups.index(0, GroupColumn.OPEN).data() == "1,234"
    assert groups.index(0, GroupColumn.MEMBERS).data() == "2"


def _people(database: Database, user: User, clock: FakeClock) -> PeopleAdminService:
    return PeopleAdminService(database.uow_factory, user.id, None, clock, FAST)


def _tick(widget: QListWidget, text: str, checked: bool) -> None:
    for i in range(widget.count()):
        if widget.item(i).text().startswith(text):
            widget.item(i).setCheckState(Qt.CheckState.Checked if checked
                                         else Qt.CheckState.Unchecked)
            return
    raise AssertionError(f"no entry {text!r}")


def _answer(qtbot: QtBot, parent: UsersWindow | GroupsWindow, button: Button) -> str:
    def open_box() -> QuestionBox | None:
        # An answered box may linger (deleteLater) next to the new one.
        return next((b for b in parent.findChildren(QuestionBox) if b.isVisible()), None)

    qtbot.waitUntil(lambda: open_box() is not None)
    box = open_box()
    assert box is not None
    text = f"{box.text()} {box.informativeText()}"
    box.button(button).click()
    return text


def test_users_window_edits_filters_resets_and_deactivates(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        service: IncidentService, clock: FakeClock, caller: CallerView) -> None:
    people = _people(database, admin, clock)
    desk = people.create_group("Service Desk")
    people.create_group("Network")
    ann = people.create_user("ann", "Ann Agent", "ann@example.com", Role.AGENT, PASSWORD,
                             [desk])
    service.log_call(LogCallRequest(caller_id=caller.id, short_description="Printer",
                                    impact=3, urgency=3, assignment_group_id=desk,
                                    assignee_id=ann))
    window = UsersWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load())
    assert window.model.rowCount() == 2
    qtbot.keyClicks(window.filter_edit, "agent")
    assert window.proxy.rowCount() == 1
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Return)
    assert window.table.hasFocus() and window.current().id == ann
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert window.full_name.hasFocus()
    window.full_name.setText("Ann Andersen")
    window.role.setCurrentIndex(window.role.findData("lead"))
    _tick(window.groups, "Network", True)
    run(window._save(window.current()))
    stored = next(u for u in people.users() if u.id == ann)
    assert (stored.full_name, stored.role, stored.group_names) == (
        "Ann Andersen", Role.LEAD, ("Network", "Service Desk"))
    window.filter_edit.clear()  # "agent" no longer matches her: she is a lead now
    assert window.current() is not None and window.current().id == ann
    # Another admin changes her meanwhile: this window's edit is refused, typing kept.
    other = add_user(database, "bea", Role.ADMIN)
    _people(database, other, clock).update_user(ann, stored.version, full_name="Ann B",
                                                email="", role=Role.LEAD)
    window.email.setText("ann@new.example.com")
    run(window._save(window.current()))
    assert "changed by bea" in window.status.text()
    assert window.email.text() == "ann@new.example.com"
    run(window.load(ann))
    assert window.full_name.text() == "Ann B"
    # Reset password: the dialog asks twice and unlocks.
    dialog = window.open_reset_password()
    assert isinstance(dialog, PasswordDialog)
    dialog.new.setText("one new password")
    dialog.repeat.setText("another one")
    dialog.try_accept()
    assert "differ" in dialog.error.text()
    dialog.new.setText("one new password")
    dialog.repeat.setText("one new password")
    dialog.try_accept()
    qtbot.waitUntil(lambda: "was reset" in window.status.text())
    assert next(u for u in people.users() if u.id == ann).must_change
    # Deactivate: the question names her open incident.
    qtbot.mouseClick(window.active_button, Qt.MouseButton.LeftButton)
    asked = _answer(qtbot, window, Button.Yes)
    assert "1 open incident still assigned" in asked
    qtbot.waitUntil(lambda: "is deactivated" in window.status.text())
    assert not next(u for u in people.users() if u.id == ann).active
    assert window.active_button.text() == "&Reactivate"
    qtbot.mouseClick(window.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "active again" in window.status.text())
    # The admin cannot deactivate themselves: refused before any question, and the button
    # says why (it used to ask "Deactivate Ada Admin?" and refuse only after Yes).
    run(window.load(admin.id))
    assert window.current() is not None and window.current().id == admin.id
    assert not window.active_button.isEnabled()
    assert "your own account" in window.active_button.toolTip()
    screenshot(window, "users-own-account")
    run(window.toggle_active())  # even when reached another way
    assert "your own account" in window.status.text()
    assert not any(b.isVisible() for b in window.findChildren(QuestionBox))
    assert next(u for u in people.users() if u.id == admin.id).active
    # Someone else's row gets the button back.
    run(window.load(ann))
    assert window.active_button.isEnabled() and window.active_button.toolTip() == ""


def test_new_user_dialog_creates_a_person(qtbot: QtBot, run: Await, database: Database,
                                          admin: User, runner: DbRunner,
                                          clock: FakeClock) -> None:
    window = UsersWindow(_people(database, admin, clock), runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load())
    dialog = window.open_new_user()
    dialog.username.setText("Not Valid")
    dialog.full_name.setText("Carl")
    dialog.password.setText(PASSWORD)
    dialog.repeat.setText(PASSWORD)
    run(dialog.submit())
    assert "username" in dialog.error.text().lower() and dialog.isVisible()
    dialog.username.setText("carl")
    dialog.password.setText(PASSWORD)
    dialog.repeat.setText(PASSWORD)
    run(dialog.submit())
    qtbot.waitUntil(lambda: window.current() is not None
                    and window.current().username == "carl")
    assert window.groups.hasFocus() or window.groups.isEnabled()


def test_groups_window_creates_renames_sets_members_and_deactivates(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        service: IncidentService, clock: FakeClock, caller: CallerView) -> None:
    people = _people(database, admin, clock)
    desk = people.create_group("Service Desk")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    service.log_call(LogCallRequest(caller_id=caller.id, short_description="Printer",
                                    impact=3, urgency=3, assignment_group_id=desk))
    window = GroupsWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load())
    dialog = window.open_new_group()
    assert isinstance(dialog, NewGroupDialog)
    dialog.name.setText("service desk")
    run(dialog.submit())
    assert "already a group named" in dialog.error.text()
    dialog.name.setText("Network")
    run(dialog.submit())
    qtbot.waitUntil(lambda: window.current() is not None and window.current().name == "Network")
    window.lead.setCurrentIndex(window.lead.findData(ann))
    window.description.setText("Switches and Wi-Fi")
    # Keyboard only: Space ticks the current person, Ctrl+S saves.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.members.setFocus()
    row = next(i for i in range(window.members.count())
               if window.members.item(i).text().startswith("Ann Agent"))
    window.members.setCurrentRow(row)
    qtbot.keyClick(window.members, Qt.Key.Key_Space)
    assert window.members.item(row).checkState() == Qt.CheckState.Checked
    qtbot.keyClick(window.members, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    # Saving reloads the list and selects the group again: wait for that reload to end, so
    # that it cannot land after (and override) the load below.
    qtbot.waitUntil(lambda: (current := window.current()) is not None
                    and current.member_ids == (ann,) and window.save_button.isEnabled())
    network = next(g for g in people.groups() if g.name == "Network")
    assert (network.lead_name, network.member_ids, network.description) == (
        "Ann Agent", (ann,), "Switches and Wi-Fi")
    run(window.load(desk))
    assert window.open_label.text() == "1"
    qtbot.mouseClick(window.active_button, Qt.MouseButton.LeftButton)
    asked = _answer(qtbot, window, Button.Yes)
    assert "1 open incident still in it" in asked
    qtbot.waitUntil(lambda: "is deactivated" in window.status.text())
    assert not next(g for g in people.groups() if g.id == desk).active


def test_admin_menu_offers_people_windows_to_admins_only(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    menus = {}
    for user in (admin, agent):
        window = app.build_main_window(database, user, runner, window_settings=window_settings,
                                       clock=clock, live_updates=False)
        qtbot.addWidget(window)
        menu = window.findChild(AdminMenu)
        assert menu is not None
        menus[user.role] = menu
        assert window.findChild(type(menu.users_action), "changePasswordAction") is not None
    assert menus[Role.ADMIN].users_action.isVisible()
    assert menus[Role.ADMIN].groups_action.isVisible()
    assert not menus[Role.AGENT].users_action.isVisible()
    assert not menus[Role.AGENT].groups_action.isVisible()
    users = menus[Role.ADMIN].open_users()
    qtbot.waitUntil(lambda: users.model.rowCount() == 2)
    groups = menus[Role.ADMIN].open_groups()
    qtbot.waitUntil(lambda: groups.status.text().endswith("."))
    # Even shown, the service refuses an agent.
    refused = menus[Role.AGENT].open_users()
    qtbot.waitUntil(lambda: "may not manage people" in refused.status.text())


def test_change_password_from_the_help_menu(qtbot: QtBot, database: Database, admin: User,
                                            runner: DbRunner, window_settings: QSettings,
                                            clock: FakeClock, backend: str) -> None:
    accounts = AccountService(database.uow_factory, None, clock, FAST)
    accounts.reset_password("admin", "the first password", actor_id=admin.id)
    window = app.build_main_window(database, admin, runner, window_settings=window_settings,
                                   clock=clock, live_updates=False)
    qtbot.addWidget(window)
    action = next(a for a in window.findChildren(type(window.menuBar().actions()[0]))
                  if a.objectName() == "changePasswordAction")
    action.trigger()
    dialog = window.findChild(PasswordDialog)
    assert dialog is not None
    if backend == "postgres":
        # A database login: the server checked the current password at connect time. (Not
        # submitted here: it would ALTER the shared test server's own login.)
        assert not dialog.current.isVisibleTo(dialog)
        assert "database login" in dialog.findChild(QLabel, "introLabel").text()
        return
    assert dialog.current.isVisibleTo(dialog)
    dialog.current.setText("not the password")
    dialog.new.setText("my new password")
    dialog.repeat.setText("my new password")
    dialog.try_accept()
    qtbot.waitUntil(lambda: "current password is wrong" in dialog.error.text())
    dialog.current.setText("the first password")
    dialog.new.setText("my new password")
    dialog.repeat.setText("my new password")
    with qtbot.waitSignal(dialog.accepted):
        dialog.try_accept()
    assert AccountService(database.uow_factory, None, clock, FAST).sign_in(
        "admin", "my new password").id == admin.id


def test_sign_in_asks_for_a_new_password_after_a_reset(
        database: Database, admin: User, monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    if backend == "postgres":
        pytest.skip("local accounts only: PostgreSQL logins are never reset to must-change")
    AccountService(database.uow_factory, None).create_user(
        "ann", "Ann Agent", "", Role.AGENT, "set by the admin", actor_id=admin.id)
    asked: list[str] = []
    typed = ["set by the admin"]

    def sign_in_dialog(_mode: object, attempt: object, **_kwargs: object) -> User:
        return attempt(SignInAnswer("ann", typed[0]))  # type: ignore[operator,no-any-return]

    def choose(accounts: AccountService, user: User, current: str) -> bool:
        asked.append(current)
        accounts.change_password(user.id, current, "chosen by ann herself")
        typed[0] = "chosen by ann herself"
        return True

    monkeypatch.setattr(SignInDialog, "ask", sign_in_dialog)
    monkeypatch.setattr(app, "ask_new_password_at_sign_in", choose)
    settings = Settings(database_url=database.engine.url.render_as_string(hide_password=False))
    user = app.authenticate(settings, database)
    assert user is not None and user.username == "ann" and asked == ["set by the admin"]
    # Next time nothing is asked: she chose her own.
    assert app.authenticate(settings, database) is not None and len(asked) == 1
    # Cancelling the change means not signing in.
    AccountService(database.uow_factory, None).reset_password(
        "ann", "set by the admin", actor_id=admin.id)
    typed[0] = "set by the admin"
    monkeypatch.setattr(app, "ask_new_password_at_sign_in", lambda *_a: False)
    assert app.authenticate(settings, database) is None


def test_the_required_change_dialog_works_without_a_loop(qtbot: QtBot) -> None:
    calls: list[tuple[str, str]] = []
    dialog = PasswordDialog("Choose", "intro", lambda old, new: calls.append((old, new)),
                            ask_current=False, current="typed at sign-in")
    qtbot.addWidget(dialog)
    assert not dialog.current.isVisibleTo(dialog)
    dialog.new.setText("brand new password")
    dialog.repeat.setText("brand new password")
    dialog.try_accept()
    assert calls == [("typed at sign-in", "brand new password")]
    assert password_dialog.ask_new_password_at_sign_in.__doc__


def test_moving_to_another_person_asks_before_throwing_away_typing(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock) -> None:
    people = _people(database, admin, clock)
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    bob = people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD)
    window = UsersWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load(ann))
    window.full_name.setText("Ann Typed")
    window.select(bob)
    _answer(qtbot, window, Button.Cancel)
    qtbot.waitUntil(lambda: not window._asking)  # the answer has been taken
    assert window.current().id == ann and window.full_name.text() == "Ann Typed"
    window.select(bob)
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: window.full_name.text() == "Bob Agent")
    assert next(u for u in people.users() if u.id == ann).full_name == "Ann Agent"
    run(window.load(ann))
    window.full_name.setText("Ann Saved")
    window.select(bob)
    _answer(qtbot, window, Button.Save)
    qtbot.waitUntil(lambda: window.full_name.text() == "Bob Agent")
    assert next(u for u in people.users() if u.id == ann).full_name == "Ann Saved"
    assert f"Saved {isolate('Ann Saved')}" in window.status.text()


def test_esc_and_closing_ask_before_throwing_away_typing(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock) -> None:
    people = _people(database, admin, clock)
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    window = UsersWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    run(window.load(ann))
    window.full_name.setFocus()
    window.full_name.setText("Ann Typed")
    qtbot.keyClick(window.full_name, Qt.Key.Key_Escape)
    assert "not saved" in _answer(qtbot, window, Button.Cancel)
    qtbot.waitUntil(lambda: not window._asking)
    assert window.isVisible() and window.full_name.text() == "Ann Typed"
    window.close()  # the title bar's close button, or Alt+F4
    _answer(qtbot, window, Button.Save)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert next(u for u in people.users() if u.id == ann).full_name == "Ann Typed"
    # Discard closes and writes nothing; without typing, Esc just closes.
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    run(window.load(ann))
    window.email.setText("typed@example.com")
    qtbot.keyClick(window.email, Qt.Key.Key_Escape)
    _answer(qtbot, window, Button.Discard)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert next(u for u in people.users() if u.id == ann).email == ""
    assert window.email.text() == ""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    run(window.load(ann))
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not [b for b in window.findChildren(QuestionBox) if b.isVisible()]


@pytest.mark.parametrize("kind", ["users", "groups"])
def test_tab_leaves_the_table_and_enter_in_a_field_saves(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock, kind: str) -> None:
    people = _people(database, admin, clock)
    desk = people.create_group("Desk")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    window: UsersWindow | GroupsWindow = (UsersWindow(people, runner) if kind == "users"
                                          else GroupsWindow(people, runner))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    run(window.load(ann if kind == "users" else desk))
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Tab)
    first = window.first_field()
    assert first.hasFocus()
    assert isinstance(first, QLineEdit)
    qtbot.keyClick(first, Qt.Key.Key_Tab)
    second = window.email if isinstance(window, UsersWindow) else window.description
    assert second.hasFocus()
    qtbot.keyClicks(second, " x@y.org")
    qtbot.keyClick(second, Qt.Key.Key_Return)
    if isinstance(window, UsersWindow):
        qtbot.waitUntil(lambda: next(u for u in people.users() if u.id == ann).email
                        == "x@y.org")
    else:
        qtbot.waitUntil(lambda: next(g for g in people.groups() if g.id == desk)
                        .description == "x@y.org")
    qtbot.waitUntil(lambda: "Saved" in window.status.text())


def test_names_sort_naturally_and_status_lines_stay_left_to_right(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock) -> None:
    people = _people(database, admin, clock)
    for name in ("Group 10", "Group 2", "group 1", "Group 100"):
        people.create_group(name)
    for number in (100, 9, 10):
        people.create_user(f"r{number}", f"Resolver {number}", "", Role.AGENT, PASSWORD)
    maryam = people.create_user("maryam", "مريم العلي", "", Role.AGENT, PASSWORD)
    window = UsersWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load(maryam))
    names = [window.proxy.index(i, UserColumn.NAME).data()
             for i in range(window.proxy.rowCount())]
    resolvers = [n for n in names if n.startswith("Resolver")]
    assert resolvers == ["Resolver 9", "Resolver 10", "Resolver 100"]
    assert [window.groups.item(i).text() for i in range(window.groups.count())] == [
        "group 1", "Group 2", "Group 10", "Group 100"]
    window.email.setText("maryam@example.com")
    run(window._save(window.current()))
    # Isolated, and after a left-to-right mark: the sentence is laid out left to right.
    assert window.status.text() == "\u200eSaved \u2068مريم العلي\u2069."
    groups = GroupsWindow(people, runner)
    qtbot.addWidget(groups)
    groups.show()
    run(groups.load())
    qtbot.waitUntil(lambda: groups.current() is not None)
    assert [groups.proxy.index(i, GroupColumn.NAME).data()
            for i in range(groups.proxy.rowCount())] == [
        "group 1", "Group 2", "Group 10", "Group 100"]
    first = next(g for g in people.groups() if g.name == "Group 100")
    people.update_group(first.id, first.version, name=first.name, description="",
                        lead_id=None, member_ids=[maryam])
    run(groups.load(first.id))
    ticks = [groups.members.item(i).text() for i in range(groups.members.count())]
    assert ticks[0] == "مريم العلي (agent)"  # members first, then the others by name
    assert [t for t in ticks if t.startswith("Resolver")] == [
        "Resolver 9 (agent)", "Resolver 10 (agent)", "Resolver 100 (agent)"]


def test_the_groups_table_sorts_counts_by_value(qtbot: QtBot) -> None:
    from deskapp.qt.views.admin_table_window import NaturalSortProxy

    model = GroupsModel()
    model.set_rows([GroupAdminRow(1, "A", "", None, "", True, 1, (1, 2), 1234),
                    GroupAdminRow(2, "B", "", None, "", True, 1, tuple(range(10)), 999)])
    proxy = NaturalSortProxy()
    proxy.setSourceModel(model)
    proxy.sort(GroupColumn.OPEN)
    assert [proxy.index(i, GroupColumn.OPEN).data() for i in range(2)] == ["999", "1,234"]
    proxy.sort(GroupColumn.MEMBERS)
    assert [proxy.index(i, GroupColumn.MEMBERS).data() for i in range(2)] == ["2", "10"]


def test_a_refused_member_change_saves_nothing_of_the_groups_panel(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        clock: FakeClock) -> None:
    people = _people(database, admin, clock)
    desk = people.create_group("Desk")
    bob = people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD)
    window = GroupsWindow(people, runner)
    qtbot.addWidget(window)
    window.show()
    run(window.load(desk))
    window.name.setText("Desk Renamed")
    _tick(window.members, "Bob Agent", True)
    people.deactivate_user(bob, next(u for u in people.users() if u.id == bob).version)
    run(window._save(window.current()))
    assert "inactive and cannot join" in window.status.text()
    assert "Nothing was changed" in window.status.text()
    stored = next(g for g in people.groups() if g.id == desk)
    assert (stored.name, stored.member_ids) == ("Desk", ())
    assert window.name.text() == "Desk Renamed"  # the typing stays to correct
