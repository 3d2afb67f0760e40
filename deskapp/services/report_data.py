"""What the reports show, gathered through the repository ports into frozen DTOs.

The PDF writers in ``deskapp.reports`` take these DTOs and nothing else. A review report
reads one incident with its timeline; a period report asks the database for its aggregates
(``ReportQueries``) and never loads the period's incidents.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from deskapp.domain import sla
from deskapp.domain.activity import time_in_states
from deskapp.domain.business_hours import BusinessCalendar
from deskapp.domain.enums import ActivityKind, HoldReason, ResolutionCode, State
from deskapp.domain.errors import DeskappError, NotFoundError, ValidationError
from deskapp.domain.incident import Incident
from deskapp.domain.priority import RECOMPUTED_NOTE, PriorityDefinition, PriorityMatrix
from deskapp.domain.text import natural_sort_key
from deskapp.services.dto import ActivityView, caller_ids_in
from deskapp.services.incidents import utc_now
from deskapp.services.matrix_dto import MatrixVersionInfo
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as
from deskapp.services.queues import local_zone
from deskapp.services.report_dto import (
    KeyFacts,
    PeriodQuery,
    PeriodReport,
    PriorityInfo,
    Reassignment,
    ReviewReport,
    StateSpan,
    TargetChange,
    TimelineEntry,
)

MAX_PERIOD_DAYS = 732
"""Two years of days: a longer series says little per day and makes an unreadable chart."""
FIRST_CONTACT_MINUTES = 15
"""Resolved within this long of being opened (one call), never reassigned nor reopened."""
TOP = 10

_NUMBER = re.compile(r"^\s*(INC)?\s*(\d{1,12})\s*$", re.IGNORECASE)


def normalise_number(text: str) -> str:
    """``INC0000123`` for "inc123", "INC0000123" or "123".

    Raises:
        ValidationError: ``text`` is not an incident number.
    """
    match = _NUMBER.match(text)
    if match is None:
        raise ValidationError(f"'{text}' is not an incident number (such as INC0000123).",
                              field="number")
    return f"INC{int(match.group(2)):07d}"


def parse_day(text: str, what: str) -> date:
    """A calendar day written YYYY-MM-DD.

    Raises:
        ValidationError: ``text`` is not such a day.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{what} '{text}' is not a date; write it as YYYY-MM-DD, such "
                              "as 2026-10-31.", field=what) from None


def parse_priority(text: str) -> int:
    """A priority rank from "2" or "P2".

    Raises:
        ValidationError: ``text`` names no priority rank.
    """
    digits = text.strip().upper().removeprefix("P")
    if not digits.isdigit() or not 1 <= int(digits) <= 9:
        raise ValidationError(f"'{text}' is not a priority; write 1 to 5 or P1 to P5.",
                              field="priority")
    return int(digits)


def _require_known_priorities(ranks: Sequence[int], matrix: PriorityMatrix) -> None:
    """Refuse a report narrowed to a priority the desk does not define (it would be empty)."""
    known = sorted(p.rank for p in matrix.priorities)
    unknown = [r for r in ranks if r not in known]
    if unknown:
        have = f"P{known[0]} to P{known[-1]}" if known else "no priorities"
        raise ValidationError(f"There is no priority P{unknown[0]} on this desk; it has {have}.",
                              field="priority")


def check_writable(path: Path) -> None:
    """Refuse early, before any work, a file that could not be written.

    Raises:
        DeskappError: the folder does not exist, or ``path`` is a folder.
    """
    if path.is_dir():
        raise DeskappError(f"{path} is a folder; name the PDF file to write.")
    if not path.parent.is_dir():
        raise DeskappError(f"The folder {path.parent} does not exist.")


def save_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces ``path`` in one
    rename: a failure, a full disk or an interruption leaves no partial file (and an older
    file of that name as it was).

    Raises:
        DeskappError: the file could not be written.
    """
    check_writable(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".part")
    except OSError as exc:
        raise DeskappError(f"Cannot write in {path.parent}: {exc.strerror}.") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise DeskappError(f"Cannot write {path}: {exc.strerror}.") from None
        raise


def zone_name(zone: tzinfo) -> str:
    """A zone's IANA key where it has one ("Europe/Oslo"), else its abbreviation now."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return datetime.now(zone).tzname() or "UTC"


