"""The audit viewer: its model, filters, "Verify chain", and the Admin menu entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QSettings, Qt
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
from deskapp.services.audit import AuditService
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await, log_incidents

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_audit_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AuditModel()
    qtmodeltester.check(model, force_py=True)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    model.set_rows([AuditEntry(2, at, 1, "admin", "incident_created", "incident", "7",
                               '{"number":"INC0000007","note":"line\\nbreak\\u202e"}',
                               "a" * 64, "b" * 64),
                    AuditEntry(1, at, None, "", "change", "", "", "{}", GENESIS, "a" * 64)])
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
    assert {r.action for r in viewer.model.rows} == {audit.INCIDENT_CREATED}
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
