"""Bulk assignment, people's availability and assignment rules, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Insert,
    RowMapping,
    Update,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from deskapp.domain.assignment import AssignmentRule
from deskapp.domain.enums import (
    OPEN_STATES,
    AssignmentMethod,
    Channel,
    Escalation,
    HoldReason,
    ResolutionCode,
    Role,
    State,
)
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident
from deskapp.domain.people import User
from deskapp.persistence import live
from deskapp.persistence.audit_log import note_written
from deskapp.persistence.incident_repository import (
    INCIDENT_FIELDS,
    activity_values,
    in_states,
)
from deskapp.persistence.tables import (
    ActivityRecord,
    AssignmentRuleRecord,
    Base,
    GroupMemberRecord,
    GroupRecord,
    IncidentRecord,
    UserRecord,
)

CHUNK = 500
"""Ids per IN list: well inside every driver's limit on bound parameters."""

ASSIGNMENT_COLUMNS = ("assignment_group_id", "assignee_id", "reassignment_count",
                      "escalation", "escalated_at", "escalated_to_id", "updated_at",
                      "updated_by_id")
"""What an assignment or an escalation changes; only these are written back, so that the
other indexes of a million-row table are left alone."""


_INCIDENTS = Base.metadata.tables[IncidentRecord.__tablename__]
_ACTIVITY = Base.metadata.tables[ActivityRecord.__tablename__]


def _incident(row: RowMapping) -> Incident:
    """The aggregate from a Core row (as incident_repository.to_domain does from a record)."""
    values = {name: row[name] for name in INCIDENT_FIELDS}
    values["channel"] = Channel(row["channel"])
    values["state"] = State(row["state"])
    values["hold_reason"] = HoldReason(row["hold_reason"]) if row["hold_reason"] else None
    values["resolution_code"] = (ResolutionCode(row["resolution_code"])
                                 if row["resolution_code"] else None)
    values["escalation"] = Escalation(row["escalation"]) if row["escalation"] else None
    return Incident(**values)


_PG_ARRAYS = {
    "b_id": "INTEGER[]", "b_version": "INTEGER[]", "assignment_group_id": "INTEGER[]",
    "assignee_id": "INTEGER[]", "reassignment_count": "INTEGER[]", "escalation": "VARCHAR[]",
    "escalated_at": "TIMESTAMPTZ[]", "escalated_to_id": "INTEGER[]",
    "updated_at": "TIMESTAMPTZ[]", "updated_by_id": "INTEGER[]",
}
"""The PostgreSQL array type of each column save_assignments writes (and its keys)."""
_PG_ACTIVITY = {
    "incident_id": "INTEGER[]", "kind": "VARCHAR[]", "at": "TIMESTAMPTZ[]",
    "actor_id": "INTEGER[]", "field": "VARCHAR[]", "old_value": "TEXT[]",
    "new_value": "TEXT[]", "body": "TEXT[]", "call_started_at": "TIMESTAMPTZ[]",
    "call_seconds": "INTEGER[]",
}
"""The activity table's columns (as activity_values names them) with their array types."""


def _stored(incident: Incident, name: str) -> Any:
    """The value of an assignment column as it is stored."""
    value = getattr(incident, name)
    return str(value) if name == "escalation" and value is not None else value


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


