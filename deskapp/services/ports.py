"""The interfaces the services need from storage; persistence implements them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, cast

from deskapp.domain.assignment import AssignmentRule
from deskapp.domain.audit import AuditEntry
from deskapp.domain.credentials import Credential
from deskapp.domain.incident import Incident
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import PriorityMatrix
from deskapp.services.changes import ChangeNotice
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

if TYPE_CHECKING:
    # Annotations only: the persistence layer imports this module at start, and these pull
    # in the email parser and the caller-admin, report and workload types the queue window
    # never needs.
    from deskapp.services.caller_admin_dto import (
        CallerAdminRow,
        CallerPageQuery,
        DuplicateGroup,
    )
    from deskapp.services.intake.email_ports import EmailIntakeRepository
    from deskapp.services.report_dto import (
        PeriodFigures,
        PeriodQuery,
        ReviewContent,
        ReviewStatus,
        ReviewView,
    )
    from deskapp.services.workload_dto import AssignmentNotice, LoadCount, MemberInfo


class IncidentRepository(Protocol):
    """Incidents and their activity."""

    def get(self, incident_id: int) -> Incident:
        """The incident as stored now; NotFoundError if there is none."""
        ...

    def get_by_number(self, number: str) -> Incident:
        """The incident with this number; NotFoundError if there is none."""
        ...

    def numbers(self, incident_ids: Collection[int]) -> dict[int, str]:
        """The numbers (INC0001234) of these incidents, by id, in one read; unknown ids are
        left out."""
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
        """The incident's timeline, oldest first: by time, then in the order it was written."""
        ...

    def for_caller(self, caller_id: int, open_only: bool, limit: int) -> list[IncidentRow]:
        """The caller's incidents (only the open ones if ``open_only``), newest first."""
        ...

    def open_on_service(self, service_id: int, limit: int) -> list[IncidentRow]:
        """Open incidents on this service or configuration item, newest first."""
        ...

    def open_matching(self, words: Sequence[str], limit: int) -> list[IncidentRow]:
        """Open incidents whose text holds any of ``words`` (the last one as a prefix),
        newest first."""
        ...

    def rows(self, incident_ids: Sequence[int]) -> list[IncidentRow]:
        """Queue rows of these incidents, newest first; missing ids are left out."""
        ...

    def children(self, parent_id: int) -> list[IncidentRow]:
        """The incidents linked to this (major) incident as its children, newest first."""
        ...

    def external_ref(self, incident_id: int) -> str | None:
        """Where an imported incident came from ("servicenow:INC0000045"); None for one
        logged here."""
        ...

    def open_cell_counts(self) -> list[CellCount]:
        """Open incidents counted by (impact, urgency, current priority), by the database."""
        ...

    def open_ids_in_cell(self, impact: int, urgency: int) -> list[int]:
        """Ids of the open incidents with this impact and urgency, ascending."""
        ...


class CallerRepository(Protocol):
    """The people who call the desk."""

    def get(self, caller_id: int) -> Caller: ...

    def add(self, caller: Caller) -> Caller: ...

    def lookup(self, prefix: str, limit: int) -> list[Caller]:
        """Callers whose name, email or phone starts with ``prefix``."""
        ...

    def names(self, caller_ids: Collection[int]) -> dict[int, str]:
        """The names of these callers (merged and inactive ones too), by id; unknown ids are
        left out. One read of just these rows: a desk has far too many callers to load."""
        ...


