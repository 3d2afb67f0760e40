"""A writer killed with SIGKILL mid-work, again and again, loses nothing it committed."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from deskapp.persistence import health
from deskapp.persistence.database import open_database
from deskapp.soak.agent import AgentPlan, read_journal, run_agent
from deskapp.soak.run import set_up, verify

KILLS = {"sqlite": 10, "postgres": 4}


def _lines(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") if path.exists() else 0


@pytest.mark.slow
def test_killed_writers_leave_every_commit_and_a_sound_database(
        database_url: str, backend: str, tmp_path: Path) -> None:
    database = open_database(database_url)
    try:
        setup = set_up(database.uow_factory, 2)
    finally:
        database.close()
    context = multiprocessing.get_context("spawn")
    chance = random.Random(20261127)
    journals: list[Path] = []
    for kill in range(KILLS[backend]):
        journal = tmp_path / f"writer-{kill}.jsonl"
        journals.append(journal)
        plan = AgentPlan(database_url, kill, setup.users[0].id, setup.caller_id,
                         setup.hot_ids, setup.groups, str(journal), seconds=120,
                         edits_matrix=True, fsync=True, seed=kill, think_ms=0)
        writer = context.Process(target=run_agent, args=(plan,))
        writer.start()
        try:
            # Kill it in the middle of its work: after some commits, at a random moment.
            deadline = time.monotonic() + 90
            while _lines(journal) < 5 + chance.randint(0, 10) and time.monotonic() < deadline:
                assert writer.is_alive(), "the writer ended before it was killed"
                time.sleep(0.02)
            time.sleep(chance.uniform(0, 0.05))
            assert writer.pid is not None
            os.kill(writer.pid, signal.SIGKILL)
        finally:
            writer.join(30)
        assert writer.exitcode == -signal.SIGKILL
        # The database opens, is sound, and holds every commit journaled before each kill.
        database = open_database(database_url, upgrade=False)
        try:
            facts = health.check(database.engine)
            assert facts.intact, facts.integrity
            if backend == "sqlite":
                assert facts.integrity == ("ok",)
            entries = [e for path in journals for e in read_journal(path)]
            assert not any(e["op"] == "tally" for e in entries)  # it never got to finish
            committed = [e for e in entries if e["op"] not in ("conflict", "matrix_conflict")]
            assert len(committed) >= 5 * (kill + 1)
            _, checks = verify(database, setup, entries, complete=False)
            problems = [f"{c.name}: {p}" for c in checks for p in c.problems]
            assert problems == []
        finally:
            database.close()
