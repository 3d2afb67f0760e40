"""Child process of the queue benchmark: Qt's own QSqlQueryModel, the baseline.

``python -m tests.bench.queue_qsql CONFIG_JSON [empty]``: the open incidents, newest first,
straight from the QSQLITE driver into a QTableView of the same size and set-up as ours.
With ``empty`` it only shows an empty table: what a Qt table costs in memory before any data.
No Deskapp module is imported, so the process holds what Qt's way needs and no more.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QCoreApplication
from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlQueryModel
from PySide6.QtWidgets import QApplication

from tests.bench.queue_common import (
    OPEN_QUEUE_SQL,
    SHOWN_COLUMNS,
    ChildConfig,
    ChildResult,
    ms_since,
)
from tests.bench.queue_view import ClockedTableView, make_view, paint, show_model

CONNECTION = "queue-bench"


def _open_query(database: QSqlDatabase) -> QSqlQueryModel:
    # The documented way: the model runs the query and fetches rows as the view needs them
    # (QSQLITE cannot count a result, so it fetches in steps of 255).
    model = QSqlQueryModel()
    model.setQuery(OPEN_QUEUE_SQL, database)
    if model.lastError().isValid():
        raise RuntimeError(model.lastError().text())
    return model


def run(config: ChildConfig, result: ChildResult, empty: bool) -> None:
    """Show the open queue (or nothing) and time it."""
    view = make_view()
    if empty:
        paint(view)
        result.mark_rss("first_paint")
        result.mark_rss("end")
        view.close()
        return
    database = QSqlDatabase.addDatabase("QSQLITE", CONNECTION)
    database.setDatabaseName(config.database)
    try:
        if not database.open():
            raise RuntimeError(database.lastError().text())
        _measure(database, view, result)
    finally:
        view.close()
        database.close()
        del database  # every handle on the connection must be gone before it is removed
        QSqlDatabase.removeDatabase(CONNECTION)


def _measure(database: QSqlDatabase, view: ClockedTableView, result: ChildResult) -> None:
    version = QSqlQuery(database)
    if version.exec("SELECT sqlite_version()") and version.next():
        result.notes.append(f"Qt's QSQLITE driver runs SQLite {version.value(0)}")
    version.finish()
    result.mark_rss("start")
    models = []
    for key in ("first_paint", "first_paint_warm"):
        paints = view.paints
        started = time.perf_counter()
        model = _open_query(database)
        show_model(view, model, SHOWN_COLUMNS)
        ended = view.wait_painted(paints)
        result.add(key, (ended - started) * 1000, rows=model.rowCount())
        if key == "first_paint":
            result.mark_rss("first_paint")
        # The next rows: scrolling to the end asks the model for more (rows come in at once).
        before = model.rowCount()
        started = time.perf_counter()
        model.fetchMore()
        result.add("next_page" if key == "first_paint" else "next_page_warm",
                   ms_since(started), rows=model.rowCount() - before)
        models.append(model)
        QCoreApplication.processEvents()
    result.mark_rss("end")
    view.setModel(None)
    for model in models:
        model.clear()


def main(argv: list[str]) -> int:
    """Run for the config given as the first argument; print the result."""
    config = ChildConfig.from_json(argv[0])
    empty = len(argv) > 1 and argv[1] == "empty"
    result = ChildResult("empty" if empty else "qsql")
    app = QApplication.instance() or QApplication(["queue-bench"])
    assert app is not None
    run(config, result, empty)
    result.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
