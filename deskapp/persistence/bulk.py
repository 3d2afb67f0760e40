"""Bulk writes of incidents, their activity and their search entries, for demo data and imports.

One ``executemany`` per table and batch instead of a round trip per row: psycopg 3 pipelines
it; on SQLite the rows, converted by their columns' own bind processors, go straight to the
driver's ``executemany`` loop in C. Either way the stored rows are exactly those the
repository writes (tests/integration/test_demo.py compares them byte for byte).
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    TableClause,
    Text,
    column,
    insert,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, aliased

from deskapp.domain.enums import ActivityKind
from deskapp.domain.incident import Incident
from deskapp.domain.people import Caller
from deskapp.persistence import incident_repository, live, search
from deskapp.persistence.audit_log import note_written
from deskapp.persistence.incident_repository import activity_values, column_values
from deskapp.persistence.repositories import caller_values, name_key
from deskapp.persistence.tables import (
    ActivityRecord,
    Base,
    CallerRecord,
    CategoryRecord,
    GroupMemberRecord,
    IncidentRecord,
    ServiceRecord,
)

# Core tables, not the mapped classes: an ORM bulk insert groups rows by which values are
# None and can fall back to a statement per row, where Core sends the batch as one
# executemany.
_INCIDENTS = Base.metadata.tables[IncidentRecord.__tablename__]
_ACTIVITY = Base.metadata.tables[ActivityRecord.__tablename__]
_CALLERS = Base.metadata.tables[CallerRecord.__tablename__]
_MEMBERS = Base.metadata.tables[GroupMemberRecord.__tablename__]
_IN_CHUNK = 500
"""Values per IN list: well below SQLite's limit on bound parameters."""

_NOTE_KINDS = frozenset({ActivityKind.WORK_NOTE, ActivityKind.COMMENT, ActivityKind.CALL})
"""The activity whose text the search index holds as an incident's notes (as the repository
does when notes are added one at a time)."""

# The search index lives outside the metadata (an FTS5 virtual table on SQLite); a
# lightweight table clause is enough to build its INSERT.
_SQLITE_SEARCH = table(
    "incident_search", column("rowid", Integer), column("number", String),
    column("short_description", String), column("description", Text), column("notes", Text),
    column("caller", Text),
)
_POSTGRES_SEARCH = table(
    "incident_search", column("incident_id", Integer), column("number", String),
    column("short_description", String), column("description", Text), column("notes", Text),
    column("caller", Text),
)


