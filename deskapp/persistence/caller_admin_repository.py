"""The callers administration in SQL: keyset pages, versioned updates, duplicates, merges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from deskapp.domain.enums import ActivityKind
from deskapp.domain.errors import NotFoundError
from deskapp.persistence import live
from deskapp.persistence.repositories import _starts_with, name_key, phone_key
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
        statement = select(CallerRecord)
        key = name_key(query.text)
        if key:
            # Prefix ranges, not LIKE '%…%': each uses its index on both databases.
            conditions = [_starts_with(CallerRecord.name_key, key),
                          _starts_with(CallerRecord.email_key, key)]
            digits = phone_key(query.text)
            if len(digits) >= 3:
                conditions.append(_starts_with(CallerRecord.phone_key, digits))
            statement = statement.where(or_(*conditions))
        if not query.include_inactive:
            statement = statement.where(CallerRecord.active.is_(True))
        if query.after is not None:
            key_after, id_after = query.after
            statement = statement.where(or_(
                CallerRecord.name_key > key_after,
                and_(CallerRecord.name_key == key_after, CallerRecord.id > id_after)))
        return self._rows(statement.order_by(CallerRecord.name_key, CallerRecord.id)
                          .limit(query.limit))

    def sort_key(self, row: CallerAdminRow) -> tuple[str, int]:
        return (name_key(row.name), row.id)

    def update(self, caller_id: int, expected_version: int, values: dict[str, object]) -> bool:
        values = dict(values)
        if "name" in values:
            values["name_key"] = name_key(str(values["name"]))
        if "email" in values:
            values["email_key"] = name_key(str(values["email"]))
        if "phone" in values:
            values["phone_key"] = phone_key(str(values["phone"]))
        result = self._session.execute(
            update(CallerRecord)
            .where(CallerRecord.id == caller_id, CallerRecord.version == expected_version)
            .values(version=CallerRecord.version + 1, **values)
            .execution_options(synchronize_session=False))
        self._session.expire_all()
        return bool(getattr(result, "rowcount", 0))

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
        # Open queues and forms on other desktops show the caller's name: tell them which
        # incidents now name another caller.
        moving = list(self._session.execute(
            select(IncidentRecord.id).where(incidents_of).limit(_NOTE_LIMIT + 1)).scalars())
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