class CallerAdminStore(Protocol):
    """The callers administration's reads and writes (lists, versioned edits, merges)."""

    def row(self, caller_id: int) -> CallerAdminRow:
        """One caller with its incident count; NotFoundError if there is none."""
        ...

    def page(self, query: CallerPageQuery) -> list[CallerAdminRow]:
        """Up to ``query.limit`` callers after ``query.after``, by (natural sort key, id)."""
        ...

    def sort_key(self, row: CallerAdminRow) -> tuple[str, int]:
        """The keyset position of a row (for ``CallerPageQuery.after``)."""
        ...

    def update(self, caller_id: int, expected_version: int, values: dict[str, object]) -> bool:
        """Set the columns named in ``values`` (look-up keys follow name, email and phone)
        and raise the version, only if it is still ``expected_version``; False otherwise."""
        ...

    def duplicate_groups(self, limit: int) -> list[DuplicateGroup]:
        """Groups of active callers sharing an email, a phone number or a name."""
        ...

    def duplicates_of(self, caller_id: int) -> list[CallerAdminRow]:
        """Active callers sharing the caller's email, phone number or name (not itself)."""
        ...

    def repoint(self, from_ids: Sequence[int], to_id: int, actor_id: int,
                now: datetime) -> dict[str, int]:
        """Point every foreign key that names one of ``from_ids`` at ``to_id`` instead;
        rows changed by "table.column".

        Each incident moved gets a new version (updated by ``actor_id`` at ``now``) and a
        caller-change entry in its timeline, and is noted for the live feed.
        """
        ...

    def email_messages_of(self, caller_ids: Sequence[int]) -> int:
        """How many intake messages belong to incidents of these callers."""
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

    def add_configuration_item(self, name: str, ci_class: str, service_id: int | None) -> int:
        """Insert an active configuration item (importers and demo data; admins use
        services.catalog_admin); returns its id."""
        ...

    def list_categories(self) -> list[CategoryView]:
        """Every category and subcategory, by name."""
        ...

    def list_services(self) -> list[ServiceView]:
        """Every service, by name, inactive ones included."""
        ...

    def list_configuration_items(self) -> list[ConfigurationItemView]:
        """Every configuration item, by name, inactive ones included."""
        ...

    def configuration_item(self, ci_id: int) -> ConfigurationItemView:
        """One configuration item; NotFoundError if there is none."""
        ...

    def inactive_names(self, category_ids: Collection[int], service_ids: Collection[int],
                       ci_ids: Collection[int]) -> list[str]:
        """The names of those of the given rows that are inactive ("category 'Printers'")."""
        ...


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
    """The versions of the priority matrix, its priority definitions and business hours."""

    def current(self) -> PriorityMatrix:
        """The matrix in force, with the current definitions and the desk's calendar."""
        ...

    def save_new_version(self, matrix: PriorityMatrix, author_id: int | None,
                         comment: str = "") -> int:
        """Store ``matrix`` as the newest version; returns its number.

        Its priority definitions replace the stored ones (by rank) and its calendar, when it
        has one, becomes the desk's; both are kept with the version for history.
        """
        ...

    def history(self) -> list[MatrixVersionInfo]:
        """Every saved version, newest first."""
        ...

    def version(self, version: int) -> PriorityMatrix:
        """A saved version as it was saved; NotFoundError if there is none."""
        ...

    def versions_in_force(self) -> list[tuple[MatrixVersionInfo, PriorityMatrix]]:
        """Every saved version, oldest first, with the targets it put in force.

        A version saved before definitions were kept with versions (migration 0007) has the
        seeded definitions, round the clock: they could not be edited then.
        """
        ...


class CredentialRepository(Protocol):
    """Local accounts' password hashes and lock-out state."""

    def get(self, user_id: int) -> Credential | None:
        """The user's credential, or None if they have no local password."""
        ...

    def put(self, credential: Credential) -> None:
        """Store (add or replace) the user's credential."""
        ...

    def count(self) -> int:
        """How many local accounts have a password."""
        ...


class AuditLog(Protocol):
    """The append-only audit trail, written in the same transaction as the change."""

    def record(self, action: str, *, actor_id: int | None, entity: str = "",
               entity_id: str | int | None = None,
               details: dict[str, Any] | None = None) -> None:
        """Note a row to append when the unit of work commits (dropped if it does not)."""
        ...

    def walk(self, batch: int = 2000) -> Iterator[AuditEntry]:
        """Every row in chain order."""
        ...

    def latest(self, limit: int, *, action: str | None = None, entity: str | None = None,
               entity_id: str | None = None, before_id: int | None = None,
               actor_ids: Collection[int] | None = None, since: datetime | None = None,
               until: datetime | None = None) -> list[AuditEntry]:
        """The newest rows first, filtered; ``before_id`` pages back.

        ``actor_ids`` keeps the rows of those people (none when it is empty); ``since`` is
        inclusive, ``until`` exclusive.
        """
        ...


