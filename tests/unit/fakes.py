"""In-memory implementations of the service ports, for testing services without a database."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Self

from deskapp.domain.audit import GENESIS, AuditEntry, canonical_json, chain_hash, row_content
from deskapp.domain.enums import ActivityKind
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident, format_number
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import PriorityMatrix, default_matrix
from deskapp.services.dto import (
    ActivityView,
    CategoryView,
    ConfigurationItemView,
    IncidentRow,
    ServiceView,
    StoredFilter,
)
from deskapp.services.matrix_dto import CellCount, MatrixVersionInfo
from deskapp.services.queries import QueueFilter, QueueQuery
from deskapp.services.report_dto import (
    PeriodFigures,
    PeriodQuery,
    ReviewContent,
    ReviewStatus,
    ReviewView,
)
from tests.unit.fakes_assignment import FakeAssignmentStore


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
        self.names: dict[tuple[str, int], str] = {}
        """Names of categories and services, by ("category" or "service", id)."""
        self.saved_filters: dict[int, tuple[int, StoredFilter]] = {}
        self.reviews: dict[int, ReviewView] = {}
        """Post-incident reviews by incident id."""
        self.period_figures: PeriodFigures | None = None
        """What the fake report queries answer (set by the test)."""
        self.audit: list[AuditEntry] = []
        """The audit trail, chained like the real one."""


class FakeIncidents:
    """IncidentRepository in memory; writes go to a staging copy until commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def get(self, incident_id: int) -> Incident:
        try:
            return copy.deepcopy(self._store.incidents[incident_id])
        except KeyError:
            raise NotFoundError(f"There is no incident with id {incident_id}.") from None

    def numbers(self, incident_ids: Collection[int]) -> dict[int, str]:
        return {i: self._store.incidents[i].number for i in incident_ids
                if i in self._store.incidents}

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
        return sorted((view for owner, view in self._store.activity if owner == incident_id),
                      key=lambda view: (view.at, view.id))

    def kinds(self, incident_id: int) -> list[ActivityKind]:
        return [ActivityKind(v.kind) for v in self.activity(incident_id)]

    def for_caller(self, caller_id: int, open_only: bool, limit: int) -> list[IncidentRow]:
        return self._rows(lambda i: i.caller_id == caller_id
                          and (i.state.is_open or not open_only), limit)

    def open_on_service(self, service_id: int, limit: int) -> list[IncidentRow]:
        return self._rows(lambda i: i.state.is_open and i.service_id == service_id, limit)

    def open_matching(self, words: Sequence[str], limit: int) -> list[IncidentRow]:
        def matches(i: Incident) -> bool:
            text = f"{i.number} {i.short_description} {i.description}".casefold().split()
            return any(t.startswith(w) if n == len(words) - 1 else t == w
                       for n, w in enumerate(words) for t in text)
        return self._rows(lambda i: i.state.is_open and matches(i), limit)

    def rows(self, incident_ids: Sequence[int]) -> list[IncidentRow]:
        return self._rows(lambda i: i.id in incident_ids, len(self._store.incidents))

    def children(self, parent_id: int) -> list[IncidentRow]:
        return self._rows(lambda i: i.parent_id == parent_id, len(self._store.incidents))

    def external_ref(self, incident_id: int) -> str | None:
        return None  # the fakes import nothing

    def open_cell_counts(self) -> list[CellCount]:
        counts = Counter((i.impact, i.urgency, i.priority)
                         for i in self._store.incidents.values() if i.state.is_open)
        return [CellCount(*key, n) for key, n in sorted(counts.items())]

    def open_ids_in_cell(self, impact: int, urgency: int) -> list[int]:
        return sorted(i.id for i in self._store.incidents.values()
                      if i.id is not None and i.state.is_open and (i.impact, i.urgency)
                      == (impact, urgency))

    def _rows(self, keep: Callable[[Incident], bool], limit: int) -> list[IncidentRow]:
        chosen = [i for _, i in sorted(self._store.incidents.items(), reverse=True) if keep(i)]
        return [fake_row(i, self._store) for i in chosen[:limit]]


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

    def names(self, caller_ids: Collection[int]) -> dict[int, str]:
        return {i: self._store.callers[i].name for i in caller_ids if i in self._store.callers}


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
        self._store.names["category", category_id] = name
        return category_id

    def category_exists(self, category_id: int, parent_id: int | None) -> bool:
        return (category_id in self._store.categories
                and self._store.categories[category_id] == parent_id)

    def add_service(self, name: str) -> int:
        service_id = len(self._store.services) + 1
        self._store.services.add(service_id)
        self._store.names["service", service_id] = name
        return service_id

    def service_exists(self, service_id: int) -> bool:
        return service_id in self._store.services

    def list_categories(self) -> list[CategoryView]:
        return sorted((CategoryView(i, self._store.names.get(("category", i), f"Category {i}"),
                                    parent) for i, parent in self._store.categories.items()),
                      key=lambda c: (c.name, c.id))

    def list_services(self) -> list[ServiceView]:
        return sorted((ServiceView(i, self._store.names.get(("service", i), f"Service {i}"))
                       for i in self._store.services), key=lambda s: s.name)

    def add_configuration_item(self, name: str, ci_class: str, service_id: int | None) -> int:
        raise NotImplementedError("no configuration items in the fakes")

    def list_configuration_items(self) -> list[ConfigurationItemView]:
        return []

    def configuration_item(self, ci_id: int) -> ConfigurationItemView:
        raise NotFoundError(f"There is no configuration item {ci_id}.")

    def inactive_names(self, category_ids: Collection[int], service_ids: Collection[int],
                       ci_ids: Collection[int]) -> list[str]:
        return []


