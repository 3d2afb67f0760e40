"""The audit trail in the database: appended in the same transaction as the change it records.

Services call ``record`` while they work; the unit of work writes what was recorded just
before it commits (``write_pending``), so the trail and the change commit or roll back
together. Appending holds the chain lock to the end of the transaction: on PostgreSQL an
advisory lock taken by ``deskapp_audit_head()``, on SQLite the write lock every write
transaction takes at BEGIN IMMEDIATE. The chain's order is therefore the commit order.

A write unit of work that commits without recording anything still leaves a row ("change",
naming the tables it wrote and, when the service said who acts, the actor), so that no
committed change escapes the trail. The tables come from the session's flushes and DML
statements (``track_writes``) and from writers that go to the driver directly
(``note_written``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, insert, select, text, union_all
from sqlalchemy.orm import Session, sessionmaker

from deskapp.domain.audit import (
    GENESIS,
    AuditEntry,
    canonical_json,
    chain_hash,
    row_content,
)
from deskapp.persistence.tables import AuditLogRecord, UserRecord

_PENDING = "deskapp_audit_pending"
_TOUCHED = "deskapp_audit_touched"
GENERIC_ACTION = "change"
"""The action of a row written for a transaction whose service recorded nothing itself."""

_A: Table = AuditLogRecord.__table__  # type: ignore[assignment]
_ACTOR_BRANCHES = 50
"""Up to this many people in a Who filter are read one by one in (actor_id, id); more (a
short name that matches most of the desk) match most rows, which the primary key finds."""


class SqlAuditLog:
    """The audit trail of one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, action: str, *, actor_id: int | None, entity: str = "",
               entity_id: str | int | None = None,
               details: dict[str, Any] | None = None) -> None:
        """Note something to append when this transaction commits."""
        pending: list[dict[str, Any]] = self._session.info.setdefault(_PENDING, [])
        pending.append({
            "actor_id": actor_id, "action": action[:40], "entity": entity[:40],
            "entity_id": "" if entity_id is None else str(entity_id)[:64],
            "details": canonical_json(details or {}),
        })

    @property
    def pending_count(self) -> int:
        """How many rows wait for the commit."""
        return len(self._session.info.get(_PENDING, ()))

    def write_pending(self, *, generic: bool, actor_id: int | None = None) -> int:
        """Append what was recorded (or, if ``generic``, one "change" row); returns how many.

        Called by the unit of work inside the transaction, just before COMMIT; ``actor_id``
        is who acts in it, if known, named on the "change" row.
        """
        pending: list[dict[str, Any]] = self._session.info.pop(_PENDING, [])
        touched: set[str] = self._session.info.pop(_TOUCHED, set())
        if not pending and generic:
            pending = [{"actor_id": actor_id, "action": GENERIC_ACTION, "entity": "",
                        "entity_id": "", "details": canonical_json(
                            {"tables": sorted(touched)})}]
        if not pending:
            return 0
        last_id, last_hash, now = self._head()
        names = self._names({p["actor_id"] for p in pending if p["actor_id"] is not None})
        rows = []
        for entry in pending:
            last_id += 1
            actor = names.get(entry["actor_id"], "")
            content = row_content(last_id, now, entry["actor_id"], actor, entry["action"],
                                  entry["entity"], entry["entity_id"], entry["details"])
            row_hash = chain_hash(last_hash, content)
            rows.append({**entry, "id": last_id, "at": now, "actor": actor,
                         "prev_hash": last_hash, "hash": row_hash})
            last_hash = row_hash
        self._session.execute(insert(_A), rows)
        return len(rows)

    def forget(self) -> None:
        """Drop what a rolled-back transaction recorded."""
        self._session.info.pop(_PENDING, None)
        self._session.info.pop(_TOUCHED, None)

    def _head(self) -> tuple[int, str, datetime]:
        """The chain's last row (id, hash), and the time to stamp the new rows with.

        On PostgreSQL the time is the server's, read once the chain lock is held: every
        desktop's rows then follow one clock, in the chain's order. On SQLite (one host)
        it is this host's.
        """
        row: Row[Any] | None
        if self._session.get_bind().dialect.name == "postgresql":
            row = self._session.execute(text(
                "SELECT last_id, last_hash, clock_timestamp() FROM deskapp_audit_head()")).one()
            now: datetime = row[2]
        else:
            row = self._session.execute(
                select(_A.c.id, _A.c.hash).order_by(_A.c.id.desc()).limit(1)).first()
            now = datetime.now(UTC)
        last_id, last_hash = (row[0], row[1]) if row is not None and row[0] is not None \
            else (0, GENESIS)
        return int(last_id), str(last_hash), now.astimezone(UTC)

    def _names(self, ids: set[int]) -> dict[Any, str]:
        if not ids:
            return {}
        result = self._session.execute(
            select(UserRecord.id, UserRecord.username).where(UserRecord.id.in_(ids)))
        return {row.id: row.username for row in result}

    # --- reading ---------------------------------------------------------------------------

    def entries(self, after_id: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """Rows after ``after_id``, in chain order."""
        result = self._session.execute(
            select(_A).where(_A.c.id > after_id).order_by(_A.c.id).limit(limit))
        return [_entry(row) for row in result.mappings()]

    def walk(self, batch: int = 2000) -> Iterator[AuditEntry]:
        """Every row in chain order, a batch at a time."""
        after = 0
        while True:
            rows = self.entries(after, batch)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].id

    def latest(self, limit: int, *, action: str | None = None, entity: str | None = None,
               entity_id: str | None = None, before_id: int | None = None,
               actor_ids: Collection[int] | None = None, since: datetime | None = None,
               until: datetime | None = None) -> list[AuditEntry]:
        """The newest rows first, filtered; ``before_id`` pages back.

        Every filter is read through an index, newest first, so that a filter matching few
        or old rows does not walk the whole trail: ``since``/``until`` become a range of ids
        (found in ``(at, id)``; rows are stamped under the chain lock, so ``at`` follows
        ``id``), and each actor's rows are read newest first in ``(actor_id, id)``.
        """
        conditions: list[ColumnElement[bool]] = []
        if since is not None:
            first = self._first_id_at(since)
            if first is None:
                return []
            conditions += [_A.c.id >= first, _A.c.at >= since]
        if until is not None:
            beyond = self._first_id_at(until)
            if beyond is not None:
                conditions.append(_A.c.id < beyond)
            conditions.append(_A.c.at < until)
        if action:
            conditions.append(_A.c.action == action)
        if entity:
            conditions.append(_A.c.entity == entity)
        if entity_id:
            conditions.append(_A.c.entity_id == entity_id)
        if before_id is not None:
            conditions.append(_A.c.id < before_id)
        newest = _A.c.id.desc()
        if actor_ids is not None:
            actors = sorted(set(actor_ids))
            if not actors:
                return []
            if len(actors) <= _ACTOR_BRANCHES:
                # One newest-first read per person, merged: an IN over several would make
                # either database sort every row of those people (or walk the whole trail).
                branches = [
                    select(_A.c.id).where(_A.c.actor_id == actor, *conditions)
                    .order_by(newest).limit(limit).subquery()
                    for actor in actors]
                ids = union_all(*[select(branch.c.id) for branch in branches])
                conditions = [_A.c.id.in_(ids)]
            else:
                conditions.append(_A.c.actor_id.in_(actors))
        query = select(_A).where(*conditions).order_by(newest).limit(limit)
        return [_entry(row) for row in self._session.execute(query).mappings()]

    def _first_id_at(self, moment: datetime) -> int | None:
        """The first row stamped at or after ``moment``: one step into ``(at, id)``."""
        return self._session.execute(
            select(_A.c.id).where(_A.c.at >= moment).order_by(_A.c.at, _A.c.id).limit(1)
        ).scalar_one_or_none()


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(id=row["id"], at=row["at"], actor_id=row["actor_id"], actor=row["actor"],
                      action=row["action"], entity=row["entity"], entity_id=row["entity_id"],
                      details=row["details"], prev_hash=row["prev_hash"], hash=row["hash"])


def note_written(session: Session, *tables: str) -> None:
    """Note that ``tables`` were written in this session's transaction by statements sent to
    the driver directly, which the session's events do not see."""
    session.info.setdefault(_TOUCHED, set()).update(tables)


def track_writes(factory: sessionmaker[Session]) -> None:
    """Note which tables each session writes, for the generic audit row."""
    from sqlalchemy import event
    from sqlalchemy.orm import ORMExecuteState, UOWTransaction

    @event.listens_for(factory, "after_flush")
    def _after_flush(session: Session, _flush: UOWTransaction) -> None:
        touched: set[str] = session.info.setdefault(_TOUCHED, set())
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(obj, "__tablename__", None)
            if isinstance(table, str):
                touched.add(table)

    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state: ORMExecuteState) -> None:
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if isinstance(name, str) and name != _A.name:
            touched: set[str] = state.session.info.setdefault(_TOUCHED, set())
            touched.add(name)
