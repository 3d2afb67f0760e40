"""Queue queries: filters, sort and keyset cursors, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from deskapp.domain.enums import OPEN_STATES, State
from deskapp.domain.errors import ValidationError
from deskapp.services.dto import IncidentRow


class SortKey(StrEnum):
    """Columns a queue can be sorted on; each has an index behind it."""

    NUMBER = "number"
    OPENED_AT = "opened_at"
    UPDATED_AT = "updated_at"
    PRIORITY = "priority"
    STATE = "state"
    SHORT_DESCRIPTION = "short_description"
    RESOLUTION_DUE_AT = "resolution_due_at"
    CALLER = "caller"
    GROUP = "group"
    ASSIGNEE = "assignee"


class SlaCondition(StrEnum):
    """Which incidents a queue holds by the state of their resolution clock."""

    ANY = ""
    BREACHED = "breached"
    """Past the resolution due time (or breached before a pause or the resolution)."""
    ATTENTION = "attention"
    """Breached, or at risk: less than a quarter of the resolution target left."""


@dataclass(frozen=True)
class QueueFilter:
    """Which incidents a queue holds; empty tuples and None mean 'any'.

    Every condition is answered by the database, across all incidents, never by the GUI
    over the rows it happens to have loaded.
    """

    states: tuple[State, ...] = ()
    group_ids: tuple[int, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    unassigned: bool = False
    """With assignee_ids: those agents' incidents or unassigned ones; alone: unassigned only."""
    priorities: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    """A category also matches incidents filed under its subcategories."""
    service_ids: tuple[int, ...] = ()
    sla: SlaCondition = SlaCondition.ANY
    major_only: bool = False
    escalated_only: bool = False
    """Only incidents escalated (functionally or to the lead) and not yet de-escalated."""
    opened_after: datetime | None = None
    opened_before: datetime | None = None
    resolved_after: datetime | None = None
    text: str = ""
    """Words to find in number, descriptions and notes (full-text, the last word a prefix)."""
    empty: bool = False
    """Matches nothing: e.g. "unassigned in my groups" for someone in no group."""

    @classmethod
    def open_incidents(cls) -> QueueFilter:
        return cls(states=OPEN_STATES)


@dataclass(frozen=True)
class QueueQuery:
    """A page of a queue: the filter, the order, and where the previous page ended."""

    filter: QueueFilter = field(default_factory=QueueFilter)
    sort: SortKey = SortKey.OPENED_AT
    descending: bool = True
    after: tuple[Any, int] | None = None
    """The sort value and id of the last row of the previous page."""
    limit: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1000:
            raise ValidationError("A page holds 1 to 1000 incidents.")


def cursor_after(row: IncidentRow, sort: SortKey) -> tuple[Any, int]:
    """The keyset cursor that continues a queue after ``row``."""
    value: Any = {
        SortKey.NUMBER: row.number,
        SortKey.OPENED_AT: row.opened_at,
        SortKey.UPDATED_AT: row.updated_at,
        SortKey.PRIORITY: row.priority,
        SortKey.STATE: row.state.value,
        SortKey.SHORT_DESCRIPTION: row.short_description,
        SortKey.RESOLUTION_DUE_AT: row.resolution_due_at,
        SortKey.CALLER: row.caller_name,
        SortKey.GROUP: row.group_name or "",
        SortKey.ASSIGNEE: row.assignee_name or "",
    }[sort]
    return value, row.id
