"""Child process of the queue benchmark: the bare sqlite3 queries, the floor.

``python -m tests.bench.queue_sqlite CONFIG_JSON``: the first 100 open incidents newest
first, the next keyset page, and FTS5's newest 50 (and ranked top 50) for each word, each
the median of several runs on a warm connection, the first run reported apart.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from tests.bench.queue_common import (
    FIRST_PAGE_SQL,
    FTS_COUNT_SQL,
    FTS_NEWEST_SQL,
    FTS_OPEN_COUNT_SQL,
    FTS_RANKED_SQL,
    NEXT_PAGE_SQL,
    ChildConfig,
    ChildResult,
    fts_query,
)

RUNS = 15


def _timed(connection: sqlite3.Connection, sql: str,
           parameters: Sequence[Any] = ()) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    rows = connection.execute(sql, parameters).fetchall()
    return (time.perf_counter() - started) * 1000, rows


def _measure(result: ChildResult, connection: sqlite3.Connection, key: str, sql: str,
             parameters: Sequence[Any] = (), runs: int = RUNS, *,
             counts: bool = False) -> list[Any]:
    """Time ``sql``; ``rows`` is the rows returned or, with ``counts``, the count selected."""
    first, rows = _timed(connection, sql, parameters)
    times = [_timed(connection, sql, parameters)[0] for _ in range(runs)]
    result.add(key, statistics.median(times) if times else first,
               rows=int(rows[0][0]) if counts else len(rows), db_ms=first,
               sql=[(sql, list(parameters))])
    return rows


def run(config: ChildConfig, result: ChildResult) -> None:
    """Time the queries; ``db_ms`` of each measurement holds its first (cold) run."""
    connection = sqlite3.connect(f"file:{config.database}?mode=ro", uri=True,
                                 isolation_level=None)
    try:
        result.mark_rss("start")
        rows = _measure(result, connection, "first_page", FIRST_PAGE_SQL)
        last = rows[-1]
        _measure(result, connection, "next_page", NEXT_PAGE_SQL, (last[12], last[0]))
        for word in config.words:
            q = fts_query(word)
            _measure(result, connection, f"fts_newest:{word}", FTS_NEWEST_SQL, (q,))
            _measure(result, connection, f"fts_ranked:{word}", FTS_RANKED_SQL, (q,), runs=3)
            _measure(result, connection, f"fts_count:{word}", FTS_COUNT_SQL, (q,), runs=0,
                     counts=True)
            _measure(result, connection, f"fts_open_count:{word}", FTS_OPEN_COUNT_SQL, (q,),
                     runs=0, counts=True)
        result.mark_rss("end")
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    """Run for the config given as the one argument; print the result."""
    result = ChildResult("sqlite3")
    run(ChildConfig.from_json(argv[0]), result)
    result.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
