"""The aggregate SQL behind the period report, for SQLite and PostgreSQL.

Every figure is computed by the database. The incidents a report is about (opened in the
period, or resolved or ended in it) are first copied - only the columns the figures need,
with durations already worked out - into a temporary table: one indexed pass over the big
table, after which each breakdown, series and percentile is a quick aggregate over a small,
local table rather than another walk through a million rows. The temporary table lives in
the report's transaction and is dropped with it.

Durations are exact on both databases (integer microseconds on SQLite, not julianday's
floats), so thresholds such as first contact's 15 minutes count the same incidents on each.
Medians and 90th percentiles are linear interpolations between the two nearest values
(PostgreSQL's ``percentile_cont``); SQLite has no such function, so the same formula is
written with window functions, and both databases give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, TextualSelect, bindparam, text
from sqlalchemy.orm import Session

from deskapp.domain.enums import OPEN_STATES, Channel
from deskapp.domain.text import natural_sort_key
from deskapp.persistence.types import UTCDateTime
from deskapp.services.report_dto import (
    Count,
    DayFigures,
    Durations,
    MajorIncident,
    OpenIncident,
    PeriodFigures,
    PeriodQuery,
    PriorityFigures,
    ReviewStatus,
)

_TIME_PARAMS = ("start", "end", "day_start", "day_end")
_ID_PARAMS = ("groups", "categories", "services", "priorities", "open_states")


class SqlReportQueries:
    """ReportQueries over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # --- plumbing -----------------------------------------------------------------------

    def _sql(self, sql: str, times: Sequence[str] = ()) -> TextClause | TextualSelect:
        """``sql`` with its parameters typed (times as stored, id lists expanded) and the
        result columns named in ``times`` read as UTC datetimes."""
        clause = text(sql)
        params = [bindparam(name, type_=UTCDateTime()) for name in _TIME_PARAMS
                  if f":{name}" in sql]
        params += [bindparam(name, expanding=True) for name in _ID_PARAMS
                   if f":{name}" in sql]
        if params:
            clause = clause.bindparams(*params)
        if times:
            return clause.columns(**{name: UTCDateTime() for name in times})
        return clause

    def _run(self, sql: str, times: Sequence[str] = (), **params: Any) -> Any:
        return self._session.execute(self._sql(sql, times), params)

    def _seconds(self, earlier: str, later: str) -> str:
        """``later - earlier`` in seconds, exact to the microsecond on both databases.

        SQLite's julianday() is a float of days: times 86,400 it is off by some
        microseconds, so an incident resolved exactly 15 minutes after it was opened
        measured 900.00000x s and failed ``<= 900`` where PostgreSQL's exact interval
        passed. Whole seconds since the epoch plus the stored microseconds, as integers,
        give PostgreSQL's figure (one division at the end).
        """
        if self._dialect == "sqlite":
            return f"(({_micros(later)} - {_micros(earlier)}) / 1000000.0)"
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"

    @staticmethod
    def _filters(query: PeriodQuery, alias: str = "i") -> str:
        conditions = []
        if query.group_ids:
            conditions.append(f"{alias}.assignment_group_id IN :groups")
        if query.category_ids:
            conditions.append(f"({alias}.category_id IN :categories "
                              f"OR {alias}.subcategory_id IN :categories)")
        if query.service_ids:
            conditions.append(f"{alias}.service_id IN :services")
        if query.priorities:
            conditions.append(f"{alias}.priority IN :priorities")
        return "".join(f" AND {c}" for c in conditions)

    @staticmethod
    def _filter_params(query: PeriodQuery) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if query.group_ids:
            params["groups"] = list(query.group_ids)
        if query.category_ids:
            params["categories"] = list(query.category_ids)
        if query.service_ids:
            params["services"] = list(query.service_ids)
        if query.priorities:
            params["priorities"] = list(query.priorities)
        return params

    def _temp(self, name: str) -> str:
        return name if self._dialect == "sqlite" else f"pg_temp.{name}"

    # --- the report ---------------------------------------------------------------------

    def period_figures(self, query: PeriodQuery, now: datetime) -> PeriodFigures:
        params = {"start": query.start, "end": query.end, **self._filter_params(query)}
        self._collect(query, params)
        try:
            return self._figures(query, params)
        finally:
            # The transaction's end drops them as well; this keeps a pooled connection clean
            # should a caller ever commit before closing.
            self._run(f"DROP TABLE IF EXISTS {self._temp('rpt_incidents')}")
            self._run(f"DROP TABLE IF EXISTS {self._temp('rpt_days')}")

    def _collect(self, query: PeriodQuery, params: dict[str, Any]) -> None:
        temp = "TEMPORARY TABLE"
        on_commit = "" if self._dialect == "sqlite" else " ON COMMIT DROP"
        self._run(f"DROP TABLE IF EXISTS {self._temp('rpt_incidents')}")
        self._run(f"DROP TABLE IF EXISTS {self._temp('rpt_days')}")
        in_period = "{c} >= :start AND {c} < :end"
        # Three index ranges, not one scan: opened in the period, resolved in it, and the
        # few that ended without a resolution (cancelled) in it.
        self._run(f"""
            CREATE {temp} rpt_incidents{on_commit} AS
            SELECT i.id, i.priority, i.channel, i.category_id, i.subcategory_id,
                   i.assignment_group_id, i.service_id, i.configuration_item_id, i.state,
                   CASE WHEN i.is_major THEN 1 ELSE 0 END AS is_major,
                   i.opened_at, i.resolved_at,
                   COALESCE(i.resolved_at, i.closed_at) AS ended_at,
                   i.reassignment_count, i.reopen_count,
                   CASE WHEN i.response_breached THEN 1 ELSE 0 END AS response_breached,
                   CASE WHEN i.resolution_breached THEN 1 ELSE 0 END AS resolution_breached,
                   CASE WHEN {in_period.format(c="i.opened_at")} THEN 1 ELSE 0 END
                       AS opened_in,
                   CASE WHEN {in_period.format(c="i.resolved_at")} THEN 1 ELSE 0 END
                       AS resolved_in,
                   {self._seconds("i.opened_at", "i.first_response_at")} AS respond_s,
                   {self._seconds("i.opened_at", "i.resolved_at")} AS resolve_s
            FROM incidents i
            WHERE ({in_period.format(c="i.opened_at")}
                   OR {in_period.format(c="i.resolved_at")}
                   OR (i.resolved_at IS NULL AND {in_period.format(c="i.closed_at")}))
                  {self._filters(query)}
        """, **params)
        for column in ("opened_at", "resolved_at", "ended_at"):
            self._run(f"CREATE INDEX rpt_incidents_{column} ON rpt_incidents ({column})")
        # Untyped on SQLite: a column with a type affinity would convert the incidents'
        # stored times before comparing, and no index could serve the comparison.
        time_type = "" if self._dialect == "sqlite" else " TIMESTAMPTZ"
        self._run(f"CREATE {temp} rpt_days (idx INTEGER PRIMARY KEY, day_start{time_type}, "
                  f"day_end{time_type}){on_commit}")
        bounds = [*query.day_starts, query.end]
        insert = self._sql("INSERT INTO rpt_days (idx, day_start, day_end) "
                           "VALUES (:idx, :day_start, :day_end)")
        self._session.execute(insert, [
            {"idx": i, "day_start": bounds[i], "day_end": bounds[i + 1]}
            for i in range(len(query.day_starts))])
        if self._dialect == "postgresql":
            # Temporary tables get no statistics unless asked; the planner needs row counts.
            self._run("ANALYZE rpt_incidents")
            self._run("ANALYZE rpt_days")

    def _figures(self, query: PeriodQuery, params: dict[str, Any]) -> PeriodFigures:
        totals = self._run("""
            SELECT COALESCE(SUM(opened_in), 0) AS opened,
                   COALESCE(SUM(resolved_in), 0) AS resolved,
                   COALESCE(SUM(CASE WHEN opened_in = 1 AND reassignment_count > 0
                                     THEN 1 ELSE 0 END), 0) AS reassigned,
                   COALESCE(SUM(CASE WHEN resolved_in = 1 AND reopen_count > 0
                                     THEN 1 ELSE 0 END), 0) AS reopened,
                   COALESCE(SUM(CASE WHEN opened_in = 1 AND resolved_at IS NOT NULL
                                      AND resolve_s <= :fcr_seconds
                                      AND reassignment_count = 0 AND reopen_count = 0
                                     THEN 1 ELSE 0 END), 0) AS first_contact
            FROM rpt_incidents
        """, fcr_seconds=query.first_contact_minutes * 60).one()
        backlog_start = self._backlog_start(query, params)
        days = self._days(query, backlog_start)
        return PeriodFigures(
            opened=int(totals.opened),
            resolved=int(totals.resolved),
            backlog_start=backlog_start,
            backlog_end=days[-1].backlog if days else backlog_start,
            days=days,
            by_priority=self._by_priority(),
            by_category=self._by_category(),
            by_group=self._by_group(),
            by_channel=self._by_channel(),
            top_services=self._top_services(query.top),
            top_categories=self._top_subcategories(query.top),
            top_configuration_items=self._top_configuration_items(query.top),
            priorities=self._priority_figures(),
            reassigned=int(totals.reassigned),
            reopened=int(totals.reopened),
            first_contact=int(totals.first_contact),
            oldest_open=self._oldest_open(query, params),
            majors=self._majors(),
        )

    def _backlog_start(self, query: PeriodQuery, params: dict[str, Any]) -> int:
        # Open at the start = opened before it, less those that ended (were resolved, or
        # closed or cancelled without a resolution) before it: three counts an index answers.
        f = self._filters(query)
        row = self._run(f"""
            SELECT (SELECT COUNT(*) FROM incidents i WHERE i.opened_at < :start{f}) AS opened,
                   (SELECT COUNT(*) FROM incidents i WHERE i.resolved_at < :start{f})
                       AS resolved,
                   (SELECT COUNT(*) FROM incidents i WHERE i.resolved_at IS NULL
                        AND i.closed_at < :start{f}) AS ended
        """, **params).one()
        return int(row.opened) - int(row.resolved) - int(row.ended)

    def _days(self, query: PeriodQuery, backlog_start: int) -> tuple[DayFigures, ...]:
        # One index range count per day and measure (the temporary table is indexed on each
        # time); the running sum of the day's balance turns the start's backlog into the
        # backlog at each day's end.
        count = ("(SELECT COUNT(*) FROM rpt_incidents r WHERE r.{c} >= d.day_start "
                 "AND r.{c} < d.day_end)")
        rows = self._run(f"""
            SELECT idx, opened, resolved,
                   :backlog_start + SUM(opened - ended) OVER (ORDER BY idx) AS backlog
            FROM (SELECT d.idx, {count.format(c="opened_at")} AS opened,
                         {count.format(c="resolved_at")} AS resolved,
                         {count.format(c="ended_at")} AS ended
                  FROM rpt_days d) AS per_day
            ORDER BY idx
        """, backlog_start=backlog_start).all()
        return tuple(DayFigures(query.day_starts[r.idx], int(r.opened), int(r.resolved),
                                int(r.backlog)) for r in rows)

    def _counts(self, sql: str, **params: Any) -> tuple[Count, ...]:
        return tuple(Count(str(r.key) if r.key is not None else "", r.label or "(none)",
                           int(r.n)) for r in self._run(sql, **params))

    def _ranked(self, sql: str, top: int | None = None, **params: Any) -> tuple[Count, ...]:
        """Counts by number, ties in natural order ("srv 2" before "srv 10"), the first ``top``.

        The database cannot order by the natural key (names are not stored with it), so a
        query with ``top`` returns every row ranked within it, ties at the cut included.
        """
        if top is not None:
            params["top"] = top
        counts = sorted(self._counts(sql, **params),
                        key=lambda c: (-c.count, natural_sort_key(c.label), c.key))
        return tuple(counts if top is None else counts[:top])

    def _by_priority(self) -> tuple[Count, ...]:
        return self._counts("""
            SELECT r.priority AS key, p.code || ' - ' || p.name AS label, COUNT(*) AS n
            FROM rpt_incidents r LEFT JOIN priorities p ON p.rank = r.priority
            WHERE r.opened_in = 1
            GROUP BY r.priority, p.code, p.name ORDER BY r.priority
        """)

    def _by_channel(self) -> tuple[Count, ...]:
        rows = self._run("""
            SELECT channel, COUNT(*) AS n FROM rpt_incidents WHERE opened_in = 1
            GROUP BY channel ORDER BY COUNT(*) DESC, channel
        """)
        counts = []
        for r in rows:
            try:
                label = Channel(r.channel).label
            except ValueError:
                label = str(r.channel)
            counts.append(Count(str(r.channel), label, int(r.n)))
        return tuple(counts)

    def _by_category(self) -> tuple[Count, ...]:
        return self._ranked("""
            SELECT r.category_id AS key, c.name AS label, COUNT(*) AS n
            FROM rpt_incidents r LEFT JOIN categories c ON c.id = r.category_id
            WHERE r.opened_in = 1
            GROUP BY r.category_id, c.name ORDER BY COUNT(*) DESC, c.name
        """)

    def _by_group(self) -> tuple[Count, ...]:
        return self._ranked("""
            SELECT r.assignment_group_id AS key, g.name AS label, COUNT(*) AS n
            FROM rpt_incidents r LEFT JOIN assignment_groups g
                 ON g.id = r.assignment_group_id
            WHERE r.opened_in = 1
            GROUP BY r.assignment_group_id, g.name ORDER BY COUNT(*) DESC, g.name
        """)

    def _top_services(self, top: int) -> tuple[Count, ...]:
        return self._ranked("""
            SELECT key, label, n FROM (
                SELECT r.service_id AS key, s.name AS label, COUNT(*) AS n,
                       RANK() OVER (ORDER BY COUNT(*) DESC) AS place
                FROM rpt_incidents r JOIN services s ON s.id = r.service_id
                WHERE r.opened_in = 1
                GROUP BY r.service_id, s.name) AS ranked
            WHERE place <= :top
        """, top)

    def _top_configuration_items(self, top: int) -> tuple[Count, ...]:
        # Counted by id first, named after: grouping the joined rows by name and class
        # (as the services are) took SQLite five times as long over a month of a million.
        return self._ranked("""
            SELECT t.key, ci.name || ' (' || ci.ci_class || ')' AS label, t.n
            FROM (SELECT configuration_item_id AS key, COUNT(*) AS n,
                         RANK() OVER (ORDER BY COUNT(*) DESC) AS place
                  FROM rpt_incidents
                  WHERE opened_in = 1 AND configuration_item_id IS NOT NULL
                  GROUP BY configuration_item_id) AS t
            JOIN configuration_items ci ON ci.id = t.key
            WHERE t.place <= :top
        """, top)

    def _top_subcategories(self, top: int) -> tuple[Count, ...]:
        return self._ranked("""
            SELECT key, label, n FROM (
                SELECT COALESCE(r.subcategory_id, r.category_id) AS key,
                       CASE WHEN sc.id IS NULL THEN c.name ELSE c.name || ' / ' || sc.name END
                           AS label,
                       COUNT(*) AS n, RANK() OVER (ORDER BY COUNT(*) DESC) AS place
                FROM rpt_incidents r
                JOIN categories c ON c.id = r.category_id
                LEFT JOIN categories sc ON sc.id = r.subcategory_id
                WHERE r.opened_in = 1
                GROUP BY COALESCE(r.subcategory_id, r.category_id), c.name, sc.id, sc.name
            ) AS ranked
            WHERE place <= :top
        """, top)

    def _durations(self, column: str, where: str) -> dict[int, Durations]:
        if self._dialect == "postgresql":
            sql = f"""
                SELECT priority, COUNT(*) AS n, AVG({column}) AS mean,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}) AS median,
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY {column}) AS p90
                FROM rpt_incidents WHERE {where} AND {column} IS NOT NULL
                GROUP BY priority
            """
        else:
            # percentile_cont by hand: rank the values per priority, take the two around
            # position p * (n - 1) and interpolate between them.
            pick = ("MAX(CASE WHEN rn = CAST((n - 1) * {p} AS INTEGER){plus} "
                    "THEN v END)")
            parts = []
            for p, name in ((0.5, "m"), (0.9, "q")):
                parts.append(f"{pick.format(p=p, plus='')} AS {name}_lo")
                parts.append(f"{pick.format(p=p, plus=' + 1')} AS {name}_hi")
                parts.append(f"MAX((n - 1) * {p} - CAST((n - 1) * {p} AS INTEGER)) "
                             f"AS {name}_frac")
            sql = f"""
                WITH ranked AS (
                    SELECT priority, {column} AS v,
                           ROW_NUMBER() OVER (PARTITION BY priority ORDER BY {column}) - 1
                               AS rn,
                           COUNT(*) OVER (PARTITION BY priority) AS n
                    FROM rpt_incidents WHERE {where} AND {column} IS NOT NULL),
                picked AS (
                    SELECT priority, MAX(n) AS n, AVG(v) AS mean, {", ".join(parts)}
                    FROM ranked GROUP BY priority)
                SELECT priority, n, mean,
                       m_lo + m_frac * (COALESCE(m_hi, m_lo) - m_lo) AS median,
                       q_lo + q_frac * (COALESCE(q_hi, q_lo) - q_lo) AS p90
                FROM picked
            """
        return {int(r.priority): Durations(int(r.n), _float(r.mean), _float(r.median),
                                           _float(r.p90))
                for r in self._run(sql)}

    def _priority_figures(self) -> tuple[PriorityFigures, ...]:
        respond = self._durations("respond_s", "opened_in = 1")
        resolve = self._durations("resolve_s", "resolved_in = 1")
        rows = self._run("""
            SELECT priority,
                   SUM(CASE WHEN opened_in = 1 AND respond_s IS NOT NULL
                            THEN 1 ELSE 0 END) AS response_total,
                   SUM(CASE WHEN opened_in = 1 AND respond_s IS NOT NULL
                             AND response_breached = 0 THEN 1 ELSE 0 END) AS response_met,
                   SUM(resolved_in) AS resolution_total,
                   SUM(CASE WHEN resolved_in = 1 AND resolution_breached = 0
                            THEN 1 ELSE 0 END) AS resolution_met
            FROM rpt_incidents GROUP BY priority ORDER BY priority
        """)
        none = Durations(0, None, None, None)
        return tuple(
            PriorityFigures(
                priority=int(r.priority),
                respond=respond.get(int(r.priority), none),
                resolve=resolve.get(int(r.priority), none),
                response_met=int(r.response_met), response_total=int(r.response_total),
                resolution_met=int(r.resolution_met),
                resolution_total=int(r.resolution_total),
            )
            for r in rows
        )

    def _oldest_open(self, query: PeriodQuery, params: dict[str, Any]) -> tuple[
            OpenIncident, ...]:
        rows = self._run(f"""
            SELECT i.number, i.short_description, i.priority, i.state, i.opened_at,
                   g.name AS group_name, u.full_name AS assignee
            FROM incidents i
            LEFT JOIN assignment_groups g ON g.id = i.assignment_group_id
            LEFT JOIN users u ON u.id = i.assignee_id
            WHERE i.state IN :open_states AND i.opened_at < :end{self._filters(query)}
            ORDER BY i.opened_at, i.id LIMIT :top
        """, ("opened_at",), **params, open_states=[s.value for s in OPEN_STATES],
            top=query.top)
        return tuple(OpenIncident(r.number, r.short_description, int(r.priority), r.state,
                                  r.opened_at, r.group_name or "", r.assignee or "")
                     for r in rows)

    def _majors(self) -> tuple[MajorIncident, ...]:
        rows = self._run("""
            SELECT i.id, i.number, i.short_description, i.priority, i.state, i.opened_at,
                   i.resolved_at,
                   (SELECT COUNT(*) FROM incidents c WHERE c.parent_id = i.id) AS children,
                   v.status AS review_status
            FROM rpt_incidents r
            JOIN incidents i ON i.id = r.id
            LEFT JOIN reviews v ON v.incident_id = i.id
            WHERE r.is_major = 1 AND (r.opened_in = 1 OR r.resolved_in = 1)
            ORDER BY i.opened_at, i.id
        """, ("opened_at", "resolved_at"))
        return tuple(
            MajorIncident(int(r.id), r.number, r.short_description, int(r.priority), r.state,
                          r.opened_at, r.resolved_at,
                          int(r.children),
                          ReviewStatus(r.review_status) if r.review_status else None)
            for r in rows)


def _micros(column: str) -> str:
    """A time stored on SQLite ("2026-03-02 09:00:00.250000") as integer microseconds since
    the epoch; a time stored without its fraction counts it as zero."""
    return (f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 "
            f"+ CAST(substr({column} || '000000', 21, 6) AS INTEGER))")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
