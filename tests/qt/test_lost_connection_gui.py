"""The GUI when PostgreSQL goes away and comes back (a private cluster the test stops and
starts; the shared server is never touched)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database, open_database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.incident_form import IncidentForm
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock
from tests.qt.conftest import Await
from tests.qt.forms import OFFSCREEN_FORM_NOISE, screenshot
from tests.support.databases import reset_postgres
from tests.support.private_postgres import PrivateCluster, cluster_for_tests

pytestmark = [pytest.mark.slow, pytest.mark.qt_log_ignore(OFFSCREEN_FORM_NOISE)]

TYPED = "Typed while the server was away: the VPN drops every 10 minutes."


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    yield from cluster_for_tests()


@pytest.fixture
def database(cluster: PrivateCluster) -> Iterator[Database]:
    """This module's desk is on the private cluster (it overrides the shared fixture)."""
    if not cluster.running:
        cluster.start()
    desk = open_database(cluster.url())
    reset_postgres(desk.engine)
    try:
        yield desk
    finally:
        if not cluster.running:
            cluster.start()
        desk.close()


def test_the_window_shows_the_outage_and_a_form_keeps_its_text_until_it_can_save(
        qtbot: QtBot, run: Await, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings, clock: FakeClock, cluster: PrivateCluster,
        service: IncidentService) -> None:
    caller = service.add_caller("Patient Caller")
    detail, _ = service.log_call(LogCallRequest(caller.id, "VPN drops", 2, 2))
    window = build_main_window(database, admin, runner, window_settings=window_settings,
                               clock=clock)
    qtbot.addWidget(window)
    window.resize(1200, 600)
    window.show()
    run(window.refresh())
    qtbot.waitUntil(lambda: not window.busy, timeout=15_000)
    form = IncidentForm(detail.id, incidents=IncidentService(database.uow_factory, admin.id,
                                                             clock),
                        catalog=CatalogService(database.uow_factory), runner=runner,
                        user=admin, clock=clock)
    qtbot.addWidget(form)
    form.resize(1320, 860)
    form.show()
    run(form.start())
    form.ui.descriptionEdit.setPlainText(TYPED)

    cluster.stop()
    qtbot.waitUntil(window.banner.isVisible, timeout=15_000)
    assert window.connection_label.text() == "● Reconnecting…"
    task = form.save()
    assert task is not None
    qtbot.waitUntil(task.done, timeout=30_000)
    assert task.result() is False
    error = form.ui.formError.text()
    assert error.startswith("Not saved:") and "not available" in error
    assert form.ui.descriptionEdit.toPlainText() == TYPED and form.dirty
    screenshot(window, "lost-connection-window")
    screenshot(form, "lost-connection-form")

    cluster.start()
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=30_000)
    assert window.connection_label.text() == "● Connected"
    with qtbot.waitSignal(form.saved, timeout=15_000):
        form.save()
    assert service.get(detail.id).description == TYPED
    assert "Saved INC0000001" in form.ui.savedBanner.text()
    form.discard()
    window.close()
