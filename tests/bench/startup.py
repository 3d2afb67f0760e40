"""Cold start to a painted queue: Deskapp against a bare QSqlQueryModel on the same file.

``python -m tests.bench.startup [--database FILE] [--repeat N]`` starts fresh processes and
times each from the moment the parent starts it until the child has painted the first rows
of the open queue: interpreter start, imports, parsing the (empty) command line, opening
(and checking) the database, signing in, building the main window and the first page of
rows. The baseline child imports only Qt and shows the same open queue through
QSqlQueryModel. Medians are printed with the ratio, and each child's peak resident memory
and CPU time at that moment (DESIGN.md: memory within 1.5x QSqlQueryModel's).

The children may write and use compiled bytecode (PYTHONDONTWRITEBYTECODE is dropped from
their environment), as an installed Deskapp has it: pip compiles the modules when it
installs them and PyInstaller ships them compiled. Without it every start compiles Deskapp's
sources again (0.2-0.4 s here), which no user's start does.

Signing in is the one step left out: on a local desk it is a password check (argon2, about
0.1-0.4 s of CPU here) after a person has typed it, so it is no part of a cold start's time.

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
MEMORY_RATIO = 1.5
PAINTED = "painted"


def _painted() -> None:
    """Tell the parent: the rows are painted, with this process's peak memory and CPU."""
    from tests.bench.queue_common import peak_rss_mib

    print(f"{PAINTED} {peak_rss_mib():.1f} {time.process_time():.3f}", flush=True)


def _child_deskapp(database: str) -> None:
    # Everything the app does at start, in the order `deskapp` (cli.main, run_gui) does it.
    import asyncio

    from deskapp import cli

    cli._parser([]).parse_args([])

    from deskapp.app import build_main_window  # imports Qt (through qasync) as the app does

    # isort: split
    import qasync
    from PySide6.QtWidgets import QApplication

    from deskapp import user_settings
    from deskapp.persistence.database import open_database
    from deskapp.qt import theme
    from deskapp.qt.crash import CrashHandler
    from deskapp.qt.runner import DbRunner
    from deskapp.services.setup import ensure_admin

    app = QApplication(["deskapp-startup-bench"])
    app.setQuitOnLastWindowClosed(False)  # the coroutine ends the run, not the window
    theme.install(app, user_settings.load().appearance.theme)
    db = open_database(f"sqlite:///{database}", must_exist=True)

    async def main() -> None:
        user = ensure_admin(db.uow_factory)  # a benchmark desk need not have an admin yet
        runner = DbRunner.for_dialect(db.dialect)
        window = build_main_window(db, user, runner)
        crash = CrashHandler(None, window, on_quit=window.close)
        crash.install(asyncio.get_running_loop())
        window.resize(1440, 900)
        window.show()
        window.start_refresh()
        table = window.table
        while table.model().rowCount() == 0:
            await asyncio.sleep(0.001)
        table.viewport().repaint()
        _painted()
        crash.uninstall(asyncio.get_running_loop())
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
    _painted()


def _time_child(kind: str, database: Path) -> tuple[float, float, float]:
    """Seconds until the child painted, its peak MiB and CPU seconds by then."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # see the module's docstring
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tests.bench.startup", "--child", kind,
                              "--database", str(database)],
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(PAINTED):
            elapsed = time.perf_counter() - started
            _word, mib, cpu = line.split()
            break
    else:
        raise RuntimeError(f"the {kind} child ended without painting (exit {child.wait()})")
    child.wait()
    return elapsed, float(mib), float(cpu)


def _medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    seconds, mib, cpu = zip(*runs, strict=True)
    return statistics.median(seconds), statistics.median(mib), statistics.median(cpu)


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
    ours: list[tuple[float, float, float]] = []
    qsql: list[tuple[float, float, float]] = []
    for _ in range(args.repeat):  # interleaved: a change in the machine's load hits both
        ours.append(_time_child("deskapp", args.database))
        qsql.append(_time_child("qsql", args.database))
    ours_s, ours_mib, ours_cpu = _medians(ours)
    qsql_s, qsql_mib, qsql_cpu = _medians(qsql)
    print(f"cold start to a painted queue, {args.database.name}, median of {args.repeat} "
          f"(load average {os.getloadavg()[0]:.2f} at the end):")
    print(f"  Deskapp        {ours_s * 1000:7.0f} ms  (target under "
          f"{TARGET_SECONDS * 1000:.0f} ms: {'met' if ours_s < TARGET_SECONDS else 'MISSED'})"
          f"  CPU {ours_cpu * 1000:5.0f} ms  peak {ours_mib:5.1f} MiB")
    print(f"  QSqlQueryModel {qsql_s * 1000:7.0f} ms  "
          f"{'':>36}CPU {qsql_cpu * 1000:5.0f} ms  peak {qsql_mib:5.1f} MiB")
    memory_ratio = ours_mib / qsql_mib
    print(f"  ratios: time {ours_s / qsql_s:.2f}x, CPU {ours_cpu / qsql_cpu:.2f}x, memory "
          f"{memory_ratio:.2f}x (target at most {MEMORY_RATIO}x: "
          f"{'met' if memory_ratio <= MEMORY_RATIO else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
