"""People, catalogue and priority-matrix repositories in SQL."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session

from deskapp.domain.business_hours import BusinessCalendar, Holiday
from deskapp.domain.enums import Role
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.matrix_document import (
    calendar_from_dict,
    calendar_to_dict,
    priority_from_dict,
    priority_to_dict,
)
from deskapp.domain.people import Caller, Group, User, check_caller
from deskapp.domain.priority import (
    DEFAULT_PRIORITIES,
    Level,
    PriorityDefinition,
    PriorityMatrix,
)
from deskapp.domain.text import natural_sort_key
from deskapp.persistence.tables import (
    SORT_KEY_LENGTH,
    BusinessCalendarRecord,
    BusinessHolidayRecord,
    CallerRecord,
    CategoryRecord,
    ConfigurationItemRecord,
    GroupMemberRecord,
    GroupRecord,
    MatrixVersionRecord,
    PriorityRecord,
    SavedFilterRecord,
    ServiceRecord,
    UserRecord,
)
from deskapp.services.dto import (
    CategoryView,
    ConfigurationItemView,
    ServiceView,
    StoredFilter,
)
from deskapp.services.matrix_dto import MatrixVersionInfo

_NOT_DIGIT = re.compile(r"\D+")
_KEY_END = "\U0010ffff"


def name_key(text: str) -> str:
    """What a name or email is looked up by: lower case, trimmed."""
    return text.strip().casefold()[:200]


def phone_key(text: str) -> str:
    """What a phone number is looked up by: its digits."""
    return _NOT_DIGIT.sub("", text)[:200]


_PHONE_LIKE = re.compile(r"[\d\s+\-().]*\d[\d\s+\-().]*")
MIN_SEARCH_DIGITS = 3
"""Digits a search mixed with letters needs before it looks at phone numbers too."""


def phone_search_digits(text: str) -> str:
    """The digits a search looks phone numbers up by, or "" if it should not.

    Typed like a phone number ("+47", "47", "(0)22-33"), any digits search: the prefix of
    the stored digits. Mixed with letters ("Room 12"), only from three digits on, so that
    a name search is not flooded by phone numbers.
    """
    digits = phone_key(text)
    if not digits:
        return ""
    if _PHONE_LIKE.fullmatch(text.strip()) or len(digits) >= MIN_SEARCH_DIGITS:
        return digits
    return ""


def _starts_with(column: Mapped[str] | ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    # A range, not LIKE: it uses the index on both databases and needs no escaping.
    return and_(column >= prefix, column < prefix + _KEY_END)


def _caller(r: CallerRecord) -> Caller:
    return Caller(r.id, r.name, r.email, r.phone, r.department, r.location, r.vip, r.active,
                  r.merged_into_id, r.version)


def sort_key(name: str) -> str:
    """What callers, groups and people are listed by: the name's natural sort key, as
    stored."""
    return natural_sort_key(name)[:SORT_KEY_LENGTH]


def user_keys(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` (columns of users to write) with the sort key derived from the name.

    Every write of a person's full name goes through here (new people, administration
    edits), so the queue's order by assignee never lags behind the names it shows.
    """
    keys = dict(values)
    if "full_name" in values:
        keys["sort_key"] = sort_key(str(values["full_name"]))
    return keys


