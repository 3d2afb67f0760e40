"""Typed SQLAlchemy mappings of the schema; migrations/ must agree with them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause

from deskapp.persistence.types import SecretString, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Prefix look-ups compare bytes on PostgreSQL too, so that a range scan finds every match.
KeyString = String(200).with_variant(String(200, collation="C"), "postgresql")
SORT_KEY_LENGTH = 600
"""Characters of a natural sort key kept: a 120-character name's key fits (its digits padded),
and 600 characters stay within PostgreSQL's limit for a b-tree index entry."""
# Byte order on PostgreSQL too: natural_sort_key's order is code-point order.
SortKeyString = String(SORT_KEY_LENGTH).with_variant(String(SORT_KEY_LENGTH, collation="C"),
                                                     "postgresql")


class Base(DeclarativeBase):
    """Base of all mappings."""

    metadata = MetaData(naming_convention=NAMING)


class UserRecord(Base):
    """A person of the desk."""

    __tablename__ = "users"
    # Added by 0017: the queue sorted by assignee walks people by (sort_key, id).
    __table_args__ = (Index("ix_users_sort_key_id", "sort_key", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # Added by 0017: natural_sort_key(full_name), so that "Resolver 99" sorts before
    # "Resolver 100". Written with the name by persistence/repositories.user_keys.
    sort_key: Mapped[str] = mapped_column(SortKeyString)
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """Raised by every administration edit (not by the away flag): a stale edit is refused."""


class GroupRecord(Base):
    """An assignment group."""

    __tablename__ = "assignment_groups"
    # Added by 0017: the queue sorted by group walks groups by (sort_key, id).
    __table_args__ = (Index("ix_assignment_groups_sort_key_id", "sort_key", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Added by 0017: natural_sort_key(name), so that "Group 9" sorts before "Group 80".
    # Written with the name by persistence/repositories.group_keys.
    sort_key: Mapped[str] = mapped_column(SortKeyString)
    description: Mapped[str] = mapped_column(String(400), default="")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))


class GroupMemberRecord(Base):
    """Membership of an agent in a group."""

    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("assignment_groups.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class CallerRecord(Base):
    """Someone who calls the desk; the *_key columns serve prefix look-up."""

    __tablename__ = "callers"
    # Added by 0014: the callers administration pages through callers by (sort_key, id).
    __table_args__ = (Index("ix_callers_sort_key_id", "sort_key", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    department: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    name_key: Mapped[str] = mapped_column(KeyString, index=True)
    email_key: Mapped[str] = mapped_column(KeyString, index=True)
    phone_key: Mapped[str] = mapped_column(KeyString, index=True)
    # Added by 0014: natural_sort_key(name), so that "Caller 2" lists before "Caller 10".
    # Written with the name by persistence/repositories.caller_keys, on every path.
    sort_key: Mapped[str] = mapped_column(SortKeyString)
    # Added by 0009: made by the email intake from an unknown sender; someone should check it.
    # A server default only, so that bulk inserts that name their columns leave it out.
    needs_review: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Added by 0013b: an inactive caller is not offered for new calls but keeps its incidents;
    # a merged one is inactive and names the caller it was merged into. Server defaults
    # only, like needs_review, so that bulk inserts may leave them out.
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # Added by 0015: who made the last versioned change (a stale edit names them).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CategoryRecord(Base):
    """A category, or a subcategory when it has a parent."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    # Added by 0013c: deactivated rather than deleted (incidents keep pointing at them);
    # ``version`` refuses an admin's stale edit. Server defaults, so that importers and
    # bulk inserts that name their columns need not know them.
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class ServiceRecord(Base):
    """An affected service."""

    __tablename__ = "services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    # Added by 0013c, like the categories' columns.
    description: Mapped[str] = mapped_column(String(400), server_default=text("''"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class ConfigurationItemRecord(Base):
    """A configuration item (a server, an application...), of a service or of none (0013c)."""

    __tablename__ = "configuration_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    ci_class: Mapped[str] = mapped_column(String(24))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), index=True)
    description: Mapped[str] = mapped_column(String(400), server_default=text("''"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class PriorityRecord(Base):
    """A priority definition with its SLA targets."""

    __tablename__ = "priorities"
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    colour: Mapped[str] = mapped_column(String(16))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)


class MatrixVersionRecord(Base):
    """One saved version of the priority matrix; the highest id is in force."""

    __tablename__ = "matrix_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    impact_levels: Mapped[list[list[object]]] = mapped_column(JSON)
    urgency_levels: Mapped[list[list[object]]] = mapped_column(JSON)
    cells: Mapped[list[list[int]]] = mapped_column(JSON)
    # Added by 0007: the definitions and business hours saved with this version, so that
    # history shows and restores them too; None on versions saved before (the table's).
    priorities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(String(200))


class CounterRecord(Base):
    """Named counters; incident numbers come from here, one transaction at a time."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


OPEN_CONDITION = text("state IN ('new', 'in_progress', 'on_hold')")
"""The open states, written out as the partial indexes and the queue queries both spell them
(persistence.incident_repository.in_states): SQLite matches them value for value."""
OPEN_UNASSIGNED = text("state IN ('new', 'in_progress', 'on_hold') AND assignee_id IS NULL")
OPEN_ESCALATED = text("state IN ('new', 'in_progress', 'on_hold') AND escalation IS NOT NULL")
OPEN_SORT_COLUMNS = ("number", "opened_at", "updated_at", "priority", "state",
                     "short_description", "resolution_due_at")

_POSTGRESQL_WHERE: list[tuple[Index, TextClause]] = []
"""Partial indexes' conditions for PostgreSQL, attached by :func:`with_postgresql_options`."""


def _partial(name: str, *columns: str, where: TextClause,
             postgresql_where: TextClause | None = None) -> Index:
    """A partial index: ``where`` on SQLite, and on PostgreSQL once it is asked for.

    A ``postgresql_*`` argument makes SQLAlchemy import its whole PostgreSQL dialect (with
    every driver's module: 40-50 ms of a desk's start on SQLite) just to check the keyword.
    The migrations create these indexes on each database; the metadata needs the PostgreSQL
    spelling only when it is compared with a database (autogenerate, schema checks).
    """
    index = Index(name, *columns, sqlite_where=where)
    _POSTGRESQL_WHERE.append((index, where if postgresql_where is None else postgresql_where))
    return index


def with_postgresql_options() -> MetaData:
    """The metadata with PostgreSQL's options on its partial indexes (idempotent)."""
    for index, where in _POSTGRESQL_WHERE:
        index.dialect_options["postgresql"]["where"] = where
    return Base.metadata


class IncidentRecord(Base):
    """An incident row."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_state_opened_at", "state", "opened_at"),
        Index("ix_incidents_state_resolution_due_at", "state", "resolution_due_at"),
        Index("ix_incidents_assignee_id_state", "assignee_id", "state"),
        Index("ix_incidents_assignment_group_id_state", "assignment_group_id", "state"),
        # A group's whole history, newest first (team leads' "any state" filters).
        Index("ix_incidents_assignment_group_id_opened_at", "assignment_group_id", "opened_at"),
        # A category's history, newest first; a subcategory's likewise.
        Index("ix_incidents_category_id_opened_at", "category_id", "opened_at"),
        Index("ix_incidents_subcategory_id_opened_at", "subcategory_id", "opened_at"),
        Index("ix_incidents_service_id_state", "service_id", "state"),
        # Open incidents are a few percent of the table and the queues everyone watches:
        # one small partial index per sortable column serves every order of them from the
        # index, and a covering one answers the SLA and major counts.
        *(_partial(f"ix_incidents_open_{name}", name, where=OPEN_CONDITION)
          for name in OPEN_SORT_COLUMNS),
        _partial("ix_incidents_open_sla", "state", "priority", "resolution_due_at",
                 "resolution_breached", "is_major", where=OPEN_CONDITION),
        # Major incidents are a handful among a million: their own tiny index.
        _partial("ix_incidents_major_opened_at", "opened_at", where=text("is_major IS 1"),
                 postgresql_where=text("is_major IS true")),
        # "Unassigned in my groups": the few open incidents nobody has taken, by group.
        _partial("ix_incidents_open_unassigned", "assignment_group_id", "opened_at",
                 where=OPEN_UNASSIGNED),
        # The workload view's counts by group, agent, priority, state and SLA (0012).
        _partial("ix_incidents_open_workload", "assignment_group_id", "assignee_id",
                 "priority", "state", "resolution_due_at", "resolution_breached",
                 where=OPEN_CONDITION),
        # Escalated open incidents are a handful: their own tiny index (0008).
        _partial("ix_incidents_open_escalated", "assignment_group_id", "opened_at",
                 where=OPEN_ESCALATED),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    short_description: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    subcategory_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    impact: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    assignment_group_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_groups.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_code: Mapped[str | None] = mapped_column(String(32))
    resolution_notes: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    reassignment_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Where an imported incident came from ("servicenow:INC0000045"): a unique index, so
    # that importing the same log twice cannot duplicate it, even from two desks at once.
    external_ref: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)
    # Added by 0008: escalation ("functional", "hierarchical" or None), when, and whom a
    # hierarchical escalation flags (None: the managers).
    escalation: Mapped[str | None] = mapped_column(String(16))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Added by 0013c: the configuration item affected, if known.
    configuration_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("configuration_items.id"), index=True)


class SavedFilterRecord(Base):
    """A queue a user made and named: its conditions as JSON (see services.saved_filters)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityRecord(Base):
    """An append-only entry of an incident's activity."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_incident_id_id", "incident_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    call_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_seconds: Mapped[int | None] = mapped_column(Integer)



class ReviewRecord(Base):
    """The post-incident review of one incident; ``version`` guards concurrent edits."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    customer_impact: Mapped[str] = mapped_column(Text, default="")
    business_impact: Mapped[str] = mapped_column(Text, default="")
    detection: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    contributing_factors: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_badly: Mapped[str] = mapped_column(Text, default="")
    lessons_learned: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class ReviewActionRecord(Base):
    """An action item of a review, in the review's order (``position``)."""

    __tablename__ = "review_actions"
    __table_args__ = (Index("ix_review_actions_review_id_position", "review_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120), default="")
    due: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))

class BusinessCalendarRecord(Base):
    """The desk's business hours (one row): working days, opening window, time zone."""

    __tablename__ = "business_calendars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    working_days: Mapped[list[int]] = mapped_column(JSON)
    """0 = Monday ... 6 = Sunday."""
    opens_minute: Mapped[int] = mapped_column(Integer)
    """Minutes after local midnight."""
    closes_minute: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))


class BusinessHolidayRecord(Base):
    """A public holiday of a business calendar: closed all day."""

    __tablename__ = "business_holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120), default="")


class AssignmentRuleRecord(Base):
    """A rule routing new incidents of a category and/or service to a group (0008)."""

    __tablename__ = "assignment_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("assignment_groups.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    method: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    last_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class AlertRuleRecord(Base):
    """A row of the alert mapping (services.intake.alert_rules), in ``position`` order."""

    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    matchers: Mapped[list[list[str]]] = mapped_column(JSON)
    """[[label, operator, value], ...]; all must hold."""
    impact: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[int] = mapped_column(Integer)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    assignment_group_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_groups.id"))
    auto_resolve: Mapped[bool] = mapped_column(Boolean, default=True)
    resolution_code: Mapped[str] = mapped_column(String(32))


class AlertLinkRecord(Base):
    """Which incident a monitoring alert (by fingerprint) is recorded as.

    ``open_key`` holds the fingerprint while the link is open and NULL after: its unique
    index allows one open link per alert, on both databases, whoever delivers first.
    """

    __tablename__ = "alert_links"
    __table_args__ = (Index("ix_alert_links_fingerprint", "fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    alertname: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16))
    notifications: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLogRecord(Base):
    """One row of the append-only audit trail, chained to the row before by its hash.

    Ids are given by the writer (the previous row's id + 1, under the chain lock), so that a
    second writer that skipped the lock collides on the primary key instead of forking the
    chain. Triggers refuse UPDATE and DELETE (migration 0011).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        # The viewer's Who (one person's rows, newest first) and From/To (a day as a range
        # of ids: rows are stamped under the chain lock, so ``at`` follows ``id``).
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
        Index("ix_audit_log_at_id", "at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    """No foreign key: the trail outlives any record it names."""
    actor: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40), default="")
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class UserCredentialRecord(Base):
    """A local account's password (argon2id) and its lock-out state (SQLite desks)."""

    __tablename__ = "user_credentials"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(SecretString(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    must_change: Mapped[bool] = mapped_column(Boolean, default=False)


class SettingRecord(Base):
    """A desk-wide setting kept in the database (e.g. the PostgreSQL role-name prefix)."""

    __tablename__ = "deskapp_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


SEARCH_TABLE = "incident_search"
"""Kept out of the metadata: an FTS5 virtual table on SQLite, a tsvector table on PostgreSQL."""


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: the search index is dialect-specific and lives outside the metadata."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


class EmailMessageRecord(Base):
    """A message the email intake dealt with; its Message-ID is never processed twice."""

    __tablename__ = "email_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)


class EmailAttachmentRecord(Base):
    """A file that came attached to an email, kept with its incident."""

    __tablename__ = "email_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    email_message_id: Mapped[int] = mapped_column(ForeignKey("email_messages.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
