"""In-memory implementations of the service ports, for testing services without a database."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Self

from deskapp.domain.enums import ActivityKind
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident, format_number
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import PriorityMatrix, default_matrix
from deskapp.services.dto import ActivityView, IncidentRow, StoredFilter
from deskapp.services.queries import QueueFilter, QueueQuery


class FakeStore:
    """What a fake database holds; shared by every unit of work opened on it."""

    def __init__(self) -> None:
        self.incidents: dict[int, Incident] = {}
        self.activity: list[tuple[int, ActivityView]] = []
        self.callers: dict[int, Caller] = {}
        self.users: dict[int, User] = {}
        self.groups: dict[int, tuple[Group, list[int]]] = {}
        self.categories: dict[int, int | None] = {}
        self.services: set[int] = set()
        self.matrix = default_matrix()
        self.counter = 0
        self.commits = 0
        self.saved_filters: dict[int, tuple[int, StoredFilter]] = {}


class FakeIncidents:
    """IncidentRepository in memory; writes go to a staging copy until commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def get(self, incident_id: int) -> Incident:
        try:
            return copy.deepcopy(self._store.incidents[incident_id])
        except KeyError:
            raise NotFoundError(f"There is no incident with id {incident_id}.") from None

    def get_by_number(self, number: str) -> Incident:
        for incident in self._store.incidents.values():
            if incident.number == number:
                return copy.deepcopy(incident)
        raise NotFoundError(f"There is no incident {number}.")

    def add(self, incident: Incident) -> Incident:
        self._store.counter += 1
        incident.id = max(self._store.incidents, default=0) + 1
        incident.number = format_number(self._store.counter)
        incident.version = 1
        self._write(incident)
        return incident

    def save(self, incident: Incident, expected_version: int) -> int:
        assert incident.id is not None
        current = self._store.incidents[incident.id]
        if current.version != expected_version:
            raise ConflictError(f"Incident {current.number}", None, current.updated_at,
                                current.version)
        incident.version = expected_version + 1
        self._write(incident)
        return incident.version

    def append_activity(self, incident: Incident) -> None:
        assert incident.id is not None
        stored = self._store.incidents[incident.id]
        if stored.first_response_at is None:
            stored.first_response_at = incident.first_response_at
        self._log(incident)

    def _write(self, incident: Incident) -> None:
        assert incident.id is not None
        self._log(incident)
        self._store.incidents[incident.id] = copy.deepcopy(incident)

    def _log(self, incident: Incident) -> None:
        assert incident.id is not None
        for entry in incident.take_pending():
            view = ActivityView(len(self._store.activity) + 1, entry.kind.value, entry.at,
                                None, entry.field, entry.old_value, entry.new_value, entry.body,
                                entry.call_started_at, entry.call_seconds)
            self._store.activity.append((incident.id, view))

    def list_queue(self, query: QueueQuery, now: datetime) -> list[IncidentRow]:
        raise NotImplementedError("queues are tested on real databases")

    def count(self, queue_filter: QueueFilter, now: datetime) -> int:
        return sum(1 for i in self._store.incidents.values()
                   if not queue_filter.states or i.state in queue_filter.states)

    def search(self, text: str, limit: int) -> list[IncidentRow]:
        raise NotImplementedError("search is tested on real databases")

    def activity(self, incident_id: int) -> list[ActivityView]:
        return [view for owner, view in self._store.activity if owner == incident_id]

    def kinds(self, incident_id: int) -> list[ActivityKind]:
        return [ActivityKind(v.kind) for v in self.activity(incident_id)]


class FakeCallers:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def get(self, caller_id: int) -> Caller:
        try:
            return self._store.callers[caller_id]
        except KeyError:
            raise NotFoundError(f"There is no caller with id {caller_id}.") from None

    def add(self, caller: Caller) -> Caller:
        caller = replace(caller, id=len(self._store.callers) + 1)
        self._store.callers[caller.id] = caller
        return caller

    def lookup(self, prefix: str, limit: int) -> list[Caller]:
        key = prefix.casefold()
        return [c for c in self._store.callers.values()
                if key and c.name.casefold().startswith(key)][:limit]