def group_keys(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` (columns of assignment_groups to write) with the sort key derived from the
    name, as :func:`user_keys` does for people."""
    keys = dict(values)
    if "name" in values:
        keys["sort_key"] = sort_key(str(values["name"]))
    return keys


def caller_keys(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` (columns of callers to write) with the keys derived from them.

    Every write of a caller's name, email or phone goes through here (new callers, bulk
    loads, edits, merges), so the look-up keys and the list order never lag behind them.
    """
    keys = dict(values)
    if "name" in values:
        keys["name_key"] = name_key(str(values["name"]))
        keys["sort_key"] = sort_key(str(values["name"]))
    if "email" in values:
        keys["email_key"] = name_key(str(values["email"]))
    if "phone" in values:
        keys["phone_key"] = phone_key(str(values["phone"]))
    return keys


def caller_values(caller: Caller) -> dict[str, object]:
    """The row values of a caller, look-up keys included."""
    return caller_keys({
        "name": caller.name, "email": caller.email, "phone": caller.phone,
        "department": caller.department, "location": caller.location, "vip": caller.vip,
    })


class SqlCallerRepository:
    """CallerRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, caller_id: int) -> Caller:
        record = self._session.get(CallerRecord, caller_id)
        if record is None:
            raise NotFoundError(f"There is no caller with id {caller_id}.")
        return _caller(record)

    def add(self, caller: Caller) -> Caller:
        check_caller(caller)
        record = CallerRecord(**caller_values(caller))
        self._session.add(record)
        self._session.flush()
        return _caller(record)

    def lookup(self, prefix: str, limit: int) -> list[Caller]:
        key = name_key(prefix)
        if not key:
            return []
        conditions = [_starts_with(CallerRecord.name_key, key),
                      _starts_with(CallerRecord.email_key, key)]
        digits = phone_search_digits(prefix)
        if digits:
            conditions.append(_starts_with(CallerRecord.phone_key, digits))
        # Deactivated and merged callers keep their incidents but take no new calls.
        rows = self._session.execute(
            select(CallerRecord).where(or_(*conditions), CallerRecord.active.is_(True))
            .order_by(CallerRecord.name_key, CallerRecord.id).limit(limit)
        ).scalars()
        return [_caller(r) for r in rows]

    def names(self, caller_ids: Collection[int]) -> dict[int, str]:
        if not caller_ids:
            return {}
        rows = self._session.execute(
            select(CallerRecord.id, CallerRecord.name)
            .where(CallerRecord.id.in_(sorted(set(caller_ids))))
        ).all()
        return {int(i): name for i, name in rows}


def _user(r: UserRecord) -> User:
    return User(r.id, r.username, r.full_name, r.email, Role(r.role), r.active, r.away)


class SqlUserRepository:
    """UserRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, user_id: int) -> User:
        record = self._session.get(UserRecord, user_id)
        if record is None:
            raise NotFoundError(f"There is no user with id {user_id}.")
        return _user(record)

    def by_username(self, username: str) -> User:
        record = self._session.execute(
            select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()
        if record is None:
            raise NotFoundError(f"There is no user '{username}'.")
        return _user(record)

    def add(self, user: User) -> User:
        record = UserRecord(**user_keys({
            "username": user.username, "full_name": user.full_name, "email": user.email,
            "role": user.role.value, "active": user.active, "away": user.away}))
        self._session.add(record)
        self._session.flush()
        return _user(record)

    def all(self) -> list[User]:
        rows = self._session.execute(select(UserRecord).order_by(UserRecord.full_name)).scalars()
        return [_user(r) for r in rows]


def _group(r: GroupRecord) -> Group:
    return Group(r.id, r.name, r.description, r.lead_id, r.active)


class SqlGroupRepository:
    """GroupRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, group_id: int) -> Group:
        r = self._session.get(GroupRecord, group_id)
        if r is None:
            raise NotFoundError(f"There is no assignment group with id {group_id}.")
        return _group(r)

    def add(self, group: Group, member_ids: Sequence[int] = ()) -> Group:
        record = GroupRecord(**group_keys({
            "name": group.name, "description": group.description, "lead_id": group.lead_id,
            "active": group.active}))
        self._session.add(record)
        self._session.flush()
        self._session.add_all(GroupMemberRecord(group_id=record.id, user_id=m)
                              for m in member_ids)
        self._session.flush()
        return _group(record)

    def all(self) -> list[Group]:
        rows = self._session.execute(select(GroupRecord).order_by(GroupRecord.name)).scalars()
        return [_group(r) for r in rows]

    def member_ids(self, group_id: int) -> list[int]:
        return list(self._session.execute(
            select(GroupMemberRecord.user_id).where(GroupMemberRecord.group_id == group_id)
        ).scalars())

    def ids_of_member(self, user_id: int) -> list[int]:
        return list(self._session.execute(
            select(GroupMemberRecord.group_id).where(GroupMemberRecord.user_id == user_id)
            .order_by(GroupMemberRecord.group_id)
        ).scalars())