@dataclass(frozen=True)
class PeriodFilters:
    """What a period report is asked for: days (inclusive) and filters by id."""

    first_day: date
    last_day: date
    group_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    service_ids: tuple[int, ...] = ()
    priorities: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.first_day > self.last_day:
            raise ValidationError(
                f"The period starts after it ends ({self.first_day:%Y-%m-%d} is after "
                f"{self.last_day:%Y-%m-%d}).", field="first_day")
        days = (self.last_day - self.first_day).days + 1
        if days > MAX_PERIOD_DAYS:
            raise ValidationError(f"The period is {days:,} days long; a report covers at "
                                  f"most {MAX_PERIOD_DAYS} days.", field="last_day")


def day_starts(first_day: date, last_day: date, zone: tzinfo) -> tuple[datetime, ...]:
    """The UTC instants at which each day begins in ``zone`` (DST days included)."""
    count = (last_day - first_day).days + 1
    return tuple(datetime.combine(first_day + timedelta(days=i), time(0), tzinfo=zone)
                 .astimezone(UTC) for i in range(count))


class ReportService:
    """Builds the DTOs of the review PDF and the period PDF, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now, zone: tzinfo | None = None) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock
        self._zone = zone or local_zone()

    @property
    def zone(self) -> tzinfo:
        return self._zone

    # --- the review ---------------------------------------------------------------------

    def review_report(self, incident: int | str) -> ReviewReport:
        """The review PDF's data for an incident, by id or by number ("INC0000123").

        Raises:
            NotFoundError: there is no such incident.
            ValidationError: ``incident`` is not an incident number.
        """
        now = self._clock()
        with self._uow() as uow:
            actor = uow.users.get(self._actor_id)
            if isinstance(incident, str):
                found = uow.incidents.get_by_number(normalise_number(incident))
            else:
                found = uow.incidents.get(incident)
            assert found.id is not None and found.number is not None
            names = _Names.load(uow)
            activity = uow.incidents.activity(found.id)
            children = uow.incidents.children(found.id)
            parent_ids = {int(v) for a in activity if a.field == "parent_id"
                          for v in (a.old_value, a.new_value) if v and v.isdigit()}
            names.incidents.update({r.id: r.number for r in uow.incidents.rows(
                sorted(parent_ids))})
            names.callers.update(uow.callers.names(caller_ids_in(activity)))
            review = uow.reviews.for_incident(found.id)
            caller = uow.callers.get(found.caller_id).name
            ci = (uow.catalog.configuration_item(found.configuration_item_id)
                  if found.configuration_item_id is not None else None)
            matrix = uow.matrix.current()
            versions = uow.matrix.versions_in_force()
            origin = uow.incidents.external_ref(found.id)
        definition = matrix.definition(found.priority)
        applied = applied_targets(found, activity, versions)
        spans = state_spans(found, activity, now)
        on_hold = next((s.seconds for s in spans if s.state == State.ON_HOLD.label), 0.0)
        return ReviewReport(
            number=found.number,
            title=found.short_description,
            priority_label=definition.label,
            priority_colour=definition.colour,
            state=found.state.label,
            is_major=found.is_major,
            caller=caller,
            category=_category_label(names, found.category_id, found.subcategory_id),
            service=names.services.get(found.service_id or -1, ""),
            group=names.groups.get(found.assignment_group_id or -1, ""),
            assignee=names.users.get(found.assignee_id or -1, ""),
            description=found.description,
            resolution_code=found.resolution_code.label if found.resolution_code else "",
            resolution_notes=found.resolution_notes,
            facts=replace(key_facts(found, matrix, on_hold, applied, self._zone),
                          **source_facts(found, activity, origin)),
            review=review,
            timeline=tuple(TimelineEntry(a.at, a.actor_name or "System",
                                         describe(a, names, matrix)) for a in activity),
            children=tuple(children),
            reassignments=tuple(reassignments(activity, names)),
            state_spans=spans,
            generated_at=now,
            generated_by=actor.full_name,
            zone=self._zone,
            zone_name=zone_name(self._zone),
            configuration_item=f"{ci.name} ({ci.ci_class})" if ci else "",
        )

    # --- the period ---------------------------------------------------------------------

    def period_report(self, filters: PeriodFilters) -> PeriodReport:
        """The period PDF's data; every figure is an aggregate the database computed.

        Raises:
            PermissionDeniedError: the user may not export reports.
        """
        now = self._clock()
        starts = day_starts(filters.first_day, filters.last_day, self._zone)
        end = datetime.combine(filters.last_day + timedelta(days=1), time(0),
                               tzinfo=self._zone).astimezone(UTC)
        query = PeriodQuery(start=starts[0], end=end, day_starts=starts,
                            group_ids=filters.group_ids, category_ids=filters.category_ids,
                            service_ids=filters.service_ids, priorities=filters.priorities,
                            first_contact_minutes=FIRST_CONTACT_MINUTES, top=TOP)
        with self._uow() as uow:
            actor = uow.users.get(self._actor_id)
            require(actor, Permission.EXPORT_REPORTS)
            matrix = uow.matrix.current()
            versions = uow.matrix.versions_in_force()
            _require_known_priorities(filters.priorities, matrix)
            names = _Names.load(uow)
            figures = uow.report_queries.period_figures(query, now)
            found = {r.incident_id: r for r in uow.reviews.for_incidents(
                [m.id for m in figures.majors])}
        reviews = tuple(found[m.id] for m in figures.majors if m.id in found)
        priorities, calendar, note = period_targets(matrix, versions, query.start, query.end,
                                                    self._zone)
        return PeriodReport(
            first_day=filters.first_day,
            last_day=filters.last_day,
            filters=_describe_filters(filters, names, matrix),
            figures=figures,
            priorities=priorities,
            reviews=reviews,
            first_contact_minutes=FIRST_CONTACT_MINUTES,
            generated_at=now,
            generated_by=actor.full_name,
            zone=self._zone,
            zone_name=zone_name(self._zone),
            business_hours=describe_calendar(calendar) if calendar is not None else "",
            targets_note=note,
        )

    def priority_choices(self) -> list[tuple[int, str]]:
        """The priorities a period report can be narrowed to, as (rank, label)."""
        with self._uow() as uow:
            return [(p.rank, p.label) for p in uow.matrix.current().priorities]

    def find_ids(self, *, groups: Sequence[str] = (), categories: Sequence[str] = (),
                 services: Sequence[str] = ()) -> tuple[tuple[int, ...], tuple[int, ...],
                                                        tuple[int, ...]]:
        """Group, category and service ids by name (case-insensitive), for the CLI.

        A category may be written "Hardware" or, for a subcategory, "Hardware / Printer".

        Raises:
            NotFoundError: a name matches nothing; the message lists what there is.
        """
        with self._uow() as uow:
            names = _Names.load(uow)
        categories_by_label = {
            _category_label(names, cid, None): cid
            for cid, parent in names.category_parents.items() if parent is None}
        categories_by_label.update({
            _category_label(names, parent, cid): cid
            for cid, parent in names.category_parents.items() if parent is not None})
        return (
            _lookup("group", groups, {v: k for k, v in names.groups.items()}),
            _lookup("category", categories, categories_by_label),
            _lookup("service", services, {v: k for k, v in names.services.items()}),
        )


def _lookup_key(name: str) -> str:
    """A name as typed or stored, compared: spacing and case forgiven, "a/b" as "a / b"."""
    return re.sub(r"\s*/\s*", " / ", " ".join(name.split()).casefold())


def _lookup(what: str, wanted: Sequence[str], labels: dict[str, int]) -> tuple[int, ...]:
    """Ids of the ``wanted`` names among ``labels`` (name as shown: id).

    Raises:
        NotFoundError: a name matches nothing; the message lists the names there are, as
            they are written, in reading order.
    """
    known = {_lookup_key(label): ident for label, ident in labels.items()}
    ids = []
    for name in wanted:
        key = _lookup_key(name)
        if key not in known:
            choices = sorted(labels, key=natural_sort_key)
            shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
            raise NotFoundError(f"There is no {what} '{name}'"
                                + (f"; there are: {shown}." if choices else "."))
        ids.append(known[key])
    return tuple(dict.fromkeys(ids))


@dataclass
class _Names:
    """Names of the small reference tables, by id, to put words on stored ids."""

    users: dict[int, str]
    groups: dict[int, str]
    categories: dict[int, str]
    category_parents: dict[int, int | None]
    services: dict[int, str]
    incidents: dict[int, str]
    configuration_items: dict[int, str] = field(default_factory=dict)
    callers: dict[int, str] = field(default_factory=dict)
    """Only the callers a report names (see ``caller_ids_in``): a desk has 100k+ of them."""

    @classmethod
    def load(cls, uow: UnitOfWork) -> _Names:
        categories = uow.catalog.list_categories()
        return cls(
            users={u.id: u.full_name for u in uow.users.all()},
            groups={g.id: g.name for g in uow.groups.all()},
            categories={c.id: c.name for c in categories},
            category_parents={c.id: c.parent_id for c in categories},
            services={s.id: s.name for s in uow.catalog.list_services()},
            incidents={},
            configuration_items={c.id: c.name for c in uow.catalog.list_configuration_items()},
        )


def _category_label(names: _Names, category_id: int | None,
                    subcategory_id: int | None) -> str:
    if category_id is None:
        return ""
    label = names.categories.get(category_id, f"#{category_id}")
    if subcategory_id is not None:
        label += " / " + names.categories.get(subcategory_id, f"#{subcategory_id}")
    return label


def _describe_filters(filters: PeriodFilters, names: _Names,
                      matrix: PriorityMatrix) -> tuple[str, ...]:
    def category(i: int) -> str:
        parent = names.category_parents.get(i)
        return (_category_label(names, parent, i) if parent is not None
                else names.categories.get(i, f"#{i}"))

    labelled: list[tuple[str, tuple[int, ...], Callable[[int], str]]] = [
        ("Groups", filters.group_ids, lambda i: names.groups.get(i, f"#{i}")),
        ("Categories", filters.category_ids, category),
        ("Services", filters.service_ids, lambda i: names.services.get(i, f"#{i}")),
        ("Priorities", filters.priorities, lambda i: _priority_label(matrix, i)),
    ]
    parts = []
    for label, ids, lookup in labelled:
        if ids:
            parts.append(f"{label}: " + ", ".join(lookup(i) for i in ids))
    return tuple(parts)


def _priority_label(matrix: PriorityMatrix, rank: int) -> str:
    try:
        return matrix.definition(rank).label
    except ValidationError:
        return f"P{rank}"


# --- an incident's history in words ---------------------------------------------------------

_FIELD_NAMES = {
    "short_description": "Short description", "description": "Description",
    "channel": "Channel", "caller_id": "Caller", "category_id": "Category",
    "subcategory_id": "Subcategory", "service_id": "Service", "parent_id": "Parent incident",
    "configuration_item_id": "Configuration item",
    "is_major": "Major incident", "impact": "Impact", "urgency": "Urgency",
    "priority": "Priority", "hold_reason": "Hold reason", "resolution_code": "Resolution code",
    "resolution_notes": "Resolution notes",
    "assignment_group_id": "Assignment group", "assignee_id": "Assigned to", "state": "State",
}


def _value(field: str | None, value: str | None, names: _Names,
           matrix: PriorityMatrix) -> str:
    if value is None or value == "":
        return "(none)"
    as_id = int(value) if value.isdigit() else None
    lookups: dict[str, Callable[[int], str | None]] = {
        "assignment_group_id": names.groups.get, "assignee_id": names.users.get,
        "category_id": names.categories.get, "subcategory_id": names.categories.get,
        "service_id": names.services.get, "parent_id": names.incidents.get,
        "configuration_item_id": names.configuration_items.get,
        "caller_id": names.callers.get,
    }
    if field in lookups and as_id is not None:
        return lookups[field](as_id) or f"#{as_id}"
    if field == "priority" and as_id is not None:
        return _priority_label(matrix, as_id)
    enums: dict[str, Callable[[str], str]] = {
        "state": lambda v: State(v).label,
        "hold_reason": lambda v: HoldReason(v).label,
        "resolution_code": lambda v: ResolutionCode(v).label,
    }
    if field in enums:
        try:
            return enums[field](value)
        except ValueError:
            return value
    if field == "impact" and as_id is not None:
        return matrix.impact_name(as_id)
    if field == "urgency" and as_id is not None:
        return matrix.urgency_name(as_id)
    if field == "is_major":
        return "yes" if value == "true" else "no"
    return value


def describe(entry: ActivityView, names: _Names, matrix: PriorityMatrix) -> str:
    """What one activity entry says, in words."""
    body = (entry.body or "").strip()
    kind = entry.kind
    if kind == ActivityKind.CREATED:
        return f"Opened: {body}" if body else "Opened"
    if kind == ActivityKind.WORK_NOTE:
        return f"Work note: {body}"
    if kind == ActivityKind.COMMENT:
        return f"Comment to the caller: {body}"
    if kind == ActivityKind.CALL:
        seconds = entry.call_seconds or 0
        length = f"{seconds // 60} min {seconds % 60} s"
        return f"Call ({length})" + (f": {body}" if body else "")
    if entry.field == "is_major" and entry.new_value == "true":
        return "Declared a major incident"
    label = _FIELD_NAMES.get(entry.field or "", (entry.field or "Change").replace("_", " "))
    if entry.field in ("short_description", "description"):
        return f"{label} changed to: {entry.new_value or ''}"
    old = _value(entry.field, entry.old_value, names, matrix)
    new = _value(entry.field, entry.new_value, names, matrix)
    return f"{label}: {old} \u2192 {new}"


def reassignments(activity: Iterable[ActivityView], names: _Names) -> list[Reassignment]:
    """Every move to another group or agent; the group and agent of one move are one row.

    Each entry names what it replaced, so the history is right even when the incident was
    opened already assigned (which leaves no assignment entry).
    """
    moves: list[Reassignment] = []
    group = agent = ""
    last_key: tuple[datetime, str | None] | None = None

    def name(lookup: dict[int, str], value: str | None) -> str:
        if not value or not value.isdigit():
            return ""
        return lookup.get(int(value), f"#{value}")

    for entry in activity:
        if entry.kind != ActivityKind.ASSIGNMENT:
            continue
        key = (entry.at, entry.actor_name)
        if key != last_key:
            moves.append(Reassignment(entry.at, entry.actor_name or "System", group, group,
                                      agent, agent))
            last_key = key
        move = moves[-1]
        if entry.field == "assignment_group_id":
            group = name(names.groups, entry.new_value)
            moves[-1] = replace(move, from_group=name(names.groups, entry.old_value),
                                to_group=group)
        elif entry.field == "assignee_id":
            agent = name(names.users, entry.new_value)
            moves[-1] = replace(move, from_agent=name(names.users, entry.old_value),
                                to_agent=agent)
    return moves


def state_spans(incident: Incident, activity: Iterable[ActivityView],
                now: datetime) -> tuple[StateSpan, ...]:
    """How long the incident spent in each state it passed through, from its state changes.

    The last state runs until now, unless it is final (Closed, Cancelled).
    """
    totals = time_in_states(incident.opened_at, activity, now)
    return tuple(StateSpan(s.label, totals[s].total_seconds()) for s in State if s in totals)


def key_facts(incident: Incident, matrix: PriorityMatrix, on_hold_seconds: float,
              applied: AppliedTargets | None = None, zone: tzinfo = UTC) -> KeyFacts:
    """The review's key facts, measured the way the SLA clock measures them.

    The targets are those ``applied`` to the incident (see ``applied_targets``), else the
    current matrix's; business-hours targets measure the times beside them in business
    hours too, as the clock that judged them did.
    """
    definition = applied.definition if applied else matrix.definition(incident.priority)
    calendar = _business_calendar(definition)

    def elapsed(end: datetime) -> float:
        if calendar is not None:
            return calendar.open_time_between(incident.opened_at, end).total_seconds()
        return (end - incident.opened_at).total_seconds()

    response = elapsed(incident.first_response_at) if incident.first_response_at else None
    # The SLA clock leaves paused time out (counted on the priority's own clock); a pause
    # still running when the incident was resolved is the resolution's own, so only
    # finished pauses count.
    resolution = (elapsed(incident.resolved_at) - incident.sla_paused_seconds
                  if incident.resolved_at else None)
    return KeyFacts(
        opened_at=incident.opened_at,
        first_response_at=incident.first_response_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        response_seconds=response,
        response_target_seconds=definition.response_target.total_seconds(),
        response_breached=incident.response_breached,
        resolution_seconds=resolution,
        resolution_target_seconds=definition.resolution_target.total_seconds(),
        resolution_breached=incident.resolution_breached,
        on_hold_seconds=on_hold_seconds,
        reassignments=incident.reassignment_count,
        reopenings=incident.reopen_count,
        targets_version=applied.version if applied else None,
        targets_note=applied.describe(zone) if applied else "",
        business_hours=describe_calendar(calendar) if calendar is not None else "",
    )


_SOURCES_OF_RECORD = {"servicenow": "ServiceNow"}
"""Imports whose resolved time and resolution verdict are the source's record (the
ServiceNow log's resolved_at and made_sla), by external reference prefix."""


