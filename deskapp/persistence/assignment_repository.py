"""Bulk assignment, people's availability and assignment rules, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from deskapp.domain.assignment import AssignmentRule
from deskapp.domain.enums import OPEN_STATES, ActivityKind, AssignmentMethod, Role
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident
from deskapp.domain.people import User
from deskapp.persistence import live
from deskapp.persistence.incident_repository import activity_values, in_states, to_domain
from deskapp.persistence.tables import (
    ActivityRecord,
    AssignmentRuleRecord,
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


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


class SqlAssignmentStore:
    """AssignmentStore over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    # --- many incidents at once ---------------------------------------------------------

    def load_many(self, incident_ids: Sequence[int]) -> dict[int, Incident]:
        found: dict[int, Incident] = {}
        wanted = sorted(set(incident_ids))
        for chunk in _chunks(wanted):
            # Locked in id order, as every bulk writer does, so two of them cannot deadlock.
            # SQLite's write transaction already holds the whole database.
            stmt = (select(IncidentRecord).where(IncidentRecord.id.in_(chunk))
                    .order_by(IncidentRecord.id))
            if self._dialect == "postgresql":
                stmt = stmt.with_for_update()
            for record in self._session.execute(stmt).scalars():
                found[record.id] = to_domain(record)
        return found

    def save_assignments(self, incidents: Sequence[Incident],
                         expected_versions: Sequence[int]) -> list[int]:
        if not incidents:
            return []
        params: list[dict[str, Any]] = []
        for incident, expected in zip(incidents, expected_versions, strict=True):
            values: dict[str, Any] = {f"v_{name}": getattr(incident, name)
                                      for name in ASSIGNMENT_COLUMNS}
            values["v_escalation"] = (str(incident.escalation)
                                      if incident.escalation is not None else None)
            values.update(b_id=incident.id, b_version=expected, v_version=expected + 1)
            params.append(values)
        # Core, not ORM: the ORM would want a primary key per row and no version condition.
        table = cast(Table, IncidentRecord.__table__)
        stmt = (update(table)
                .where(table.c.id == bindparam("b_id"),
                       table.c.version == bindparam("b_version"))
                .values({name: bindparam(f"v_{name}")
                         for name in (*ASSIGNMENT_COLUMNS, "version")}))
        result = self._session.execute(stmt, params)
        written = result.rowcount  # type: ignore[attr-defined]
        if written != len(params):
            # Not seen while the rows are locked (load_many); if it ever is, refuse it all.
            raise ConflictError(f"{len(params) - written} of {len(params)} incidents", None,
                                None, None)
        ids = [i.id for i in incidents if i.id is not None]
        live.note_changed(self._session, ids)
        rows: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        for incident in incidents:
            assert incident.id is not None
            entries = incident.take_pending()
            rows.extend(activity_values(incident.id, e) for e in entries)
            written = " ".join(e.body for e in entries
                               if e.body and e.kind == ActivityKind.WORK_NOTE)
            if written:
                notes.append({"id": incident.id, "notes": written})
        if rows:
            self._session.execute(insert(ActivityRecord), rows)
        if notes:
            # The statement the incident repository runs per note, run once for them all.
            column = "rowid" if self._dialect == "sqlite" else "incident_id"
            self._session.execute(
                text(f"UPDATE incident_search SET notes = notes || ' ' || :notes "
                     f"WHERE {column} = :id"), notes)
        return [expected + 1 for expected in expected_versions]

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
