"""Frozen data of the team leads' workload view and of assignment notifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class LoadCount:
    """Open incidents of one (group, assignee, priority), counted by the database."""

    group_id: int
    assignee_id: int | None
    """None for the group's unassigned pile."""
    priority: int
    open: int
    on_hold: int
    breached: int
    """Past the resolution due time, or breached before a pause."""
    at_risk: int
    """Not breached, but less than the at-risk share of the resolution target left."""


@dataclass(frozen=True)
class MemberInfo:
    """A member of an assignment group as the workload view lists them."""

    group_id: int
    user_id: int
    full_name: str
    away: bool


@dataclass(frozen=True)
class AgentLoad:
    """One line of the workload view: an agent of a group, or the group's unassigned pile.

    ``by_priority`` maps a priority rank to the number of open incidents of that priority.
    """

    group_id: int
    user_id: int | None
    """None for the unassigned pile."""
    name: str
    away: bool = False
    member: bool = True
    """False for someone no longer in the group who still holds some of its incidents."""
    by_priority: dict[int, int] = field(default_factory=dict)
    open: int = 0
    on_hold: int = 0
    breached: int = 0
    at_risk: int = 0

    @property
    def unassigned(self) -> bool:
        """True for the group's pile of incidents nobody has taken."""
        return self.user_id is None


@dataclass(frozen=True)
class GroupLoad:
    """A group's open work: each member's load, the unassigned pile and the group's total."""

    group_id: int
    name: str
    lead_name: str | None
    agents: tuple[AgentLoad, ...]
    """Members by name (away ones too), then non-members who still hold incidents."""
    unassigned: AgentLoad
    total: AgentLoad


@dataclass(frozen=True)
class Workload:
    """The workload view's data, read in one transaction."""

    priorities: tuple[int, ...]
    """The ranks of the current priorities, most urgent first: the view's count columns."""
    groups: tuple[GroupLoad, ...]
    """The busiest first (most open incidents), equally busy ones by name."""
    at: datetime
    """When it was counted (breached and at-risk depend on the time)."""
    all_groups: bool = False
    """True when the reader sees every group (managers, admins), not just their own."""


@dataclass(frozen=True)
class AssignmentNotice:
    """An incident someone else assigned to the reader (one entry of its activity)."""

    activity_id: int
    incident_id: int
    number: str
    short_description: str
    priority: int
    at: datetime
    by_name: str | None
    """Who assigned it; None for the system (an assignment rule, an import)."""
