"""What the queue benchmark's parent and its child processes share: config, results, SQL.

No Qt and no SQLAlchemy here: the bare-sqlite3 child imports this module too, and whatever
it imports counts in that child's peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "
"""Marks the child's one line of JSON on stdout; anything else there is noise."""

OPEN_STATES_SQL = "('new', 'in_progress', 'on_hold')"

ROW_COLUMNS = (
    "i.id, i.number, i.short_description, i.state, i.priority, i.impact, i.urgency, "
    "i.channel, c.name AS caller_name, c.vip AS caller_vip, g.name AS group_name, "
    "a.full_name AS assignee_name, i.opened_at, i.updated_at, i.response_due_at, "
    "i.resolution_due_at, i.sla_paused_since, i.resolution_breached, i.is_major, i.version"
)
"""The columns the repository selects for a queue row (IncidentRow), in its order."""

ROW_FROM = (
    "FROM incidents i JOIN callers c ON c.id = i.caller_id "
    "LEFT JOIN assignment_groups g ON g.id = i.assignment_group_id "
    "LEFT JOIN users a ON a.id = i.assignee_id"
)

OPEN_QUEUE_SQL = (
    f"SELECT {ROW_COLUMNS} {ROW_FROM} WHERE i.state IN {OPEN_STATES_SQL} "
    "ORDER BY i.opened_at DESC, i.id DESC"
)
"""The "All open" queue, newest first, as one statement (what QSqlQueryModel is given)."""

SHOWN_COLUMNS = (1, 4, 2, 8, 3, 10, 11, 12, 15, 13)
"""Which of ROW_COLUMNS the QSqlQueryModel view shows, in the queue's column order: number,
priority, short description, caller, state, group, assignee, opened, due, updated."""

FIRST_PAGE_SQL = f"{OPEN_QUEUE_SQL} LIMIT 100"
NEXT_PAGE_SQL = (
    f"SELECT {ROW_COLUMNS} {ROW_FROM} WHERE i.state IN {OPEN_STATES_SQL} "
    "AND (i.opened_at, i.id) < (?, ?) ORDER BY i.opened_at DESC, i.id DESC LIMIT 100"
)
FTS_NEWEST_SQL = (
    "SELECT rowid FROM incident_search WHERE incident_search MATCH ? "
    "ORDER BY rowid DESC LIMIT 50"
)
FTS_RANKED_SQL = (
    "SELECT rowid FROM incident_search WHERE incident_search MATCH ? "
    "ORDER BY rank LIMIT 50"
)
FTS_COUNT_SQL = "SELECT count(*) FROM incident_search WHERE incident_search MATCH ?"
FTS_OPEN_COUNT_SQL = (
    f"SELECT count(*) FROM incidents WHERE state IN {OPEN_STATES_SQL} AND id IN "
    "(SELECT rowid FROM incident_search WHERE incident_search MATCH ?)"
)


def fts_query(word: str) -> str:
    """A word as the application's search sends it to FTS5: quoted, as a prefix."""
    return f'"{word.lower()}"*'


@dataclass(frozen=True)
class ChildConfig:
    """What a child process needs to know about its database."""

    database: str
    """Path of the SQLite file."""
    incidents: int
    actor_id: int
    """The user the services act as: the agent with the most open incidents."""
    group_id: int
    """The assignment group with the most open incidents."""
    category_id: int
    """The top-level category with the most incidents."""
    words: tuple[str, ...]
    """Search words, most frequent first."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ChildConfig:
        values = json.loads(text)
        values["words"] = tuple(values["words"])
        return cls(**values)


@dataclass
class Measurement:
    """One timed operation of a child."""

    key: str
    """What was measured, e.g. ``sort:CALLER:asc``."""
    ms: float
    """Wall time, from the request to the result on screen (or in hand)."""
    db_ms: float | None = None
    """Time spent in the service or driver call, in the database thread."""
    rows: int | None = None
    """Rows the operation produced."""
    sql: list[tuple[str, list[Any]]] = field(default_factory=list)
    """The statements it ran, with their parameters, for EXPLAIN QUERY PLAN."""


@dataclass
class ChildResult:
    """Everything a child reports."""

    variant: str
    measurements: list[Measurement] = field(default_factory=list)
    rss_mib: dict[str, float] = field(default_factory=dict)
    """Peak resident memory at named moments (``getrusage`` of the child itself)."""
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, ms: float, **extra: Any) -> Measurement:
        measurement = Measurement(key, ms, **extra)
        self.measurements.append(measurement)
        return measurement

    def mark_rss(self, moment: str) -> None:
        self.rss_mib[moment] = peak_rss_mib()

    def emit(self) -> None:
        """Print the result as the one line the parent reads."""
        sys.stdout.write(RESULT_PREFIX + json.dumps(asdict(self), default=str) + "\n")
        sys.stdout.flush()

    @classmethod
    def parse(cls, stdout: str) -> ChildResult:
        for line in stdout.splitlines():
            if line.startswith(RESULT_PREFIX):
                values = json.loads(line[len(RESULT_PREFIX):])
                values["measurements"] = [Measurement(**m) for m in values["measurements"]]
                return cls(**values)
        raise ValueError("the child printed no result")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB.

    On Linux it is VmHWM, the high-water mark of the process's own memory since it started
    its program: ``ru_maxrss`` would also count what the parent held when it forked the
    child (the kernel carries that over through exec), so a big parent inflates small
    children. Elsewhere ``ru_maxrss`` it is.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return rss_to_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def rss_to_mib(ru_maxrss: int) -> float:
    """ru_maxrss in MiB: it is in KiB on Linux, in bytes on macOS."""
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def ms_since(start: float) -> float:
    """Milliseconds from a ``time.perf_counter()`` reading until now."""
    return (time.perf_counter() - start) * 1000
