"""Use cases on incidents: log a call, edit, classify, move through the lifecycle, assign."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from deskapp.domain.incident import Incident, typed_number
from deskapp.domain.people import Caller, User
from deskapp.services import audit
from deskapp.services.assignment_rules import choose as choose_by_rules
from deskapp.services.catalog import require_in_use
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.dto import (
    ActivityView,
    CallerHistory,
    CallerView,
    IncidentDetail,
    IncidentFormData,
    IncidentRow,
    SimilarIncident,
    caller_ids_in,
)
from deskapp.services.permissions import (
    SCOPED_ROLES,
    Permission,
    may_work_on,
    require,
    require_reach,
    require_work_on,
)
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as
from deskapp.services.queries import QueueFilter, QueueQuery

if TYPE_CHECKING:
    from deskapp.services.caller_admin import CallerAdminService


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
    configuration_item_id: int | None = None
    call_started_at: datetime | None = None
    call_seconds: int | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str = ""


def to_detail(incident: Incident, caller: Caller) -> IncidentDetail:
    """The frozen view of an incident for the GUI."""
    assert incident.id is not None and incident.number is not None
    values = {f.name: getattr(incident, f.name) for f in fields(IncidentDetail)
              if f.name not in ("caller_name", "caller_vip")}
    return IncidentDetail(caller_name=caller.name, caller_vip=caller.vip, **values)


def caller_view(caller: Caller) -> CallerView:
    """The frozen view of a caller."""
    return CallerView(caller.id, caller.name, caller.email, caller.phone, caller.department,
                      caller.location, caller.vip)


def callable_caller(uow: UnitOfWork, caller_id: int) -> Caller:
    """The caller a new incident (or a change of caller) names; refused if it is inactive.

    A form opened before the caller was deactivated or merged must not give it new work.
    """
    caller = uow.callers.get(caller_id)
    if caller.merged_into_id is not None:
        survivor = uow.callers.get(caller.merged_into_id)
        raise ValidationError(f"The caller {caller.name} was merged into {survivor.name} "
                              f"(#{survivor.id}); choose that caller instead.",
                              field="caller_id")
    if not caller.active:
        raise ValidationError(f"The caller {caller.name} is inactive; choose another caller "
                              f"or ask an admin to reactivate them.", field="caller_id")
    return caller


class IncidentService:
    """Everything an agent does to incidents, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
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
            caller = callable_caller(uow, request.caller_id)
            self._check_references(uow, request.category_id, request.subcategory_id,
                                   request.service_id, request.assignment_group_id,
                                   request.assignee_id, request.parent_id, None)
            self._check_catalog_choices(uow, _catalog_choices(request), None)
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
                configuration_item_id=request.configuration_item_id,
                assignment_group_id=request.assignment_group_id,
                assignee_id=request.assignee_id,
                parent_id=request.parent_id,
            )
            if request.assignment_group_id is None and request.assignee_id is None \
                    and request.resolution_code is None:
                # The agent chose nobody and the incident stays open: the rules route it.
                choice = choose_by_rules(uow, incident)
                if choice is not None:
                    incident.assign(choice.group_id, choice.assignee_id, self._actor_id, now,
                                    note=choice.note)
            if request.call_seconds is not None:
                incident.log_call(request.call_started_at or now, request.call_seconds, "",
                                  self._actor_id)
            if request.resolution_code is not None:
                incident.transition(State.RESOLVED, self._actor_id, now,
                                    resolution_code=request.resolution_code,
                                    resolution_notes=request.resolution_notes)
            changes = audit.activity_details(incident.pending)
            uow.incidents.add(incident)
            uow.audit.record(audit.INCIDENT_CREATED, actor_id=self._actor_id,
                             entity="incident", entity_id=incident.id,
                             details={"number": incident.number, "changes": changes})
            uow.commit()
            assert incident.id is not None
            return to_detail(incident, caller), self._change(incident.id, ChangeKind.CREATED)

    def update(self, incident_id: int, version: int, **changes: Any) -> tuple[IncidentDetail,
                                                                               Change]:
        """Edit plain fields (descriptions, caller, channel, category, service, parent)."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            if changes.get("caller_id", incident.caller_id) != incident.caller_id:
                callable_caller(uow, changes["caller_id"])
            self._check_references(
                uow,
                changes.get("category_id", incident.category_id),
                changes.get("subcategory_id", incident.subcategory_id),
                changes.get("service_id"), None, None, changes.get("parent_id"), incident.id)
            self._check_catalog_choices(uow, changes, incident)
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
                                resolution_notes=resolution_notes,
                                matrix=uow.matrix.current())
        return self._mutate(incident_id, version, permission, apply, ChangeKind.STATE)

    def reopen(self, incident_id: int, version: int, reason: str) -> tuple[IncidentDetail,
                                                                           Change]:
        """Send a resolved incident back to work, with the reason."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            incident.reopen(self._actor_id, now, reason, uow.matrix.current())
        return self._mutate(incident_id, version, Permission.EDIT, apply, ChangeKind.STATE)

    def assign(self, incident_id: int, version: int, group_id: int | None,
               assignee_id: int | None) -> tuple[IncidentDetail, Change]:
        """Assign to a group and an agent of that group."""
        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            self._require_reassign_reach(uow, incident)
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
            uow.audit.record(audit.INCIDENT_NOTE, actor_id=self._actor_id, entity="incident",
                             entity_id=incident_id,
                             details={"number": incident.number,
                                      "changes": audit.activity_details(incident.pending)})
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
            actor = self._actor(uow, permission)
            incident = uow.incidents.get(incident_id)
            if actor.role in SCOPED_ROLES:
                require_work_on(actor, incident.assignee_id, incident.assignment_group_id,
                                uow.groups.ids_of_member(actor.id), incident.number or "")
            if incident.version != version:
                changed_by = (uow.users.get(incident.updated_by_id).full_name
                              if incident.updated_by_id is not None else None)
                raise ConflictError(f"Incident {incident.number}", changed_by,
                                    incident.updated_at, incident.version)
            apply(uow, incident, now)
            if not incident.pending:
                return (to_detail(incident, uow.callers.get(incident.caller_id)),
                        self._change(incident_id))
            changes = audit.activity_details(incident.pending)
            incident.version = uow.incidents.save(incident, version)
            uow.audit.record(audit.INCIDENT_UPDATED, actor_id=self._actor_id,
                             entity="incident", entity_id=incident_id,
                             details={"number": incident.number, "version": incident.version,
                                      "changes": changes})
            uow.commit()
            return (to_detail(incident, uow.callers.get(incident.caller_id)),
                    self._change(incident_id, kind, ChangeKind.ACTIVITY))

    def _require_reassign_reach(self, uow: UnitOfWork, incident: Incident) -> None:
        """PermissionDeniedError unless the actor's role reaches this incident's assignment
        (services.permissions.SCOPES: agents their own and their groups' unassigned ones)."""
        actor = self._actor(uow, Permission.REASSIGN)
        require_reach(actor, Permission.REASSIGN,
                      frozenset(uow.assignment.groups_of(self._actor_id)),
                      incident.assignment_group_id, incident.assignee_id,
                      incident.number or "this incident")

    @staticmethod
    def _check_catalog_choices(uow: UnitOfWork, values: dict[str, Any],
                               incident: Incident | None) -> None:
        """Refuse a newly chosen inactive category, service or configuration item (what an
        incident already holds stays), and a configuration item of another service."""
        def chosen(name: str) -> list[int]:
            value = values.get(name)
            unchanged = incident is not None and getattr(incident, name) == value
            return [] if value is None or unchanged else [value]

        ci_id = values.get("configuration_item_id",
                           incident.configuration_item_id if incident else None)
        service_id = values.get("service_id", incident.service_id if incident else None)
        if ci_id is not None and ("configuration_item_id" in values
                                  or "service_id" in values):
            ci = uow.catalog.configuration_item(ci_id)
            if ci.service_id is not None and service_id is not None \
                    and ci.service_id != service_id:
                raise ValidationError(
                    f"The configuration item '{ci.name}' belongs to another service; "
                    "choose one of the chosen service, or none.",
                    field="configuration_item_id")
        require_in_use(uow.catalog, categories=chosen("category_id") + chosen("subcategory_id"),
                       field="category_id")
        require_in_use(uow.catalog, services=chosen("service_id"), field="service_id")
        require_in_use(uow.catalog, items=chosen("configuration_item_id"),
                       field="configuration_item_id")

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
            if not group.active:
                raise ValidationError(f"{group.name} is no longer active; choose another "
                                      "group.", field="assignment_group_id")
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
            return to_detail(incident, uow.callers.get(incident.caller_id))

    def get_by_number(self, number: str) -> IncidentDetail:
        """The incident with this number (case, spacing and padding forgiven: "inc112" and
        "112" mean INC0000112); one look-up in the numbers' unique index."""
        with self._uow() as uow:
            incident = uow.incidents.get_by_number(typed_number(number)
                                                   or number.strip().upper())
            return to_detail(incident, uow.callers.get(incident.caller_id))

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

    def caller_names(self, caller_ids: Collection[int]) -> dict[int, str]:
        """The names of these callers by id (merged ones too), to put words on a timeline."""
        with self._uow() as uow:
            return uow.callers.names(caller_ids)

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
            uow.audit.record(audit.CALLER_CREATED, actor_id=self._actor_id, entity="caller",
                             entity_id=caller.id, details={"name": caller.name, "vip": vip})
            uow.commit()
            return caller_view(caller)

    def callers(self) -> CallerAdminService:
        """The callers service as the same user (the forms' Edit caller… saves through it)."""
        # Here, not at the top: it imports this module, and the forms load it when used.
        from deskapp.services.caller_admin import CallerAdminService

        return CallerAdminService(self._uow, self._actor_id, self._clock)

    # --- the call form and the detail form ----------------------------------------------

    def caller_history(self, caller_id: int, limit: int = 5) -> CallerHistory:
        """The caller's open incidents and their latest ones, for the call form's side panel."""
        with self._uow() as uow:
            return CallerHistory(
                open=tuple(uow.incidents.for_caller(caller_id, True, OPEN_FOR_CALLER_LIMIT)),
                recent=tuple(uow.incidents.for_caller(caller_id, False, limit)),
            )

    def similar_open(self, text: str, service_id: int | None = None,
                     exclude_id: int | None = None,
                     limit: int = 8) -> list[SimilarIncident]:
        """Open incidents a new call may be about: on the same service, or with similar words.

        Major incidents come first (a new call is most often one more report of them), then
        the ones sharing most words with ``text`` or the service, newest first.
        """
        words = significant_words(text)
        with self._uow() as uow:
            on_service = (uow.incidents.open_on_service(service_id, SIMILAR_CANDIDATES)
                          if service_id is not None else [])
            by_text = uow.incidents.open_matching(words, SIMILAR_CANDIDATES) if words else []
        found: dict[int, SimilarIncident] = {}
        service_ids = {row.id for row in on_service}
        for row in [*on_service, *by_text]:
            if row.id == exclude_id or row.id in found:
                continue
            shared = shared_words(words, row.short_description)
            if row.id not in service_ids and shared == 0:
                continue  # a hit in the notes alone says too little
            found[row.id] = SimilarIncident(row, row.id in service_ids, shared)
        ranked = sorted(found.values(), key=lambda s: (s.row.is_major, s.shared_words
                                                       + (2 if s.same_service else 0),
                                                       s.row.id), reverse=True)
        return ranked[:limit]

    def log_call_as_duplicate(self, request: LogCallRequest,
                              original_id: int) -> tuple[IncidentDetail, Change]:
        """Record a call about an incident that is already open, and close it off at once.

        The new incident is resolved as a duplicate naming the original, and the original
        gets a work note naming the new one, in one transaction: nobody investigates twice.
        """
        now = self._clock()
        with self._uow(write=True) as uow:
            self._actor(uow, Permission.LOG)
            original = uow.incidents.get(original_id)
            caller = callable_caller(uow, request.caller_id)
            incident = self._open_from(uow, request, now)
            notes = f"Duplicate of {original.number}: {original.short_description}"
            if request.resolution_notes.strip():
                notes += "\n" + request.resolution_notes.strip()
            incident.transition(State.RESOLVED, self._actor_id, now,
                                resolution_code=ResolutionCode.DUPLICATE,
                                resolution_notes=notes)
            changes = audit.activity_details(incident.pending)
            uow.incidents.add(incident)
            original.add_work_note(f"{caller.name} reported this again as {incident.number}.",
                                   self._actor_id, now)
            uow.incidents.append_activity(original)
            uow.audit.record(audit.INCIDENT_CREATED, actor_id=self._actor_id,
                             entity="incident", entity_id=incident.id,
                             details={"number": incident.number, "duplicate_of":
                                      original.number, "changes": changes})
            uow.commit()
            assert incident.id is not None
            change = Change(frozenset({incident.id, original_id}),
                            frozenset({ChangeKind.CREATED, ChangeKind.ACTIVITY}), self._actor_id)
            return to_detail(incident, caller), change

    def _open_from(self, uow: UnitOfWork, request: LogCallRequest, now: datetime) -> Incident:
        """A new incident from what the call form holds, with its call logged."""
        caller = callable_caller(uow, request.caller_id)
        self._check_references(uow, request.category_id, request.subcategory_id,
                               request.service_id, request.assignment_group_id,
                               request.assignee_id, request.parent_id, None)
        self._check_catalog_choices(uow, _catalog_choices(request), None)
        incident = Incident.open(
            caller_id=caller.id, channel=request.channel,
            short_description=request.short_description, description=request.description,
            impact=request.impact, urgency=request.urgency, matrix=uow.matrix.current(),
            opened_at=now, opened_by_id=self._actor_id, category_id=request.category_id,
            subcategory_id=request.subcategory_id, service_id=request.service_id,
            assignment_group_id=request.assignment_group_id,
            assignee_id=request.assignee_id, parent_id=request.parent_id,
            configuration_item_id=request.configuration_item_id,
        )
        if request.call_seconds is not None:
            incident.log_call(request.call_started_at or now, request.call_seconds, "",
                              self._actor_id)
        return incident

    def load_form(self, incident_id: int) -> IncidentFormData:
        """The incident with its timeline, its parent and its children, read at once."""
        with self._uow() as uow:
            incident = uow.incidents.get(incident_id)
            detail = to_detail(incident, uow.callers.get(incident.caller_id))
            parent = (uow.incidents.rows([incident.parent_id])
                      if incident.parent_id is not None else [])
            activity = tuple(uow.incidents.activity(incident_id))
            names = uow.callers.names(caller_ids_in(activity) - {detail.caller_id})
            return IncidentFormData(
                detail=detail,
                activity=activity,
                parent=parent[0] if parent else None,
                children=tuple(uow.incidents.children(incident_id)),
                read_only_reason=self._out_of_reach(uow, incident),
                reassign_refusal=self._reassign_refusal(uow, incident),
                caller_names={**names, detail.caller_id: detail.caller_name},
            )

    def _reassign_refusal(self, uow: UnitOfWork, incident: Incident) -> str | None:
        """Why the actor may not reassign the incident (None: they may), as
        ``_require_reassign_reach`` would say it."""
        try:
            self._require_reassign_reach(uow, incident)
        except PermissionDeniedError as exc:
            return str(exc)
        return None

    def _out_of_reach(self, uow: UnitOfWork, incident: Incident) -> str | None:
        """Why the actor may not change the incident as it is assigned (None: they may);
        the same rule as ``_mutate``'s ``require_work_on``."""
        actor = self._actor(uow)
        if actor.role not in SCOPED_ROLES or may_work_on(
                actor, incident.assignee_id, incident.assignment_group_id,
                uow.groups.ids_of_member(actor.id)):
            return None
        group = (uow.groups.get(incident.assignment_group_id).name
                 if incident.assignment_group_id is not None else None)
        if incident.assignee_id is None:
            holder = f"is with {group}"
        else:
            name = uow.assignment.user_names([incident.assignee_id]).get(
                incident.assignee_id, "someone else")
            holder = f"is assigned to {name}" + (f" ({group})" if group else "")
        return (f"{incident.number} {holder}, outside your groups: {actor.role.value}s may "
                "read it and add notes, not change it.")

    def save_changes(self, incident_id: int, version: int,
                     edit: IncidentEdit) -> tuple[IncidentDetail, Change]:
        """Save everything a detail form changed - fields, classification, assignment and a
        move through the lifecycle - in one transaction, at the version the form read.

        Raises:
            ConflictError: someone saved the incident after ``version``; nothing is written.
            ValidationError, TransitionError, PermissionDeniedError: nothing is written.
        """
        kinds: set[ChangeKind] = set()

        def apply(uow: UnitOfWork, incident: Incident, now: datetime) -> None:
            state = edit.state
            # A reopening comes first, so the edits after it meet an open incident; any other
            # move comes last, so that closing does not shut out the edits made with it.
            reopening = (state is not None and incident.state == State.RESOLVED
                         and state.target == State.IN_PROGRESS)
            if reopening and state is not None:
                self._apply_state(uow, incident, now, state)
                kinds.add(ChangeKind.STATE)
            if edit.fields:
                changes = dict(edit.fields)
                if changes.get("caller_id", incident.caller_id) != incident.caller_id:
                    callable_caller(uow, changes["caller_id"])
                self._check_references(
                    uow, changes.get("category_id", incident.category_id),
                    changes.get("subcategory_id", incident.subcategory_id),
                    changes.get("service_id"), None, None, changes.get("parent_id"),
                    incident.id)
                self._check_catalog_choices(uow, changes, incident)
                if incident.edit(self._actor_id, now, **changes):
                    kinds.add(ChangeKind.FIELDS)
            impact = edit.impact if edit.impact is not None else incident.impact
            urgency = edit.urgency if edit.urgency is not None else incident.urgency
            if (impact, urgency) != (incident.impact, incident.urgency):
                incident.classify(impact, urgency, uow.matrix.current(), self._actor_id, now)
                kinds.add(ChangeKind.PRIORITY)
            if edit.assign and (edit.group_id, edit.assignee_id) != (
                    incident.assignment_group_id, incident.assignee_id):
                self._require_reassign_reach(uow, incident)
                self._check_references(uow, None, None, None, edit.group_id, edit.assignee_id,
                                       None, None)
                incident.assign(edit.group_id, edit.assignee_id, self._actor_id, now)
                kinds.add(ChangeKind.ASSIGNMENT)
            if state is not None and not reopening:
                self._apply_state(uow, incident, now, state)
                kinds.add(ChangeKind.STATE)

        # Moving an incident is not editing it: managers may reassign without editing.
        only_assignment = edit.assign and replace(edit, assign=False, group_id=None,
                                                  assignee_id=None).empty
        detail, change = self._mutate(
            incident_id, version, Permission.REASSIGN if only_assignment else Permission.EDIT,
            apply, ChangeKind.FIELDS)
        if change.kinds:
            change = Change(change.incident_ids, frozenset({*kinds, ChangeKind.ACTIVITY}),
                            change.actor_id)
        return detail, change

    def _apply_state(self, uow: UnitOfWork, incident: Incident, now: datetime,
                     state: StateChange) -> None:
        if state.target in (State.RESOLVED, State.CLOSED):
            self._actor(uow, Permission.RESOLVE)
        if incident.state == State.RESOLVED and state.target == State.IN_PROGRESS:
            incident.reopen(self._actor_id, now, state.reason, uow.matrix.current())
            return
        incident.transition(state.target, self._actor_id, now, hold_reason=state.hold_reason,
                            resolution_code=state.resolution_code,
                            resolution_notes=state.resolution_notes,
                            matrix=uow.matrix.current())