class UnitOfWork(Protocol):
    """One transaction: rolled back unless committed."""

    actor_id: int | None
    """Who acts in this transaction, when the service knows (see ``acting_as``): the audit
    row of a write no service recorded itself names them."""

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

    @property
    def reviews(self) -> ReviewRepository: ...

    @property
    def report_queries(self) -> ReportQueries: ...

    @property
    def workload(self) -> WorkloadQueries: ...

    @property
    def assignment(self) -> AssignmentStore: ...

    @property
    def email_intake(self) -> EmailIntakeRepository: ...

    @property
    def caller_admin(self) -> CallerAdminStore: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def credentials(self) -> CredentialRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; ``write=True`` takes the write lock up front on SQLite."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


_F = TypeVar("_F", bound=UnitOfWorkFactory)


def acting_as(uow_factory: _F, actor_id: int | None) -> _F:
    """``uow_factory``, but every unit of work it opens knows that ``actor_id`` acts.

    Services made for one signed-in user open their units of work through this, so that the
    audit trail names that user even for a write no service recorded a row for.
    """
    def opened(*, write: bool = False) -> UnitOfWork:
        uow = uow_factory(write=write)
        uow.actor_id = actor_id
        return uow

    return cast(_F, opened)


class ChangeFeed(Protocol):
    """Tells when the database changed; one feed per window, used from one thread."""

    def wait(self, timeout: float) -> ChangeNotice | None:
        """Block up to ``timeout`` seconds for changes committed since the last call.

        Returns None if nothing changed. Raises DatabaseUnavailableError when the connection
        is lost; ``reconnect`` then starts over (changes in between are not replayed).
        """
        ...

    def reconnect(self) -> None:
        """Connect again after a loss; raises DatabaseUnavailableError if it still fails."""
        ...

    def close(self) -> None:
        """Release the feed's connection."""
        ...


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

    def add_incidents(self, incidents: Sequence[Incident],
                      external_refs: Sequence[str] | None = None) -> int:
        """Insert incidents with their activity and their search entries.

        Args:
            incidents: Aggregates whose id and number are set (from ``reserve_ids`` and
                ``reserve_numbers``); their pending activity is taken and written.
            external_refs: Where each incident came from, parallel to ``incidents``, for
                imports (see ``external_refs``); None for incidents made here.

        Returns:
            How many activity entries were written.
        """
        ...

    def external_refs(self, prefix: str) -> set[str]:
        """The external references already stored that start with ``prefix``."""
        ...

    def callers_by_name(self, names: Collection[str]) -> dict[str, int]:
        """Existing callers by name (compared case-insensitively, trimmed); the oldest active
        one wins, and a merged caller gives the caller it was merged into.

        Returns:
            The id of a caller for each of ``names`` that has one, keyed by the name as given.
        """
        ...

    def add_group_members(self, members: Collection[tuple[int, int]]) -> int:
        """Make agents members of groups, as (group id, user id); returns how many were new."""
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

    def refresh_statistics(self) -> None:
        """Let the database re-learn the table sizes after a bulk load (its planner's input).

        A queue plan chosen on the statistics of an empty database can be a thousand times
        slower on a million incidents.
        """
        ...


class ReviewRepository(Protocol):
    """Post-incident reviews: one per incident, versioned like incidents."""

    def for_incident(self, incident_id: int) -> ReviewView | None:
        """The incident's review, or None if nobody has begun one."""
        ...

    def for_incidents(self, incident_ids: Sequence[int]) -> list[ReviewView]:
        """The reviews of these incidents that exist, in no particular order."""
        ...

    def add(self, incident_id: int, content: ReviewContent, author_id: int,
            now: datetime) -> ReviewView:
        """Begin the incident's review as a draft at version 1.

        Raises ConflictError, naming its author, if someone began one meanwhile.
        """
        ...

    def save(self, review_id: int, expected_version: int, content: ReviewContent,
             actor_id: int, now: datetime) -> ReviewView:
        """Replace the review's text and action items if it is still at ``expected_version``.

        Raises ConflictError, naming who changed it and when, if it is not.
        """
        ...

    def set_status(self, review_id: int, expected_version: int, status: ReviewStatus,
                   actor_id: int, now: datetime) -> ReviewView:
        """Mark the review final, or a draft again, at ``expected_version`` (else ConflictError)."""
        ...


