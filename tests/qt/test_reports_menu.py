"""The Reports menu: the review of the selected incident, and the period report made off the
GUI thread with a progress dialog that can cancel it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.report_dialogs import PeriodReportDialog
from deskapp.qt.views.reports_menu import ReportsMenu
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.report_data import PeriodFilters
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def window(qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock, incidents: int,
           run: Await) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock, live_updates=False)
    qtbot.addWidget(main)
    main.resize(1200, 600)
    main.show()
    run(main.refresh())
    yield main
    main.close()


@pytest.fixture
def menu(window: MainWindow) -> ReportsMenu:
    found = window.findChild(ReportsMenu)
    assert isinstance(found, ReportsMenu)
    found.exporter.offer_to_open = False
    return found


def answer_file_dialog(monkeypatch: pytest.MonkeyPatch, path: Path | None) -> None:
    async def ask(cls: type, parent: object, **kwargs: Any) -> Path | None:
        return path

    monkeypatch.setattr(PathDialog, "ask", classmethod(ask))


def test_the_reports_menu_is_in_the_menu_bar(window: MainWindow, menu: ReportsMenu) -> None:
    assert "&Reports" in [a.text() for a in window.menuBar().actions()]
    assert [a.text() for a in menu.menu.actions()] == ["Post-incident &review…",
                                                       "&Period report…"]


def test_review_opens_for_the_selected_incident(window: MainWindow, menu: ReportsMenu,
                                                qtbot: QtBot) -> None:
    window.table.setCurrentIndex(window.model.index(0, 0))
    form = menu.open_review_of_selected()
    assert form is not None
    qtbot.waitUntil(lambda: bool(form.number), timeout=10_000)
    assert form.incident_id == window.table.currentIndex().data(ItemRole.ID)
    assert menu.open_review(form.incident_id) is form  # brought forward, not doubled
    form.close()


def test_period_report_is_written_off_the_gui_thread(window: MainWindow, menu: ReportsMenu,
                                                     run: Await, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     clock: FakeClock) -> None:
    path = tmp_path / "march.pdf"
    answer_file_dialog(monkeypatch, path)
    threads: list[str] = []
    original = menu.reports.period_report

    def spy(filters: PeriodFilters) -> Any:
        threads.append(threading.current_thread().name)
        return original(filters)

    monkeypatch.setattr(menu.reports, "period_report", spy)
    day = clock.now.date()
    written = run(menu.period_report(filters=PeriodFilters(day.replace(day=1), day)))
    assert written == path
    assert threads and threads[0] != threading.main_thread().name
    text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Incident management report" in text


def test_cancel_leaves_no_file(window: MainWindow, menu: ReportsMenu, run: Await,
                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               qtbot: QtBot) -> None:
    path = tmp_path / "cancelled.pdf"
    answer_file_dialog(monkeypatch, path)
    release = threading.Event()
    original = menu.reports.period_report

    def slow(filters: PeriodFilters) -> Any:
        release.wait(10)
        return original(filters)

    monkeypatch.setattr(menu.reports, "period_report", slow)
    result: list[Path | None] = []

    async def go() -> None:
        result.append(await menu.period_report(
            filters=PeriodFilters(date(2026, 3, 1), date(2026, 3, 2))))

    job = asyncio.get_event_loop().create_task(go())
    qtbot.waitUntil(lambda: menu.exporter.progress is not None, timeout=5_000)
    menu.exporter.cancel()
    qtbot.waitUntil(job.done, timeout=5_000)
    release.set()
    assert result == [None]
    qtbot.wait(200)
    assert not path.exists() and list(tmp_path.glob("*.part")) == []


def test_period_dialog_refuses_a_reversed_range(qtbot: QtBot, window: MainWindow,
                                                menu: ReportsMenu, run: Await) -> None:
    choices = run(window_choices(menu))
    dialog = PeriodReportDialog(choices, [(1, "P1 - Critical")], date(2026, 4, 15), window)
    qtbot.addWidget(dialog)
    assert dialog.from_edit.date().toPython() == date(2026, 3, 1)
    assert dialog.to_edit.date().toPython() == date(2026, 3, 31)
    dialog.to_edit.setDate(dialog.from_edit.date().addDays(-1))
    dialog._accept_if_valid()
    assert "starts after it ends" in dialog.error_label.text()
    dialog.priority_boxes[0][1].setChecked(True)
    dialog.to_edit.setDate(dialog.from_edit.date())
    dialog._accept_if_valid()
    assert dialog.filters is not None and dialog.filters.priorities == (1,)


async def window_choices(menu: ReportsMenu) -> Any:
    return menu._queues.choices()
