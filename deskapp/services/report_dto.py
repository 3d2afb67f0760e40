"""Frozen data of post-incident reviews and management reports.

The review use cases, the report builders and the PDF writers (``deskapp.reports``) all speak
these types; the PDF writers see nothing else, so they can be tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum

from deskapp.services.dto import IncidentRow


class ReviewStatus(StrEnum):
    """A review is drafted (and redrafted) until someone marks it final."""

    DRAFT = "draft"
    FINAL = "final"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ActionState(StrEnum):
    """Where an action item of a review stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ActionItem:
    """Something the review decided must be done, by whom and when."""

    description: str
    owner: str = ""
    due: date | None = None
    state: ActionState = ActionState.OPEN


@dataclass(frozen=True)
class ReviewContent:
    """What the people writing a review type; every text may stay empty in a draft."""

    summary: str = ""
    customer_impact: str = ""
    business_impact: str = ""
    detection: str = ""
    """How the desk learned of the incident."""
    detected_at: datetime | None = None
    """When the desk learned of it (UTC)."""
    root_cause: str = ""
    contributing_factors: str = ""
    resolution: str = ""
    """Resolution and recovery."""
    went_well: str = ""
    went_badly: str = ""
    lessons_learned: str = ""
    action_items: tuple[ActionItem, ...] = ()


@dataclass(frozen=True)
class ReviewView:
    """A stored review at one version, with names rather than ids."""

    id: int
    incident_id: int
    incident_number: str
    status: ReviewStatus
    content: ReviewContent
    version: int
    author_name: str
    created_at: datetime
    updated_at: datetime
    updated_by_name: str
    finalized_at: datetime | None = None
    finalized_by_name: str | None = None


@dataclass(frozen=True)
class ReviewFormData:
    """What the review form loads at once: the incident and its review (None: not begun)."""

    incident: IncidentRow
    review: ReviewView | None


# --- the post-incident review PDF ---------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a review's timeline, in words."""

    at: datetime
    author: str
    what: str


@dataclass(frozen=True)
class Reassignment:
    """One move of an incident to another group or agent."""

    at: datetime
    by: str
    from_group: str
    to_group: str
    from_agent: str
    to_agent: str


@dataclass(frozen=True)
class StateSpan:
    """How long an incident spent in one state, in total."""

    state: str
    seconds: float


@dataclass(frozen=True)
class KeyFacts:
    """The figures at the top of a review."""

    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    response_seconds: float | None
    response_target_seconds: float
    response_breached: bool
    resolution_seconds: float | None
    """From opening to resolution, time on hold left out (as the SLA clock counts it)."""
    resolution_target_seconds: float
    resolution_breached: bool
    on_hold_seconds: float
    reassignments: int
    reopenings: int
    targets_version: int | None = None
    """The priority matrix version whose targets applied to the incident (None: unknown)."""
    targets_note: str = ""
    """Where the targets come from, in words (which version, and why that one)."""
    source: str = ""
    """The tool an imported incident came from ("ServiceNow") when its resolved time and
    resolution verdict are that tool's record, not Deskapp's clock; empty otherwise."""
    resolved_state_at: datetime | None = None
    """When the timeline shows the (last) change to Resolved, where that differs from
    ``resolved_at`` (an imported record whose resolved time disagrees with its events)."""
    business_hours: str = ""
    """The opening hours its targets count in ("Mon-Fri 08:00-16:00 Europe/Oslo"), and so
    the times to respond and to resolve beside them; empty when they run round the clock."""


@dataclass(frozen=True)
class ReviewReport:
    """Everything the review PDF shows about one incident."""

    number: str
    title: str
    priority_label: str
    priority_colour: str
    state: str
    is_major: bool
    caller: str
    category: str
    service: str
    group: str
    assignee: str
    description: str
    resolution_code: str
    resolution_notes: str
    facts: KeyFacts
    review: ReviewView | None
    timeline: tuple[TimelineEntry, ...]
    children: tuple[IncidentRow, ...]
    reassignments: tuple[Reassignment, ...]
    state_spans: tuple[StateSpan, ...]
    generated_at: datetime
    generated_by: str
    zone: tzinfo
    zone_name: str
    configuration_item: str = ""
    """The incident's configuration item with its class ("exch-mbx-db01 (database)"); empty
    for none."""


