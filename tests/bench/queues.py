"""Incident queues at 100k and 1M incidents, side by side with Qt's and SQLite's own speed.

A script, not a test (pytest does not collect it)::

    python -m tests.bench.queues                                  # 100k and 1M incidents
    python -m tests.bench.queues --incidents 100000 --repeat 1    # a quick look
    python -m tests.bench.queues --database /tmp/bench --explain

For each database (a SQLite file made by the demo generator, reused from ``--database`` when
it is already there) it runs, each in a fresh process so that peak memory is comparable:

- ours: IncidentTableModel in a 1440x800 QTableView over the real IncidentService, on a
  qasync loop with a one-thread DbRunner: the All open queue to its first rows painted, a
  re-sort on every column both ways (and the next page in each order), the next page,
  filters, text filters over the open incidents, IncidentService.search, counts;
- QSqlQueryModel: the same rows by the equivalent SQL in the same table, to first paint;
- empty: an empty table in the same kind of process, what Qt itself costs in memory;
- sqlite3: the bare queries (first 100 open, next keyset page, FTS5 newest 50 per word).

Each variant runs ``--repeat`` times, interleaved; the table shows medians, the ratios the
targets of DESIGN.md ("Numbers we hold ourselves to") are stated in, and a verdict. Plans
(EXPLAIN QUERY PLAN) of the operations that missed a target follow the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.queue_common import ChildConfig, ChildResult, Measurement

DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_DIRECTORY = Path(os.environ.get("DESKAPP_BENCH_DIR")
                         or Path(tempfile.gettempdir()) / "deskapp-bench")
CHILD_TIMEOUT_S = 1800

# The targets of DESIGN.md.
FIRST_PAINT_RATIO = 1.5
"""Our first rows painted: at most this times QSqlQueryModel's."""
FLAT_RATIO = 1.25
""""Flat from 100k to 1M": the biggest database within this factor of the smallest."""
INTERACTION_MS = 100.0
"""Re-sort, filter, next page, search: under this."""
MEMORY_RATIO = 1.5
"""Our peak memory: at most this times QSqlQueryModel's..."""
MEMORY_FLAT_RATIO = 1.1
"""...and the same (within this factor) at every size."""
SLOW_DB_MS = 50.0
"""A database call this slow gets its plan printed even when the target was met."""

SEARCH_SHARES = (0.3, 0.1, 0.03, 0.01, 0.001, 0.0001)
"""Search words are picked with about these shares of incidents matching them."""
NO_HIT_WORD = "zqxvbw"
STOP_WORDS = frozenset((
    "the", "this", "that", "with", "from", "have", "after", "please", "caller", "when",
    "what", "your", "there", "they", "their", "been", "were", "will", "would", "could",
    "should", "about", "into", "them", "then", "than", "also", "some"))
"""Words nobody searches for, however frequent."""

VARIANTS = ("ours", "qsql", "empty", "ours-empty", "sqlite3")
MODULES = {"ours": "tests.bench.queue_ours", "qsql": "tests.bench.queue_qsql",
           "empty": "tests.bench.queue_qsql", "ours-empty": "tests.bench.queue_ours",
           "sqlite3": "tests.bench.queue_sqlite"}
EXTRA_ARGS = {"empty": ["empty"], "ours-empty": ["empty"]}


# --- databases --------------------------------------------------------------------------

@dataclass(frozen=True)
class DatabaseInfo:
    """A benchmark database and the facts the report states about it."""

    size: int
    """Incidents asked for (the database's name)."""
    path: Path
    incidents: int
    open_incidents: int
    mib: float
    config: ChildConfig


def database_path(directory: Path, size: int) -> Path:
    return directory / f"incidents-{size}.db"


def prepare(directory: Path, size: int, seed: int) -> Path:
    """The database of ``size`` incidents in ``directory``, generated if it is not there."""
    path = database_path(directory, size)
    if path.exists():
        print(f"Reusing {path}", flush=True)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        for leftover in directory.glob(partial.name + "*"):
            leftover.unlink()  # an interrupted run's: start again
        print(f"Generating {size:,} incidents into {path} with the demo generator "
              f"(about {size / 100_000 * 35:.0f} s)...", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "deskapp", "--database-url",
                        f"sqlite:///{partial}", "demo", "--incidents", str(size),
                        "--seed", str(seed)], check=True)
        with sqlite3.connect(partial) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        for side in directory.glob(partial.name + "-*"):
            side.unlink()
        partial.rename(path)
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    _migrate(path)
    return path