def source_facts(incident: Incident, activity: Iterable[ActivityView],
                 origin: str | None) -> dict[str, Any]:
    """What of an imported incident's key facts is the source tool's record, for KeyFacts:
    the tool's name, and the timeline's own resolution time where the two disagree."""
    source = _SOURCES_OF_RECORD.get((origin or "").split(":", 1)[0], "")
    if not source:
        return {}
    changes = [a.at for a in activity
               if a.field == "state" and a.new_value == State.RESOLVED.value]
    shown = changes[-1] if changes else None
    return {"source": source,
            "resolved_state_at": shown if shown != incident.resolved_at else None}


# --- which targets applied ------------------------------------------------------------------

_RESETS_TARGETS = ("impact", "urgency", "priority")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class AppliedTargets:
    """The SLA targets that applied to one incident, from the matrix version that set them."""

    version: int
    definition: PriorityDefinition
    set_at: datetime
    """When the incident's due times were last set (opened, or reclassified while open)."""
    how: str = "in force"
    """Why this version: "in force" then; "fits" its stored due times, or the "oldest"
    version, for an incident set before the desk's oldest saved version."""

    def describe(self, zone: tzinfo) -> str:
        """Where the targets come from, in a sentence."""
        head = f"Targets of priority matrix version {self.version}"
        if self.how == "in force":
            return (f"{head}, in force when the incident's due times were set "
                    f"({self.set_at.astimezone(zone):%Y-%m-%d %H:%M}); later changes to the "
                    "matrix do not apply to it.")
        why = ("the first whose targets give the incident's stored due times"
               if self.how == "fits" else "the desk's oldest")
        return (f"{head}, {why}: the incident was opened before the desk's oldest saved "
                "version; later changes to the matrix do not apply to it.")