# --- the period report --------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodQuery:
    """Which incidents a period report covers: a span of days and optional filters.

    Empty tuples mean "any". The bounds are instants (UTC); ``day_starts`` are the starts of
    the report's calendar days in its time zone, so that days with a clock change still
    begin at midnight.
    """

    start: datetime
    end: datetime
    """Exclusive: the start of the day after the last one."""
    day_starts: tuple[datetime, ...]
    group_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    """A category also selects its subcategories' incidents."""
    service_ids: tuple[int, ...] = ()
    priorities: tuple[int, ...] = ()
    first_contact_minutes: int = 15
    top: int = 10


@dataclass(frozen=True)
class DayFigures:
    """One day of the period."""

    start: datetime
    opened: int
    resolved: int
    backlog: int
    """Open at the end of the day."""


@dataclass(frozen=True)
class Count:
    """A number of incidents under a label (a priority, a category...)."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Durations:
    """How long something took, over ``count`` incidents (seconds); None when none."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class PriorityFigures:
    """Times and SLA compliance of one priority."""

    priority: int
    respond: Durations
    resolve: Durations
    response_met: int
    response_total: int
    resolution_met: int
    resolution_total: int


@dataclass(frozen=True)
class OpenIncident:
    """One of the oldest open incidents."""

    number: str
    short_description: str
    priority: int
    state: str
    opened_at: datetime
    group: str
    assignee: str


@dataclass(frozen=True)
class MajorIncident:
    """A major incident of the period, with how far its review has come."""

    id: int
    number: str
    short_description: str
    priority: int
    state: str
    opened_at: datetime
    resolved_at: datetime | None
    children: int
    review_status: ReviewStatus | None


@dataclass(frozen=True)
class PeriodFigures:
    """Every figure of a period report, as the database computed them."""

    opened: int
    resolved: int
    backlog_start: int
    backlog_end: int
    days: tuple[DayFigures, ...]
    by_priority: tuple[Count, ...]
    by_category: tuple[Count, ...]
    by_group: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    top_services: tuple[Count, ...]
    top_categories: tuple[Count, ...]
    """Subcategories, named with their category."""
    priorities: tuple[PriorityFigures, ...]
    reassigned: int
    reopened: int
    first_contact: int
    oldest_open: tuple[OpenIncident, ...]
    majors: tuple[MajorIncident, ...]
    top_configuration_items: tuple[Count, ...] = ()
    """Named with their class ("exch-mbx-db01 (database)")."""


@dataclass(frozen=True)
class TargetChange:
    """A priority's targets as a matrix version saved during the period set them."""

    since: datetime
    version: int
    response_minutes: int
    resolution_minutes: int
    business_hours: bool


@dataclass(frozen=True)
class PriorityInfo:
    """A priority as the report names it, with the SLA targets in force at the period's
    start and any change to them during the period."""

    rank: int
    label: str
    colour: str
    response_minutes: int
    resolution_minutes: int
    business_hours: bool = False
    """Its targets count business hours only (``PeriodReport.business_hours``)."""
    changes: tuple[TargetChange, ...] = ()


@dataclass(frozen=True)
class PeriodReport:
    """Everything the period PDF shows."""

    first_day: date
    last_day: date
    filters: tuple[str, ...]
    """The filters in words ("Groups: Network, Service Desk"); empty for none."""
    figures: PeriodFigures
    priorities: tuple[PriorityInfo, ...]
    reviews: tuple[ReviewView, ...]
    """The reviews of the period's major incidents, in the order of ``figures.majors``."""
    first_contact_minutes: int
    generated_at: datetime
    generated_by: str
    zone: tzinfo
    zone_name: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    business_hours: str = ""
    """The desk's opening hours, for targets counted in business hours; empty when none is."""
    targets_note: str = ""
    """Which matrix versions' targets the report shows, in words."""
