"""Benchmark of the call form on a big database: Save to ready, and the look-ups beside it.

    python -m tests.bench.forms --database-url sqlite:////tmp/forms/100k.db --callers 100000

It writes real incidents into the database it is given (use a copy), after filling the
callers up to ``--callers`` if there are fewer. The form runs offscreen on a qasync loop with
the application's runner, as the app does. Figures:

- save to ready: from ``save(and_new=True)`` (what Ctrl+Shift+S calls) to the form's
  ``ready`` signal: the incident committed and the form empty for the next call;
- log_call in the database thread alone (the "under 5 ms of database time" target);
- caller look-up, caller history and similar incidents, in the database thread.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import qasync
from PySide6.QtWidgets import QApplication

from deskapp.domain.people import Caller
from deskapp.persistence.database import Database, open_database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.call_form import CallForm, caller_item
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService
from deskapp.services.setup import ensure_admin

T = TypeVar("T")

FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret",
         "Niklaus", "Radia", "Tim", "Sophie", "John", "Katherine", "Linus", "Guido", "Anita")
LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Hamilton", "Wirth", "Perlman", "Berners-Lee", "Wilson", "Backus", "Johnson",
        "Torvalds", "van Rossum", "Borg", "Smith", "Müller", "Nakamura", "Okafor")
PREFIXES = ("a", "gr", "grace h", "smi", "müller", "okafor k", "caller.12", "0161", "+44 20 7")


def fill_callers(database: Database, target: int) -> int:
    """Add generated callers until there are ``target``; returns how many there are."""
    with database.engine.connect() as connection:
        total = int(connection.exec_driver_sql("SELECT count(*) FROM callers").scalar_one())
    rng = random.Random(4)
    batch: list[Caller] = []
    for n in range(total, target):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        batch.append(Caller(0, name, f"caller.{n}@bench.example.com",
                            f"+44 161 {n // 10000:03d} {n % 10000:04d}",
                            rng.choice(("Finance", "Sales", "Engineering", "HR", "Legal")),
                            rng.choice(("Manchester", "London", "Leeds")), vip=n % 97 == 0))
        if len(batch) == 5000 or n == target - 1:
            with database.uow_factory(write=True) as uow:
                uow.bulk.add_callers(batch)
                uow.commit()
            batch = []
    return max(total, target)


class Timed:
    """Wraps a service method, keeping how long each call took in the database thread."""

    def __init__(self, fn: Callable[..., T]) -> None:
        self._fn = fn
        self.ms: list[float] = []

    def __call__(self, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._fn(*args)
        finally:
            self.ms.append((time.perf_counter() - start) * 1000)


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"{name:<34} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
            f"max {ordered[-1]:7.2f} ms   (n={len(ordered)})")


async def run(database: Database, calls: int) -> None:
    admin = ensure_admin(database.uow_factory)
    incidents = IncidentService(database.uow_factory, admin.id)
    catalog = CatalogService(database.uow_factory)
    runner = DbRunner(ThreadPoolExecutor(max_workers=1 if database.dialect == "sqlite" else 4,
                                         thread_name_prefix="bench-db"))
    log_call = Timed(incidents.log_call)
    incidents.log_call = log_call  # type: ignore[method-assign]
    form = CallForm(incidents=incidents, catalog=catalog, runner=runner, user=admin)
    form.resize(1180, 760)
    form.show()
    await form.start()
    assert form.catalog is not None
    services = [s.id for s in form.catalog.services]
    callers = await runner.db(incidents.lookup_callers, "a", 50)
    ready_at: list[float] = []
    ready = asyncio.Event()

    def on_ready() -> None:
        ready_at.append(time.perf_counter())
        ready.set()

    form.ready.connect(on_ready)
    save_to_ready: list[float] = []
    try:
        for i in range(calls):
            form.ui.callerEdit.set_item(caller_item(callers[i % len(callers)]))
            form.ui.shortDescriptionEdit.setText(f"Bench call {i}: Outlook cannot send mail")
            form.ui.descriptionEdit.setPlainText("Error 0x800CCC0E since this morning.")
            form.ui.serviceEdit.set_item_id(services[i % len(services)])
            form.ui.impactCombo.setCurrentIndex(i % 3)
            # The agent talks for a while: what choosing the caller loads is in by now.
            while runner.pending:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
            ready.clear()
            start = time.perf_counter()
            task = form.save(and_new=True)
            assert task is not None, form.ui.formError.text()
            await ready.wait()  # not a busy loop: it would take the GIL from the database
            save_to_ready.append((ready_at[-1] - start) * 1000)
            assert await task, form.ui.formError.text()
        number = form.last_saved.number if form.last_saved else "?"

        lookups = Timed(incidents.lookup_callers)
        for _ in range(5):
            for prefix in PREFIXES:
                await runner.db(lookups, prefix, 15)
        history = Timed(incidents.caller_history)
        for caller in callers[:40]:
            await runner.db(history, caller.id, 5)
        similar = Timed(incidents.similar_open)
        for i, text in enumerate(("Outlook cannot send mail", "VPN drops every ten minutes",
                                  "printer jams", "SAP logon fails RFC", "laptop wont boot",
                                  "Teams calls drop", "password reset") * 4):
            await runner.db(similar, text, services[i % len(services)] if i % 2 else None)
    finally:
        form.discard()
        await runner.aclose()

    print(f"database: {database.display_name} ({database.dialect}); last number {number}")
    print(summary("save & new: Save to form ready", save_to_ready))
    print(summary("  of which log_call (db thread)", log_call.ms))
    print(summary("caller look-up (db thread)", lookups.ms))
    print(summary("caller history (db thread)", history.ms))
    print(summary("similar open incidents (db thread)", similar.ms))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--callers", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    database = open_database(args.database_url)
    try:
        with database.engine.connect() as connection:
            incidents_count = int(connection.exec_driver_sql(
                "SELECT count(*) FROM incidents").scalar_one())
        callers = fill_callers(database, args.callers)
        print(f"{incidents_count:,} incidents, {callers:,} callers")
        app = QApplication.instance() or QApplication(sys.argv)
        assert isinstance(app, QApplication)
        app.setQuitOnLastWindowClosed(False)  # the form closing must not stop the loop
        qasync.run(run(database, args.calls))
    finally:
        database.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
