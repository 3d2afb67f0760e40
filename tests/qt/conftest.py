"""Fixtures for GUI tests: a qasync loop on pytest-qt's QApplication, a runner, test data.

The loop is attached to the already existing QApplication (qasync's ``already_running``), so
coroutines advance whenever pytest-qt processes events: ``qtbot.waitUntil`` and
``qtbot.waitSignal`` drive them, exactly as ``app.exec()`` does in the application.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import ResolutionCode
from deskapp.persistence.database import Database
from deskapp.qt import theme
from deskapp.qt.runner import DbRunner
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock

T = TypeVar("T")

# The offscreen platform cannot resize windows to their size hints and says so whenever a
# status-bar label changes width; real platforms can. Not ours to fix, so not a failure.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"

OPEN_INCIDENTS = 250
RESOLVED_INCIDENTS = 5


class AttachedLoop(qasync.QEventLoop):  # type: ignore[misc]
    """A qasync loop on a QApplication that pytest-qt runs, detachable after each test.

    qasync's own ``stop()`` would call ``QApplication.exit()``, which makes every later
    nested event loop (``qtbot.waitSignal``) return at once: detach instead.
    """

    _detached = False  # a class default: the base __init__ already asks is_running()

    def __init__(self, app: QApplication) -> None:
        super().__init__(app, already_running=True)
        self._app = app

    def is_running(self) -> bool:
        return not self._detached and bool(super().is_running())

    def detach(self) -> None:
        """Stop being the running loop, so that close() may run."""
        self._detached = True
        # The counterparts of what qasync's already_running set-up did (both private, both
        # meant for loop implementations): it marked itself running and hooked aboutToQuit.
        asyncio.events._set_running_loop(None)
        self._app.aboutToQuit.disconnect(self._after_run_forever)


@pytest.fixture(scope="session", autouse=True)
def private_qsettings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep QSettings() of the code under test out of the real user's configuration."""
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, folder)


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Every test must stop the threads it starts (runner workers above all)."""
    before = set(threading.enumerate())
    yield
    # A live-updates listener ends on its own within one wait after its window closes.
    deadline = time.monotonic() + 3
    while True:
        leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leftover, f"threads left running: {[t.name for t in leftover]}"


@pytest.fixture
def qloop(qapp: QApplication, qtbot: QtBot) -> Iterator[AttachedLoop]:
    """The asyncio loop of the test, running on pytest-qt's QApplication."""
    loop = AttachedLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            qtbot.waitUntil(lambda: all(t.done() for t in tasks), timeout=5000)
        loop.detach()
        loop.close()
        asyncio.set_event_loop(None)


class Await:
    """Runs a coroutine on the test's loop and waits for it the pytest-qt way (no sleeps)."""

    def __init__(self, loop: AttachedLoop, qtbot: QtBot) -> None:
        self._loop = loop
        self._qtbot = qtbot

    def __call__(self, coro: Coroutine[Any, Any, T], timeout_ms: int = 15_000) -> T:
        task = self._loop.create_task(coro)
        self._qtbot.waitUntil(task.done, timeout=timeout_ms)
        return task.result()


@pytest.fixture
def run(qloop: AttachedLoop, qtbot: QtBot) -> Await:
    """``run(coro)`` drives ``coro`` to its end and returns its result."""
    return Await(qloop, qtbot)


@pytest.fixture
def runner(qloop: AttachedLoop, database: Database) -> Iterator[DbRunner]:
    """A runner sized for the test's database, closed (threads joined) after the test."""
    db_runner = DbRunner.for_dialect(database.dialect)
    try:
        yield db_runner
    finally:
        db_runner.close()


@pytest.fixture
def window_settings(tmp_path: Path) -> QSettings:
    """Window layout storage of the test's own."""
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


def log_incidents(service: IncidentService, clock: FakeClock, caller: CallerView,
                  count: int, *, resolved: bool = False, start: int = 0) -> None:
    """Log ``count`` calls, a minute apart, with impacts and urgencies spread over the matrix."""
    for i in range(start, start + count):
        clock.advance(minutes=1)
        service.log_call(LogCallRequest(
            caller_id=caller.id,
            short_description=f"Incident {i:03d}: printer on floor {i % 7} jams",
            impact=1 + i % 3,
            urgency=1 + (i // 3) % 3,
            resolution_code=ResolutionCode.SOLVED_REMOTELY if resolved else None,
            resolution_notes="Restarted the spooler." if resolved else "",
        ))


@pytest.fixture
def caller(service: IncidentService) -> CallerView:
    return service.add_caller("Grace Hopper", email="grace@example.com", vip=True)


@pytest.fixture
def incidents(service: IncidentService, clock: FakeClock, caller: CallerView) -> int:
    """250 open incidents (INC0000001..INC0000250) and 5 resolved ones after them."""
    log_incidents(service, clock, caller, OPEN_INCIDENTS)
    log_incidents(service, clock, caller, RESOLVED_INCIDENTS, resolved=True,
                  start=OPEN_INCIDENTS)
    return OPEN_INCIDENTS


@pytest.fixture
def app_theme(qapp: QApplication) -> Iterator[QApplication]:
    """Lets a test install a theme manager; the application is as before afterwards."""
    palette, style = QPalette(qapp.palette()), qapp.style().name()
    yield qapp
    found = theme.manager(qapp)
    if found is not None:
        found.setParent(None)
        found.deleteLater()
    qapp.setStyle(style)
    qapp.setPalette(palette)
    theme._current = theme.Scheme.LIGHT
