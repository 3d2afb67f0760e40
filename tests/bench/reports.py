"""How fast the reports are made: the review PDF of a long timeline, and a month's period
report over a big database, each split into its database part and its PDF part.

A script, not a test (pytest does not collect it)::

    .venv/bin/python -m tests.bench.reports --database-url sqlite:////tmp/reports/1m.db \\
        --from 2026-10-01 --to 2026-10-31
    .venv/bin/python -m tests.bench.reports --timeline 1000     # the review PDF alone

Targets (docs/DESIGN.md): a review with 1,000 timeline entries under 1 s; a month's period
report over 1,000,000 incidents under 5 s, aggregates computed by the database. Each figure is
the best of ``--runs`` runs (the first also shown: it pays for cold caches and fonts).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from deskapp.persistence.database import open_database
from deskapp.reports.period_pdf import period_pdf
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.report_data import PeriodFilters, ReportService, parse_day
from deskapp.services.setup import ensure_admin
from tests.unit.test_reports_pdf import make_report

TARGET_REVIEW_S = 1.0
TARGET_PERIOD_S = 5.0


def timed(fn: Callable[[], Any], runs: int) -> tuple[Any, list[float]]:
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, times


def show(label: str, times: list[float], target: float | None = None) -> None:
    best = min(times)
    verdict = "" if target is None else f"  (target {target:.1f} s: " \
        f"{'met' if best < target else 'MISSED'}, {best / target:.2f}x)"
    print(f"{label:<44} best {best:6.3f} s  first {times[0]:6.3f} s  "
          f"median {statistics.median(times):6.3f} s{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--from", dest="first", default="2026-10-01")
    parser.add_argument("--to", dest="last", default="2026-10-31")
    parser.add_argument("--timeline", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    report = make_report(args.timeline)
    data, times = timed(lambda: review_pdf(report), args.runs)
    show(f"review PDF, {args.timeline:,} timeline entries ({len(data) // 1024} KiB)", times,
         TARGET_REVIEW_S)

    if args.database_url:
        database = open_database(args.database_url)
        try:
            user = ensure_admin(database.uow_factory)  # any desk: act as its admin
            service = ReportService(database.uow_factory, user.id, zone=UTC)
            filters = PeriodFilters(parse_day(args.first, "--from"), parse_day(args.last, "--to"))
            period, db_times = timed(lambda: service.period_report(filters), args.runs)
            show("period report: database (all aggregates)", db_times)
            pdf, pdf_times = timed(lambda: period_pdf(period), args.runs)
            show(f"period report: PDF ({len(pdf) // 1024} KiB)", pdf_times)
            total = [a + b for a, b in zip(db_times, pdf_times, strict=True)]
            show("period report: total", total, TARGET_PERIOD_S)
            print(f"  opened {period.figures.opened:,}, resolved {period.figures.resolved:,}, "
                  f"backlog {period.figures.backlog_start:,} -> {period.figures.backlog_end:,}")
        finally:
            database.close()


if __name__ == "__main__":
    main()
