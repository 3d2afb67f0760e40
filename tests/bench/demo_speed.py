"""How fast ``deskapp demo`` fills a fresh SQLite file, and how much memory it takes.

A script, not a test (pytest does not collect it)::

    .venv/bin/python -m tests.bench.demo_speed              # 100,000 incidents
    .venv/bin/python -m tests.bench.demo_speed 1000000      # the 1M benchmark database
    .venv/bin/python -m tests.bench.demo_speed 100000 --keep /tmp/demo.db

Prints the time, the rate, the activity written, the peak resident memory and the file size.
The target is 100,000 incidents in under a minute on a two-core machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from deskapp.persistence.database import open_database
from deskapp.services.demo import generate_demo

TARGET_SECONDS_PER_100K = 60.0


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(incidents: int, path: Path, seed: int) -> int:
    """Generate into ``path`` and print the figures; returns the exit status."""
    database = open_database(f"sqlite:///{path}")
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            print(f"  {done:>9,} of {total:,}  {now - started:7.1f} s  "
                  f"{done / (now - started):8,.0f}/s  peak {_peak_mib():6.0f} MiB", flush=True)

    try:
        summary = generate_demo(database.uow_factory, incidents=incidents, seed=seed,
                                now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), progress=progress)
        with database.engine.connect() as connection:
            open_share = connection.execute(text(
                "SELECT avg(state IN ('new', 'in_progress', 'on_hold')) FROM incidents"
            )).scalar_one()
    finally:
        database.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / (1024 * 1024)
    budget = TARGET_SECONDS_PER_100K * incidents / 100_000
    print(f"demo: {summary.incidents:,} incidents, {summary.activity:,} activity entries, "
          f"{summary.callers:,} callers, {summary.agents} agents, {summary.groups} groups")
    print(f"time: {summary.seconds:.1f} s ({summary.incidents / summary.seconds:,.0f} "
          f"incidents/s; budget {budget:.0f} s at {TARGET_SECONDS_PER_100K:.0f} s per 100k)")
    print(f"open: {float(open_share or 0):.1%}   peak memory: {_peak_mib():.0f} MiB   "
          f"file: {size:,.0f} MiB")
    return 0 if summary.seconds <= budget else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("incidents", nargs="?", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--keep", type=Path, metavar="FILE",
                        help="write to this (new) file and keep it, e.g. for other benchmarks")
    args = parser.parse_args(argv)
    if args.keep is not None:
        if args.keep.exists():
            parser.error(f"{args.keep} exists; give a new file")
        return run(args.incidents, args.keep, args.seed)
    with tempfile.TemporaryDirectory(prefix="deskapp-demo-") as directory:
        return run(args.incidents, Path(directory) / "demo.db", args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
