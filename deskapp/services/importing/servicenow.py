"""Import a ServiceNow incident event log: incidents with their history, all or nothing.

The file is read and checked whole first (``servicenow_log``); a file with any error changes
nothing and the report lists every row that cannot be read. Then one write transaction adds
what is missing: assignment groups, agents (the log's assignees), callers, categories,
configuration items (``cmdb_ci``, of class "other" and of no service: the log has no service
column, so imported incidents have no service), the log's priority matrix as a new version
when it differs from the current one, and the incidents with their timelines. If anything
fails on the way, the transaction rolls back and the database is exactly as before - the
incident counter too. Incidents are built and sent in batches inside it, so memory stays
flat; the price is that the transaction holds SQLite's write lock, or PostgreSQL's lock on
the incident counter, until it commits (about 5 s of writing for the public log's 25,000
incidents): other desks logging a call meanwhile wait that long.

Each incident remembers where it came from (``servicenow:INC0000045``, unique in the
database), so importing the same log again skips what is there and adds only the rest.

An incident's values are those of its last row (its final state). Its timeline holds what
the rows show changing: the state (with the hold reason, and the resolution code on
resolving) and the assignment, each at the row's ``sys_updated_at`` and by its
``sys_updated_by`` when that names a known user (by user name or full name); the log's
people codes are anonymised per column, so in the public log it names none. The timeline
keeps the log's history as it happened, even where Deskapp's lifecycle would not allow a
step (a closed incident reopened, New straight to Closed). The reassignment and reopen
counts are the log's own: its rows are a sample of the updates, so counting them would
miss some. The SLA clock follows the domain's rules over that history: due times from the
priority's targets, the clock stopped while On Hold or Resolved; whether the resolution
target was breached is the log's ``made_sla``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from deskapp.domain import sla
from deskapp.domain.activity import ActivityEntry
from deskapp.domain.catalog import CiClass
from deskapp.domain.enums import ActivityKind, Role, State
from deskapp.domain.errors import ValidationError
from deskapp.domain.incident import (
    MAX_DESCRIPTION,
    MAX_SHORT_DESCRIPTION,
    Incident,
    format_number,
)
from deskapp.domain.people import Caller, Group, User
from deskapp.domain.priority import Level, PriorityMatrix
from deskapp.services import audit
from deskapp.services.importing.servicenow_log import (
    ImportProblem,
    LogIncident,
    ServiceNowLog,
    read_log,
    time_zone,
)
from deskapp.services.permissions import SERVICENOW_IMPORT, require_all
from deskapp.services.ports import UnitOfWork, UnitOfWorkFactory

SOURCE = "servicenow"
REF_PREFIX = f"{SOURCE}:"
"""External references of imported incidents start with this."""
BATCH_SIZE = 2_000
"""Incidents built and sent to the database at a time, inside the one transaction: memory
stays flat however big the log."""
UNKNOWN_CALLER = "Unknown caller"
"""The caller of incidents whose log names none (the database needs one)."""

_PAUSED = frozenset({State.ON_HOLD, State.RESOLVED, State.CLOSED})
"""States in which the resolution clock stands still."""
_RUNNING = frozenset({State.NEW, State.IN_PROGRESS})
_USERNAME_JUNK = re.compile(r"[^a-z0-9]+")


class ImportStage(StrEnum):
    """What an import is busy with."""

    READING = "reading"
    """Reading and checking the file; progress counts bytes."""
    WRITING = "writing"
    """Writing incidents; progress counts them."""


ImportProgress = Callable[[ImportStage, int, int], None]
"""Called with (stage, done, total) as the import goes on."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or why it did nothing."""

    source: str
    """The file read (and the CSV's name inside a zip)."""
    rows: int
    """Rows of the file (updates), the header left out."""
    incidents_in_file: int
    """Incidents read without error."""
    imported: int
    skipped: int
    """Incidents imported before, left as they are."""
    activity: int
    """Timeline entries written."""
    groups_created: int
    agents_created: int
    callers_created: int
    categories_created: int
    configuration_items_created: int
    matrix_version: int | None
    """The matrix version the import saved; None when the current one already fitted."""
    matrix_changes: tuple[str, ...]
    """Each changed cell, as "impact 3 x urgency 3: P5 -> P4"."""
    problems: tuple[ImportProblem, ...]
    """Rows that could not be read (errors) and what was worked around (warnings); the
    first ones only, see ``errors`` and ``warnings`` for the counts."""
    errors: int
    warnings: int
    seconds: float

    @property
    def ok(self) -> bool:
        """True when the file was read without error (and so imported)."""
        return self.errors == 0

    @property
    def matrix_replaced(self) -> bool:
        return self.matrix_version is not None

    def summary(self, destination: str | None = None) -> str:
        """One line on what happened; ``destination`` names the database written to."""
        if not self.ok:
            return (f"Nothing was imported from {self.source}: "
                    f"{_count(self.errors, 'problem')} in the file "
                    "(listed below); fix them and import again.")
        if not self.incidents_in_file:
            return f"There are no incidents in {self.source}."
        if not self.imported:
            return (f"Nothing new in {self.source}: its {self.skipped:,} incidents were "
                    "imported before.")
        into = f" into {destination}" if destination else ""
        text = (f"Imported {_count(self.imported, 'incident')} with "
                f"{_count(self.activity, 'timeline entry', 'timeline entries')} from "
                f"{self.source} ({_count(self.rows, 'row')}){into} in {self.seconds:.1f} s")
        if self.skipped:
            text += f"; skipped {self.skipped:,} imported before"
        return text + "."


