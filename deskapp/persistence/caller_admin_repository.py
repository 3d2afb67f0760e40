"""The callers administration in SQL: keyset pages, versioned updates, duplicates, merges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from deskapp.domain.enums import ActivityKind
from deskapp.domain.errors import NotFoundError
from deskapp.persistence import live, search
from deskapp.persistence.repositories import (
    _starts_with,
    caller_keys,
    name_key,
    phone_search_digits,
    sort_key,
)
from deskapp.persistence.tables import (
    ActivityRecord,
    Base,
    CallerRecord,
    EmailMessageRecord,
    IncidentRecord,
    UserRecord,
)
from deskapp.services.caller_admin_dto import CallerAdminRow, CallerPageQuery, DuplicateGroup

_IN_CHUNK = 500
_NOTE_LIMIT = 1000
"""Past this many moved incidents, the change notice says "everything"."""
_MANY_MATCHES = 2000
"""Matches of a search past which walking the sort index beats sorting them (SQLite)."""
MIN_PHONE_DIGITS = 6
"""Shorter numbers (extensions, "0") say little about who someone is."""


def _foreign_keys_to_callers() -> list[tuple[str, str]]:
    # Walked from the mappings, so that a table added later that names a caller is
    # re-pointed by a merge without anyone remembering to add it here.
    return sorted((fk.parent.table.name, fk.parent.name)
                  for table in Base.metadata.tables.values()
                  for fk in table.foreign_keys
                  if fk.column.table.name == CallerRecord.__tablename__)


FOREIGN_KEYS = _foreign_keys_to_callers()
"""(table, column) of every foreign key that points at callers.id."""
_INCIDENT_CALLER = (IncidentRecord.__tablename__, "caller_id")
"""The one re-pointed column that is an incident's field: it raises the incident's version."""


def _row(r: CallerRecord, count: int, updated_by: str | None) -> CallerAdminRow:
    return CallerAdminRow(r.id, r.name, r.email, r.phone, r.department, r.location, r.vip,
                          r.active, r.merged_into_id, r.needs_review, r.version, count,
                          updated_by, r.updated_at)


def _unindexed(name: str) -> ColumnElement[str]:
    # SQLite's documented way to keep a term from using an index: a unary "+".
    column = CallerRecord.__table__.c[name]
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _search(key: str, digits: str, *, indexed: bool) -> ColumnElement[bool]:
    """Callers whose name or email starts with ``key``, or whose phone with ``digits``."""
    columns: list[Mapped[str] | ColumnElement[str]] = (
        [CallerRecord.name_key, CallerRecord.email_key, CallerRecord.phone_key] if indexed
        else [_unindexed("name_key"), _unindexed("email_key"), _unindexed("phone_key")])
    # Prefix ranges, not LIKE '%…%': each can use its index on both databases.
    conditions = [_starts_with(columns[0], key), _starts_with(columns[1], key)]
    if digits:
        conditions.append(_starts_with(columns[2], digits))
    return or_(*conditions)


class SqlCallerAdmin:
    """CallerAdminStore in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _counts(self, ids: Sequence[int]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            rows: Sequence[Row[tuple[int, int]]] = self._session.execute(
                select(IncidentRecord.caller_id, func.count())
                .where(IncidentRecord.caller_id.in_(ids[start:start + _IN_CHUNK]))
                .group_by(IncidentRecord.caller_id)).all()
            counts.update({caller_id: count for caller_id, count in rows})
        return counts

    def _rows(self, statement: Select[tuple[CallerRecord]]) -> list[CallerAdminRow]:
        records = list(self._session.execute(statement).scalars())
        counts = self._counts([r.id for r in records])
        editors = {r.updated_by_id for r in records if r.updated_by_id is not None}
        names = dict(self._session.execute(
            select(UserRecord.id, UserRecord.full_name).where(UserRecord.id.in_(editors))
        ).tuples().all()) if editors else {}
        return [_row(r, counts.get(r.id, 0), names.get(r.updated_by_id or 0))
                for r in records]

    def row(self, caller_id: int) -> CallerAdminRow:
        rows = self._rows(select(CallerRecord).where(CallerRecord.id == caller_id))
        if not rows:
            raise NotFoundError(f"There is no caller with id {caller_id}.")
        return rows[0]

    def page(self, query: CallerPageQuery) -> list[CallerAdminRow]:
        conditions: list[ColumnElement[bool]] = []
        if not query.include_inactive:
            conditions.append(CallerRecord.active.is_(True))
        if query.after is not None:
            # A row value, not "key > k OR (key = k AND id > i)": both databases then start
            # the scan of ix_callers_sort_key_id at the cursor instead of filtering every
            # row before it (measured deep in 100,000 callers on PostgreSQL: 72 ms -> 0.3 ms).
            key_after, id_after = query.after
            conditions.append(tuple_(CallerRecord.sort_key, CallerRecord.id)
                              > tuple_(literal(key_after, CallerRecord.sort_key.type),
                                       literal(id_after)))
        key, digits = name_key(query.text), phone_search_digits(query.text)
        if key:
            conditions.append(_search(key, digits, indexed=True))
            if self._session.get_bind().dialect.name == "sqlite" and self._many(conditions):
                # SQLite gathers a search's matches through the look-up indexes and sorts
                # them all, however many; when they are many, walking the list's own index
                # and keeping the matches stops at the page's end instead ("caller" among
                # 100,000 callers: 750 ms -> 20 ms). PostgreSQL's planner chooses by itself.
                conditions[-1] = _search(key, digits, indexed=False)
        return self._rows(select(CallerRecord).where(*conditions)
                          .order_by(CallerRecord.sort_key, CallerRecord.id)
                          .limit(query.limit))

    def _many(self, conditions: list[ColumnElement[bool]]) -> bool:
        probe = select(CallerRecord.id).where(*conditions).limit(_MANY_MATCHES).subquery()
        return bool(self._session.execute(
            select(func.count()).select_from(probe)).scalar_one() >= _MANY_MATCHES)

    def sort_key(self, row: CallerAdminRow) -> tuple[str, int]:
        # Computed as it was stored (the same function), so the cursor is the row's position.
        return (sort_key(row.name), row.id)

    def update(self, caller_id: int, expected_version: int, values: dict[str, object]) -> bool:
        values = caller_keys(values)
        result = self._session.execute(
            update(CallerRecord)
            .where(CallerRecord.id == caller_id, CallerRecord.version == expected_version)
            .values(version=CallerRecord.version + 1, **values)
            .execution_options(synchronize_session=False))
        self._session.expire_all()
        updated = bool(getattr(result, "rowcount", 0))
        if updated and {"name", "email"} & values.keys():
            # The search index holds the caller's name and email with each incident.
            search.set_caller_of_incidents(self._session, [caller_id], caller_id)
        return updated

    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        active = CallerRecord.active.is_(True)
        groups: list[DuplicateGroup] = []
        seen: set[frozenset[int]] = set()
        for reason, column, at_least in (("email", CallerRecord.email_key, 1),
                                         ("phone", CallerRecord.phone_key, MIN_PHONE_DIGITS),
                                         ("name", CallerRecord.name_key, 1)):
            keys = list(self._session.execute(
                select(column).where(active, func.length(column) >= at_least)
                .group_by(column).having(func.count() > 1).order_by(column)
                .limit(limit)).scalars())
            for key in keys:
                rows = self._rows(select(CallerRecord).where(active, column == key)
                                  .order_by(CallerRecord.id))
                ids = frozenset(r.id for r in rows)
                if ids not in seen:
                    seen.add(ids)
                    groups.append(DuplicateGroup(reason, key, tuple(rows)))
        return groups[:limit]

    def duplicates_of(self, caller_id: int) -> list[CallerAdminRow]:
        record = self._session.get(CallerRecord, caller_id)
        if record is None:
            raise NotFoundError(f"There is no caller with id {caller_id}.")
        same: list[ColumnElement[bool]] = [CallerRecord.name_key == record.name_key]
        if record.email_key:
            same.append(CallerRecord.email_key == record.email_key)
        if len(record.phone_key) >= MIN_PHONE_DIGITS:
            same.append(CallerRecord.phone_key == record.phone_key)
        return self._rows(select(CallerRecord)
                          .where(or_(*same), CallerRecord.active.is_(True),
                                 CallerRecord.id != caller_id)
                          .order_by(CallerRecord.id))

    def repoint(self, from_ids: Sequence[int], to_id: int, actor_id: int,
                now: datetime) -> dict[str, int]:
        ids = list(from_ids)
        incidents_of = IncidentRecord.caller_id.in_(ids)
        # Hold the duplicates and their incidents still until the merge commits, so that the
        # timeline entries below and the move after them see the same incidents: on
        # PostgreSQL each statement reads its own snapshot, and an incident logged for a
        # duplicate (it needs the caller's row) or given another caller in between would be
        # moved without an entry, or get one without being moved. (SQLite's write
        # transaction already keeps every other writer out; it has no FOR UPDATE.)
        self._session.execute(
            select(CallerRecord.id).where(CallerRecord.id.in_(ids)).with_for_update())
        moving = list(self._session.execute(
            select(IncidentRecord.id).where(incidents_of).with_for_update()).scalars())
        # Open queues and forms on other desktops show the caller's name: tell them which
        # incidents now name another caller.
        live.note_changed(self._session, moving if len(moving) <= _NOTE_LIMIT else None)
        # Each moved incident's timeline says its caller changed, as an agent's change of
        # caller does; written before the move, while caller_id still names the old caller.
        # One INSERT ... SELECT however many incidents the duplicates have.
        self._session.execute(insert(ActivityRecord).from_select(
            ["incident_id", "kind", "at", "actor_id", "field", "old_value", "new_value"],
            select(IncidentRecord.id, literal(ActivityKind.FIELD_CHANGE.value),
                   literal(now, ActivityRecord.at.type), literal(actor_id),
                   literal("caller_id"), cast(IncidentRecord.caller_id, String),
                   literal(str(to_id))).where(incidents_of).order_by(IncidentRecord.id)))
        # Their search index entries name the survivor (found by their caller_id, so before
        # the move: afterwards they are among the survivor's own).
        search.set_caller_of_incidents(self._session, ids, to_id)
        moved: dict[str, int] = {}
        for table_name, column_name in FOREIGN_KEYS:
            table = Base.metadata.tables[table_name]
            column = table.c[column_name]
            values: dict[str, object] = {column_name: to_id}
            if (table_name, column_name) == _INCIDENT_CALLER:
                # A new version, so that a form opened before the merge cannot save the old
                # caller back (its save states the version it read and is refused).
                values.update(version=table.c.version + 1, updated_at=now,
                              updated_by_id=actor_id)
            result = self._session.execute(
                update(table).where(column.in_(ids)).values(values))
            moved[f"{table_name}.{column_name}"] = int(getattr(result, "rowcount", 0))
        self._session.expire_all()
        return moved

    def email_messages_of(self, caller_ids: Sequence[int]) -> int:
        return int(self._session.execute(
            select(func.count()).select_from(EmailMessageRecord)
            .join(IncidentRecord, IncidentRecord.id == EmailMessageRecord.incident_id)
            .where(IncidentRecord.caller_id.in_(list(caller_ids)))).scalar_one())
