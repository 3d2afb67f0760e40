"""A person deactivated while Deskapp is open (PostgreSQL): their sessions are ended, the
window says why and closes instead of reconnecting forever, and unsaved form text is kept as
a draft. Against the real server, with the role set installed in a private database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import make_url

from deskapp.app import build_main_window
from deskapp.domain.enums import Role
from deskapp.domain.errors import DatabaseUnavailableError, LoginRefusedError
from deskapp.domain.people import User
from deskapp.persistence import live
from deskapp.persistence.database import Database, open_database
from deskapp.qt.drafts import CALL_KEY, ENV_DRAFTS_DIR, DraftStore
from deskapp.qt.live import LiveUpdates
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.form_host import FormHost
from deskapp.qt.views.main_window import ACCOUNT_DEACTIVATED
from deskapp.qt.widgets.questions import QuestionBox
from deskapp.services.accounts import AccountService
from deskapp.services.changes import ChangeNotice
from deskapp.services.people_admin import PeopleAdminService
from deskapp.services.ports import ChangeFeed
from deskapp.services.setup import ensure_admin
from tests.conftest import FakeClock
from tests.qt.conftest import Await
from tests.qt.forms import OFFSCREEN_FORM_NOISE, screenshot
from tests.support.databases import database_with_roles, postgres_admin_url

pytestmark = [pytest.mark.postgres, pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)]

PASSWORD = "pg-login-password-1"
TYPED = "Typed just before my account was closed"


@dataclass
class Desk:
    """A private database with the role set installed under a prefix of its own."""

    url: str
    database: Database
    prefix: str
    owner: User

    def login_url(self, username: str) -> str:
        return make_url(self.url).set(username=username, password=PASSWORD) \
            .render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    prefix = f"dq{uuid.uuid4().hex[:8]}_"
    logins = [f"{prefix}leaver", f"{prefix}nologin"]
    with database_with_roles(admin_url, prefix, logins) as (url, database):
        yield Desk(url, database, prefix, ensure_admin(database.uow_factory))


@pytest.fixture
def database(desk: Desk) -> Database:
    """The owner's connection to this module's desk (it overrides the shared fixture)."""
    return desk.database


def test_a_refused_login_is_told_apart_from_an_outage(desk: Desk) -> None:
    name = f"{desk.prefix}nologin"
    AccountService(desk.database.uow_factory, desk.database.logins).create_user(
        name, "No Login", "", Role.AGENT, PASSWORD, actor_id=desk.owner.id)
    person = open_database(desk.login_url(name), upgrade=False)
    desk.database.logins.set_login_enabled(name, False)
    try:
        with pytest.raises(LoginRefusedError, match="deactivated by an administrator") as caught:
            person.open_change_feed()
        assert f'role "{name}" is not permitted to log in' in str(caught.value)
        assert isinstance(caught.value, DatabaseUnavailableError)
    finally:
        person.close()
    assert live.login_refused(psycopg.OperationalError(
        f'connection failed: FATAL:  role "{name}" is not permitted to log in'))
    assert not live.login_refused(psycopg.OperationalError(
        "connection failed: Connection refused"))


class RefusingFeed:
    """Opens once, loses the link, then every reconnect is refused (counted)."""

    def __init__(self) -> None:
        self.opened = 0
        self.lost = threading.Event()

    def __call__(self) -> ChangeFeed:
        self.opened += 1
        if self.opened > 1:
            raise LoginRefusedError("Your account has been deactivated by an administrator.")
        return self  # type: ignore[return-value]

    def wait(self, timeout: float) -> ChangeNotice | None:
        self.lost.wait(timeout)
        if self.lost.is_set():
            raise DatabaseUnavailableError("The database is not available: terminated")
        return None

    def close(self) -> None:
        pass

    def reconnect(self) -> None:
        pass


def test_the_listener_stops_at_a_refused_login_instead_of_retrying(
        qtbot: QtBot, run: Await) -> None:
    feed = RefusingFeed()
    updates = LiveUpdates(feed)

    async def start() -> None:
        updates.start()

    run(start())
    with qtbot.waitSignal(updates.login_refused, timeout=5000) as refused:
        feed.lost.set()
    assert refused.args == ["Your account has been deactivated by an administrator."]
    qtbot.waitUntil(lambda: not updates.running, timeout=3000)
    assert feed.opened == 2 and not updates.connected  # one refusal, no retries


def test_deactivating_an_open_session_closes_the_window_and_keeps_the_typed_call(
        qtbot: QtBot, run: Await, desk: Desk, clock: FakeClock, tmp_path: Path,
        window_settings: QSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DRAFTS_DIR, str(tmp_path / "drafts"))
    name = f"{desk.prefix}leaver"
    people = PeopleAdminService(desk.database.uow_factory, desk.owner.id,
                                desk.database.logins)
    user_id = people.create_user(name, "Lee Leaver", "", Role.AGENT, PASSWORD)
    person = open_database(desk.login_url(name), upgrade=False)
    runner = DbRunner.for_dialect(person.dialect)
    try:
        with person.uow_factory() as uow:
            user = uow.users.get(user_id)
        window = build_main_window(person, user, runner, window_settings=window_settings,
                                   clock=clock)
        qtbot.addWidget(window)
        window.resize(1200, 600)
        window.show()
        run(window.refresh())
        qtbot.waitUntil(lambda: not window.busy, timeout=15_000)
        host = window.findChild(FormHost)
        assert isinstance(host, FormHost)
        form = host.open_call_form()
        assert form is not None
        qtbot.waitSignal(form.ready, timeout=10_000).wait()
        form.ui.shortDescriptionEdit.setText(TYPED)

        row = next(u for u in people.users() if u.id == user_id)
        people.deactivate_user(user_id, row.version)

        qtbot.waitUntil(lambda: _box(window) is not None, timeout=20_000)
        box = _box(window)
        assert box is not None
        assert box.text() == ACCOUNT_DEACTIVATED
        assert "draft" in box.informativeText()
        banner = window.banner.findChild(QLabel, "bannerLabel")
        assert window.banner.isVisible() and banner.text() == ACCOUNT_DEACTIVATED
        assert window.connection_label.text() == "● Signed out"
        screenshot(window, "account-deactivated")
        screenshot(box, "account-deactivated-question")
        box.button(QuestionBox.StandardButton.Ok).click()
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
        draft = DraftStore(f"{name}@{person.display_name}").load(CALL_KEY)
        assert draft is not None
        assert draft.fields["shortDescriptionEdit"] == TYPED
    finally:
        runner.close()
        person.close()


def _box(window: QWidget) -> QuestionBox | None:
    box = window.findChild(QuestionBox)
    return box if box is not None and box.isVisible() else None