def _business_calendar(definition: PriorityDefinition) -> BusinessCalendar | None:
    return definition.calendar if definition.business_hours else None


def targets_set_at(incident: Incident, activity: Iterable[ActivityView]) -> datetime:
    """When the incident's due times were last set: when it was opened, or when it was
    reclassified (impact, urgency or priority changed, or the targets recomputed after a
    matrix save) before its resolution."""
    end = incident.resolved_at or incident.closed_at
    moment = incident.opened_at
    for entry in activity:
        if end is not None and entry.at > end:
            continue
        if entry.field in _RESETS_TARGETS or (
                entry.kind == ActivityKind.WORK_NOTE
                and (entry.body or "").startswith(RECOMPUTED_NOTE)):
            moment = max(moment, entry.at)
    return moment


def applied_targets(incident: Incident, activity: Iterable[ActivityView],
                    versions: Sequence[tuple[MatrixVersionInfo, PriorityMatrix]]
                    ) -> AppliedTargets | None:
    """The targets that applied to ``incident``: those of the matrix version in force when
    its due times were last set, never today's when the matrix has changed since.

    An incident set before the desk's first saved version (an imported one: the log keeps
    its own times) takes the first version whose targets give its stored due times, else
    the first version. None when the desk has no version defining its priority.
    """
    at = targets_set_at(incident, activity)
    usable = [(info, m) for info, m in versions
              if any(p.rank == incident.priority for p in m.priorities)]
    if not usable:
        return None
    in_force = [(info, m) for info, m in usable if info.created_at <= at]
    if in_force:
        info, m = in_force[-1]
        return AppliedTargets(info.version, m.definition(incident.priority), at)
    paused = timedelta(seconds=incident.sla_paused_seconds)
    for info, m in usable:
        d = m.definition(incident.priority)
        if (sla.response_due(incident.opened_at, d) == incident.response_due_at
                and sla.resolution_due(incident.opened_at, d, paused)
                == incident.resolution_due_at):
            return AppliedTargets(info.version, d, at, "fits")
    info, m = usable[0]
    return AppliedTargets(info.version, m.definition(incident.priority), at, "oldest")


