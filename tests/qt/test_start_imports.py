"""The start path loads only what the first painted queue needs.

Every module loaded before the queue shows costs start-up time and resident memory
(DESIGN.md: cold start under 1 s, queue window memory within 1.5x QSqlQueryModel's). A fresh
interpreter goes through the start as the application does (imports, open the database, sign
in, build the main window with its menus) and then lists what it loaded: the modules below
must load only when the user asks for what they do. Timing is the benchmark's business
(``python -m tests.bench.startup``), not this test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import deskapp

_START = """
import json, linecache, sys

from deskapp import cli

cli._parser([]).parse_args([])  # `deskapp` parses its (absent) arguments first
from deskapp.app import build_main_window  # the first to import Qt, as in `deskapp`
from PySide6.QtWidgets import QApplication
from deskapp.persistence.database import open_database
from deskapp.qt.runner import DbRunner
from deskapp.services.setup import sign_in

app = QApplication(["deskapp-start-imports"])
database = open_database(sys.argv[1])
user = sign_in(database.uow_factory, None)
runner = DbRunner.for_dialect(database.dialect)
window = build_main_window(database, user, runner, live_updates=False)
window.show()
app.processEvents()
print(json.dumps(sorted(linecache.cache)))
print(json.dumps(sorted(sys.modules)))
window.close()
runner.close()
database.close()
"""

NOT_AT_START = (
    # Third-party libraries behind menus, dialogs and background work.
    "alembic", "mako", "keyring", "reportlab", "openpyxl", "imaplib",
    # Qt modules the queue window does not use.
    "PySide6.QtSql", "PySide6.QtNetwork", "PySide6.QtSvg", "PySide6.QtPrintSupport",
    # Email and alert intake (the IMAP client, the mail parser, the listener) run only when
    # switched on or asked for on the command line.
    "deskapp.intake.background", "deskapp.intake.imap_mailbox",
    "deskapp.intake.email_command", "deskapp.intake.alerts_cli",
    "deskapp.intake.alert_listener",
    "deskapp.services.intake.mail_parsing",
    # Repositories a unit of work makes on first use.
    "deskapp.persistence.alert_repository", "deskapp.persistence.assignment_repository",
    "deskapp.persistence.bulk", "deskapp.persistence.email_intake_repository",
    "deskapp.persistence.report_queries", "deskapp.persistence.review_repository",
    "deskapp.persistence.workload_queries",
    # Forms, dialogs and windows behind menus, and the services only they use.
    "deskapp.qt.views.call_form", "deskapp.qt.views.incident_form",
    "deskapp.qt.views.review_form", "deskapp.qt.views.report_dialogs",
    "deskapp.qt.views.reassign_dialog", "deskapp.qt.views.assignment_rules_editor",
    "deskapp.qt.views.matrix_editor", "deskapp.qt.views.alert_rules_editor",
    "deskapp.qt.views.audit_viewer", "deskapp.qt.views.filter_dialog",
    "deskapp.services.matrix_admin", "deskapp.services.intake.alert_rules",
    "deskapp.services.report_data",
    "deskapp.services.reviews", "deskapp.services.demo", "deskapp.reports",
    "deskapp.services.caller_admin_dto",
)


def _start(database_url: str) -> tuple[set[str], set[str]]:
    """The modules loaded at start, and the source files linecache holds by then."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", _START, database_url], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    *_, cached, loaded = done.stdout.strip().splitlines()
    return set(json.loads(loaded)), set(json.loads(cached))


def _loaded_at_start(database_url: str) -> set[str]:
    return _start(database_url)[0]


def test_the_start_path_leaves_menus_dialogs_and_intake_unloaded(
        database_url: str, backend: str) -> None:
    loaded = _loaded_at_start(database_url)
    assert "deskapp.qt.views.main_window" in loaded  # the test does reach the window
    unwanted = [name for name in NOT_AT_START if name in loaded]
    if backend == "sqlite":
        # psycopg, and SQLAlchemy's PostgreSQL dialect (which imports every PostgreSQL
        # driver's module; a partial index's postgresql_where used to pull it in).
        unwanted += [name for name in ("psycopg", "sqlalchemy.dialects.postgresql")
                     if name in loaded]
    assert unwanted == []


def test_pyside_keeps_no_source_of_the_modules_imported_after_it(database_url: str) -> None:
    """PySide6 would read (and linecache keep) the source of every module imported after
    it, 20 MiB at start: deskapp/qt/__init__.py answers its question without the source."""
    _loaded, cached = _start(database_url)
    kept = sorted(path for path in cached
                  if "sqlalchemy" in path or f"{os.sep}deskapp{os.sep}" in path)
    assert kept == []


def test_no_module_selects_a_pyside_feature() -> None:
    """The cheap answer in deskapp/qt/__init__.py holds only while nothing uses __feature__."""
    root = Path(deskapp.__file__).parent
    users = [str(path.relative_to(root)) for path in sorted(root.rglob("*.py"))
             if "from __feature__" in path.read_text(encoding="utf-8")]
    assert users == []
