"""``deskapp --smoke-test``: prove an installation works, without a screen or a database.

It does what a user's first minute does, in a temporary folder that is removed afterwards:
create and migrate a SQLite database, sign in, add a few demo incidents, open the main
window offscreen, load a queue and paint it, then write a period report PDF with the
bundled fonts. Installers run it on the built bundle; support staff can run it on a desk.

Like app.py this is a composition root: it wires every layer, and is the only other module
besides app.py allowed to do so.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

SMOKE_TIMEOUT_SECONDS = 180.0
"""A smoke test that has not finished by then has hung; it fails rather than wait forever."""

DEMO_INCIDENTS = 60


class SmokeTestError(RuntimeError):
    """A step of the smoke test did not give what it should have."""


@dataclass(frozen=True)
class SmokeResult:
    """What the smoke test saw, for its one-line summary."""

    revision: str
    queue: str
    rows: int
    pdf_bytes: int
    seconds: float

    def summary(self) -> str:
        return (f"deskapp smoke test passed: schema {self.revision}, queue '{self.queue}' "
                f"with {self.rows} rows painted, report PDF {self.pdf_bytes / 1024:,.0f} KiB, "
                f"{self.seconds:.1f} s")


def run_smoke_test() -> int:
    """Run the smoke test; print one line saying how it went.

    Returns:
        0 when every step worked, 1 otherwise (the line on stderr says which step failed).
    """
    # Offscreen unless told otherwise: the smoke test must run on build machines and
    # servers without a display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="deskapp-smoke-") as folder:
            result = _smoke(Path(folder), started)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        print(f"deskapp: smoke test failed: {type(exc).__name__}: "
              f"{text[0] if text else 'no message'}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _smoke(folder: Path, started: float) -> SmokeResult:
    from PySide6.QtCore import QSettings

    # Window layout and remembered choices go to the temporary folder, not the user's.
    previous_handler = _quiet_offscreen_warnings()
    previous_format = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    try:
        return _smoke_in(folder, started)
    finally:
        QSettings.setDefaultFormat(previous_format)
        _restore_message_handler(previous_handler)


def _smoke_in(folder: Path, started: float) -> SmokeResult:
    from PySide6.QtCore import QSettings

    from deskapp import app
    from deskapp.persistence import migrate
    from deskapp.persistence.database import open_database
    from deskapp.services.demo import generate_demo
    from deskapp.services.setup import sign_in

    database = open_database(f"sqlite:///{folder / 'smoke.db'}")
    try:
        revision = migrate.current_revision(database.engine)
        if revision is None or revision != migrate.head_revision():
            raise SmokeTestError(f"the new database is at revision {revision}, "
                                 f"not {migrate.head_revision()}")
        user = sign_in(database.uow_factory, None)
        generate_demo(database.uow_factory, incidents=DEMO_INCIDENTS, seed=1)
        app._application()  # the GUI's own set-up: names, icon, quit behaviour
        import qasync

        window_settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
        outcome: tuple[str, int, int] = qasync.run(asyncio.wait_for(
            _in_window(database, user, window_settings, folder), SMOKE_TIMEOUT_SECONDS))
    finally:
        database.close()
    queue, rows, pdf_bytes = outcome
    return SmokeResult(revision, queue, rows, pdf_bytes, time.monotonic() - started)


def _quiet_offscreen_warnings() -> object:
    """Drop the offscreen platform's complaint about window size hints; keep the rest.

    Returns:
        The message handler installed before, for ``_restore_message_handler``.
    """
    from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(kind, context, message)
        else:
            print(f"qt: {message}", file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    return previous


def _restore_message_handler(previous: object) -> None:
    from PySide6.QtCore import qInstallMessageHandler

    qInstallMessageHandler(previous)  # type: ignore[arg-type]


async def _in_window(database: object, user: object, window_settings: object,
                     folder: Path) -> tuple[str, int, int]:
    from PySide6.QtCore import QSettings

    from deskapp import app
    from deskapp.domain.people import User
    from deskapp.persistence.database import Database
    from deskapp.qt.runner import DbRunner
    from deskapp.reports.period_pdf import period_pdf
    from deskapp.services.incidents import utc_now
    from deskapp.services.report_data import PeriodFilters, ReportService

    assert isinstance(database, Database)
    assert isinstance(user, User)
    assert isinstance(window_settings, QSettings)
    runner = DbRunner.for_dialect(database.dialect)
    window = app.build_main_window(database, user, runner, window_settings=window_settings)
    try:
        window.show()
        await window.refresh()
        # The admin's own queue may be empty: "All incidents" holds every demo incident.
        await window.choose_queue("built_in:all")
        rows = window.model.rowCount()
        if window.current_count is None or rows == 0:
            raise SmokeTestError(f"the queue shows no incidents (count {window.current_count}, "
                                 f"{rows} rows loaded)")
        icon = window.windowIcon().pixmap(32, 32)
        if icon.isNull():
            raise SmokeTestError("the application icon did not load (Qt's SVG support is "
                                 "missing)")
        picture = window.grab()
        if picture.isNull() or picture.width() < 200:
            raise SmokeTestError("the main window did not paint")
        queue = window.current_queue.title if window.current_queue else "?"

        service = ReportService(database.uow_factory, user.id, utc_now)
        today = utc_now().astimezone(service.zone).date()
        filters = PeriodFilters(today - timedelta(days=27), today)
        report = await runner.db(service.period_report, filters)
        pdf = period_pdf(report)
        if not pdf.startswith(b"%PDF") or b"+DejaVuSans" not in pdf:
            raise SmokeTestError("the period report is not a PDF with the bundled fonts")
        (folder / "period.pdf").write_bytes(pdf)
    finally:
        window.close()
        await runner.aclose()
        window.deleteLater()
    return queue, rows, len(pdf)
