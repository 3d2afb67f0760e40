"""Frozen data that crosses from the services to the GUI, the CLI and the reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from deskapp.domain.enums import Channel, Escalation, HoldReason, ResolutionCode, Role, State


@dataclass(frozen=True)
class IncidentRow:
    """One line of a queue."""

    id: int
    number: str
    short_description: str
    state: State
    priority: int
    impact: int
    urgency: int
    channel: Channel
    caller_name: str
    caller_vip: bool
    group_name: str | None
    assignee_name: str | None
    opened_at: datetime
    updated_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    sla_paused_since: datetime | None
    resolution_breached: bool
    is_major: bool
    version: int
    escalation: Escalation | None = None
    """Set while the incident is escalated (functional, or to the lead: hierarchical)."""
    configuration_item_name: str | None = None
    """The incident's configuration item (a hidden queue column, and exports)."""
    assignment_group_id: int | None = None
    assignee_id: int | None = None
    """Who holds it, as ids: the main window disables what the user's role does not reach
    (services.permissions.reaches) before the service would refuse."""


@dataclass(frozen=True)
class ActivityView:
    """One entry of an incident's timeline, with names rather than ids."""

    id: int
    kind: str
    at: datetime
    actor_name: str | None
    field: str | None
    old_value: str | None
    new_value: str | None
    body: str | None
    call_started_at: datetime | None
    call_seconds: int | None


def caller_ids_in(activity: Iterable[ActivityView]) -> set[int]:
    """The callers that changes of caller in ``activity`` name (old and new), by id."""
    return {int(value) for entry in activity if entry.field == "caller_id"
            for value in (entry.old_value, entry.new_value) if value and value.isdigit()}


@dataclass(frozen=True)
class IncidentDetail:
    """Everything the detail form shows about one incident, at one version."""

    id: int
    number: str
    version: int
    caller_id: int
    caller_name: str
    channel: Channel
    short_description: str
    description: str
    category_id: int | None
    subcategory_id: int | None
    service_id: int | None
    impact: int
    urgency: int
    priority: int
    state: State
    hold_reason: HoldReason | None
    assignment_group_id: int | None
    assignee_id: int | None
    resolution_code: ResolutionCode | None
    resolution_notes: str
    parent_id: int | None
    is_major: bool
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    response_due_at: datetime
    resolution_due_at: datetime
    response_breached: bool
    resolution_breached: bool
    reassignment_count: int
    reopen_count: int
    updated_at: datetime | None
    sla_paused_since: datetime | None = None
    """When the resolution clock stopped (on hold or resolved); None while it runs."""
    sla_paused_seconds: int = 0
    """How long the clock has been stopped before, in total."""
    opened_by_id: int | None = None
    updated_by_id: int | None = None
    caller_vip: bool = False
    escalation: Escalation | None = None
    escalated_at: datetime | None = None
    escalated_to_id: int | None = None
    """Whom a hierarchical escalation flags; None with one means the managers."""
    configuration_item_id: int | None = None


@dataclass(frozen=True)
class CallerView:
    """A caller as the call form's lookup shows them."""

    id: int
    name: str
    email: str
    phone: str
    department: str
    location: str
    vip: bool


@dataclass(frozen=True)
class UserView:
    """A person of the desk."""

    id: int
    username: str
    full_name: str
    role: Role


@dataclass(frozen=True)
class QueueCounts:
    """How many incidents a queue holds."""

    total: int
    by_state: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredFilter:
    """A saved filter as stored: its conditions are plain JSON data."""

    id: int
    name: str
    conditions: dict[str, object]
    position: int


@dataclass(frozen=True)
class CategoryView:
    """A category, or a subcategory when it has a parent, for the forms' pickers."""

    id: int
    name: str
    parent_id: int | None
    active: bool = True
    """Inactive ones are not offered for new choices; old incidents keep showing them."""


@dataclass(frozen=True)
class ServiceView:
    """An affected service, for the forms' pickers."""

    id: int
    name: str
    active: bool = True


@dataclass(frozen=True)
class ConfigurationItemView:
    """A configuration item, for the forms' pickers (filtered by the chosen service)."""

    id: int
    name: str
    ci_class: str
    service_id: int | None
    active: bool = True


@dataclass(frozen=True)
class CallerHistory:
    """What the call form shows beside the caller: their open and their latest incidents."""

    open: tuple[IncidentRow, ...]
    recent: tuple[IncidentRow, ...]


@dataclass(frozen=True)
class SimilarIncident:
    """An open incident that may be the one a new call is about."""

    row: IncidentRow
    same_service: bool
    shared_words: int
    """How many of the typed words its short description shares."""


@dataclass(frozen=True)
class IncidentFormData:
    """Everything the detail form loads at once, from one consistent read."""

    detail: IncidentDetail
    activity: tuple[ActivityView, ...]
    """Oldest first, as stored."""
    parent: IncidentRow | None
    children: tuple[IncidentRow, ...]
    read_only_reason: str | None = None
    """Set when the reader may not change the incident as it is assigned now
    (services.permissions.may_work_on): the form opens read-only and says this."""
    reassign_refusal: str | None = None
    """Set when the reader may not move the incident to another group or agent
    (services.permissions.reaches): the form's assignment fields are locked, saying this."""
    caller_names: Mapping[int, str] = field(default_factory=dict)
    """The names of the incident's caller and of every caller the timeline names, by id."""