class FakeMatrix:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def current(self) -> PriorityMatrix:
        return self._store.matrix

    def save_new_version(self, matrix: PriorityMatrix, author_id: int | None,
                         comment: str = "") -> int:
        history = self._history()
        number = max([v.version for v, _ in history] + [self._store.matrix.version]) + 1
        self._store.matrix = replace(matrix, version=number)
        author = self._store.users.get(author_id) if author_id is not None else None
        history.append((self._store.matrix, MatrixVersionInfo(
            number, datetime.now(UTC), author.full_name if author else None, comment)))
        return number

    def _history(self) -> list[tuple[PriorityMatrix, MatrixVersionInfo]]:
        # Kept on the store, so that every unit of work on it sees the same history.
        if not hasattr(self._store, "matrix_history"):
            first = self._store.matrix
            self._store.matrix_history = [  # type: ignore[attr-defined]
                (first, MatrixVersionInfo(first.version, datetime(2026, 1, 1, tzinfo=UTC),
                                          None, ""))]
        history: list[tuple[PriorityMatrix, MatrixVersionInfo]] = (
            self._store.matrix_history)  # type: ignore[attr-defined]
        return history

    def history(self) -> list[MatrixVersionInfo]:
        return [info for _, info in reversed(self._history())]

    def version(self, version: int) -> PriorityMatrix:
        for matrix, info in self._history():
            if info.version == version:
                return matrix
        raise NotFoundError(f"There is no priority matrix version {version}.")

    def versions_in_force(self) -> list[tuple[MatrixVersionInfo, PriorityMatrix]]:
        return [(info, matrix) for matrix, info in self._history()]


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


class FakeReviews:
    """ReviewRepository in memory."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def _name(self, user_id: int) -> str:
        user = self._store.users.get(user_id)
        return user.full_name if user else ""

    def for_incident(self, incident_id: int) -> ReviewView | None:
        return self._store.reviews.get(incident_id)

    def for_incidents(self, incident_ids: Sequence[int]) -> list[ReviewView]:
        return [self._store.reviews[i] for i in incident_ids if i in self._store.reviews]

    def add(self, incident_id: int, content: ReviewContent, author_id: int,
            now: datetime) -> ReviewView:
        existing = self._store.reviews.get(incident_id)
        if existing is not None:
            raise ConflictError(f"The review of {existing.incident_number}",
                                existing.updated_by_name, existing.updated_at, existing.version)
        incident = self._store.incidents[incident_id]
        view = ReviewView(
            id=len(self._store.reviews) + 1, incident_id=incident_id,
            incident_number=incident.number or "", status=ReviewStatus.DRAFT, content=content,
            version=1, author_name=self._name(author_id), created_at=now, updated_at=now,
            updated_by_name=self._name(author_id))
        self._store.reviews[incident_id] = view
        return view

    def _claim(self, review_id: int, expected_version: int, actor_id: int, now: datetime,
               **changes: Any) -> ReviewView:
        current = next((v for v in self._store.reviews.values() if v.id == review_id), None)
        if current is None:
            raise NotFoundError(f"There is no review with id {review_id}.")
        if current.version != expected_version:
            raise ConflictError(f"The review of {current.incident_number}",
                                current.updated_by_name, current.updated_at, current.version)
        view = replace(current, version=expected_version + 1, updated_at=now,
                       updated_by_name=self._name(actor_id), **changes)
        self._store.reviews[view.incident_id] = view
        return view

    def save(self, review_id: int, expected_version: int, content: ReviewContent,
             actor_id: int, now: datetime) -> ReviewView:
        return self._claim(review_id, expected_version, actor_id, now, content=content)

    def set_status(self, review_id: int, expected_version: int, status: ReviewStatus,
                   actor_id: int, now: datetime) -> ReviewView:
        final = status == ReviewStatus.FINAL
        return self._claim(review_id, expected_version, actor_id, now, status=status,
                           finalized_at=now if final else None,
                           finalized_by_name=self._name(actor_id) if final else None)


class FakeReportQueries:
    """ReportQueries answering what the test put into the store."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.queries: list[PeriodQuery] = []

    def period_figures(self, query: PeriodQuery, now: datetime) -> PeriodFigures:
        self.queries.append(query)
        if self._store.period_figures is None:
            raise NotImplementedError("set store.period_figures first")
        return self._store.period_figures