class SqlCatalogRepository:
    """CatalogRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_category(self, name: str, parent_id: int | None = None) -> int:
        record = CategoryRecord(name=name, parent_id=parent_id)
        self._session.add(record)
        self._session.flush()
        return record.id

    def category_exists(self, category_id: int, parent_id: int | None) -> bool:
        record = self._session.get(CategoryRecord, category_id)
        return record is not None and record.parent_id == parent_id

    def add_service(self, name: str) -> int:
        record = ServiceRecord(name=name)
        self._session.add(record)
        self._session.flush()
        return record.id

    def service_exists(self, service_id: int) -> bool:
        return self._session.get(ServiceRecord, service_id) is not None

    def add_configuration_item(self, name: str, ci_class: str, service_id: int | None) -> int:
        record = ConfigurationItemRecord(name=name, ci_class=ci_class, service_id=service_id,
                                         description="", active=True, version=1)
        self._session.add(record)
        self._session.flush()
        return record.id

    def list_categories(self) -> list[CategoryView]:
        rows = self._session.execute(
            select(CategoryRecord.id, CategoryRecord.name, CategoryRecord.parent_id,
                   CategoryRecord.active)
            .order_by(CategoryRecord.name, CategoryRecord.id))
        return [CategoryView(r.id, r.name, r.parent_id, r.active) for r in rows]

    def list_services(self) -> list[ServiceView]:
        rows = self._session.execute(
            select(ServiceRecord.id, ServiceRecord.name, ServiceRecord.active)
            .order_by(ServiceRecord.name))
        return [ServiceView(r.id, r.name, r.active) for r in rows]

    def list_configuration_items(self) -> list[ConfigurationItemView]:
        ci = ConfigurationItemRecord
        rows = self._session.execute(
            select(ci.id, ci.name, ci.ci_class, ci.service_id, ci.active).order_by(ci.name))
        return [ConfigurationItemView(r.id, r.name, r.ci_class, r.service_id, r.active)
                for r in rows]

    def configuration_item(self, ci_id: int) -> ConfigurationItemView:
        r = self._session.get(ConfigurationItemRecord, ci_id)
        if r is None:
            raise NotFoundError(f"There is no configuration item {ci_id}.")
        return ConfigurationItemView(r.id, r.name, r.ci_class, r.service_id, r.active)

    def inactive_names(self, category_ids: Collection[int], service_ids: Collection[int],
                       ci_ids: Collection[int]) -> list[str]:
        names: list[str] = []
        for what, table, ids in (("category", CategoryRecord, category_ids),
                                 ("service", ServiceRecord, service_ids),
                                 ("configuration item", ConfigurationItemRecord, ci_ids)):
            if ids:
                found = self._session.execute(
                    select(table.name).where(table.id.in_(list(ids)),
                                             table.active.is_(False))).scalars()
                names += [f"the {what} '{name}'" for name in found]
        return names


_MATRIX_LOCK = 0x6D6174726978
"""The advisory lock key that serializes matrix saves on PostgreSQL ("matrix")."""


class SqlMatrixRepository:
    """MatrixRepository in SQL: priorities, business hours, versioned matrices."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _latest(self) -> MatrixVersionRecord:
        version = self._session.execute(
            select(MatrixVersionRecord).order_by(MatrixVersionRecord.id.desc()).limit(1)
        ).scalar_one_or_none()
        if version is None:
            raise NotFoundError("The database has no priority matrix; run 'deskapp db upgrade'.")
        return version

    def current(self) -> PriorityMatrix:
        version = self._latest()
        priorities = tuple(
            PriorityDefinition(p.rank, p.code, p.name, p.colour, p.response_minutes,
                               p.resolution_minutes, p.business_hours)
            for p in self._session.execute(
                select(PriorityRecord).order_by(PriorityRecord.rank)).scalars()
        )
        return _matrix(version, priorities, self._calendar())

    def _calendar(self) -> BusinessCalendar | None:
        record = self._session.get(BusinessCalendarRecord, CALENDAR_ID)
        if record is None:
            return None
        holidays = tuple(
            Holiday(h.day, h.name) for h in self._session.execute(
                select(BusinessHolidayRecord)
                .where(BusinessHolidayRecord.calendar_id == CALENDAR_ID)
                .order_by(BusinessHolidayRecord.day)).scalars())
        return BusinessCalendar(
            frozenset(int(d) for d in record.working_days),
            time(record.opens_minute // 60, record.opens_minute % 60),
            time(record.closes_minute // 60, record.closes_minute % 60),
            record.time_zone, holidays)

    def save_new_version(self, matrix: PriorityMatrix, author_id: int | None,
                         comment: str = "") -> int:
        matrix.validate()
        self._require_latest(matrix.version)
        self._save_priorities(matrix.priorities)
        if matrix.calendar is not None:
            self._save_calendar(matrix.calendar)
        record = MatrixVersionRecord(
            created_at=datetime.now(UTC), created_by_id=author_id,
            impact_levels=[[lvl.value, lvl.name] for lvl in matrix.impact_levels],
            urgency_levels=[[lvl.value, lvl.name] for lvl in matrix.urgency_levels],
            cells=[[i, u, p] for (i, u), p in sorted(matrix.cells.items())],
            priorities=[priority_to_dict(p) for p in matrix.priorities],
            calendar=calendar_to_dict(matrix.calendar) if matrix.calendar else None,
            comment=comment[:200] or None,
        )
        self._session.add(record)
        self._session.flush()
        return record.id

    def _require_latest(self, based_on: int) -> None:
        """Refuse a save built on a version that is no longer the newest.

        The service compares versions too, but on PostgreSQL two saves can both read the same
        newest version and both pass (the soak run found it): a transaction-scoped lock
        serializes the savers, and the newest version is read again once it is held (each
        statement sees what committed before it). SQLite's write lock, taken at BEGIN,
        already does this.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(select(func.pg_advisory_xact_lock(_MATRIX_LOCK)))
        latest = self._latest()
        if latest.id != based_on:
            author = (self._session.get(UserRecord, latest.created_by_id)
                      if latest.created_by_id is not None else None)
            raise ConflictError("The priority matrix", author.full_name if author else None,
                                latest.created_at, latest.id)

    def _save_priorities(self, priorities: Sequence[PriorityDefinition]) -> None:
        # By rank, never deleting: closed incidents keep naming the ranks they were given.
        stored = {r.rank: r for r in self._session.execute(select(PriorityRecord)).scalars()}
        for p in priorities:
            record = stored.get(p.rank) or PriorityRecord(rank=p.rank)
            record.code, record.name, record.colour = p.code, p.name, p.colour
            record.response_minutes = p.response_minutes
            record.resolution_minutes = p.resolution_minutes
            record.business_hours = p.business_hours
            self._session.add(record)
        self._session.flush()

    def _save_calendar(self, calendar: BusinessCalendar) -> None:
        record = self._session.get(BusinessCalendarRecord, CALENDAR_ID)
        if record is None:
            record = BusinessCalendarRecord(id=CALENDAR_ID)
            self._session.add(record)
        record.working_days = sorted(calendar.working_days)
        record.opens_minute = calendar.opens.hour * 60 + calendar.opens.minute
        record.closes_minute = calendar.closes.hour * 60 + calendar.closes.minute
        record.time_zone = calendar.time_zone
        self._session.flush()
        self._session.execute(delete(BusinessHolidayRecord)
                              .where(BusinessHolidayRecord.calendar_id == CALENDAR_ID))
        self._session.add_all(BusinessHolidayRecord(calendar_id=CALENDAR_ID, day=h.day,
                                                    name=h.name) for h in calendar.holidays)
        self._session.flush()

    def history(self) -> list[MatrixVersionInfo]:
        rows = self._session.execute(
            select(MatrixVersionRecord.id, MatrixVersionRecord.created_at,
                   UserRecord.full_name, MatrixVersionRecord.comment)
            .outerjoin(UserRecord, UserRecord.id == MatrixVersionRecord.created_by_id)
            .order_by(MatrixVersionRecord.id.desc()))
        return [MatrixVersionInfo(r.id, r.created_at, r.full_name, r.comment or "")
                for r in rows]

    def version(self, version: int) -> PriorityMatrix:
        record = self._session.get(MatrixVersionRecord, version)
        if record is None:
            raise NotFoundError(f"There is no priority matrix version {version}.")
        current = self.current()
        # Versions saved before definitions were kept with them use today's definitions.
        priorities = (tuple(priority_from_dict(p) for p in record.priorities)
                      if record.priorities else current.priorities)
        calendar = (calendar_from_dict(record.calendar) if record.calendar
                    else current.calendar)
        return _matrix(record, priorities, calendar)

    def versions_in_force(self) -> list[tuple[MatrixVersionInfo, PriorityMatrix]]:
        rows = self._session.execute(
            select(MatrixVersionRecord, UserRecord.full_name)
            .outerjoin(UserRecord, UserRecord.id == MatrixVersionRecord.created_by_id)
            .order_by(MatrixVersionRecord.id)).all()
        found: list[tuple[MatrixVersionInfo, PriorityMatrix]] = []
        for record, author in rows:
            if record.priorities:
                priorities = tuple(priority_from_dict(p) for p in record.priorities)
                calendar = calendar_from_dict(record.calendar) if record.calendar else None
            else:
                # Saved before 0007: definitions could not be edited yet (they were the
                # seeded ones) and targets ran round the clock.
                priorities, calendar = DEFAULT_PRIORITIES, None
            found.append((MatrixVersionInfo(record.id, record.created_at, author,
                                            record.comment or ""),
                          _matrix(record, priorities, calendar)))
        return found


CALENDAR_ID = 1
"""The desk has one calendar (seeded by migration 0007)."""


def _matrix(record: MatrixVersionRecord, priorities: tuple[PriorityDefinition, ...],
            calendar: BusinessCalendar | None) -> PriorityMatrix:
    return PriorityMatrix(
        impact_levels=_levels(record.impact_levels),
        urgency_levels=_levels(record.urgency_levels),
        cells={(int(i), int(u)): int(p) for i, u, p in record.cells},
        priorities=priorities,
        version=record.id,
        calendar=calendar,
    )


def _levels(stored: list[list[object]]) -> tuple[Level, ...]:
    return tuple(Level(int(str(value)), str(name)) for value, name in stored)


class SqlSavedFilterRepository:
    """SavedFilterRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def list_for(self, owner_id: int) -> list[StoredFilter]:
        rows = self._session.execute(
            select(SavedFilterRecord).where(SavedFilterRecord.owner_id == owner_id)
            .order_by(SavedFilterRecord.position, SavedFilterRecord.name)
        ).scalars()
        return [StoredFilter(r.id, r.name, dict(r.conditions), r.position) for r in rows]

    def add(self, owner_id: int, name: str, conditions: dict[str, Any], now: datetime) -> int:
        last = self._session.execute(
            select(func.max(SavedFilterRecord.position))
            .where(SavedFilterRecord.owner_id == owner_id)
        ).scalar()
        record = SavedFilterRecord(owner_id=owner_id, name=name, conditions=conditions,
                                   position=(last or 0) + 1, created_at=now, updated_at=now)
        self._session.add(record)
        self._session.flush()
        return record.id

    def update(self, filter_id: int, owner_id: int, name: str, conditions: dict[str, Any],
               now: datetime) -> None:
        record = self._own(filter_id, owner_id)
        record.name, record.conditions, record.updated_at = name, conditions, now
        self._session.flush()

    def delete(self, filter_id: int, owner_id: int) -> None:
        self._session.delete(self._own(filter_id, owner_id))
        self._session.flush()

    def _own(self, filter_id: int, owner_id: int) -> SavedFilterRecord:
        record = self._session.get(SavedFilterRecord, filter_id)
        # Someone else's filter is as good as missing: users never see each other's.
        if record is None or record.owner_id != owner_id:
            raise NotFoundError("That saved filter no longer exists.")
        return record