class SqlBulkIncidentWriter:
    """BulkIncidentWriter over the unit of work's session (and so its transaction)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name
        self._reserved: dict[str, int] = {}
        """The highest id handed out per table in this transaction (SQLite)."""

    def reserve_ids(self, count: int) -> list[int]:
        return self._new_ids("incidents", count)

    def reserve_numbers(self, count: int) -> int:
        return incident_repository.reserve_numbers(self._session, count)

    def add_incidents(self, incidents: Sequence[Incident],
                      external_refs: Sequence[str] | None = None) -> int:
        if not incidents:
            return 0
        # Too many to name one by one: listeners reload everything they show.
        live.note_changed(self._session, None)
        if external_refs is not None and len(external_refs) != len(incidents):
            raise ValueError("One external reference per incident, or none at all.")
        rows: list[dict[str, Any]] = []
        activity: list[dict[str, Any]] = []
        search: list[dict[str, Any]] = []
        id_column = "rowid" if self._dialect == "sqlite" else "incident_id"
        callers = self._caller_texts({incident.caller_id for incident in incidents})
        for index, incident in enumerate(incidents):
            if incident.id is None or incident.number is None:
                raise ValueError("Bulk-written incidents need their id and number set first.")
            values = column_values(incident)
            values["id"] = incident.id
            if external_refs is not None:
                values["external_ref"] = external_refs[index]
            rows.append(values)
            notes: list[str] = []
            for entry in incident.take_pending():
                activity.append(activity_values(incident.id, entry))
                if entry.body and entry.kind in _NOTE_KINDS:
                    notes.append(entry.body)
            search.append({
                id_column: incident.id, "number": incident.number,
                "short_description": incident.short_description,
                "description": incident.description, "notes": " ".join(notes),
                "caller": callers.get(incident.caller_id, ""),
            })
        self._insert(_INCIDENTS, rows)
        # Inserted in list order, so each incident's entries get ascending ids: the timeline
        # is read back in id order.
        self._insert(_ACTIVITY, activity)
        self._insert(_SQLITE_SEARCH if self._dialect == "sqlite" else _POSTGRES_SEARCH, search)
        return len(activity)

    def _caller_texts(self, caller_ids: Collection[int]) -> dict[int, str]:
        """What the search index holds of each of these callers, by id."""
        ids = sorted(caller_ids)
        texts: dict[int, str] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            rows = self._session.execute(
                select(CallerRecord.id, CallerRecord.name, CallerRecord.email)
                .where(CallerRecord.id.in_(ids[start:start + _IN_CHUNK]))).all()
            texts.update({caller_id: search.caller_text(name, email)
                          for caller_id, name, email in rows})
        return texts

    def _insert(self, target: TableClause, rows: list[dict[str, Any]]) -> None:
        """One executemany of ``rows`` (dicts with the same keys) into ``target``."""
        if not rows:
            return
        if self._dialect != "sqlite":
            self._session.execute(insert(target), rows)
            return
        # SQLAlchemy's executemany builds and converts every parameter of every row in
        # Python before sqlite3's own executemany loop sees it; that costs more than the
        # inserts themselves. Here only the values that need it (timestamps) go through
        # their column's bind processor, the very conversion SQLAlchemy would apply, so
        # what is stored is identical; the rest go to the driver as they are.
        # The session does not see a statement sent to the driver: the trail is told.
        note_written(self._session, target.name)
        connection = self._session.connection()
        dialect = connection.dialect
        compiled = insert(target).compile(dialect=dialect, column_keys=list(rows[0]))
        order = list(compiled.positiontup or ())
        assert sorted(order) == sorted(rows[0]), (order, list(rows[0]))
        processors = [(position, processor) for position, processor in (
            (position, target.c[key].type.dialect_impl(dialect).bind_processor(dialect))
            for position, key in enumerate(order)) if processor is not None]
        # itemgetter returns a tuple only for two keys or more; every table here has them.
        assert len(order) >= 2
        values = operator.itemgetter(*order)
        parameters = []
        for row in rows:
            row_values = list(values(row))
            for position, processor in processors:
                row_values[position] = processor(row_values[position])
            parameters.append(tuple(row_values))
        connection.exec_driver_sql(compiled.string, parameters)

    def add_callers(self, callers: Sequence[Caller]) -> list[Caller]:
        if not callers:
            return []
        rows = [caller_values(caller) for caller in callers]
        ids = self._new_ids("callers", len(rows))
        for row, caller_id in zip(rows, ids, strict=True):
            row["id"] = caller_id
        self._insert(_CALLERS, rows)
        return [
            Caller(caller_id, c.name, c.email, c.phone, c.department, c.location, c.vip)
            for caller_id, c in zip(ids, callers, strict=True)
        ]

    def external_refs(self, prefix: str) -> set[str]:
        # A scan (LIKE cannot use the index under PostgreSQL's default collation), which is
        # fine once per import; SQLite's LIKE ignores case, so the prefix is checked again.
        rows = self._session.execute(
            select(IncidentRecord.external_ref).where(
                IncidentRecord.external_ref.startswith(prefix, autoescape=True))
        ).scalars()
        return {ref for ref in rows if ref is not None and ref.startswith(prefix)}

    def callers_by_name(self, names: Collection[str]) -> dict[str, int]:
        wanted: dict[str, list[str]] = {}
        for name in names:
            wanted.setdefault(name_key(name), []).append(name)
        found: dict[str, int] = {}
        keys = sorted(wanted)
        for start in range(0, len(keys), _IN_CHUNK):
            # The oldest active caller of each name; failing that the oldest, or (for a
            # merged one) its survivor: merges flatten chains, so one step reaches it.
            rows = self._session.execute(
                select(CallerRecord.name_key, CallerRecord.id, CallerRecord.merged_into_id)
                .where(CallerRecord.name_key.in_(keys[start:start + _IN_CHUNK]))
                .order_by(CallerRecord.name_key, CallerRecord.active.desc(), CallerRecord.id)
            ).all()
            for key, caller_id, merged_into_id in rows:
                for name in wanted.get(key, ()):
                    found.setdefault(name, int(merged_into_id or caller_id))
        return found

    def add_group_members(self, members: Collection[tuple[int, int]]) -> int:
        if not members:
            return 0
        existing = set(self._session.execute(
            select(GroupMemberRecord.group_id, GroupMemberRecord.user_id)
            .where(GroupMemberRecord.group_id.in_(sorted({g for g, _ in members})))
        ).tuples())
        new = sorted(set(members) - existing)
        if new:
            self._session.execute(insert(_MEMBERS),
                                  [{"group_id": g, "user_id": u} for g, u in new])
        return len(new)

    def callers_by_email_domain(self, domain: str) -> list[Caller]:
        # email_key is the lower-cased address; a range on it would need the domain first,
        # so this scans, which is fine for a one-off look-up at the start of a demo run.
        suffix = "@" + domain.strip().casefold()
        rows = self._session.execute(
            select(CallerRecord).where(CallerRecord.email_key.endswith(suffix, autoescape=True))
            .order_by(CallerRecord.id)
        ).scalars()
        return [Caller(r.id, r.name, r.email, r.phone, r.department, r.location, r.vip)
                for r in rows]

    def categories(self) -> dict[tuple[str | None, str], int]:
        parent = aliased(CategoryRecord, name="parent")
        rows = self._session.execute(
            select(CategoryRecord.id, CategoryRecord.name, parent.name)
            .outerjoin(parent, parent.id == CategoryRecord.parent_id)
        ).all()
        return {(parent_name, name): category_id for category_id, name, parent_name in rows}

    def refresh_statistics(self) -> None:
        self._session.execute(text("ANALYZE"))

    def services(self) -> dict[str, int]:
        rows = self._session.execute(select(ServiceRecord.id, ServiceRecord.name)).all()
        return {name: service_id for service_id, name in rows}

    def _new_ids(self, table_name: str, count: int) -> list[int]:
        """Ids for ``count`` new rows of a table whose integer key is called ``id``."""
        if count <= 0:
            return []
        if self._dialect == "sqlite":
            # A write unit of work holds SQLite's write lock from BEGIN IMMEDIATE on, so no
            # one else can insert before we commit: the ids above today's maximum are ours,
            # the very ones SQLite would hand out itself.
            last = self._session.execute(
                text(f"SELECT max(id) FROM {table_name}")).scalar_one_or_none()
            first = max(int(last or 0), self._reserved.get(table_name, 0)) + 1
            self._reserved[table_name] = first + count - 1
            return list(range(first, first + count))
        # Drawn from the column's own sequence, the ids stay clear of concurrent inserts
        # (which use the same sequence), and no lock or setval is needed.
        rows = self._session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table_name, 'id')) "
                 "FROM generate_series(1, :count)"),
            {"table_name": table_name, "count": count},
        ).scalars()
        return sorted(int(value) for value in rows)