def describe_calendar(calendar: BusinessCalendar) -> str:
    """Opening hours in words: "Mon-Fri 08:00-16:00 Europe/Oslo, public holidays closed"."""
    days = sorted(calendar.working_days)
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    named = ", ".join(_DAYS[r[0]] if len(r) == 1 else f"{_DAYS[r[0]]}\u2013{_DAYS[r[-1]]}"
                      for r in runs)
    text = (f"{named} {calendar.opens:%H:%M}\u2013{calendar.closes:%H:%M} "
            f"{calendar.time_zone}")
    return text + (", public holidays closed" if calendar.holidays else "")


def period_targets(matrix: PriorityMatrix,
                   versions: Sequence[tuple[MatrixVersionInfo, PriorityMatrix]],
                   start: datetime, end: datetime, zone: tzinfo
                   ) -> tuple[tuple[PriorityInfo, ...], BusinessCalendar | None, str]:
    """The priorities with the targets in force during ``start`` to ``end`` (the version in
    force at the start - the first one when the desk's history begins later - and every
    version saved during the period), the calendar business-hours targets count in, and a
    sentence saying which versions those are.

    Names and colours are today's (they label the figures); the targets are the period's.
    """
    if not versions:
        infos = tuple(PriorityInfo(p.rank, p.label, p.colour, p.response_minutes,
                                   p.resolution_minutes, p.business_hours)
                      for p in matrix.priorities)
        return infos, matrix.calendar, ""
    before = [v for v in versions if v[0].created_at <= start]
    first = before[-1] if before else versions[0]
    during = [v for v in versions if start < v[0].created_at < end and v is not first]
    calendar: BusinessCalendar | None = None
    infos_list = []
    for p in matrix.priorities:
        defs = [(info, m.definition(p.rank)) for info, m in (first, *during)
                if any(q.rank == p.rank for q in m.priorities)]
        if not defs:
            defs = [(first[0], p)]
        base = defs[0][1]
        changes: list[TargetChange] = []
        last = base
        for info, d in defs[1:]:
            if (d.response_minutes, d.resolution_minutes, d.business_hours) != (
                    last.response_minutes, last.resolution_minutes, last.business_hours):
                changes.append(TargetChange(info.created_at, info.version, d.response_minutes,
                                            d.resolution_minutes, d.business_hours))
            last = d
        for _, d in defs:
            if d.business_hours and d.calendar is not None:
                calendar = d.calendar
        infos_list.append(PriorityInfo(p.rank, p.label, p.colour, base.response_minutes,
                                       base.resolution_minutes, base.business_hours,
                                       tuple(changes)))
    infos = tuple(infos_list)
    changed = sorted({(c.since, c.version) for i in infos for c in i.changes})
    if changed:
        when_ = "; ".join(f"version {v} on {at.astimezone(zone):%Y-%m-%d %H:%M}"
                          for at, v in changed)
        note = (f"Targets: priority matrix version {first[0].version}, in force at the "
                f"period's start; the targets changed during the period ({when_}). Each "
                "incident is judged by the targets in force when its due times were set.")
    elif before:
        note = (f"Targets: priority matrix version {first[0].version}, in force throughout "
                "the period.")
    else:
        note = (f"Targets: priority matrix version {first[0].version}, the oldest the desk "
                f"has (saved {first[0].created_at.astimezone(zone):%Y-%m-%d}, after the "
                "period's start).")
    return infos, calendar, note
