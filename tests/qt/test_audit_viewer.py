"""The audit viewer: its model, filters, "Verify chain", and the Admin menu entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QDate, QSettings, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp import app
from deskapp.domain.audit import GENESIS, AuditEntry
from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.models.audit_model import AuditColumn, AuditModel
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.admin_menu import AdminMenu
from deskapp.qt.views.audit_viewer import AuditViewer
from deskapp.services import audit
from deskapp.services.audit import AuditRow, AuditService
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.people_admin import PeopleAdminService
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await, log_incidents
from tests.qt.forms import screenshot

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_audit_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AuditModel()
    qtmodeltester.check(model, force_py=True)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    model.set_rows([AuditRow(AuditEntry(2, at, 1, "admin", "incident_created", "incident",
                                        "7",
                                        '{"number":"INC0000007","note":"line\\nbreak\\u202e"}',
                                        "a" * 64, "b" * 64), "INC0000007",
                             "note: line\nbreak\u202e"),
                    AuditRow(AuditEntry(1, at, None, "", "change", "", "", "{}", GENESIS,
                                        "a" * 64), "", "")])
    qtmodeltester.check(model, force_py=True)
    assert model.index(0, AuditColumn.ACTION).data() == "incident created"
    assert model.index(1, AuditColumn.ACTOR).data() == "(system)"
    assert "\n" not in model.index(0, AuditColumn.DETAILS).data()


def test_viewer_filters_and_verifies(qtbot: QtBot, run: Await, database: Database,
                                     admin: User, runner: DbRunner, service: IncidentService,
                                     clock: FakeClock, caller: CallerView) -> None:
    log_incidents(service, clock, caller, 3)
    viewer = AuditViewer(AuditService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(viewer)
    viewer.show()
    run(viewer.load())
    assert viewer.model.rowCount() >= 4
    viewer.action.setCurrentIndex(viewer.action.findData(audit.INCIDENT_CREATED))
    run(viewer.load())
    assert viewer.model.rowCount() == 3
    assert {r.entry.action for r in viewer.model.rows} == {audit.INCIDENT_CREATED}
    run(viewer.verify())
    assert viewer.status.text().startswith("The chain holds")
    viewer.grab().save("/tmp/sec-audit-viewer.png")

    with database.engine.begin() as connection:  # someone with the owner's rights
        if database.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
        if database.dialect != "sqlite":
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    qtbot.mouseClick(viewer.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "broken at row 2" in viewer.status.text())


def test_admin_menu_offers_the_trail_to_admins_only(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    for user, visible in ((admin, True), (agent, False)):
        window = app.build_main_window(database, user, runner, window_settings=window_settings,
                                       clock=clock, live_updates=False)
        qtbot.addWidget(window)
        menu = window.findChild(AdminMenu)
        assert menu is not None and menu.audit_action.isVisible() is visible
    menu.audit_action.setVisible(True)  # even if shown, the service refuses an agent
    viewer = menu.open_audit_viewer()
    qtbot.waitUntil(lambda: "may not manage people" in viewer.status.text())


def test_rows_read_as_words_and_who_and_dates_filter(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        service: IncidentService, clock: FakeClock, caller: CallerView) -> None:
    """Details name groups, people and incidents (not '{"group_ids":[1,2]}' or 'incident
    24922'), the raw JSON stays in the tooltip; Who takes a name or username in any case;
    From and To bound the days."""
    people = PeopleAdminService(database.uow_factory, admin.id, None, clock)
    network = people.create_group("Network 10")
    desk = people.create_group("Network 9")
    ann = people.create_user("ann", "Ann Agent", "ann@example.com", Role.AGENT,
                             "a long enough password", [])
    version = next(u for u in people.users() if u.id == ann).version
    people.update_user(ann, version, full_name="Ann Agent", email="ann@example.com",
                       role=Role.AGENT, group_ids={network, desk})
    incident = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Printer jams", impact=2, urgency=2))[0]
    service.assign(incident.id, incident.version, network, ann)
    viewer = AuditViewer(AuditService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(viewer)
    viewer.show()
    run(viewer.load())
    rows = {r.entry.action: r for r in viewer.model.rows}
    groups_set = rows[audit.USER_GROUPS_SET]
    index = viewer.model.index(viewer.model.rows.index(groups_set), AuditColumn.DETAILS)
    assert index.data() == "groups: Network 9, Network 10; username: ann"
    assert "group_ids" in index.data(Qt.ItemDataRole.ToolTipRole)  # the raw JSON too
    assert viewer.model.index(viewer.model.rows.index(groups_set),
                              AuditColumn.WHAT).data() == "user Ann Agent"
    created = rows[audit.INCIDENT_CREATED]
    what = viewer.model.index(viewer.model.rows.index(created), AuditColumn.WHAT).data()
    assert what == incident.number and what.startswith("INC")
    updated = rows[audit.INCIDENT_UPDATED]
    assert viewer.model.index(viewer.model.rows.index(updated),
                              AuditColumn.WHAT).data() == incident.number
    details = viewer.model.index(viewer.model.rows.index(updated), AuditColumn.DETAILS).data()
    assert "assignment group: — → Network 10" in details
    assert "assignee: — → Ann Agent" in details
    screenshot(viewer, "audit-viewer-words")

    everything = viewer.model.rowCount()
    for who in ("ADMIN", admin.full_name, admin.full_name.upper()[:4]):
        viewer.actor.setText(who)
        run(viewer.load())
        assert viewer.model.rowCount() > 0, who
        assert {r.entry.actor for r in viewer.model.rows} == {admin.username}, who
    viewer.actor.setText("nobody at all")
    run(viewer.load())
    assert viewer.model.rowCount() == 0
    assert "Nobody whose username or name contains 'nobody at all'" in viewer.status.text()
    viewer.actor.clear()
    # Days: every row is from today (local time); tomorrow on shows nothing.
    today = QDate.currentDate()
    viewer.since.setDate(today)
    viewer.until.setDate(today)
    run(viewer.load())
    assert viewer.model.rowCount() == everything
    viewer.since.setDate(today.addDays(1))
    viewer.until.setDate(today.addDays(2))
    run(viewer.load())
    assert viewer.model.rowCount() == 0
    viewer.since.setDate(today.addDays(-3))
    viewer.until.setDate(today.addDays(-1))
    run(viewer.load())
    assert viewer.model.rowCount() == 0
    viewer.until.setDate(viewer.until.minimumDate())  # "any"
    run(viewer.load())
    assert viewer.model.rowCount() == everything