OPEN_FOR_CALLER_LIMIT = 20
"""At most this many of a caller's open incidents show beside the call form."""
SIMILAR_CANDIDATES = 40
"""How many of the newest matches are weighed; older duplicates are rarely worth linking."""
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = frozenset({
    "the", "and", "for", "with", "not", "can", "cannot", "cant", "doesn", "don", "does", "won",
    "wont", "isn", "are", "was", "were", "has", "have", "from", "this", "that", "when", "since",
    "after", "all", "any", "but", "get", "got", "out", "too", "very", "will", "why", "how",
    "what", "again", "still", "keeps", "keep", "every", "into", "onto", "off", "our", "your",
    "their", "his", "her", "its", "than", "then", "there", "please", "help", "issue",
    "problem", "user", "users", "working", "work",
})


def significant_words(text: str, limit: int = 8) -> list[str]:
    """The words of ``text`` worth searching for similar incidents, in order, once each.

    Short words and words every incident uses ("not", "working") would match everything.
    The last word is kept even when short, since the agent may still be typing it.
    """
    words = [w.casefold() for w in _WORD.findall(text)]
    chosen: list[str] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1 and not text[-1:].isspace()
        if word in chosen or word in _STOP_WORDS or word.isdigit():
            continue
        if len(word) >= 3 or (last and len(word) >= 2):
            chosen.append(word)
    return chosen[-limit:]


