"""Use cases on incidents: log a call, edit, classify, move through the lifecycle, assign."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import ConflictError, NotFoundError, ValidationError
from deskapp.domain.incident import Incident
from deskapp.domain.people import Caller, User
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.dto import (
    ActivityView,
    CallerView,
    IncidentDetail,
    IncidentRow,
)
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from deskapp.services.queries import QueueFilter, QueueQuery


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LogCallRequest:
    """What the agent typed into the call form."""

    caller_id: int
    short_description: str
    impact: int
    urgency: int
    description: str = ""
    channel: Channel = Channel.PHONE
    category_id: int | None = None
    subcategory_id: int | None = None
    service_id: int | None = None
    assignment_group_id: int | None = None
    assignee_id: int | None = None
    parent_id: int | None = None
    call_started_at: datetime | None = None
    call_seconds: int | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str = ""


def to_detail(incident: Incident, caller_name: str) -> IncidentDetail:
    """The frozen view of an incident for the GUI."""
    assert incident.id is not None and incident.number is not None
    values = {f.name: getattr(incident, f.name) for f in fields(IncidentDetail)
              if f.name != "caller_name"}
    return IncidentDetail(caller_name=caller_name, **values)


def caller_view(caller: Caller) -> CallerView:
    """The frozen view of a caller."""
    return CallerView(caller.id, caller.name, caller.email, caller.phone, caller.department,
                      caller.location, caller.vip)


class IncidentService:
    """Everything an agent does to incidents, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = uow_factory
        self._actor_id = actor_id
        self._clock = clock

    @property
    def actor_id(self) -> int:
        return self._actor_id

    def _actor(self, uow: UnitOfWork, permission: Permission | None = None) -> User:
        actor = uow.users.get(self._actor_id)
        if permission is not None:
            require(actor, permission)
        return actor

    # --- writing ------------------------------------------------------------------------

    def log_call(self, request: LogCallRequest) -> tuple[IncidentDetail, Change]:
        """Record a new incident from a call; resolve it at once if the agent says so."""
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, Permission.LOG)
            caller = uow.callers.get(request.caller_id)
            self._check_references(uow, request.category_id, request.subcategory_id,
                                   request.service_id, request.assignment_group_id,
                                   request.assignee_id, request.parent_id, None)
            incident = Incident.open(
                caller_id=caller.id,
                channel=request.channel,
                short_description=request.short_description,
                description=request.description,
                impact=request.impact,
                urgency=request.urgency,
                matrix=uow.matrix.current(),
                opened_at=now,
                opened_by_id=self._actor_id,
                category_id=request.category_id,
                subcategory_id=request.subcategory_id,
                service_id=request.service_id,
                assignment_group_id=request.assignment_group_id,
                assignee_id=request.assignee_id,
                parent_id=request.parent_id,
            )
            if request.call_seconds is not None:
                incident.log_call(request.call_started_at or now, request.call_seconds, "",
                                  self._actor_id)
            if request.resolution_code is not None:
                incident.transition(State.RESOLVED, self._actor_id, now,
                                    resolution_code=request.resolution_code,
                                    resolution_notes=request.resolution_notes)
            uow.incidents.add(incident)
            uow.commit()
            assert incident.id is not None
            return to_detail(incident, caller.name), self._change(incident.id, ChangeKind.CREATED)

    def update(self, incident_id: int, version: int, **changes: Any) -> tuple[IncidentDetail,
                                                                               Change]:
        """Edit plain fields (descriptions, caller, channel, category, service, parent)."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            if "caller_id" in changes:
                uow.callers.get(changes["caller_id"])
            self._check_references(
                uow,
                changes.get("category_id", incident.category_id),
                changes.get("subcategory_id", incident.subcategory_id),
                changes.get("service_id"), None, None, changes.get("parent_id"), incident.id)
            incident.edit(self._actor_id, now, **changes)
        return self._mutate(incident_id, version, Permission.EDIT, apply, ChangeKind.FIELDS)

    def classify(self, incident_id: int, version: int, impact: int,
                 urgency: int) -> tuple[IncidentDetail, Change]:
        """Change impact and urgency; the priority follows from the matrix."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            incident.classify(impact, urgency, uow.matrix.current(), self._actor_id, now)
        return self._mutate(incident_id, version, Permission.EDIT, apply, ChangeKind.PRIORITY)

    def transition(
        self,
        incident_id: int,
        version: int,
        target: State,
        *,
        hold_reason: HoldReason | None = None,
        resolution_code: ResolutionCode | None = None,
        resolution_notes: str | None = None,
    ) -> tuple[IncidentDetail, Change]:
        """Move an incident through its lifecycle."""
        permission = Permission.RESOLVE if target in (State.RESOLVED, State.CLOSED) \
            else Permission.EDIT

        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            incident.transition(target, self._actor_id, now, hold_reason=hold_reason,
                                resolution_code=resolution_code,
                                resolution_notes=resolution_notes)
        return self._mutate(incident_id, version, permission, apply, ChangeKind.STATE)

    def reopen(self, incident_id: int, version: int, reason: str) -> tuple[IncidentDetail,
                                                                           Change]:
        """Send a resolved incident back to work, with the reason."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            incident.reopen(self._actor_id, now, reason)
        return self._mutate(incident_id, version, Permission.EDIT, apply, ChangeKind.STATE)

    def assign(self, incident_id: int, version: int, group_id: int | None,
               assignee_id: int | None) -> tuple[IncidentDetail, Change]:
        """Assign to a group and an agent of that group."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            self._check_references(uow, None, None, None, group_id, assignee_id, None, None)
            incident.assign(group_id, assignee_id, self._actor_id, now)
        return self._mutate(incident_id, version, Permission.REASSIGN, apply,
                            ChangeKind.ASSIGNMENT)

    def add_work_note(self, incident_id: int, body: str) -> Change:
        """An internal note; notes never clash with edits, so no version is needed."""
        return self._note(incident_id, lambda i, now: i.add_work_note(body, self._actor_id, now))

    def add_comment(self, incident_id: int, body: str) -> Change:
        """A comment to the caller."""
        return self._note(incident_id, lambda i, now: i.add_comment(body, self._actor_id, now))

    def _note(self, incident_id: int, apply: Callable[[Incident, datetime], None]) -> Change:
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, Permission.EDIT)
            incident = uow.incidents.get(incident_id)
            apply(incident, now)
            uow.incidents.append_activity(incident)
            uow.commit()
        return self._change(incident_id, ChangeKind.ACTIVITY)

    def _mutate(
        self,
        incident_id: int,
        version: int,
        permission: Permission,
        apply: Callable[[UnitOfWork, Incident, datetime], None],
        kind: ChangeKind,
    ) -> tuple[IncidentDetail, Change]:
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, permission)
            incident = uow.incidents.get(incident_id)
            if incident.version != version:
                changed_by = (uow.users.get(incident.updated_by_id).full_name
                              if incident.updated_by_id is not None else None)
                raise ConflictError(f"Incident {incident.number}", changed_by,
                                    incident.updated_at, incident.version)
            apply(uow, incident, now)
            if not incident.pending:
                return (to_detail(incident, uow.callers.get(incident.caller_id).name),
                        self._change(incident_id))
            incident.version = uow.incidents.save(incident, version)
            uow.commit()
            return (to_detail(incident, uow.callers.get(incident.caller_id).name),
                    self._change(incident_id, kind, ChangeKind.ACTIVITY))

    def _check_references(self, uow: UnitOfWork, category_id: int | None,
                          subcategory_id: int | None, service_id: int | None,
                          group_id: int | None, assignee_id: int | None,
                          parent_id: int | None, own_id: int | None) -> None:
        if category_id is not None and not uow.catalog.category_exists(category_id, None):
            raise NotFoundError(f"There is no category {category_id}.")
        if subcategory_id is not None:
            if category_id is None:
                raise ValidationError("Choose a category before its subcategory.",
                                      field="subcategory_id")
            if not uow.catalog.category_exists(subcategory_id, category_id):
                raise ValidationError("That subcategory does not belong to the category.",
                                      field="subcategory_id")
        if service_id is not None and not uow.catalog.service_exists(service_id):
            raise NotFoundError(f"There is no service or configuration item {service_id}.")
        if assignee_id is not None:
            assignee = uow.users.get(assignee_id)
            if not assignee.active:
                raise ValidationError(f"{assignee.full_name} is no longer active.",
                                      field="assignee_id")
            if group_id is None:
                raise ValidationError("Choose the assignment group before the agent.",
                                      field="assignee_id")
        if group_id is not None:
            group = uow.groups.get(group_id)
            if assignee_id is not None and assignee_id not in uow.groups.member_ids(group_id):
                raise ValidationError(f"That agent is not a member of {group.name}.",
                                      field="assignee_id")
        if parent_id is not None:
            if parent_id == own_id:
                raise ValidationError("An incident cannot be its own parent.", field="parent_id")
            parent = uow.incidents.get(parent_id)
            if not parent.is_major:
                raise ValidationError(f"{parent.number} is not a major incident; only major "
                                      "incidents have children.", field="parent_id")

    def _change(self, incident_id: int, *kinds: ChangeKind) -> Change:
        return Change(frozenset({incident_id}), frozenset(kinds), self._actor_id)

    # --- reading ------------------------------------------------------------------------

    def get(self, incident_id: int) -> IncidentDetail:
        """The incident as stored now."""
        with self._uow() as uow:
            incident = uow.incidents.get(incident_id)
            return to_detail(incident, uow.callers.get(incident.caller_id).name)

    def get_by_number(self, number: str) -> IncidentDetail:
        """The incident with this number (case and spacing forgiven)."""
        with self._uow() as uow:
            incident = uow.incidents.get_by_number(number.strip().upper())
            return to_detail(incident, uow.callers.get(incident.caller_id).name)

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        """One page of a queue."""
        with self._uow() as uow:
            return uow.incidents.list_queue(query, self._clock())

    def count(self, queue_filter: QueueFilter) -> int:
        """How many incidents a queue holds."""
        with self._uow() as uow:
            return uow.incidents.count(queue_filter, self._clock())

    def search(self, text: str, limit: int = 50) -> list[IncidentRow]:
        """Full-text search, newest first."""
        with self._uow() as uow:
            return uow.incidents.search(text, limit)

    def activity(self, incident_id: int) -> list[ActivityView]:
        """The incident's timeline."""
        with self._uow() as uow:
            return uow.incidents.activity(incident_id)

    def lookup_callers(self, prefix: str, limit: int = 20) -> list[CallerView]:
        """Callers whose name, email or phone starts with what the agent typed."""
        with self._uow() as uow:
            return [caller_view(c) for c in uow.callers.lookup(prefix, limit)]

    def add_caller(self, name: str, email: str = "", phone: str = "", department: str = "",
                   location: str = "", vip: bool = False) -> CallerView:
        """Create a caller the desk did not know yet."""
        with self._uow(write=True) as uow:
            self._actor(uow, Permission.LOG)
            caller = uow.callers.add(Caller(0, name.strip(), email.strip(), phone.strip(),
                                            department.strip(), location.strip(), vip))
            uow.commit()
            return caller_view(caller)