class ReportQueries(Protocol):
    """Aggregate queries for management reports; every figure is computed by the database."""

    def period_figures(self, query: PeriodQuery, now: datetime) -> PeriodFigures:
        """The figures of a period report: counts, series, percentiles and lists."""
        ...


class WorkloadQueries(Protocol):
    """Read queries of the workload view and of assignment notifications; the database
    counts, nothing is loaded row by row."""

    def open_loads(self, group_ids: Sequence[int] | None, now: datetime) -> list[LoadCount]:
        """Open incidents of these groups (every group if None), counted by (group,
        assignee, priority), with their on-hold, breached and at-risk counts at ``now``."""
        ...

    def members(self, group_ids: Sequence[int]) -> list[MemberInfo]:
        """The active members of these groups, by group and name."""
        ...

    def names(self, user_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
        """Full name and away flag of these users, by id."""
        ...

    def last_activity_id(self) -> int:
        """The newest activity entry's id (0 when there is none)."""
        ...

    def assigned_by_others(self, user_id: int, after_activity_id: int,
                           limit: int) -> list[AssignmentNotice]:
        """Open incidents assigned to ``user_id`` by someone else after that activity entry
        and still theirs, oldest first."""
        ...


class AssignmentStore(Protocol):
    """Many incidents' assignment at once, people's availability, and assignment rules."""

    def load_many(self, incident_ids: Sequence[int]) -> dict[int, Incident]:
        """These incidents by id, read in a few queries and locked until the transaction
        ends (so nobody changes them between the version check and the write); missing ids
        are left out."""
        ...

    def save_assignments(self, incidents: Sequence[Incident],
                         expected_versions: Sequence[int]) -> list[int]:
        """Write the assignment and escalation fields of these incidents, and all their
        pending activity, in bulk; each must still be at its expected version.

        Returns the new versions, in order. Raises ConflictError (nothing is kept: the
        caller's unit of work rolls back) if any is not.
        """
        ...

    def user_names(self, user_ids: Collection[int]) -> dict[int, str]:
        """Full names of these users, by id."""
        ...

    def groups_of(self, user_id: int) -> list[int]:
        """The groups the user belongs to or leads, by id."""
        ...

    def members(self, group_ids: Collection[int] | None) -> dict[int, list[User]]:
        """The active members of these groups (every group if None), by group, by name."""
        ...

    def set_away(self, user_id: int, away: bool) -> None:
        """Mark a person away (no new work from assignment rules) or back."""
        ...

    def open_loads(self, user_ids: Collection[int]) -> dict[int, dict[int, int]]:
        """Each user's open incidents (in any group), counted by priority rank."""
        ...

    def rules(self) -> list[AssignmentRule]:
        """Every assignment rule, in the order they are tried."""
        ...

    def rule(self, rule_id: int, *, lock: bool = False) -> AssignmentRule:
        """One rule (locked until the transaction ends if ``lock``); NotFoundError if none."""
        ...

    def add_rule(self, rule: AssignmentRule, actor_id: int, now: datetime) -> AssignmentRule:
        """Store a new rule (its id and version are given here) at the end of the order."""
        ...

    def save_rule(self, rule: AssignmentRule, expected_version: int, actor_id: int,
                  now: datetime) -> AssignmentRule:
        """Replace a rule if it is still at ``expected_version`` (else ConflictError)."""
        ...

    def delete_rule(self, rule_id: int, expected_version: int) -> None:
        """Remove a rule if it is still at ``expected_version`` (else ConflictError)."""
        ...

    def note_rule_choice(self, rule_id: int, assignee_id: int) -> None:
        """Remember whom the rule chose, for round robin (no version change: not an edit)."""
        ...