class FakeUsers:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def get(self, user_id: int) -> User:
        try:
            return self._store.users[user_id]
        except KeyError:
            raise NotFoundError(f"There is no user with id {user_id}.") from None

    def by_username(self, username: str) -> User:
        for user in self._store.users.values():
            if user.username == username:
                return user
        raise NotFoundError(f"There is no user '{username}'.")

    def add(self, user: User) -> User:
        user = replace(user, id=len(self._store.users) + 1)
        self._store.users[user.id] = user
        return user

    def all(self) -> list[User]:
        return list(self._store.users.values())


class FakeGroups:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def get(self, group_id: int) -> Group:
        try:
            return self._store.groups[group_id][0]
        except KeyError:
            raise NotFoundError(f"There is no assignment group with id {group_id}.") from None

    def add(self, group: Group, member_ids: Sequence[int] = ()) -> Group:
        group = replace(group, id=len(self._store.groups) + 1)
        self._store.groups[group.id] = (group, list(member_ids))
        return group

    def all(self) -> list[Group]:
        return [g for g, _ in self._store.groups.values()]

    def member_ids(self, group_id: int) -> list[int]:
        return list(self._store.groups[group_id][1])

    def ids_of_member(self, user_id: int) -> list[int]:
        return sorted(gid for gid, (_, members) in self._store.groups.items()
                      if user_id in members)


class FakeCatalog:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def add_category(self, name: str, parent_id: int | None = None) -> int:
        category_id = len(self._store.categories) + 1
        self._store.categories[category_id] = parent_id
        return category_id

    def category_exists(self, category_id: int, parent_id: int | None) -> bool:
        return (category_id in self._store.categories
                and self._store.categories[category_id] == parent_id)

    def add_service(self, name: str) -> int:
        service_id = len(self._store.services) + 1
        self._store.services.add(service_id)
        return service_id

    def service_exists(self, service_id: int) -> bool:
        return service_id in self._store.services


class FakeMatrix:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def current(self) -> PriorityMatrix:
        return self._store.matrix

    def save_new_version(self, matrix: PriorityMatrix, author_id: int | None) -> int:
        self._store.matrix = matrix
        return matrix.version


class FakeSavedFilters:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def list_for(self, owner_id: int) -> list[StoredFilter]:
        own = [f for owner, f in self._store.saved_filters.values() if owner == owner_id]
        return sorted(own, key=lambda f: (f.position, f.name))

    def add(self, owner_id: int, name: str, conditions: dict[str, Any], now: datetime) -> int:
        filter_id = max(self._store.saved_filters, default=0) + 1
        position = len(self.list_for(owner_id)) + 1
        self._store.saved_filters[filter_id] = (
            owner_id, StoredFilter(filter_id, name, dict(conditions), position))
        return filter_id

    def update(self, filter_id: int, owner_id: int, name: str, conditions: dict[str, Any],
               now: datetime) -> None:
        old = self._own(filter_id, owner_id)
        self._store.saved_filters[filter_id] = (
            owner_id, replace(old, name=name, conditions=dict(conditions)))

    def delete(self, filter_id: int, owner_id: int) -> None:
        self._own(filter_id, owner_id)
        del self._store.saved_filters[filter_id]

    def _own(self, filter_id: int, owner_id: int) -> StoredFilter:
        owner, stored = self._store.saved_filters.get(filter_id, (None, None))
        if owner != owner_id or stored is None:
            raise NotFoundError("That saved filter no longer exists.")
        return stored


class FakeUnitOfWork:
    """A unit of work that works on a copy of the store and keeps it only on commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def __enter__(self) -> Self:
        self._work = copy.deepcopy(self._store)
        self.incidents = FakeIncidents(self._work)
        self.callers = FakeCallers(self._work)
        self.users = FakeUsers(self._work)
        self.groups = FakeGroups(self._work)
        self.catalog = FakeCatalog(self._work)
        self.matrix = FakeMatrix(self._work)
        self.saved_filters = FakeSavedFilters(self._work)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None:
        self._work = copy.deepcopy(self._store)

    def commit(self) -> None:
        self._work.commits = self._store.commits + 1
        self._store.__dict__.update(copy.deepcopy(self._work).__dict__)

    def rollback(self) -> None:
        self._work = copy.deepcopy(self._store)


class FakeUnitOfWorkFactory:
    """Opens fake units of work on one store."""

    def __init__(self) -> None:
        self.store = FakeStore()

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)