class FakeAudit:
    """The audit trail: records wait for the commit, then chain like the real one."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.pending: list[tuple[str, int | None, str, str, str]] = []

    def record(self, action: str, *, actor_id: int | None, entity: str = "",
               entity_id: str | int | None = None,
               details: dict[str, Any] | None = None) -> None:
        self.pending.append((action, actor_id, entity,
                             "" if entity_id is None else str(entity_id),
                             canonical_json(details or {})))

    def write_pending(self) -> None:
        for action, actor_id, entity, entity_id, details in self.pending:
            last = self._store.audit[-1] if self._store.audit else None
            entry_id, prev = (last.id + 1, last.hash) if last else (1, GENESIS)
            at = datetime.now(UTC)
            actor = self._store.users[actor_id].username if actor_id in self._store.users \
                else ""
            digest = chain_hash(prev, row_content(entry_id, at, actor_id, actor, action,
                                                  entity, entity_id, details))
            self._store.audit.append(AuditEntry(entry_id, at, actor_id, actor, action, entity,
                                                entity_id, details, prev, digest))
        self.pending = []

    def walk(self, batch: int = 2000) -> Iterator[AuditEntry]:
        yield from list(self._store.audit)

    def latest(self, limit: int, *, action: str | None = None, entity: str | None = None,
               entity_id: str | None = None, before_id: int | None = None,
               actor_ids: Collection[int] | None = None, since: datetime | None = None,
               until: datetime | None = None) -> list[AuditEntry]:
        rows = [e for e in reversed(self._store.audit)
                if (not action or e.action == action)
                and (actor_ids is None or e.actor_id in actor_ids)
                and (not entity or e.entity == entity)
                and (not entity_id or e.entity_id == entity_id)
                and (before_id is None or e.id < before_id)
                and (since is None or e.at >= since) and (until is None or e.at < until)]
        return rows[:limit]


class FakeUnitOfWork:
    """A unit of work that works on a copy of the store and keeps it only on commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.actor_id: int | None = None

    def __enter__(self) -> Self:
        self._work = copy.deepcopy(self._store)
        self.incidents = FakeIncidents(self._work)
        self.callers = FakeCallers(self._work)
        self.users = FakeUsers(self._work)
        self.groups = FakeGroups(self._work)
        self.catalog = FakeCatalog(self._work)
        self.matrix = FakeMatrix(self._work)
        self.saved_filters = FakeSavedFilters(self._work)
        self.reviews = FakeReviews(self._work)
        self.report_queries = FakeReportQueries(self._work)
        self.assignment = FakeAssignmentStore(self._work)
        self.audit = FakeAudit(self._work)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None:
        self._work = copy.deepcopy(self._store)

    def commit(self) -> None:
        self.audit.write_pending()
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


def fake_row(incident: Incident, store: FakeStore) -> IncidentRow:
    """The queue row of a stored incident (no groups or agents' names: fakes keep ids)."""
    assert incident.id is not None and incident.number is not None
    caller = store.callers.get(incident.caller_id)
    return IncidentRow(
        id=incident.id, number=incident.number, short_description=incident.short_description,
        state=incident.state, priority=incident.priority, impact=incident.impact,
        urgency=incident.urgency, channel=incident.channel,
        caller_name=caller.name if caller else "", caller_vip=bool(caller and caller.vip),
        group_name=None, assignee_name=None, opened_at=incident.opened_at,
        updated_at=incident.updated_at or incident.opened_at,
        response_due_at=incident.response_due_at, resolution_due_at=incident.resolution_due_at,
        sla_paused_since=incident.sla_paused_since,
        resolution_breached=incident.resolution_breached, is_major=incident.is_major,
        version=incident.version, assignment_group_id=incident.assignment_group_id,
        assignee_id=incident.assignee_id,
    )
