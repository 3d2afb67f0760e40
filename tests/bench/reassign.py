"""Bulk reassignment of 1,000 incidents on a 1,000,000-incident SQLite database.

A script, not a test (pytest does not collect it)::

    python -m tests.bench.reassign                               # 1M incidents, 1,000 moved
    python -m tests.bench.reassign --incidents 100000 --batch 200 1000 --repeat 3
    python -m tests.bench.reassign --copy-from /tmp/deskapp-bench/incidents-1000000.db

The database is made by the demo generator as tests.bench.queues makes it (reused from
``--database`` when it is there; ``--copy-from`` copies a ready one instead, since this
benchmark writes to its database). Each run selects the newest open incidents as a lead's
queue shows them (id and version), then times ``AssignmentService.reassign`` moving them all
to another group and agent in one transaction - versions checked, every row updated, three
activity entries per incident and the reason indexed for search - and, separately, the
refusal when one of them changed meanwhile (nothing written). Target: under 1 s for 1,000.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import open_database
from deskapp.services.assignment import AssignmentService, BulkConflictError, IncidentRef
from tests.bench.queues import DEFAULT_DIRECTORY, _migrate, prepare, warm_file_cache

TARGET_S = 1.0
"""Bulk reassignment of 1,000 incidents (DESIGN.md's numbers; issue 5)."""
OPEN_SQL = "('new', 'in_progress', 'on_hold')"


def _selection(path: Path, count: int, offset: int) -> list[IncidentRef]:
    """What a lead's queue holds: the newest open incidents, as (id, version)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            f"SELECT id, version FROM incidents WHERE state IN {OPEN_SQL} "
            "ORDER BY id DESC LIMIT ? OFFSET ?", (count, offset)).fetchall()
    connection.close()
    return [IncidentRef(int(i), int(v)) for i, v in rows]


def _targets(path: Path) -> list[tuple[int, int]]:
    """Two (group, agent) pairs to move incidents between: the two biggest groups."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        groups = [g for (g,) in connection.execute(
            "SELECT group_id FROM group_members GROUP BY group_id "
            "ORDER BY count(*) DESC, group_id LIMIT 2")]
        pairs = []
        for group in groups:
            (agent,) = connection.execute(
                "SELECT m.user_id FROM group_members m JOIN users u ON u.id = m.user_id "
                "WHERE m.group_id = ? AND u.active ORDER BY m.user_id LIMIT 1",
                (group,)).fetchone()
            pairs.append((int(group), int(agent)))
    connection.close()
    return pairs


def _admin(url: str) -> int:
    db = open_database(url)
    try:
        with db.uow_factory(write=True) as uow:
            try:
                return uow.users.by_username("bench-lead").id
            except Exception:  # noqa: BLE001 - first run on this database
                user = uow.users.add(User(0, "bench-lead", "Bench Lead", "bench@example.com",
                                          Role.ADMIN))
                uow.commit()
                return user.id
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=1_000_000,
                        help="size of the database (default 1,000,000)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1000],
                        help="incidents per reassignment (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per batch size")
    parser.add_argument("--database", type=Path, default=DEFAULT_DIRECTORY / "reassign",
                        metavar="DIR", help="where the benchmark's own database lives")
    parser.add_argument("--copy-from", type=Path, metavar="FILE",
                        help="copy this demo database instead of generating one")
    parser.add_argument("--seed", type=int, default=20260301, help="demo generator seed")
    args = parser.parse_args(argv)

    path = args.database / f"incidents-{args.incidents}.db"
    if args.copy_from is not None and not path.exists():
        args.database.mkdir(parents=True, exist_ok=True)
        print(f"Copying {args.copy_from} to {path}...", flush=True)
        shutil.copyfile(args.copy_from, path)
        _migrate(path)
    else:
        path = prepare(args.database, args.incidents, args.seed)
    url = f"sqlite:///{path}"
    actor = _admin(url)
    pairs = _targets(path)
    with sqlite3.connect(path) as connection:
        total, open_count = connection.execute(
            f"SELECT count(*), sum(state IN {OPEN_SQL}) FROM incidents").fetchone()
    connection.close()
    print(f"{path.name}: {total:,} incidents, {open_count:,} open; "
          f"{path.stat().st_size / 2**20:,.0f} MiB", flush=True)
    warm_file_cache(path)

    db = open_database(url)
    service = AssignmentService(db.uow_factory, actor)
    failed = False
    try:
        for batch in args.batch:
            times: list[float] = []
            for run in range(args.repeat):
                refs = _selection(path, batch, 0)
                group, agent = pairs[run % len(pairs)]
                started = time.perf_counter()
                change = service.reassign(refs, group, agent, f"Benchmark run {run + 1}")
                times.append(time.perf_counter() - started)
                print(f"  reassign {batch:>5,}: {times[-1] * 1000:7.1f} ms "
                      f"({len(change.incident_ids):,} changed)", flush=True)
            refs = _selection(path, batch, 0)
            # One incident changed meanwhile: the whole batch is refused, nothing written.
            stale = [*refs[:-1], IncidentRef(refs[-1].incident_id, refs[-1].version - 1)]
            started = time.perf_counter()
            try:
                service.reassign(stale, *pairs[0], "Benchmark stale")
            except BulkConflictError as exc:
                refused = time.perf_counter() - started
                assert len(exc.stale) == 1
            else:
                raise AssertionError("a stale selection was written")
            unchanged = _selection(path, batch, 0) == refs
            median = statistics.median(times)
            verdict = "" if batch != 1000 else (
                "  OK" if median < TARGET_S else f"  MISSED (target {TARGET_S:.1f} s)")
            failed |= batch == 1000 and median >= TARGET_S
            print(f"reassign {batch:,} of {total:,}: median {median * 1000:.0f} ms, "
                  f"best {min(times) * 1000:.0f} ms over {len(times)} runs; one stale: "
                  f"refused in {refused * 1000:.0f} ms, nothing written: {unchanged}{verdict}",
                  flush=True)
    finally:
        db.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