def _count(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def import_servicenow(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    timezone: str = "UTC",
    progress: ImportProgress | None = None,
    actor_id: int | None = None,
) -> ImportReport:
    """Import a ServiceNow incident event log; all of it, or nothing when it has errors.

    Args:
        uow_factory: Opens the one write unit of work the import runs in.
        path: The CSV file, or a zip holding it.
        timezone: The IANA time zone the log's times are in; they are stored in UTC.
        progress: Told how far reading, then writing, has got.
        actor_id: Who imports, and saves the new matrix version if one is needed; they
            need ``permissions.SERVICENOW_IMPORT`` (None: the system, the command line).

    Returns:
        What was imported and skipped, and the problems found. With errors in the file,
        nothing is written and ``ok`` is False.

    Raises:
        ValidationError: If the file cannot be opened or read as CSV text, the time zone is
            unknown, or the log's priorities do not fit the database's.
        PermissionDeniedError: If the actor may not import a ServiceNow log.
        DatabaseUnavailableError: If the database fails while writing; nothing is kept.
    """
    started = time.perf_counter()
    if actor_id is not None:
        # Before the file is read: refusing after a minute of reading would waste it.
        with uow_factory() as uow:
            require_all(uow.users.get(actor_id), SERVICENOW_IMPORT)
    zone = time_zone(timezone)
    reading = None if progress is None else (
        lambda done, total: progress(ImportStage.READING, done, total))
    log = read_log(Path(path), zone, reading)
    if log.unnamed_close_codes:
        log = _with_warning(log, f"{log.unnamed_close_codes:,} incidents have a close code "
                            "that names no way of solving (such as the anonymised 'code 6'); "
                            "they are marked 'Solved permanently' with the code kept in "
                            "their resolution notes")
    if log.errors:
        return _report(log, started)
    return _write(uow_factory, log, started, progress, actor_id)


def _with_warning(log: ServiceNowLog, message: str) -> ServiceNowLog:
    return replace(log, problems=(*log.problems, ImportProblem(None, None, message, False)),
                   warnings=log.warnings + 1)


def _report(log: ServiceNowLog, started: float, *, skipped: int = 0,
            written: _Written | None = None) -> ImportReport:
    done = written or _Written()
    return ImportReport(
        source=log.source, rows=log.rows, incidents_in_file=len(log.incidents),
        imported=done.incidents, skipped=skipped, activity=done.activity,
        groups_created=done.groups, agents_created=done.agents, callers_created=done.callers,
        categories_created=done.categories,
        configuration_items_created=done.configuration_items,
        matrix_version=done.matrix_version, matrix_changes=done.matrix_changes,
        problems=log.problems, errors=log.errors, warnings=log.warnings,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class _Written:
    """What the write transaction added."""

    incidents: int = 0
    activity: int = 0
    groups: int = 0
    agents: int = 0
    callers: int = 0
    categories: int = 0
    configuration_items: int = 0
    matrix_version: int | None = None
    matrix_changes: tuple[str, ...] = ()


def _write(uow_factory: UnitOfWorkFactory, log: ServiceNowLog, started: float,
           progress: ImportProgress | None, actor_id: int | None) -> ImportReport:
    with uow_factory(write=True) as uow:
        existing = uow.bulk.external_refs(REF_PREFIX)
        new = [i for i in log.incidents if REF_PREFIX + i.number not in existing]
        skipped = len(log.incidents) - len(new)
        if not new:
            return _report(log, started, skipped=skipped)
        reference = _Reference(uow, new)
        matrix, version, changes = _fit_matrix(uow, log, actor_id)
        # Numbers first (see services.demo): ids then follow numbers.
        first_number = uow.bulk.reserve_numbers(len(new))
        ids = uow.bulk.reserve_ids(len(new))
        activity = 0
        for start in range(0, len(new), BATCH_SIZE):
            chunk = new[start:start + BATCH_SIZE]
            batch = [_incident(item, ids[start + k], format_number(first_number + start + k),
                               reference, matrix) for k, item in enumerate(chunk)]
            activity += uow.bulk.add_incidents(batch, [REF_PREFIX + i.number for i in chunk])
            del batch
            if progress is not None:
                progress(ImportStage.WRITING, start + len(chunk), len(new))
        uow.bulk.refresh_statistics()
        uow.audit.record(audit.IMPORTED, actor_id=actor_id, entity="import",
                         entity_id="servicenow", details={
                             "source": "servicenow", "file": log.source,
                             "incidents": len(new), "activity": activity,
                             "skipped": skipped, "callers": reference.callers_created,
                             "users": reference.agents_created,
                             "groups": reference.groups_created,
                             "categories": reference.categories_created,
                             "configuration_items":
                                 reference.configuration_items_created,
                             "matrix_version": version,
                             "matrix_changes": list(changes)})
        uow.commit()
    return _report(log, started, skipped=skipped, written=_Written(
        incidents=len(new), activity=activity, groups=reference.groups_created,
        agents=reference.agents_created, callers=reference.callers_created,
        categories=reference.categories_created,
        configuration_items=reference.configuration_items_created,
        matrix_version=version, matrix_changes=changes,
    ))


# --- the priority matrix --------------------------------------------------------------


def matrix_from_log(log: ServiceNowLog, current: PriorityMatrix) -> PriorityMatrix:
    """The current matrix with the log's cells (and any levels it adds) put in.

    Cells the log never uses keep the current matrix's priority; the current level names
    stay, and levels new to the matrix take the log's names.

    Raises:
        ValidationError: If the log names priorities the database does not define, or adds
            a level without giving every one of its cells a priority.
    """
    defined = {p.rank for p in current.priorities}
    unknown = sorted({rank for rank in log.cells.values() if rank not in defined})
    if unknown:
        raise ValidationError(
            f"The log uses priorit{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(map(str, unknown))}, which the database does not define "
            f"(it has {', '.join(str(rank) for rank in sorted(defined))}).")

    def levels(existing: tuple[Level, ...], named: dict[int, str],
               used: set[int]) -> tuple[Level, ...]:
        have = {lvl.value for lvl in existing}
        added = [Level(value, named.get(value, str(value))) for value in used - have]
        return tuple(sorted((*existing, *added), key=lambda lvl: lvl.value))

    impacts = levels(current.impact_levels, dict(log.impact_names),
                     {i for i, _ in log.cells})
    urgencies = levels(current.urgency_levels, dict(log.urgency_names),
                       {u for _, u in log.cells})
    cells = dict(current.cells)
    cells.update(log.cells)
    missing = [f"impact {i.value} x urgency {u.value}" for i in impacts for u in urgencies
               if (i.value, u.value) not in cells]
    if missing:
        raise ValidationError("The log adds levels to the priority matrix but gives no "
                              f"priority for {', '.join(missing)}; extend the matrix first.")
    return PriorityMatrix(impacts, urgencies, cells, current.priorities, current.version)


def _fit_matrix(uow: UnitOfWork, log: ServiceNowLog,
                actor_id: int | None) -> tuple[PriorityMatrix, int | None, tuple[str, ...]]:
    """The matrix the incidents are classified by; saved as a new version if it changed."""
    current = uow.matrix.current()
    fitted = matrix_from_log(log, current)
    if (fitted.impact_levels, fitted.urgency_levels, dict(fitted.cells)) == (
            current.impact_levels, current.urgency_levels, dict(current.cells)):
        return current, None, ()
    changes = []
    for (impact, urgency), rank in sorted(fitted.cells.items()):
        before = current.cells.get((impact, urgency))
        if before != rank:
            old = "none" if before is None else current.definition(before).code
            changes.append(f"impact {impact} x urgency {urgency}: {old} -> "
                           f"{fitted.definition(rank).label}")
    version = uow.matrix.save_new_version(
        fitted, actor_id, f"Imported with the ServiceNow log {log.source}")
    return uow.matrix.current(), version, tuple(changes)


# --- reference data -------------------------------------------------------------------


class _Reference:
    """The ids of the groups, agents, callers, categories and configuration items the
    incidents need, created where missing and reused by name where they exist."""

    def __init__(self, uow: UnitOfWork, incidents: Sequence[LogIncident]) -> None:
        self.groups = self._groups(uow, incidents)
        self.agents, self.actors = self._people(uow, incidents)
        self.callers = self._callers(uow, incidents)
        self.categories = self._categories(uow, incidents)
        self.configuration_items = self._configuration_items(uow, incidents)
        members = {(self.groups[e.group], self.agents[e.assignee])
                   for i in incidents for e in i.events
                   if e.group is not None and e.assignee is not None}
        # The desk lets only a group's members take its incidents; the log's assignees
        # become members of the groups they worked for.
        uow.bulk.add_group_members(members)

    def _groups(self, uow: UnitOfWork, incidents: Sequence[LogIncident]) -> dict[str, int]:
        groups = {g.name: g.id for g in uow.groups.all()}
        wanted = _ordered(e.group for i in incidents for e in i.events)
        missing = [name for name in wanted if name not in groups]
        for name in missing:
            groups[name] = uow.groups.add(Group(0, name, "Imported from ServiceNow")).id
        self.groups_created = len(missing)
        return groups

    def _people(self, uow: UnitOfWork,
                incidents: Sequence[LogIncident]) -> tuple[dict[str, int], dict[str, int]]:
        """Agents by the log's assignee names, and every user by user name and full name."""
        users = uow.users.all()
        known: dict[str, int] = {}
        for user in users:
            known.setdefault(user.username.casefold(), user.id)
        for user in users:
            # A full name is matched before a user name: the log's assignees are names.
            known[user.full_name.casefold()] = user.id
        taken = {user.username.casefold() for user in users}
        agents: dict[str, int] = {}
        created = 0
        for name in _ordered(e.assignee for i in incidents for e in i.events):
            user_id = known.get(name.casefold())
            if user_id is None:
                username = _username(name, taken)
                user_id = uow.users.add(User(0, username, name, "", Role.AGENT)).id
                known.setdefault(name.casefold(), user_id)
                known.setdefault(username, user_id)
                created += 1
            agents[name] = user_id
        self.agents_created = created
        return agents, known

    def actor(self, name: str | None) -> int | None:
        """The user a ``sys_updated_by`` (or ``opened_by``) names, if it names one."""
        return None if name is None else self.actors.get(name.casefold())

    def _callers(self, uow: UnitOfWork, incidents: Sequence[LogIncident]) -> dict[str, int]:
        locations: dict[str, str] = {}
        for item in incidents:
            locations.setdefault(item.caller or UNKNOWN_CALLER, item.location or "")
        callers = uow.bulk.callers_by_name(list(locations))
        missing = [name for name in locations if name not in callers]
        added = uow.bulk.add_callers([Caller(0, name, location=locations[name])
                                      for name in missing])
        callers.update((caller.name, caller.id) for caller in added)
        self.callers_created = len(added)
        return callers

    def _categories(self, uow: UnitOfWork,
                    incidents: Sequence[LogIncident]) -> dict[tuple[str | None, str], int]:
        categories = uow.bulk.categories()
        created = 0
        for item in incidents:
            if item.category is None:
                continue
            parent_id = categories.get((None, item.category))
            if parent_id is None:
                parent_id = categories[(None, item.category)] = \
                    uow.catalog.add_category(item.category)
                created += 1
            if item.subcategory is not None and (item.category, item.subcategory) \
                    not in categories:
                categories[(item.category, item.subcategory)] = \
                    uow.catalog.add_category(item.subcategory, parent_id)
                created += 1
        self.categories_created = created
        return categories

    def _configuration_items(self, uow: UnitOfWork,
                             incidents: Sequence[LogIncident]) -> dict[str, int]:
        # Matched by name, as the catalogue keeps names unique: importing again adds none.
        items = {ci.name: ci.id for ci in uow.catalog.list_configuration_items()}
        missing = [name for name in _ordered(i.configuration_item for i in incidents)
                   if name not in items]
        for name in missing:
            # The log says neither the item's class nor its service.
            items[name] = uow.catalog.add_configuration_item(name, CiClass.OTHER.value, None)
        self.configuration_items_created = len(missing)
        return items


def _ordered(names: Iterable[str | None]) -> list[str]:
    """The names given, each once, in order of first appearance, without the missing."""
    return [name for name in dict.fromkeys(names) if name is not None]


def _username(name: str, taken: set[str]) -> str:
    """A free user name made from a full name: ``Resolver 17`` -> ``resolver.17``."""
    base = _USERNAME_JUNK.sub(".", name.casefold()).strip(".")[:56] or "agent"
    username, suffix = base, 1
    while username in taken:
        suffix += 1
        username = f"{base}.{suffix}"
    taken.add(username)
    return username


# --- one incident ---------------------------------------------------------------------


def _incident(item: LogIncident, incident_id: int, number: str, reference: _Reference,
              matrix: PriorityMatrix) -> Incident:
    """The aggregate for one of the log's incidents, its timeline pending."""
    priority = matrix.definition(item.priority)
    short = _short_description(item)
    pending = [ActivityEntry(ActivityKind.CREATED, item.opened_at,
                             reference.actor(item.opened_by), body=short)]
    first = item.events[0]
    group = reference.groups[first.group] if first.group is not None else None
    assignee = reference.agents[first.assignee] if first.assignee is not None else None
    state, hold = State.NEW, None
    paused_since: datetime | None = None
    paused = 0
    first_response: datetime | None = None
    resolved: datetime | None = None
    actor: int | None = None
    for event in item.events:
        at, actor = event.at, reference.actor(event.updated_by)
        new_group = reference.groups[event.group] if event.group is not None else None
        new_assignee = reference.agents[event.assignee] if event.assignee is not None else None
        if new_group != group:
            pending.append(_change(ActivityKind.ASSIGNMENT, "assignment_group_id", group,
                                   new_group, actor, at))
            group = new_group
        if new_assignee != assignee:
            pending.append(_change(ActivityKind.ASSIGNMENT, "assignee_id", assignee,
                                   new_assignee, actor, at))
            assignee = new_assignee
        target = event.state
        if target is None:
            continue  # the junk state: the state before carries over
        if target == state:
            if target == State.ON_HOLD and event.hold_reason != hold:
                pending.append(_change(ActivityKind.FIELD_CHANGE, "hold_reason", hold,
                                       event.hold_reason, actor, at))
                hold = event.hold_reason
            continue
        pending.append(_change(ActivityKind.STATE_CHANGE, "state", state, target, actor, at))
        # The clock as Incident.transition runs it: leaving a hold, or going back to work
        # from a resolution, adds the pause to the time allowed; a pause starts on entering
        # a paused state (a resolution that is closed stays paused).
        if paused_since is not None and (state == State.ON_HOLD or target in _RUNNING):
            paused += int(sla.paused_time(priority, paused_since, at).total_seconds())
            paused_since = None
        if target in _PAUSED and paused_since is None:
            paused_since = at
        if target == State.ON_HOLD:
            pending.append(_change(ActivityKind.FIELD_CHANGE, "hold_reason", None,
                                   event.hold_reason, actor, at))
        elif target == State.RESOLVED:
            resolved = at
            pending.append(_change(ActivityKind.FIELD_CHANGE, "resolution_code", None,
                                   item.resolution_code, actor, at))
        if first_response is None and target != State.NEW:
            first_response = at
        state, hold = target, event.hold_reason
    final = item.state
    last = item.events[-1].at
    done = final in (State.RESOLVED, State.CLOSED)
    resolved_at = (item.resolved_at or resolved or item.closed_at or last) if done else None
    closed_at = (item.closed_at or last) if final in (State.CLOSED, State.CANCELLED) else None
    if final == State.CANCELLED:
        paused_since = None
    elif final in _PAUSED and paused_since is None:
        paused_since = resolved_at or last
    response_due = sla.response_due(item.opened_at, priority)
    return Incident(
        id=incident_id, number=number, caller_id=reference.callers[item.caller or
                                                                   UNKNOWN_CALLER],
        channel=item.channel, short_description=short, description=_description(item),
        impact=item.impact, urgency=item.urgency, priority=priority.rank,
        opened_at=item.opened_at, response_due_at=response_due,
        resolution_due_at=sla.resolution_due(item.opened_at, priority,
                                             timedelta(seconds=paused)),
        state=final,
        category_id=(reference.categories[(None, item.category)]
                     if item.category is not None else None),
        subcategory_id=(reference.categories[(item.category, item.subcategory)]
                        if item.category is not None and item.subcategory is not None
                        else None),
        configuration_item_id=(reference.configuration_items[item.configuration_item]
                               if item.configuration_item is not None else None),
        hold_reason=item.hold_reason if final == State.ON_HOLD else None,
        assignment_group_id=group, assignee_id=assignee,
        resolution_code=item.resolution_code if done else None,
        resolution_notes=_resolution_notes(item) if done else "",
        first_response_at=first_response, resolved_at=resolved_at, closed_at=closed_at,
        sla_paused_since=paused_since, sla_paused_seconds=paused,
        response_breached=first_response is not None and first_response > response_due,
        resolution_breached=not item.made_sla,
        reassignment_count=item.reassignment_count, reopen_count=item.reopen_count,
        opened_by_id=reference.actor(item.opened_by), updated_at=last, updated_by_id=actor,
        version=1, pending=pending,
    )


def _change(kind: ActivityKind, field: str, old: object, new: object, actor: int | None,
            at: datetime) -> ActivityEntry:
    """An entry as the aggregate records a change (values as text, None kept)."""
    return ActivityEntry(kind, at, actor, field=field,
                         old_value=None if old is None else str(old),
                         new_value=None if new is None else str(new))


def _short_description(item: LogIncident) -> str:
    what = " / ".join(p for p in (item.category, item.subcategory, item.symptom) if p)
    # What it was about first (what a queue column shows); the old number last, still
    # searchable, so that "ServiceNow INC0000045" finds what was INC0000045 there.
    tail = f" (ServiceNow {item.number})"
    return (what or "No category")[:MAX_SHORT_DESCRIPTION - len(tail)] + tail


def _description(item: LogIncident) -> str:
    lines = [f"Imported from the ServiceNow incident event log: {item.number}."]
    lines += [f"{label}: {value}" for label, value in item.details]
    return "\n".join(lines)[:MAX_DESCRIPTION]


def _resolution_notes(item: LogIncident) -> str:
    notes = f"Resolved in ServiceNow. Close code: {item.close_code or 'none'}."
    if item.resolved_by:
        notes += f" Resolved by: {item.resolved_by}."
    return notes
