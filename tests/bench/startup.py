"""Cold start to a painted queue: Deskapp against a bare QSqlQueryModel on the same file.

``python -m tests.bench.startup [--database FILE] [--repeat N]`` starts fresh processes and
times each from the moment the parent starts it until the child has painted the first rows
of the open queue: interpreter start, imports, opening (and checking) the database, signing
in, building the main window and the first page of rows. The baseline child imports only
Qt and shows the same open queue through QSqlQueryModel. Medians are printed with the ratio.

The database defaults to the queue benchmark's 100,000-incident file
(``python -m tests.bench.queues`` makes it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATABASE = Path(os.environ.get("DESKAPP_BENCH_DIR", "/tmp/deskapp-bench")) \
    / "incidents-100000.db"
TARGET_SECONDS = 1.0
PAINTED = "painted"


def _child_deskapp(database: str) -> None:
    # Everything the app does at start, in the order run_gui does it.
    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from deskapp.app import build_main_window
    from deskapp.persistence.database import open_database
    from deskapp.qt.runner import DbRunner
    from deskapp.services.setup import sign_in

    app = QApplication(["deskapp-startup-bench"])
    app.setQuitOnLastWindowClosed(False)  # the coroutine ends the run, not the window
    db = open_database(f"sqlite:///{database}", must_exist=True)

    async def main() -> None:
        user = sign_in(db.uow_factory, None)
        runner = DbRunner.for_dialect(db.dialect)
        window = build_main_window(db, user, runner)
        window.resize(1440, 900)
        window.show()
        window.start_refresh()
        table = window.table
        while table.model().rowCount() == 0:
            await asyncio.sleep(0.001)
        table.viewport().repaint()
        print(PAINTED, flush=True)
        await runner.aclose()
        window.close()

    try:
        qasync.run(main())
    finally:
        db.close()


def _child_qsql(database: str) -> None:
    from PySide6.QtSql import QSqlDatabase, QSqlQueryModel
    from PySide6.QtWidgets import QApplication, QTableView

    from tests.bench.queue_common import OPEN_QUEUE_SQL

    QApplication(["qsql-startup-bench"])
    connection = QSqlDatabase.addDatabase("QSQLITE", "startup")
    connection.setDatabaseName(database)
    if not connection.open():
        raise SystemExit(connection.lastError().text())
    model = QSqlQueryModel()
    model.setQuery(OPEN_QUEUE_SQL, connection)
    view = QTableView()
    view.resize(1440, 900)
    view.setModel(model)
    view.show()
    view.viewport().repaint()
    print(PAINTED, flush=True)


def _time_child(kind: str, database: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tests.bench.startup", "--child", kind,
                              "--database", str(database)],
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == PAINTED:
            elapsed = time.perf_counter() - started
            break
    else:
        raise RuntimeError(f"the {kind} child ended without painting (exit {child.wait()})")
    child.wait()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Time cold starts and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", choices=("deskapp", "qsql"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "deskapp":
        _child_deskapp(str(args.database))
        return 0
    if args.child == "qsql":
        _child_qsql(str(args.database))
        return 0
    if not args.database.exists():
        parser.error(f"{args.database} does not exist; make it with python -m tests.bench.queues")
    _time_child("deskapp", args.database)  # warm the page cache: every start after the first
    ours = [_time_child("deskapp", args.database) for _ in range(args.repeat)]
    qsql = [_time_child("qsql", args.database) for _ in range(args.repeat)]
    ours_median, qsql_median = statistics.median(ours), statistics.median(qsql)
    print(f"cold start to a painted queue, {args.database.name}, median of {args.repeat}:")
    print(f"  Deskapp        {ours_median * 1000:7.0f} ms  (target under "
          f"{TARGET_SECONDS * 1000:.0f} ms: {'met' if ours_median < TARGET_SECONDS else 'MISSED'})")
    print(f"  QSqlQueryModel {qsql_median * 1000:7.0f} ms  ratio {ours_median / qsql_median:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