def shared_words(words: list[str], other: str) -> int:
    """How many of ``words`` ``other`` holds (the last of them as a prefix)."""
    theirs = {w.casefold() for w in _WORD.findall(other)}
    count = sum(1 for w in words[:-1] if w in theirs)
    if words and any(t.startswith(words[-1]) for t in theirs):
        count += 1
    return count


@dataclass(frozen=True)
class StateChange:
    """A move through the lifecycle, with what the target state needs."""

    target: State
    hold_reason: HoldReason | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str = ""
    reason: str = ""
    """Why a resolved incident is reopened (required then)."""


@dataclass(frozen=True)
class IncidentEdit:
    """What a detail form saves at once; None and empty mean "leave as it is"."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    """Plain fields by name, as ``update`` takes them."""
    impact: int | None = None
    urgency: int | None = None
    assign: bool = False
    """Whether group_id and assignee_id are to be set (None there means unassigned)."""
    group_id: int | None = None
    assignee_id: int | None = None
    state: StateChange | None = None

    @property
    def empty(self) -> bool:
        return (not self.fields and self.impact is None and self.urgency is None
                and not self.assign and self.state is None)


def _catalog_choices(request: LogCallRequest) -> dict[str, Any]:
    """What a new incident picks from the catalogue, as the edit checks name it."""
    return {"category_id": request.category_id, "subcategory_id": request.subcategory_id,
            "service_id": request.service_id,
            "configuration_item_id": request.configuration_item_id}
