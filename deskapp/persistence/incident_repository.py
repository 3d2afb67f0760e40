"""Incidents, their activity and their queues, in SQL."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, aliased

from deskapp.domain.activity import ActivityEntry
from deskapp.domain.enums import (
    ActivityKind,
    Channel,
    HoldReason,
    ResolutionCode,
    State,
)
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident, format_number
from deskapp.domain.sla import AT_RISK_SHARE
from deskapp.persistence import search
from deskapp.persistence.tables import (
    ActivityRecord,
    CallerRecord,
    CounterRecord,
    GroupRecord,
    IncidentRecord,
    PriorityRecord,
    UserRecord,
)
from deskapp.services.dto import ActivityView, IncidentRow
from deskapp.services.queries import QueueFilter, QueueQuery, SlaCondition, SortKey

_INCIDENT_FIELDS = [f.name for f in fields(Incident) if f.name != "pending"]
_COLUMNS = [name for name in _INCIDENT_FIELDS if name != "id"]
ACTIVE_STATES = (State.NEW.value, State.IN_PROGRESS.value)
"""States in which the resolution clock runs."""

Assignee = aliased(UserRecord, name="assignee")


def to_domain(record: IncidentRecord) -> Incident:
    """Build the aggregate from its row."""
    values: dict[str, Any] = {name: getattr(record, name) for name in _INCIDENT_FIELDS}
    values["channel"] = Channel(record.channel)
    values["state"] = State(record.state)
    values["hold_reason"] = HoldReason(record.hold_reason) if record.hold_reason else None
    values["resolution_code"] = (
        ResolutionCode(record.resolution_code) if record.resolution_code else None
    )
    return Incident(**values)


def column_values(incident: Incident) -> dict[str, Any]:
    """The row values of an aggregate (enums as their stored text)."""
    values = {name: getattr(incident, name) for name in _COLUMNS}
    for name in ("channel", "state", "hold_reason", "resolution_code"):
        if values[name] is not None:
            values[name] = str(values[name])
    return values


def activity_values(incident_id: int, entry: ActivityEntry) -> dict[str, Any]:
    """The row values of one activity entry."""
    return {
        "incident_id": incident_id, "kind": entry.kind.value, "at": entry.at,
        "actor_id": entry.actor_id, "field": entry.field, "old_value": entry.old_value,
        "new_value": entry.new_value, "body": entry.body,
        "call_started_at": entry.call_started_at, "call_seconds": entry.call_seconds,
    }


def reserve_numbers(session: Session, count: int) -> int:
    """Reserve ``count`` incident numbers; returns the first.

    The counter row is locked until commit (the write lock on SQLite, a row lock on
    PostgreSQL), so concurrent creators never share a number.
    """
    last = session.execute(
        update(CounterRecord)
        .where(CounterRecord.name == "incident")
        .values(value=CounterRecord.value + count)
        .returning(CounterRecord.value)
    ).scalar_one()
    return int(last) - count + 1


_SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.NUMBER: IncidentRecord.number,
    SortKey.OPENED_AT: IncidentRecord.opened_at,
    SortKey.UPDATED_AT: IncidentRecord.updated_at,
    SortKey.PRIORITY: IncidentRecord.priority,
    SortKey.STATE: IncidentRecord.state,
    SortKey.SHORT_DESCRIPTION: IncidentRecord.short_description,
    SortKey.RESOLUTION_DUE_AT: IncidentRecord.resolution_due_at,
    SortKey.CALLER: CallerRecord.name,
    SortKey.GROUP: func.coalesce(GroupRecord.name, ""),
    SortKey.ASSIGNEE: func.coalesce(Assignee.full_name, ""),
}


class SqlIncidentRepository:
    """IncidentRepository over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # --- aggregates ---------------------------------------------------------------------

    def get(self, incident_id: int) -> Incident:
        record = self._session.get(IncidentRecord, incident_id)
        if record is None:
            raise NotFoundError(f"There is no incident with id {incident_id}.")
        return to_domain(record)

    def get_by_number(self, number: str) -> Incident:
        record = self._session.execute(
            select(IncidentRecord).where(IncidentRecord.number == number)
        ).scalar_one_or_none()
        if record is None:
            raise NotFoundError(f"There is no incident {number}.")
        return to_domain(record)

    def add(self, incident: Incident) -> Incident:
        incident.number = format_number(reserve_numbers(self._session, 1))
        incident.version = 1
        values = column_values(incident)
        incident.id = self._session.execute(
            insert(IncidentRecord).values(**values).returning(IncidentRecord.id)
        ).scalar_one()
        # The index row must exist before notes (e.g. a logged call's) are appended to it.
        search.index_new(self._session, incident.id, incident.number,
                         incident.short_description, incident.description)
        self._write_activity(incident)
        return incident

    def save(self, incident: Incident, expected_version: int) -> int:
        assert incident.id is not None
        values = column_values(incident)
        values["version"] = expected_version + 1
        result = self._session.execute(
            update(IncidentRecord)
            .where(IncidentRecord.id == incident.id, IncidentRecord.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise self._conflict(incident.id)
        entries = self._write_activity(incident)
        if any(e.field in ("short_description", "description") for e in entries):
            search.reindex_text(self._session, incident.id, incident.short_description,
                                incident.description)
        return expected_version + 1

    def append_activity(self, incident: Incident) -> None:
        assert incident.id is not None
        if incident.first_response_at is not None:
            # Only ever sets a first response that is still missing: it cannot undo anyone's.
            self._session.execute(
                update(IncidentRecord)
                .where(IncidentRecord.id == incident.id,
                       IncidentRecord.first_response_at.is_(None))
                .values(first_response_at=incident.first_response_at,
                        response_breached=incident.response_breached)
                .execution_options(synchronize_session=False)
            )
        self._write_activity(incident)

    def _write_activity(self, incident: Incident) -> list[ActivityEntry]:
        assert incident.id is not None
        entries = incident.take_pending()
        if entries:
            self._session.execute(insert(ActivityRecord),
                                  [activity_values(incident.id, e) for e in entries])
        notes = " ".join(e.body for e in entries
                         if e.body and e.kind in (ActivityKind.WORK_NOTE, ActivityKind.COMMENT,
                                                  ActivityKind.CALL))
        if notes:
            search.append_notes(self._session, incident.id, notes)
        return entries

    def _conflict(self, incident_id: int) -> Exception:
        row = self._session.execute(
            select(IncidentRecord.number, IncidentRecord.version, IncidentRecord.updated_at,
                   UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == IncidentRecord.updated_by_id)
            .where(IncidentRecord.id == incident_id)
        ).one_or_none()
        if row is None:
            return NotFoundError(f"Incident {incident_id} no longer exists.")
        return ConflictError(f"Incident {row.number}", row.full_name, row.updated_at, row.version)

    # --- queues -------------------------------------------------------------------------

    def _row_select(self) -> Select[Any]:
        return (
            select(
                IncidentRecord.id, IncidentRecord.number, IncidentRecord.short_description,
                IncidentRecord.state, IncidentRecord.priority, IncidentRecord.impact,
                IncidentRecord.urgency, IncidentRecord.channel,
                CallerRecord.name.label("caller_name"), CallerRecord.vip.label("caller_vip"),
                GroupRecord.name.label("group_name"),
                Assignee.full_name.label("assignee_name"),
                IncidentRecord.opened_at, IncidentRecord.updated_at,
                IncidentRecord.response_due_at, IncidentRecord.resolution_due_at,
                IncidentRecord.sla_paused_since, IncidentRecord.resolution_breached,
                IncidentRecord.is_major, IncidentRecord.version,
            )
            .join(CallerRecord, CallerRecord.id == IncidentRecord.caller_id)
            .outerjoin(GroupRecord, GroupRecord.id == IncidentRecord.assignment_group_id)
            .outerjoin(Assignee, Assignee.id == IncidentRecord.assignee_id)
        )

    def _conditions(self, f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
        if f.empty:
            return [false()]
        conditions: list[ColumnElement[bool]] = []
        if f.states:
            conditions.append(IncidentRecord.state.in_([s.value for s in f.states]))
        if f.group_ids:
            conditions.append(IncidentRecord.assignment_group_id.in_(f.group_ids))
        if f.assignee_ids and f.unassigned:
            conditions.append(or_(IncidentRecord.assignee_id.in_(f.assignee_ids),
                                  IncidentRecord.assignee_id.is_(None)))
        elif f.assignee_ids:
            conditions.append(IncidentRecord.assignee_id.in_(f.assignee_ids))
        elif f.unassigned:
            conditions.append(IncidentRecord.assignee_id.is_(None))
        if f.priorities:
            conditions.append(IncidentRecord.priority.in_(f.priorities))
        if f.category_ids:
            conditions.append(or_(IncidentRecord.category_id.in_(f.category_ids),
                                  IncidentRecord.subcategory_id.in_(f.category_ids)))
        if f.service_ids:
            conditions.append(IncidentRecord.service_id.in_(f.service_ids))
        if f.sla == SlaCondition.BREACHED:
            conditions.append(self._breached(now))
        elif f.sla == SlaCondition.ATTENTION:
            conditions.append(or_(self._breached(now), self._at_risk(now)))
        if f.major_only:
            conditions.append(IncidentRecord.is_major.is_(True))
        if f.opened_after is not None:
            conditions.append(IncidentRecord.opened_at >= f.opened_after)
        if f.opened_before is not None:
            conditions.append(IncidentRecord.opened_at < f.opened_before)
        if f.resolved_after is not None:
            conditions.append(IncidentRecord.resolved_at >= f.resolved_after)
        if f.text.strip():
            hits = search.matching_ids(self._dialect, f.text)
            if hits is not None:
                conditions.append(IncidentRecord.id.in_(hits))
        return conditions

    @staticmethod
    def _breached(now: datetime) -> ColumnElement[bool]:
        # The stored flag covers clocks that stopped (on hold, resolved) past their due time.
        return or_(
            IncidentRecord.resolution_breached.is_(True),
            and_(IncidentRecord.state.in_(ACTIVE_STATES),
                 IncidentRecord.resolution_due_at < now),
        )

    def _at_risk(self, now: datetime) -> ColumnElement[bool]:
        # The domain's rule (sla.AT_RISK_SHARE of the priority's target left), one range per
        # priority so that the (state, resolution_due_at) index still serves it.
        targets = self._session.execute(
            select(PriorityRecord.rank, PriorityRecord.resolution_minutes)).all()
        per_priority = [
            and_(IncidentRecord.priority == rank,
                 IncidentRecord.resolution_due_at
                 < now + timedelta(minutes=minutes * AT_RISK_SHARE))
            for rank, minutes in targets
        ]
        return and_(IncidentRecord.state.in_(ACTIVE_STATES),
                    or_(*per_priority) if per_priority else false())

    def list_queue(self, query: QueueQuery, now: datetime) -> list[IncidentRow]:
        key = _SORT_COLUMNS[query.sort]
        stmt = self._row_select().where(*self._conditions(query.filter, now))
        if query.after is not None:
            value, last_id = query.after
            # Typed like the sort column, so datetimes are bound the way they are stored.
            boundary = tuple_(literal(value, key.type), literal(last_id))
            keys = tuple_(key, IncidentRecord.id)
            stmt = stmt.where(keys < boundary if query.descending else keys > boundary)
        order = [key.desc(), IncidentRecord.id.desc()] if query.descending else \
            [key.asc(), IncidentRecord.id.asc()]
        rows = self._session.execute(stmt.order_by(*order).limit(query.limit)).all()
        return [_row(r) for r in rows]

    def count(self, queue_filter: QueueFilter, now: datetime) -> int:
        stmt = select(func.count()).select_from(IncidentRecord).where(
            *self._conditions(queue_filter, now))
        return int(self._session.execute(stmt).scalar_one())

    def search(self, text_query: str, limit: int) -> list[IncidentRow]:
        q = search.engine_query(self._dialect, text_query)
        if q is None:
            return []
        ids = [r[0] for r in self._session.execute(
            text(search.newest_hits_sql(self._dialect)), {"q": q, "limit": limit})]
        if not ids:
            return []
        rows = self._session.execute(
            self._row_select().where(IncidentRecord.id.in_(ids))
            .order_by(IncidentRecord.id.desc())
        ).all()
        return [_row(r) for r in rows]

    def activity(self, incident_id: int) -> list[ActivityView]:
        rows = self._session.execute(
            select(ActivityRecord, UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == ActivityRecord.actor_id)
            .where(ActivityRecord.incident_id == incident_id)
            .order_by(ActivityRecord.id)
        ).all()
        return [
            ActivityView(a.id, a.kind, a.at, name, a.field, a.old_value, a.new_value, a.body,
                         a.call_started_at, a.call_seconds)
            for a, name in rows
        ]


def _row(r: Any) -> IncidentRow:
    return IncidentRow(
        id=r.id, number=r.number, short_description=r.short_description, state=State(r.state),
        priority=r.priority, impact=r.impact, urgency=r.urgency, channel=Channel(r.channel),
        caller_name=r.caller_name, caller_vip=r.caller_vip, group_name=r.group_name,
        assignee_name=r.assignee_name, opened_at=r.opened_at, updated_at=r.updated_at,
        response_due_at=r.response_due_at, resolution_due_at=r.resolution_due_at,
        sla_paused_since=r.sla_paused_since, resolution_breached=r.resolution_breached,
        is_major=r.is_major, version=r.version,
    )

