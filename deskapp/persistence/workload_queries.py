"""The read queries behind the team leads' workload view and assignment notifications.

Every count is an aggregate of the database (one GROUP BY over the open incidents), never
a walk over loaded rows: the open incidents are a few percent of the table, and the open-state
condition is written value for value as the partial indexes of migration 0006 spell it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from deskapp.domain.enums import OPEN_STATES, ActivityKind, State
from deskapp.domain.sla import AT_RISK_SHARE
from deskapp.persistence.incident_repository import ACTIVE_STATES, in_states
from deskapp.persistence.tables import (
    ActivityRecord,
    GroupMemberRecord,
    IncidentRecord,
    PriorityRecord,
    UserRecord,
)
from deskapp.services.workload_dto import AssignmentNotice, LoadCount, MemberInfo

ASSIGNEE_FIELD = "assignee_id"
"""The activity field an assignment to an agent is recorded under (Incident.assign)."""


class SqlWorkloadQueries:
    """WorkloadQueries over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def open_loads(self, group_ids: Sequence[int] | None, now: datetime) -> list[LoadCount]:
        """Open incidents of these groups (all groups if None) by (group, assignee, priority).

        Incidents without a group are left out: nobody's workload holds them.
        """
        incident = IncidentRecord
        if group_ids is not None and not group_ids:
            return []
        breached = or_(incident.resolution_breached.is_(True),
                       and_(in_states(ACTIVE_STATES), incident.resolution_due_at < now))
        at_risk = and_(incident.resolution_breached.is_(False), in_states(ACTIVE_STATES),
                       incident.resolution_due_at >= now, self._inside_risk_window(now))
        # No "group IS NOT NULL" here: SQLite would walk the group index over every incident
        # ever logged instead of the open-incident partial index; the few open incidents
        # without a group are dropped below.
        conditions: list[ColumnElement[bool]] = [in_states(OPEN_STATES)]
        if group_ids is not None:
            conditions.append(incident.assignment_group_id.in_(sorted(set(group_ids))))
        statement = (
            select(
                incident.assignment_group_id, incident.assignee_id, incident.priority,
                func.count(),
                func.sum(case((incident.state == State.ON_HOLD.value, 1), else_=0)),
                func.sum(case((breached, 1), else_=0)),
                func.sum(case((at_risk, 1), else_=0)),
            )
            .where(*conditions)
            .group_by(incident.assignment_group_id, incident.assignee_id, incident.priority)
        )
        return [LoadCount(group_id=g, assignee_id=a, priority=p, open=int(n),
                          on_hold=int(h or 0), breached=int(b or 0), at_risk=int(r or 0))
                for g, a, p, n, h, b, r in self._session.execute(statement).tuples()
                if g is not None]

    def _inside_risk_window(self, now: datetime) -> ColumnElement[bool]:
        # The domain's rule: less than AT_RISK_SHARE of the priority's target left.
        targets = self._session.execute(
            select(PriorityRecord.rank, PriorityRecord.resolution_minutes)).all()
        windows = [and_(IncidentRecord.priority == rank,
                        IncidentRecord.resolution_due_at
                        < now + timedelta(minutes=minutes * AT_RISK_SHARE))
                   for rank, minutes in targets]
        return or_(*windows) if windows else false()

    def members(self, group_ids: Sequence[int]) -> list[MemberInfo]:
        """The active members of these groups, by group and name."""
        if not group_ids:
            return []
        rows = self._session.execute(
            select(GroupMemberRecord.group_id, UserRecord.id, UserRecord.full_name,
                   UserRecord.away)
            .join(UserRecord, UserRecord.id == GroupMemberRecord.user_id)
            .where(GroupMemberRecord.group_id.in_(sorted(set(group_ids))),
                   UserRecord.active.is_(True))
            .order_by(GroupMemberRecord.group_id, UserRecord.full_name, UserRecord.id)
        ).tuples()
        return [MemberInfo(group_id=g, user_id=u, full_name=n, away=bool(a))
                for g, u, n, a in rows]

    def names(self, user_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
        """Full name and away flag of these users, by id."""
        if not user_ids:
            return {}
        rows = self._session.execute(
            select(UserRecord.id, UserRecord.full_name, UserRecord.away)
            .where(UserRecord.id.in_(sorted(set(user_ids))))).tuples()
        return {u: (n, bool(a)) for u, n, a in rows}

    def last_activity_id(self) -> int:
        """The newest activity entry's id (0 when there is none)."""
        return int(self._session.execute(select(func.max(ActivityRecord.id))).scalar() or 0)

    def assigned_by_others(self, user_id: int, after_activity_id: int,
                           limit: int) -> list[AssignmentNotice]:
        """Open incidents assigned to ``user_id`` by someone else after that activity entry.

        Only incidents still assigned to them count (one taken away again is no news), oldest
        first. The activity's primary key bounds the scan to the entries written since.
        """
        activity, incident = ActivityRecord, IncidentRecord
        rows = self._session.execute(
            select(activity.id, activity.incident_id, incident.number,
                   incident.short_description, incident.priority, activity.at,
                   UserRecord.full_name)
            .join(incident, incident.id == activity.incident_id)
            .outerjoin(UserRecord, UserRecord.id == activity.actor_id)
            .where(activity.id > after_activity_id,
                   activity.kind == ActivityKind.ASSIGNMENT.value,
                   activity.field == ASSIGNEE_FIELD,
                   activity.new_value == str(user_id),
                   or_(activity.actor_id.is_(None), activity.actor_id != user_id),
                   incident.assignee_id == user_id,
                   in_states(OPEN_STATES))
            .order_by(activity.id)
            .limit(limit)
        ).tuples()
        return [AssignmentNotice(activity_id=a, incident_id=i, number=n, short_description=d,
                                 priority=p, at=at, by_name=by)
                for a, i, n, d, p, at, by in rows]
