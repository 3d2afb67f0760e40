"""The closed vocabularies of incident management."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where an incident stands in its lifecycle."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Open incidents are the ones someone still has to work on."""
        return self in (State.NEW, State.IN_PROGRESS, State.ON_HOLD)


_STATE_LABELS = {
    State.NEW: "New",
    State.IN_PROGRESS: "In Progress",
    State.ON_HOLD: "On Hold",
    State.RESOLVED: "Resolved",
    State.CLOSED: "Closed",
    State.CANCELLED: "Cancelled",
}

OPEN_STATES: tuple[State, ...] = (State.NEW, State.IN_PROGRESS, State.ON_HOLD)


class HoldReason(StrEnum):
    """Why an incident waits; the SLA clock stops meanwhile."""

    AWAITING_CALLER = "awaiting_caller"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_CHANGE = "awaiting_change"

    @property
    def label(self) -> str:
        return {
            HoldReason.AWAITING_CALLER: "Awaiting caller",
            HoldReason.AWAITING_VENDOR: "Awaiting vendor",
            HoldReason.AWAITING_CHANGE: "Awaiting change",
        }[self]


class Channel(StrEnum):
    """How the incident reached the service desk."""

    PHONE = "phone"
    EMAIL = "email"
    WEB_PORTAL = "web_portal"
    MONITORING = "monitoring"
    CHAT = "chat"
    WALK_IN = "walk_in"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Role(StrEnum):
    """What a person does at the desk; it decides what they may do."""

    AGENT = "agent"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"


class ResolutionCode(StrEnum):
    """How an incident was resolved."""

    SOLVED_PERMANENTLY = "solved_permanently"
    SOLVED_WORKAROUND = "solved_workaround"
    SOLVED_REMOTELY = "solved_remotely"
    NOT_SOLVED_NOT_REPRODUCIBLE = "not_reproducible"
    NOT_SOLVED_TOO_COSTLY = "too_costly"
    CLOSED_BY_CALLER = "closed_by_caller"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ActivityKind(StrEnum):
    """The kinds of entry in an incident's append-only activity log."""

    CREATED = "created"
    FIELD_CHANGE = "field_change"
    STATE_CHANGE = "state_change"
    ASSIGNMENT = "assignment"
    WORK_NOTE = "work_note"
    COMMENT = "comment"
    CALL = "call"


class Escalation(StrEnum):
    """How an incident was escalated; hierarchical outranks functional."""

    FUNCTIONAL = "functional"
    """Sent to another group with more skill or authority."""
    HIERARCHICAL = "hierarchical"
    """Flagged to the group's lead or a manager for attention."""

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        return 2 if self == Escalation.HIERARCHICAL else 1


class AssignmentMethod(StrEnum):
    """How an assignment rule picks an agent within its group."""

    GROUP_ONLY = "group_only"
    """The group's queue only; its agents take the incident themselves."""
    ROUND_ROBIN = "round_robin"
    """The next available agent after the one the rule chose last."""
    LEAST_LOADED = "least_loaded"
    """The available agent with the lightest open work, weighted by priority."""

    @property
    def label(self) -> str:
        return {AssignmentMethod.GROUP_ONLY: "group only",
                AssignmentMethod.ROUND_ROBIN: "round robin",
                AssignmentMethod.LEAST_LOADED: "least loaded"}[self]
