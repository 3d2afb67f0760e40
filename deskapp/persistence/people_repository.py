"""People and groups for the administration screens (PeopleStore over a session)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.orm import Session

from deskapp.domain.enums import OPEN_STATES, Role
from deskapp.domain.errors import NotFoundError
from deskapp.domain.text import natural_sort_key
from deskapp.persistence.repositories import group_keys, user_keys
from deskapp.persistence.tables import (
    AuditLogRecord,
    GroupMemberRecord,
    GroupRecord,
    IncidentRecord,
    UserCredentialRecord,
    UserRecord,
)
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow

_OPEN = [s.value for s in OPEN_STATES]


class SqlPeopleStore:
    """PeopleStore in SQL; the lists are small (people and groups of one desk)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _memberships(self) -> list[tuple[int, int]]:
        return [(g, u) for g, u in self._session.execute(
            select(GroupMemberRecord.group_id, GroupMemberRecord.user_id)).tuples()]

    def users(self, *, with_credentials: bool) -> list[UserAdminRow]:
        names = {g: n for g, n in self._session.execute(
            select(GroupRecord.id, GroupRecord.name)).tuples()}
        groups_of: dict[int, list[int]] = {}
        for group_id, user_id in self._memberships():
            groups_of.setdefault(user_id, []).append(group_id)
        credentials: dict[int, UserCredentialRecord] = {}
        if with_credentials:
            # Local accounts only: on PostgreSQL the table is empty and not granted.
            credentials = {c.user_id: c for c in self._session.execute(
                select(UserCredentialRecord)).scalars()}
        out: list[UserAdminRow] = []
        for r in self._session.execute(
                select(UserRecord).order_by(UserRecord.full_name, UserRecord.id)).scalars():
            ids = sorted(groups_of.get(r.id, []), key=lambda g: natural_sort_key(names[g]))
            credential = credentials.get(r.id)
            out.append(UserAdminRow(
                r.id, r.username, r.full_name, r.email, Role(r.role), r.active, r.away,
                r.version, tuple(ids), tuple(names[g] for g in ids),
                credential.locked_until if credential is not None else None,
                credential.must_change if credential is not None else False,
                credential is not None))
        return out

    def groups(self) -> list[GroupAdminRow]:
        members: dict[int, list[int]] = {}
        for group_id, user_id in self._memberships():
            members.setdefault(group_id, []).append(user_id)
        open_counts = {g: n for g, n in self._session.execute(
            select(IncidentRecord.assignment_group_id, func.count())
            .where(IncidentRecord.state.in_(_OPEN),
                   IncidentRecord.assignment_group_id.is_not(None))
            .group_by(IncidentRecord.assignment_group_id)).tuples()}
        lead = UserRecord
        rows = self._session.execute(
            select(GroupRecord, lead.full_name)
            .outerjoin(lead, lead.id == GroupRecord.lead_id)
            .order_by(GroupRecord.name, GroupRecord.id)).tuples()
        return [GroupAdminRow(g.id, g.name, g.description, g.lead_id, lead_name or "",
                              g.active, g.version, tuple(sorted(members.get(g.id, []))),
                              open_counts.get(g.id, 0))
                for g, lead_name in rows]

    def user_version(self, user_id: int) -> int:
        version = self._session.execute(
            select(UserRecord.version).where(UserRecord.id == user_id).with_for_update()
        ).scalar_one_or_none()
        if version is None:
            raise NotFoundError(f"There is no user with id {user_id}.")
        return int(version)

    def group_version(self, group_id: int) -> int:
        version = self._session.execute(
            select(GroupRecord.version).where(GroupRecord.id == group_id).with_for_update()
        ).scalar_one_or_none()
        if version is None:
            raise NotFoundError(f"There is no assignment group with id {group_id}.")
        return int(version)

    def update_user(self, user_id: int, **values: object) -> int:
        self._session.execute(update(UserRecord).where(UserRecord.id == user_id)
                              .values(version=UserRecord.version + 1, **user_keys(values)))
        self._session.expire_all()
        return self.user_version(user_id)

    def update_group(self, group_id: int, **values: object) -> int:
        self._session.execute(update(GroupRecord).where(GroupRecord.id == group_id)
                              .values(version=GroupRecord.version + 1, **group_keys(values)))
        self._session.expire_all()
        return self.group_version(group_id)

    def set_user_groups(self, user_id: int, group_ids: Collection[int]) -> None:
        have = set(self._session.execute(select(GroupMemberRecord.group_id)
                                         .where(GroupMemberRecord.user_id == user_id)).scalars())
        self._replace(have, set(group_ids),
                      lambda gone: (GroupMemberRecord.user_id == user_id)
                      & GroupMemberRecord.group_id.in_(gone),
                      lambda g: {"group_id": g, "user_id": user_id})

    def set_group_members(self, group_id: int, user_ids: Collection[int]) -> None:
        have = set(self._session.execute(select(GroupMemberRecord.user_id)
                                         .where(GroupMemberRecord.group_id == group_id))
                   .scalars())
        self._replace(have, set(user_ids),
                      lambda gone: (GroupMemberRecord.group_id == group_id)
                      & GroupMemberRecord.user_id.in_(gone),
                      lambda u: {"group_id": group_id, "user_id": u})

    def _replace(self, have: set[int], want: set[int],
                 where: Callable[[list[int]], ColumnElement[bool]],
                 row: Callable[[int], dict[str, int]]) -> None:
        # Only the difference is written: DELETE and INSERT are what admins are granted.
        gone, new = sorted(have - want), sorted(want - have)
        if gone:
            self._session.execute(delete(GroupMemberRecord).where(where(gone)))
        if new:
            self._session.execute(insert(GroupMemberRecord), [row(i) for i in new])

    def active_admin_ids(self, *, lock: bool = False) -> list[int]:
        stmt = (select(UserRecord.id).where(UserRecord.role == Role.ADMIN.value,
                                            UserRecord.active.is_(True))
                .order_by(UserRecord.id))
        if lock:
            stmt = stmt.with_for_update()
        return list(self._session.execute(stmt).scalars())

    def open_assigned_to(self, user_id: int) -> int:
        return int(self._session.execute(
            select(func.count()).select_from(IncidentRecord)
            .where(IncidentRecord.assignee_id == user_id, IncidentRecord.state.in_(_OPEN))
        ).scalar_one())

    def open_in_group(self, group_id: int) -> int:
        return int(self._session.execute(
            select(func.count()).select_from(IncidentRecord)
            .where(IncidentRecord.assignment_group_id == group_id,
                   IncidentRecord.state.in_(_OPEN))
        ).scalar_one())

    def group_name_taken(self, name: str, except_id: int | None) -> bool:
        stmt = select(GroupRecord.id).where(func.lower(GroupRecord.name) == name.lower())
        if except_id is not None:
            stmt = stmt.where(GroupRecord.id != except_id)
        return self._session.execute(stmt.limit(1)).first() is not None

    def last_changed_by(self, entity: str, entity_id: int,
                        actions: Collection[str]) -> tuple[str, datetime] | None:
        found = self._session.execute(
            select(AuditLogRecord.actor, AuditLogRecord.at)
            .where(AuditLogRecord.entity == entity,
                   AuditLogRecord.entity_id == str(entity_id),
                   AuditLogRecord.action.in_(list(actions)))
            .order_by(AuditLogRecord.id.desc()).limit(1)).first()
        return None if found is None else (found[0] or "", found[1])

    def existing_user_ids(self, user_ids: Sequence[int]) -> set[int]:
        return set(self._session.execute(
            select(UserRecord.id).where(UserRecord.id.in_(list(user_ids)))).scalars())

    def existing_group_ids(self, group_ids: Sequence[int]) -> set[int]:
        return set(self._session.execute(
            select(GroupRecord.id).where(GroupRecord.id.in_(list(group_ids)))).scalars())