def _migrate(path: Path) -> None:
    """Bring a reused database to the current schema (new indexes count too)."""
    from deskapp.persistence import migrate
    from deskapp.persistence.engine import make_engine

    engine = make_engine(f"sqlite:///{path}")
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            print(f"  migrating {path.name} to the current schema...", flush=True)
            migrate.upgrade(engine, backup=False)
    finally:
        engine.dispose()


def pick_words(path: Path, total: int) -> tuple[str, ...]:
    """Words matching about SEARCH_SHARES of the incidents, and one matching none."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        connection.execute("CREATE VIRTUAL TABLE temp.bench_vocab "
                           "USING fts5vocab(main, incident_search, row)")
        terms = [(term, docs) for term, docs in connection.execute(
            "SELECT term, doc FROM temp.bench_vocab")
            if term.isalpha() and term.isascii() and len(term) >= 4 and term not in STOP_WORDS]
    connection.close()
    words: list[str] = []
    for share in SEARCH_SHARES:
        candidates = [t for t in terms if t[0] not in words]
        words.append(min(candidates, key=lambda t: abs(t[1] - share * total))[0])
    return (*words, NO_HIT_WORD)


def describe(path: Path, size: int, words: tuple[str, ...] | None) -> DatabaseInfo:
    """Count what the database holds and pick the filter values the children use."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        def one(sql: str) -> Any:
            row = connection.execute(sql).fetchone()
            return row[0] if row else None

        incidents = int(one("SELECT count(*) FROM incidents"))
        open_incidents = int(one("SELECT count(*) FROM incidents "
                                 "WHERE state IN ('new', 'in_progress', 'on_hold')"))
        actor_id = int(one(
            "SELECT assignee_id FROM incidents WHERE state IN ('new', 'in_progress', "
            "'on_hold') AND assignee_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
        group_id = int(one(
            "SELECT assignment_group_id FROM incidents WHERE state IN ('new', 'in_progress', "
            "'on_hold') AND assignment_group_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
            "LIMIT 1"))
        category_id = int(one(
            "SELECT category_id FROM incidents WHERE category_id IS NOT NULL GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 1"))
    connection.close()
    mib = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    chosen = words if words is not None else pick_words(path, incidents)
    config = ChildConfig(str(path), incidents, actor_id, group_id, category_id, chosen)
    return DatabaseInfo(size, path, incidents, open_incidents, mib, config)


# --- children ---------------------------------------------------------------------------

@dataclass
class Runs:
    """Every run of every variant on one database."""

    results: dict[str, list[ChildResult]] = field(default_factory=lambda: defaultdict(list))
    peak_mib: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """The children's peak RSS, as each reported it at its end."""
    failures: list[str] = field(default_factory=list)

    def median(self, variant: str, key: str, attribute: str = "ms") -> float | None:
        values = [getattr(m, attribute) for r in self.results[variant] for m in r.measurements
                  if m.key == key and getattr(m, attribute) is not None]
        return statistics.median(values) if values else None

    def measurement(self, variant: str, key: str) -> Measurement | None:
        for result in self.results[variant]:
            for m in result.measurements:
                if m.key == key:
                    return m
        return None

    def keys(self, variant: str, prefix: str) -> list[str]:
        seen: dict[str, None] = {}
        for result in self.results[variant]:
            for m in result.measurements:
                if m.key.startswith(prefix):
                    seen.setdefault(m.key)
        return list(seen)

    def rss(self, variant: str, moment: str) -> float | None:
        if moment == "peak":
            values = self.peak_mib[variant]
        else:
            values = [r.rss_mib[moment] for r in self.results[variant] if moment in r.rss_mib]
        return statistics.median(values) if values else None

    def notes(self, variant: str) -> list[str]:
        return sorted({n for r in self.results[variant] for n in r.notes})


def run_child(variant: str, config: ChildConfig) -> tuple[ChildResult, float]:
    """Run one variant in a fresh process; its result and its peak RSS in MiB.

    The peak is the child's own report at its end (see ``peak_rss_mib``), not the rusage
    the parent could collect: that would include the parent's own size at the fork.
    """
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", MODULES[variant], config.to_json(),
               *EXTRA_ARGS.get(variant, [])]
    try:
        child = subprocess.run(command, capture_output=True, text=True, env=env,
                               cwd=Path(__file__).resolve().parents[2],
                               timeout=CHILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{variant} took longer than {CHILD_TIMEOUT_S} s") from None
    if child.returncode != 0:
        tail = "\n".join(child.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{variant} exited with {child.returncode}:\n{tail}")
    result = ChildResult.parse(child.stdout)
    return result, result.rss_mib["end"]


def warm_file_cache(path: Path) -> None:
    """Read the database once, so that every variant finds it in the OS cache alike."""
    started = time.perf_counter()
    with path.open("rb") as file:
        while file.read(16 * 2**20):
            pass
    print(f"  read {path.name} into the OS file cache in {time.perf_counter() - started:.1f} s",
          flush=True)


def run_all(info: DatabaseInfo, repeat: int) -> Runs:
    """Every variant ``repeat`` times, interleaved, each in its own process."""
    runs = Runs()
    warm_file_cache(info.path)
    for round_ in range(1, repeat + 1):
        for variant in VARIANTS:
            print(f"  {info.size:>9,}  round {round_}/{repeat}  {variant:<8}", end="",
                  flush=True)
            started = time.perf_counter()
            try:
                result, peak = run_child(variant, info.config)
            except Exception as exc:
                runs.failures.append(f"{variant}: {exc}")
                print(f"  FAILED: {str(exc).splitlines()[0]}", flush=True)
                continue
            runs.results[variant].append(result)
            runs.peak_mib[variant].append(peak)
            print(f"  {time.perf_counter() - started:6.1f} s  peak {peak:5.0f} MiB", flush=True)
    return runs


# --- report -----------------------------------------------------------------------------

@dataclass
class Line:
    """One row of the report: a figure per database, a ratio, a target and a verdict."""

    label: str
    values: list[float | None]
    unit: str = "ms"
    target: str = ""
    ok: bool | None = None
    spread: bool = True
    """Show the biggest/smallest database ratio."""
    db: float | None = None
    """Of the biggest database's figure, the time spent in the database call."""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "rows":
        return f"{value:,.0f}"
    return f"{value:g}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _all(values: Iterable[float | None], test: Callable[[float], bool]) -> bool | None:
    present = [v for v in values if v is not None]
    return all(test(v) for v in present) if present else None


class Report:
    """Builds the printed table."""

    def __init__(self, infos: list[DatabaseInfo], runs: list[Runs]) -> None:
        self.infos = infos
        self.runs = runs
        self.lines: list[Line | str] = []
        self.slow: dict[str, str] = {}
        """Operation key -> variant, of the operations whose plans follow the table."""

    def section(self, title: str) -> None:
        self.lines.append(title)

    def add(self, line: Line) -> Line:
        self.lines.append(line)
        return line

    def medians(self, variant: str, key: str, attribute: str = "ms") -> list[float | None]:
        return [r.median(variant, key, attribute) for r in self.runs]

    def interaction(self, label: str, key: str, variant: str = "ours") -> None:
        """A figure held to the 100 ms target."""
        values = self.medians(variant, key)
        ok = _all(values, lambda v: v < INTERACTION_MS)
        db = self.medians(variant, key, "db_ms")
        self.add(Line(label, values, target=f"< {INTERACTION_MS:.0f} ms", ok=ok, db=db[-1]))
        if ok is False or any(v is not None and v >= SLOW_DB_MS for v in db):
            self.slow[key] = variant

    def build(self) -> None:
        self._first_paint()
        self._sorting()
        self._filters()
        self._search()
        self._counts()
        self._memory()
        self._bare()

    def _first_paint(self) -> None:
        self.section("First rows painted (choose the All open queue -> rows on screen)")
        ours = self.add(Line("ours, first in the process", self.medians("ours", "first_paint"),
                             db=self.medians("ours", "first_paint", "db_ms")[-1]))
        qsql = self.add(Line("QSqlQueryModel, first", self.medians("qsql", "first_paint")))
        ratios = [_ratio(a, b) for a, b in zip(ours.values, qsql.values, strict=True)]
        self.add(Line("ours / QSqlQueryModel", ratios, "x", f"<= {FIRST_PAINT_RATIO}x",
                      _all(ratios, lambda v: v <= FIRST_PAINT_RATIO), spread=False))
        flat = _ratio(ours.values[-1], ours.values[0]) if len(self.runs) > 1 else None
        if flat is not None:
            self.add(Line("ours, biggest / smallest database", [None] * (len(self.runs) - 1)
                          + [flat], "x", f"<= {FLAT_RATIO}x (flat)", flat <= FLAT_RATIO,
                          spread=False))
        warm = self.add(Line("ours, again (warm)", self.medians("ours", "first_paint_warm")))
        qwarm = self.add(Line("QSqlQueryModel, again (warm)",
                              self.medians("qsql", "first_paint_warm")))
        self.add(Line("ours / QSqlQueryModel (warm)",
                      [_ratio(a, b) for a, b in zip(warm.values, qwarm.values, strict=True)],
                      "x", spread=False))
        self.interaction("ours, next page", "next_page")
        self.interaction("ours, third page", "next_page_3")
        self.add(Line("QSqlQueryModel, next 255 rows", self.medians("qsql", "next_page")))

    def _sorting(self) -> None:
        self.section("Re-sort (header click -> first page painted) and the next page in "
                     "that order")
        for key in self.runs[-1].keys("ours", "sort:"):
            _, column, order = key.split(":")
            self.interaction(f"{column.lower()} {order}", key)
            self.interaction("  next page", f"next:{column}:{order}")

    def _filters(self) -> None:
        self.section("Built-in queues of the sidebar (resolve + new queue -> first page "
                     "painted), as the busiest agent")
        for key in self.runs[-1].keys("ours", "queue:"):
            name = key.split(":", 1)[1]
            rows = self.medians("ours", key, "rows")
            self.interaction(f"{name} ({_fmt(rows[-1], 'rows')} rows)", key)
            self.interaction("  next page", f"queue_next:{name}")
        self.section("Filters (a new queue -> first page painted), open incidents unless "
                     "said")
        for key in self.runs[-1].keys("ours", "filter:"):
            name = key.split(":", 1)[1]
            rows = self.medians("ours", key, "rows")
            self.interaction(f"{name} ({_fmt(rows[-1], 'rows')} rows)", key)
            self.interaction("  next page", f"filter_next:{name}")
        for key in self.runs[-1].keys("ours", "filter_sort:"):
            _, name, column, order = key.split(":")
            self.interaction(f"{name}, re-sorted by {column.lower()} {order}", key)

    def _search(self) -> None:
        self.section("Search (the word's matches in the biggest database: all incidents, "
                     "open ones)")
        runs = self.runs[-1]
        for word in self.infos[-1].config.words:
            hits = runs.median("sqlite3", f"fts_count:{word}", "rows")
            open_hits = runs.median("sqlite3", f"fts_open_count:{word}", "rows")
            self.section(f"  '{word}' ({_fmt(hits, 'rows')} all, {_fmt(open_hits, 'rows')} open)")
            self.interaction("    search queue (all incidents, newest number first)",
                             f"text_all:{word}")
            self.interaction("      next page", f"text_all_next:{word}")
            self.interaction("    open queue filtered by the word", f"text_open:{word}")
            self.interaction("      next page", f"text_open_next:{word}")
            self.interaction("    IncidentService.search (newest 50)", f"search:{word}")

    def _counts(self) -> None:
        self.section("Counts (IncidentService.count, for the status bar)")
        self.interaction("all built-in queues (QueueService.counts)",
                         "counts:sidebar")
        for key in self.runs[-1].keys("ours", "count:"):
            name = key.split(":", 1)[1]
            name = name.replace("text_open:", "open with the word ").replace(
                "text_all:", "search queue, the word ")
            self.interaction(name, key)

    def _memory(self) -> None:
        self.section("Peak memory (RSS of the fresh process)")
        ours_first = self.add(Line("ours, at first paint", [r.rss("ours", "first_paint")
                                                           for r in self.runs], "MiB"))
        ours_end = self.add(Line("ours, after every step above",
                                 [r.rss("ours", "peak") for r in self.runs], "MiB"))
        qsql = self.add(Line("QSqlQueryModel", [r.rss("qsql", "peak") for r in self.runs],
                             "MiB"))
        self.add(Line("empty table, Qt's imports only", [r.rss("empty", "peak")
                                                         for r in self.runs], "MiB"))
        self.add(Line("empty table, our imports (no database yet)",
                      [r.rss("ours-empty", "peak") for r in self.runs], "MiB"))
        for label, line in (("ours at first paint / QSqlQueryModel", ours_first),
                            ("ours after everything / QSqlQueryModel", ours_end)):
            ratios = [_ratio(a, b) for a, b in zip(line.values, qsql.values, strict=True)]
            self.add(Line(label, ratios, "x", f"<= {MEMORY_RATIO}x",
                          _all(ratios, lambda v: v <= MEMORY_RATIO), spread=False))
        if len(self.runs) > 1:
            for label, line in (("ours at first paint", ours_first),
                                ("ours after everything", ours_end)):
                flat = _ratio(line.values[-1], line.values[0])
                if flat is not None:
                    self.add(Line(f"{label}, biggest / smallest", [None] * (len(self.runs) - 1)
                                  + [flat], "x", f"<= {MEMORY_FLAT_RATIO}x (same)",
                                  flat <= MEMORY_FLAT_RATIO, spread=False))

    def _bare(self) -> None:
        self.section("Bare sqlite3 (median of warm runs; DESIGN.md: 0.4 / 0.7 / 0.1-0.2 ms "
                     "at 1M)")
        self.add(Line("first 100 open, newest first", self.medians("sqlite3", "first_page")))
        self.add(Line("next keyset page", self.medians("sqlite3", "next_page")))
        for word in self.infos[-1].config.words:
            self.add(Line(f"FTS5 newest 50 '{word}'", self.medians("sqlite3",
                                                                   f"fts_newest:{word}")))
        for word in self.infos[-1].config.words:
            self.add(Line(f"FTS5 ranked top 50 '{word}'", self.medians("sqlite3",
                                                                       f"fts_ranked:{word}")))

    def print(self) -> None:
        sizes = [f"{i.size // 1000:,}k" if i.size < 1_000_000 else f"{i.size / 1e6:g}M"
                 for i in self.infos]
        width = 50
        head = f"{'':<{width}}" + "".join(f"{s:>11}" for s in sizes)
        spread = len(self.infos) > 1
        if spread:
            head += f"{sizes[-1] + '/' + sizes[0]:>11}"
        head += f"{'(database)':>12}  {'target':<18}verdict"
        print(head)
        print("-" * len(head))
        for line in self.lines:
            if isinstance(line, str):
                print(line)
                continue
            text = f"  {line.label:<{width - 2}}" + "".join(f"{_fmt(v, line.unit):>11}"
                                                          for v in line.values)
            if spread:
                ratio = _ratio(line.values[-1], line.values[0]) if line.spread else None
                text += f"{_fmt(ratio, 'x') if ratio is not None else '':>11}"
            text += f"{'(' + _fmt(line.db, 'ms') + ')' if line.db is not None else '':>12}"
            verdict = "" if line.ok is None else ("ok" if line.ok else "MISSED")
            print(f"{text}  {line.target:<18}{verdict}".rstrip())
        print(f"(database): of the {sizes[-1]} figure, the median time of the service call in "
              "the database thread; the rest is Qt, the model and the event loop.")


def _shape(sql: str) -> str:
    """A statement on one line, its long select list of queue columns elided."""
    text = " ".join(sql.split())
    if text.startswith("SELECT incidents.id, incidents.number") and " FROM " in text:
        text = "SELECT <queue row columns>" + text[text.index(" FROM "):]
    return text


def print_plans(report: Report, info: DatabaseInfo, runs: Runs, everything: bool) -> None:
    """EXPLAIN QUERY PLAN of the statements behind slow operations on the biggest database.

    Operations whose statements get the same plan are listed together, under one example.
    """
    keys = dict(report.slow)
    if everything:
        for prefix in ("first_paint", "sort:", "next:", "queue:", "filter", "text_", "search:",
                       "count"):
            for key in runs.keys("ours", prefix):
                keys.setdefault(key, "ours")
    if not keys:
        print("\nNo slow operations: no plans to show.")
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    examples: dict[tuple[str, ...], list[str]] = {}
    with sqlite3.connect(f"file:{info.path}?mode=ro", uri=True) as connection:
        for key, variant in keys.items():
            measurement = runs.measurement(variant, key)
            if measurement is None:
                continue
            db = runs.median(variant, key, "db_ms")
            plans: list[str] = []
            statements: list[str] = []
            for sql, parameters in measurement.sql:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                statements.append(_shape(sql))
                try:
                    plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
                except sqlite3.Error as exc:
                    plans.append(f"(no plan: {exc})")
                    continue
                depth = {0: 0}
                plans.append(f"plan of statement {len(statements)}:")
                for node, parent, _unused, detail in plan:
                    depth[node] = depth.get(parent, 0) + 1
                    plans.append("  " * depth[node] + detail)
            group = tuple(plans)
            wall = runs.median(variant, key)
            groups.setdefault(group, []).append(
                f"{key} {_fmt(wall, 'ms')} (database {_fmt(db, 'ms')})")
            examples.setdefault(group, statements)
    connection.close()
    print(f"\nPlans on {info.path.name} of the operations that missed a target or spent over "
          f"{SLOW_DB_MS:.0f} ms in the database (EXPLAIN QUERY PLAN), grouped by plan")
    for number, (group, operations) in enumerate(groups.items(), 1):
        print(f"\n[{number}] {len(operations)} operation(s): " + "; ".join(operations))
        for index, statement in enumerate(examples[group], 1):
            print(f"    statement {index} (e.g.): {statement}")
        for line in group:
            print(f"    {line}")


def environment_line() -> str:
    try:
        from PySide6 import __version__ as pyside_version
    except ImportError:  # pragma: no cover
        pyside_version = "?"
    return (f"Python {platform.python_version()}, PySide6 {pyside_version}, SQLite "
            f"{sqlite3.sqlite_version} (sqlite3), {os.cpu_count()} CPUs, {platform.system()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        metavar="N", help="database sizes (default: 100000 1000000)")
    parser.add_argument("--database", type=Path, default=DEFAULT_DIRECTORY, metavar="DIR",
                        help="where the databases are kept and reused (default: "
                             f"{DEFAULT_DIRECTORY}; $DESKAPP_BENCH_DIR)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per variant; medians are shown (default 3)")
    parser.add_argument("--seed", type=int, default=20260301, help="demo generator seed")
    parser.add_argument("--explain", action="store_true",
                        help="print the plans of every operation, not just the slow ones")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.incidents))

    paths = [prepare(args.database, size, args.seed) for size in sizes]
    # The same words on every database: picked where they are rarest (the smallest).
    first = describe(paths[0], sizes[0], None)
    infos = [first] + [describe(p, s, first.config.words) for p, s in zip(paths[1:], sizes[1:],
                                                                          strict=True)]
    print(environment_line())
    for info in infos:
        print(f"{info.path}: {info.incidents:,} incidents, {info.open_incidents:,} open "
              f"({info.open_incidents / max(info.incidents, 1):.1%}), {info.mib:,.0f} MiB")
    print(f"Search words: {', '.join(first.config.words)}")
    print(f"Each variant {args.repeat}x in a fresh process, interleaved; medians below.",
          flush=True)

    runs = [run_all(info, args.repeat) for info in infos]
    report = Report(infos, runs)
    report.build()
    print()
    report.print()
    notes = sorted({n for r in runs for v in VARIANTS for n in r.notes(v)})
    for note in notes:
        print(f"note: {note}")
    print_plans(report, infos[-1], runs[-1], args.explain)
    failures = [f for r in runs for f in r.failures]
    for failure in failures:
        print(f"\nFAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
