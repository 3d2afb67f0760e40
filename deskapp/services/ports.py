"""The interfaces the services need from storage; persistence implements them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, Self

from deskapp.domain.incident import Incident
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import PriorityMatrix
from deskapp.services.dto import ActivityView, IncidentRow, StoredFilter
from deskapp.services.queries import QueueFilter, QueueQuery


class IncidentRepository(Protocol):
    """Incidents and their activity."""

    def get(self, incident_id: int) -> Incident:
        """The incident as stored now; NotFoundError if there is none."""
        ...

    def get_by_number(self, number: str) -> Incident:
        """The incident with this number; NotFoundError if there is none."""
        ...

    def add(self, incident: Incident) -> Incident:
        """Store a new incident: gives it an id and a unique number, writes its activity."""
        ...

    def save(self, incident: Incident, expected_version: int) -> int:
        """Write the incident if it is still at ``expected_version``; returns the new version.

        Raises ConflictError, naming who changed it and when, if it is not.
        """
        ...

    def append_activity(self, incident: Incident) -> None:
        """Write notes and comments without claiming a version (they never clash)."""
        ...

    def list_queue(self, query: QueueQuery, now: datetime) -> list[IncidentRow]:
        """One keyset page of a queue."""
        ...

    def count(self, queue_filter: QueueFilter, now: datetime) -> int:
        """How many incidents match."""
        ...

    def search(self, text: str, limit: int) -> list[IncidentRow]:
        """Full-text search over number, descriptions and notes, newest first."""
        ...

    def activity(self, incident_id: int) -> list[ActivityView]:
        """The incident's timeline, oldest first."""
        ...


class CallerRepository(Protocol):
    """The people who call the desk."""

    def get(self, caller_id: int) -> Caller: ...

    def add(self, caller: Caller) -> Caller: ...

    def lookup(self, prefix: str, limit: int) -> list[Caller]:
        """Callers whose name, email or phone starts with ``prefix``."""
        ...


class UserRepository(Protocol):
    """The people who work at the desk."""

    def get(self, user_id: int) -> User: ...

    def by_username(self, username: str) -> User: ...

    def add(self, user: User) -> User: ...

    def all(self) -> list[User]: ...


class GroupRepository(Protocol):
    """Assignment groups and their members."""

    def get(self, group_id: int) -> Group: ...

    def add(self, group: Group, member_ids: Sequence[int] = ()) -> Group: ...

    def all(self) -> list[Group]: ...

    def member_ids(self, group_id: int) -> list[int]: ...

    def ids_of_member(self, user_id: int) -> list[int]:
        """The groups ``user_id`` belongs to."""
        ...


class CatalogRepository(Protocol):
    """Categories, subcategories and affected services or configuration items."""

    def add_category(self, name: str, parent_id: int | None = None) -> int: ...

    def category_exists(self, category_id: int, parent_id: int | None) -> bool: ...

    def add_service(self, name: str) -> int: ...

    def service_exists(self, service_id: int) -> bool: ...


class SavedFilterRepository(Protocol):
    """The queues users make and name; each belongs to one user."""

    def list_for(self, owner_id: int) -> list[StoredFilter]:
        """The owner's filters, in their sidebar order."""
        ...

    def add(self, owner_id: int, name: str, conditions: dict[str, Any], now: datetime) -> int:
        """Store a new filter; returns its id."""
        ...

    def update(self, filter_id: int, owner_id: int, name: str, conditions: dict[str, Any],
               now: datetime) -> None:
        """Rename or redefine the owner's filter; NotFoundError if they have no such filter."""
        ...

    def delete(self, filter_id: int, owner_id: int) -> None:
        """Remove the owner's filter; NotFoundError if they have no such filter."""
        ...


class MatrixRepository(Protocol):
    """The versions of the priority matrix."""

    def current(self) -> PriorityMatrix: ...

    def save_new_version(self, matrix: PriorityMatrix, author_id: int | None) -> int: ...


class UnitOfWork(Protocol):
    """One transaction: rolled back unless committed."""

    # Read-only properties, so that implementations may hold their own repository types.
    @property
    def incidents(self) -> IncidentRepository: ...

    @property
    def callers(self) -> CallerRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def groups(self) -> GroupRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def matrix(self) -> MatrixRepository: ...

    @property
    def saved_filters(self) -> SavedFilterRepository: ...

    @property
    def bulk(self) -> BulkIncidentWriter: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; ``write=True`` takes the write lock up front on SQLite."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""


class BulkIncidentWriter(Protocol):
    """Writes many incidents at once, for demo data and imports; not for interactive use.

    Every method runs inside the unit of work's transaction. Ids and numbers are handed out
    first, so that the caller can link incidents (a child to its major incident) and build
    their whole history before anything is written.
    """

    def reserve_ids(self, count: int) -> list[int]:
        """Ids for ``count`` new incidents, ascending, that no one else will take.

        Only within a write unit of work, and only until it ends: insert them in the same
        transaction.
        """
        ...

    def reserve_numbers(self, count: int) -> int:
        """Reserve a block of ``count`` incident numbers; returns the first sequence value."""
        ...

    def add_incidents(self, incidents: Sequence[Incident]) -> int:
        """Insert incidents with their activity and their search entries.

        Args:
            incidents: Aggregates whose id and number are set (from ``reserve_ids`` and
                ``reserve_numbers``); their pending activity is taken and written.

        Returns:
            How many activity entries were written.
        """
        ...

    def add_callers(self, callers: Sequence[Caller]) -> list[Caller]:
        """Insert callers (their ids are ignored); returns them with their new ids, in order."""
        ...

    def callers_by_email_domain(self, domain: str) -> list[Caller]:
        """Callers whose email address ends in ``@domain``, by id."""
        ...

    def categories(self) -> dict[tuple[str | None, str], int]:
        """Every category's id by (parent name, name); top-level ones have no parent name."""
        ...

    def services(self) -> dict[str, int]:
        """Every service or configuration item's id by name."""
        ...