class SqlAssignmentStore:
    """AssignmentStore over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name
        self._loaded: dict[int, tuple[Any, ...]] = {}
        """The assignment columns of each incident as load_many read them."""

    # --- many incidents at once ---------------------------------------------------------

    def load_many(self, incident_ids: Sequence[int]) -> dict[int, Incident]:
        found: dict[int, Incident] = {}
        wanted = sorted(set(incident_ids))
        for chunk in _chunks(wanted):
            # Locked in id order, as every bulk writer does, so two of them cannot deadlock.
            # SQLite's write transaction already holds the whole database. Core rows, not
            # ORM objects: a thousand of them would cost more to track than to read.
            stmt = select(_INCIDENTS).where(_INCIDENTS.c.id.in_(chunk)).order_by(_INCIDENTS.c.id)
            if self._dialect == "postgresql":
                stmt = stmt.with_for_update()
            for row in self._session.execute(stmt).mappings():
                found[row["id"]] = _incident(row)
                self._loaded[row["id"]] = tuple(row[name] for name in ASSIGNMENT_COLUMNS)
        return found

    def save_assignments(self, incidents: Sequence[Incident],
                         expected_versions: Sequence[int]) -> list[int]:
        if not incidents:
            return []
        # Only the columns some incident of the batch changes: each column set costs its
        # indexes' upkeep on a million rows (reassigning never touches escalation's).
        columns = self._changed_columns(incidents)
        params: list[dict[str, Any]] = []
        for incident, expected in zip(incidents, expected_versions, strict=True):
            values: dict[str, Any] = {f"v_{name}": _stored(incident, name) for name in columns}
            values.update(b_id=incident.id, b_version=expected, v_version=expected + 1)
            params.append(values)
        if self._dialect == "postgresql":
            written = self._update_from_values(columns, params)
        else:
            # Core, not ORM: the ORM would want a primary key per row and no version check.
            stmt = (update(_INCIDENTS)
                    .where(_INCIDENTS.c.id == bindparam("b_id"),
                           _INCIDENTS.c.version == bindparam("b_version"))
                    .values({name: bindparam(f"v_{name}") for name in (*columns, "version")}))
            written = self._execute_many(stmt, params)
        if written != len(params):
            # Not seen while the rows are locked (load_many); if it ever is, refuse it all.
            raise ConflictError(f"{len(params) - written} of {len(params)} incidents", None,
                                None, None)
        ids = [i.id for i in incidents if i.id is not None]
        live.note_changed(self._session, ids)
        rows: list[dict[str, Any]] = []
        for incident in incidents:
            assert incident.id is not None
            rows.extend(activity_values(incident.id, e) for e in incident.take_pending())
        # Inserted in list order, so each incident's entries get ascending ids: the timeline
        # is read back in id order. The reasons written here (work notes saying why the
        # incident moved) stay out of the search index: appending them would rewrite every
        # incident's index entry, seconds for a thousand, to find words about routing.
        if self._dialect == "postgresql":
            if rows:
                self._insert_activity_pg(rows)
        else:
            self._execute_many(insert(_ACTIVITY), rows)
        return [expected + 1 for expected in expected_versions]

    def _update_from_values(self, columns: Sequence[str], params: list[dict[str, Any]]) -> int:
        """PostgreSQL: one ``UPDATE ... FROM unnest(arrays)``, each row guarded by its
        expected version; returns how many rows were written.

        One array per column keeps the statement small and the same for any number of rows:
        an executemany makes a round trip per row, and a VALUES list of a thousand rows costs
        seconds to compile.
        """
        names = ["b_id", "b_version", *(f"v_{c}" for c in columns)]
        arrays = ", ".join(f"CAST(:{n} AS {_PG_ARRAYS[n.removeprefix('v_')]})" for n in names)
        sets = ", ".join(f"{c} = changed.v_{c}" for c in columns)
        stmt = text(
            f"UPDATE incidents SET {sets}, version = changed.b_version + 1 "
            f"FROM unnest({arrays}) AS changed({', '.join(names)}) "
            "WHERE incidents.id = changed.b_id AND incidents.version = changed.b_version")
        result = self._session.execute(stmt, {n: [p[n] for p in params] for n in names})
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _insert_activity_pg(self, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: the activity rows as one ``INSERT ... SELECT FROM unnest(arrays)``,
        in list order (so each incident's entries get ascending ids)."""
        names = list(_PG_ACTIVITY)
        arrays = ", ".join(f"CAST(:{n} AS {_PG_ACTIVITY[n]})" for n in names)
        stmt = text(
            f"INSERT INTO activity ({', '.join(names)}) SELECT {', '.join(names)} "
            f"FROM unnest({arrays}) WITH ORDINALITY AS entry({', '.join(names)}, position) "
            "ORDER BY position")
        self._session.execute(stmt, {n: [r[n] for r in rows] for n in names})

    def _changed_columns(self, incidents: Sequence[Incident]) -> list[str]:
        """The assignment columns whose value differs from what load_many read, for any of
        ``incidents`` (all of them for an incident it did not read)."""
        changed: set[str] = set()
        for incident in incidents:
            loaded = self._loaded.get(incident.id or 0)
            for position, name in enumerate(ASSIGNMENT_COLUMNS):
                if loaded is None or _stored(incident, name) != loaded[position]:
                    changed.add(name)
        return [name for name in ASSIGNMENT_COLUMNS if name in changed]

    def _execute_many(self, stmt: Insert | Update, rows: list[dict[str, Any]]) -> int:
        """One executemany of ``rows`` (dicts with the same keys); returns the rows affected.

        On SQLite the rows go to the driver's own executemany with only the values that need
        it (timestamps) converted by their bind processor, the conversion SQLAlchemy would
        apply (as persistence.bulk does): SQLAlchemy's per-row parameter handling costs more
        than the statements themselves.
        """
        if not rows:
            return 0
        if self._dialect != "sqlite":
            result = self._session.execute(stmt, rows)
            return int(result.rowcount)  # type: ignore[attr-defined]
        # The session does not see a statement sent to the driver: the trail is told.
        note_written(self._session, getattr(stmt.table, "name", ""))
        connection = self._session.connection()
        dialect = connection.dialect
        compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
        order = list(compiled.positiontup or ())
        processors = [(position, processor) for position, processor in (
            (position, compiled.binds[key].type.dialect_impl(dialect).bind_processor(dialect))
            for position, key in enumerate(order)) if processor is not None]
        parameters = []
        for row in rows:
            values = [row[key] for key in order]
            for position, processor in processors:
                values[position] = processor(values[position])
            parameters.append(tuple(values))
        result = connection.exec_driver_sql(compiled.string, parameters)
        return int(result.rowcount)

    # --- people -------------------------------------------------------------------------

    def user_names(self, user_ids: Collection[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        rows = self._session.execute(
            select(UserRecord.id, UserRecord.full_name).where(UserRecord.id.in_(list(user_ids))))
        return {r.id: r.full_name for r in rows}

    def groups_of(self, user_id: int) -> list[int]:
        member = select(GroupMemberRecord.group_id).where(GroupMemberRecord.user_id == user_id)
        rows = self._session.execute(
            select(GroupRecord.id)
            .where(or_(GroupRecord.id.in_(member), GroupRecord.lead_id == user_id))
            .order_by(GroupRecord.id))
        return list(rows.scalars())

    def members(self, group_ids: Collection[int] | None) -> dict[int, list[User]]:
        stmt = (select(GroupMemberRecord.group_id, UserRecord)
                .join(UserRecord, UserRecord.id == GroupMemberRecord.user_id)
                .where(UserRecord.active.is_(True))
                .order_by(GroupMemberRecord.group_id, UserRecord.full_name, UserRecord.id))
        if group_ids is not None:
            stmt = stmt.where(GroupMemberRecord.group_id.in_(list(group_ids)))
        found: dict[int, list[User]] = {}
        for group_id, r in self._session.execute(stmt).tuples():
            found.setdefault(group_id, []).append(
                User(r.id, r.username, r.full_name, r.email, Role(r.role), r.active, r.away))
        return found

    def set_away(self, user_id: int, away: bool) -> None:
        result = self._session.execute(
            update(UserRecord).where(UserRecord.id == user_id).values(away=away)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFoundError(f"There is no user with id {user_id}.")

    def open_loads(self, user_ids: Collection[int]) -> dict[int, dict[int, int]]:
        loads: dict[int, dict[int, int]] = {u: {} for u in user_ids}
        if not user_ids:
            return loads
        # (assignee_id, state) is indexed: a few index ranges per agent, no table scan.
        rows = self._session.execute(
            select(IncidentRecord.assignee_id, IncidentRecord.priority, func.count())
            .where(IncidentRecord.assignee_id.in_(list(user_ids)), in_states(OPEN_STATES))
            .group_by(IncidentRecord.assignee_id, IncidentRecord.priority))
        for assignee_id, priority, count in rows.tuples():
            if assignee_id is not None:
                loads[assignee_id][int(priority)] = int(count)
        return loads

    # --- assignment rules ----------------------------------------------------------------

    def rules(self) -> list[AssignmentRule]:
        rows = self._session.execute(
            select(AssignmentRuleRecord)
            .order_by(AssignmentRuleRecord.position, AssignmentRuleRecord.id)).scalars()
        return [_rule(r) for r in rows]

    def rule(self, rule_id: int, *, lock: bool = False) -> AssignmentRule:
        stmt = select(AssignmentRuleRecord).where(AssignmentRuleRecord.id == rule_id)
        if lock and self._dialect == "postgresql":
            stmt = stmt.with_for_update()
        record = self._session.execute(stmt).scalar_one_or_none()
        if record is None:
            raise NotFoundError(f"There is no assignment rule with id {rule_id}.")
        return _rule(record)

    def add_rule(self, rule: AssignmentRule, actor_id: int, now: datetime) -> AssignmentRule:
        last = self._session.execute(select(func.max(AssignmentRuleRecord.position))).scalar()
        record = AssignmentRuleRecord(
            name=rule.name, group_id=rule.group_id, category_id=rule.category_id,
            service_id=rule.service_id, method=rule.method.value, enabled=rule.enabled,
            position=(last or 0) + 1, updated_at=now, updated_by_id=actor_id, version=1)
        self._session.add(record)
        self._session.flush()
        return _rule(record)

    def save_rule(self, rule: AssignmentRule, expected_version: int, actor_id: int,
                  now: datetime) -> AssignmentRule:
        result = self._session.execute(
            update(AssignmentRuleRecord)
            .where(AssignmentRuleRecord.id == rule.id,
                   AssignmentRuleRecord.version == expected_version)
            .values(name=rule.name, group_id=rule.group_id, category_id=rule.category_id,
                    service_id=rule.service_id, method=rule.method.value,
                    enabled=rule.enabled, position=rule.position, updated_at=now,
                    updated_by_id=actor_id, version=expected_version + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise self._rule_conflict(rule.id)
        return self.rule(rule.id)

    def delete_rule(self, rule_id: int, expected_version: int) -> None:
        result = self._session.execute(
            delete(AssignmentRuleRecord)
            .where(AssignmentRuleRecord.id == rule_id,
                   AssignmentRuleRecord.version == expected_version)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise self._rule_conflict(rule_id)

    def note_rule_choice(self, rule_id: int, assignee_id: int) -> None:
        self._session.execute(
            update(AssignmentRuleRecord).where(AssignmentRuleRecord.id == rule_id)
            .values(last_assignee_id=assignee_id)
            .execution_options(synchronize_session=False))

    def _rule_conflict(self, rule_id: int) -> Exception:
        row = self._session.execute(
            select(AssignmentRuleRecord.name, AssignmentRuleRecord.version,
                   AssignmentRuleRecord.updated_at, UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == AssignmentRuleRecord.updated_by_id)
            .where(AssignmentRuleRecord.id == rule_id)).one_or_none()
        if row is None:
            return NotFoundError("That assignment rule no longer exists.")
        return ConflictError(f"Assignment rule '{row.name}'", row.full_name, row.updated_at,
                             row.version)


def _rule(r: AssignmentRuleRecord) -> AssignmentRule:
    return AssignmentRule(r.id, r.name, r.group_id, AssignmentMethod(r.method), r.category_id,
                          r.service_id, r.enabled, r.position, r.last_assignee_id, r.version)
