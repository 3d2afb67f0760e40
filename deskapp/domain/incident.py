"""The Incident aggregate: its fields, the rules that guard them, and the activity they leave."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deskapp.domain import sla
from deskapp.domain.activity import ActivityEntry
from deskapp.domain.enums import (
    ActivityKind,
    Channel,
    Escalation,
    HoldReason,
    ResolutionCode,
    State,
)
from deskapp.domain.errors import TransitionError, ValidationError
from deskapp.domain.lifecycle import check_transition
from deskapp.domain.priority import PriorityMatrix
from deskapp.domain.text import refuse_nul

MAX_SHORT_DESCRIPTION = 160
MAX_DESCRIPTION = 4000
MAX_NOTE = 32000
NUMBER_PREFIX = "INC"
NUMBER_DIGITS = 7


def format_number(sequence: int) -> str:
    """INC0000001 for 1; wider numbers grow past seven digits rather than wrap."""
    return f"{NUMBER_PREFIX}{sequence:0{NUMBER_DIGITS}d}"


_TYPED_NUMBER = re.compile(rf"^\s*(?:{NUMBER_PREFIX}\s*)?(\d{{1,12}})\s*$", re.IGNORECASE)


def typed_number(text: str) -> str | None:
    """The incident number someone means by ``text``, padding forgiven, or None.

    "INC0000112", "inc112", "INC 112", "0000112" and "112" all mean INC0000112; anything
    else (other words, no digits, a zero) is not a number.
    """
    match = _TYPED_NUMBER.match(text)
    if match is None or int(match.group(1)) == 0:
        return None
    return format_number(int(match.group(1)))


def _text(value: str | None, what: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"{what} is required.", field=what)
    refuse_nul(text, what, what)
    if len(text) > limit:
        raise ValidationError(
            f"{what} is {len(text)} characters long; at most {limit} are allowed.", field=what
        )
    return text


# Fields an agent edits directly; state, priority and assignment have their own methods.
EDITABLE_FIELDS = frozenset(
    {
        "short_description",
        "description",
        "channel",
        "caller_id",
        "category_id",
        "subcategory_id",
        "service_id",
        "configuration_item_id",
        "parent_id",
        "is_major",
    }
)


@dataclass
class Incident:
    """An incident with everything the desk records about it."""

    caller_id: int
    channel: Channel
    short_description: str
    description: str
    impact: int
    urgency: int
    priority: int
    opened_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    state: State = State.NEW
    id: int | None = None
    number: str | None = None
    category_id: int | None = None
    subcategory_id: int | None = None
    service_id: int | None = None
    hold_reason: HoldReason | None = None
    assignment_group_id: int | None = None
    assignee_id: int | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str = ""
    parent_id: int | None = None
    is_major: bool = False
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    sla_paused_since: datetime | None = None
    sla_paused_seconds: int = 0
    response_breached: bool = False
    resolution_breached: bool = False
    reassignment_count: int = 0
    reopen_count: int = 0
    opened_by_id: int | None = None
    updated_at: datetime | None = None
    updated_by_id: int | None = None
    version: int = 0
    escalation: Escalation | None = None
    """The highest escalation in force; None when the incident is not escalated."""
    escalated_at: datetime | None = None
    escalated_to_id: int | None = None
    """Whom a hierarchical escalation flags (the group's lead); None means the managers."""
    configuration_item_id: int | None = None
    pending: list[ActivityEntry] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def open(
        cls,
        *,
        caller_id: int,
        channel: Channel,
        short_description: str,
        description: str = "",
        impact: int,
        urgency: int,
        matrix: PriorityMatrix,
        opened_at: datetime,
        opened_by_id: int | None,
        category_id: int | None = None,
        subcategory_id: int | None = None,
        service_id: int | None = None,
        assignment_group_id: int | None = None,
        assignee_id: int | None = None,
        parent_id: int | None = None,
        configuration_item_id: int | None = None,
    ) -> Incident:
        """Record a new incident; its priority and due times come from the matrix."""
        priority = matrix.priority_for(impact, urgency)
        incident = cls(
            caller_id=caller_id,
            channel=Channel(channel),
            short_description=_text(
                short_description, "Short description", MAX_SHORT_DESCRIPTION, required=True
            ),
            description=_text(description, "Description", MAX_DESCRIPTION),
            impact=impact,
            urgency=urgency,
            priority=priority.rank,
            opened_at=opened_at,
            response_due_at=sla.response_due(opened_at, priority),
            resolution_due_at=sla.resolution_due(opened_at, priority, timedelta(0)),
            category_id=category_id,
            subcategory_id=subcategory_id,
            service_id=service_id,
            configuration_item_id=configuration_item_id,
            assignment_group_id=assignment_group_id,
            assignee_id=assignee_id,
            parent_id=parent_id,
            opened_by_id=opened_by_id,
            updated_at=opened_at,
            updated_by_id=opened_by_id,
        )
        incident.pending.append(
            ActivityEntry(ActivityKind.CREATED, opened_at, opened_by_id,
                          body=incident.short_description)
        )
        return incident

    # --- changes -----------------------------------------------------------------------

    def _record(self, kind: ActivityKind, name: str, old: Any, new: Any, actor: int | None,
                now: datetime) -> None:
        self.pending.append(
            ActivityEntry(kind, now, actor, field=name, old_value=_str(old), new_value=_str(new))
        )
        self.updated_at = now
        self.updated_by_id = actor

    def _require_open(self, action: str) -> None:
        if not self.state.is_open and self.state != State.RESOLVED:
            raise TransitionError(f"A {self.state.label.lower()} incident cannot be {action}.")

    def edit(self, actor: int | None, now: datetime, **changes: Any) -> list[str]:
        """Change plain fields; returns the names of those that really changed."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationError(f"These fields cannot be edited directly: {sorted(unknown)}.")
        self._require_open("edited")
        if "short_description" in changes:
            changes["short_description"] = _text(
                changes["short_description"], "Short description", MAX_SHORT_DESCRIPTION,
                required=True,
            )
        if "description" in changes:
            changes["description"] = _text(changes["description"], "Description", MAX_DESCRIPTION)
        if "channel" in changes:
            changes["channel"] = Channel(changes["channel"])
        if changes.get("parent_id") is not None and changes["parent_id"] == self.id:
            raise ValidationError("An incident cannot be its own parent.", field="parent_id")
        changed = []
        for name, new in changes.items():
            old = getattr(self, name)
            if old != new:
                setattr(self, name, new)
                self._record(ActivityKind.FIELD_CHANGE, name, old, new, actor, now)
                changed.append(name)
        return changed

    def classify(
        self, impact: int, urgency: int, matrix: PriorityMatrix, actor: int | None, now: datetime
    ) -> None:
        """Set impact and urgency; the priority and due times follow from the matrix."""
        self._require_open("reclassified")
        priority = matrix.priority_for(impact, urgency)
        for name, new in (("impact", impact), ("urgency", urgency), ("priority", priority.rank)):
            old = getattr(self, name)
            if old != new:
                setattr(self, name, new)
                self._record(ActivityKind.FIELD_CHANGE, name, old, new, actor, now)
        self.response_due_at = sla.response_due(self.opened_at, priority)
        self.resolution_due_at = sla.resolution_due(
            self.opened_at, priority, timedelta(seconds=self.sla_paused_seconds)
        )

    def assign(
        self, group_id: int | None, assignee_id: int | None, actor: int | None, now: datetime,
        *, note: str | None = None,
    ) -> bool:
        """Assign to a group and agent; a change of an existing assignment counts a reassignment.

        Args:
            note: Why (a reassignment's reason, the rule that chose the agent); written as a
                work note after the assignment entries, when anything changed.

        Returns:
            Whether anything changed (assigning to the same group and agent changes nothing).
        """
        self._require_open("reassigned")
        if self.state == State.RESOLVED:
            raise TransitionError("Reopen a resolved incident before reassigning it.")
        if (group_id, assignee_id) == (self.assignment_group_id, self.assignee_id):
            return False
        was_assigned = self.assignment_group_id is not None or self.assignee_id is not None
        if group_id != self.assignment_group_id:
            self._record(ActivityKind.ASSIGNMENT, "assignment_group_id",
                         self.assignment_group_id, group_id, actor, now)
        if assignee_id != self.assignee_id:
            self._record(ActivityKind.ASSIGNMENT, "assignee_id", self.assignee_id, assignee_id,
                         actor, now)
        self.assignment_group_id, self.assignee_id = group_id, assignee_id
        if was_assigned:
            self.reassignment_count += 1
        if note is not None and note.strip():
            self.pending.append(ActivityEntry(ActivityKind.WORK_NOTE, now, actor,
                                              body=_text(note, "Note", MAX_NOTE)))
        return True

    def escalate(self, kind: Escalation, actor: int | None, now: datetime, reason: str, *,
                 to_id: int | None = None) -> None:
        """Mark the incident escalated, with the reason as a work note.

        A functional escalation never lowers a hierarchical one already in force; a
        hierarchical one names whom it flags (``to_id``; None for the managers).
        """
        self._require_open("escalated")
        if self.state == State.RESOLVED:
            raise TransitionError("A resolved incident needs no escalation; reopen it first.")
        reason = _text(reason, "Reason for escalating", MAX_NOTE, required=True)
        kind = Escalation(kind)
        new = kind if self.escalation is None or kind.rank >= self.escalation.rank \
            else self.escalation
        if new != self.escalation:
            self._record(ActivityKind.ASSIGNMENT, "escalation", self.escalation, new, actor, now)
        if kind == Escalation.HIERARCHICAL and to_id != self.escalated_to_id:
            self._record(ActivityKind.ASSIGNMENT, "escalated_to_id", self.escalated_to_id, to_id,
                         actor, now)
            self.escalated_to_id = to_id
        self.escalation = new
        self.escalated_at = now
        self.updated_at, self.updated_by_id = now, actor
        self.pending.append(ActivityEntry(ActivityKind.WORK_NOTE, now, actor, body=reason))

    def clear_escalation(self, actor: int | None, now: datetime, note: str) -> bool:
        """Take the escalation flag off (the lead has dealt with it); returns whether it was on."""
        if self.escalation is None:
            return False
        note = _text(note, "Note", MAX_NOTE, required=True)
        self._record(ActivityKind.ASSIGNMENT, "escalation", self.escalation, None, actor, now)
        self.escalation, self.escalated_at, self.escalated_to_id = None, None, None
        self.pending.append(ActivityEntry(ActivityKind.WORK_NOTE, now, actor, body=note))
        return True

    def transition(
        self,
        target: State,
        actor: int | None,
        now: datetime,
        *,
        hold_reason: HoldReason | None = None,
        resolution_code: ResolutionCode | None = None,
        resolution_notes: str | None = None,
        matrix: PriorityMatrix | None = None,
    ) -> None:
        """Move through the lifecycle, enforcing what each state needs.

        ``matrix`` tells the SLA clock how to count a pause that ends here (business hours or
        24x7); without it a pause counts as elapsed time.
        """
        target = State(target)
        check_transition(self.state, target)
        if target == State.ON_HOLD and hold_reason is None:
            raise ValidationError("Say why the incident is put on hold.", field="hold_reason")
        if target == State.RESOLVED:
            if resolution_code is None:
                raise ValidationError("Resolving needs a resolution code.", field="resolution_code")
            notes = _text(resolution_notes, "Resolution notes", MAX_DESCRIPTION, required=True)
        old = self.state
        self._leave(old, target, now, matrix)
        self.state = target
        self._record(ActivityKind.STATE_CHANGE, "state", old, target, actor, now)
        if old == State.RESOLVED and target == State.IN_PROGRESS:
            self._withdraw_resolution(actor, now)
        if target == State.ON_HOLD:
            assert hold_reason is not None
            self.hold_reason = HoldReason(hold_reason)
            self._record(ActivityKind.FIELD_CHANGE, "hold_reason", None, self.hold_reason, actor,
                         now)
            self._pause(now)
        elif target == State.RESOLVED:
            assert resolution_code is not None
            self.resolution_code = ResolutionCode(resolution_code)
            self.resolution_notes = notes
            self.resolved_at = now
            self._record(ActivityKind.FIELD_CHANGE, "resolution_code", None,
                         self.resolution_code, actor, now)
            self._pause(now)
        elif target == State.CLOSED:
            self.closed_at = now
        elif target == State.CANCELLED:
            self.closed_at = now
            self.sla_paused_since = None
        if target != State.NEW and self.first_response_at is None:
            self.first_response_at = now
            self.response_breached = now > self.response_due_at

    def _leave(self, old: State, target: State, now: datetime,
               matrix: PriorityMatrix | None) -> None:
        if old == State.ON_HOLD:
            self.hold_reason = None
            self._resume(now, matrix)
        elif old == State.RESOLVED and target == State.IN_PROGRESS:
            # A reopening: the clock runs again; Resolved -> Closed keeps the resolution facts.
            self._resume(now, matrix)
            self.resolved_at = None
            self.reopen_count += 1

    def _withdraw_resolution(self, actor: int | None, now: datetime) -> None:
        # Recorded as changes, so the timeline still says what the earlier resolution was.
        if self.resolution_code is not None:
            self._record(ActivityKind.FIELD_CHANGE, "resolution_code", self.resolution_code,
                         None, actor, now)
        if self.resolution_notes:
            self._record(ActivityKind.FIELD_CHANGE, "resolution_notes", self.resolution_notes,
                         None, actor, now)
        self.resolution_code, self.resolution_notes = None, ""

    def _pause(self, now: datetime) -> None:
        if self.sla_paused_since is None:
            if now > self.resolution_due_at:
                self.resolution_breached = True
            self.sla_paused_since = now

    def _resume(self, now: datetime, matrix: PriorityMatrix | None) -> None:
        if self.sla_paused_since is not None:
            priority = matrix.definition(self.priority) if matrix is not None else None
            self.resolution_due_at, paused = sla.pause_extension(
                priority, self.resolution_due_at, self.sla_paused_since, now)
            self.sla_paused_seconds += int(paused.total_seconds())
            self.sla_paused_since = None

    def reopen(self, actor: int | None, now: datetime, reason: str,
               matrix: PriorityMatrix | None = None) -> None:
        """Send a resolved incident back to work; the reopen is counted."""
        if self.state != State.RESOLVED:
            raise TransitionError(f"Only a resolved incident can be reopened, not a "
                                  f"{self.state.label.lower()} one.")
        reason = _text(reason, "Reason for reopening", MAX_NOTE, required=True)
        self.transition(State.IN_PROGRESS, actor, now, matrix=matrix)
        self.pending.append(ActivityEntry(ActivityKind.WORK_NOTE, now, actor, body=reason))

    def add_work_note(self, body: str, actor: int | None, now: datetime) -> None:
        """An internal note for the people working the incident."""
        self._require_note_allowed()
        text = _text(body, "Work note", MAX_NOTE, required=True)
        self.pending.append(ActivityEntry(ActivityKind.WORK_NOTE, now, actor, body=text))
        self.updated_at, self.updated_by_id = now, actor

    def add_comment(self, body: str, actor: int | None, now: datetime) -> None:
        """A comment the caller sees; the first one counts as the first response."""
        self._require_note_allowed()
        text = _text(body, "Comment", MAX_NOTE, required=True)
        self.pending.append(ActivityEntry(ActivityKind.COMMENT, now, actor, body=text))
        self.updated_at, self.updated_by_id = now, actor
        if self.first_response_at is None:
            self.first_response_at = now
            self.response_breached = now > self.response_due_at

    def log_call(self, started_at: datetime, seconds: int, body: str, actor: int | None) -> None:
        """A phone call with the caller: when it started and how long it took."""
        if seconds < 0:
            raise ValidationError("A call cannot last a negative time.", field="call_seconds")
        text = _text(body, "Call notes", MAX_NOTE)
        self.pending.append(
            ActivityEntry(ActivityKind.CALL, started_at, actor, body=text or None,
                          call_started_at=started_at, call_seconds=seconds)
        )

    def _require_note_allowed(self) -> None:
        if self.state == State.CLOSED:
            raise TransitionError("A closed incident takes no more notes.")

    # --- questions ---------------------------------------------------------------------

    def sla_status(self, now: datetime, matrix: PriorityMatrix) -> sla.SlaStatus:
        """What the SLA clock says at ``now``."""
        return sla.status(
            state=self.state,
            now=now,
            priority=matrix.definition(self.priority),
            response_due_at=self.response_due_at,
            first_response_at=self.first_response_at,
            resolution_due_at=self.resolution_due_at,
            resolved_at=self.resolved_at,
            paused_since=self.sla_paused_since,
            resolution_breached=self.resolution_breached,
        )

    def take_pending(self) -> list[ActivityEntry]:
        """Hand over the activity recorded since the last save."""
        entries, self.pending = self.pending, []
        return entries


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
