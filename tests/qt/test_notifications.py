"""An incident newly assigned to the agent is announced, as the Settings say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.qt.notifications import AssignmentNotifier, assignment_message
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.user_settings import NotificationSettings, UserSettings
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def window(qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock, live_updates=False, preferences=UserSettings())
    qtbot.addWidget(main)
    main.show()
    run(main.refresh())
    qtbot.waitUntil(lambda: not main.busy, timeout=15_000)
    yield main


@pytest.fixture
def desk_group(database: Database, admin: User) -> int:
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Service Desk"), [admin.id])
        uow.commit()
    return group.id


def assign_to_me(service: IncidentService, caller: CallerView, admin: User, group: int,
                 text: str) -> None:
    service.log_call(LogCallRequest(caller_id=caller.id, short_description=text, impact=2,
                                    urgency=2, assignment_group_id=group,
                                    assignee_id=admin.id))


def test_a_new_assignment_is_announced_in_the_window(
        qtbot: QtBot, run: Await, window: MainWindow, service: IncidentService,
        caller: CallerView, admin: User, desk_group: int) -> None:
    notifier = window.findChild(AssignmentNotifier)
    assert isinstance(notifier, AssignmentNotifier)
    assert window.queue_model.count_of("built_in:my_open") == 0
    assign_to_me(service, caller, admin, desk_group, "Printer jams")
    with qtbot.waitSignal(notifier.notified, timeout=15_000) as told:
        run(window.refresh())
    assert told.args == ["1 more incident is assigned to you: see My open incidents."]
    assert window.statusBar().currentMessage() == f"🔔 {told.args[0]}"

    # Switched off in the Settings: nothing is said.
    notifier.set_settings(NotificationSettings(on_assignment=False))
    assign_to_me(service, caller, admin, desk_group, "Monitor flickers")
    with qtbot.assertNotEmitted(notifier.notified):
        run(window.refresh())
        qtbot.waitUntil(lambda: window.queue_model.count_of("built_in:my_open") == 2,
                        timeout=15_000)


def test_the_message_counts() -> None:
    assert assignment_message(3) == "3 more incidents are assigned to you: see My open " \
        "incidents."
