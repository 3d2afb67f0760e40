"""What the callers administration screen exchanges with its service (frozen, Qt-free)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

MERGE_FIELDS: tuple[str, ...] = ("name", "email", "phone", "department", "location", "vip")
"""The caller's own fields, chosen one by one when callers are merged."""


@dataclass(frozen=True)
class CallerAdminRow:
    """One caller as the administration screen lists it.

    Attributes:
        active: False once deactivated or merged into another caller.
        merged_into_id: The survivor this caller was merged into, or None.
        needs_review: Made by the email intake from an unknown sender, not checked yet.
        version: What an edit of this caller must state.
        incident_count: How many incidents (open or not) name this caller.
        updated_by: Who made the last versioned change (None: nobody since it was made).
        updated_at: When.
    """

    id: int
    name: str
    email: str
    phone: str
    department: str
    location: str
    vip: bool
    active: bool
    merged_into_id: int | None
    needs_review: bool
    version: int
    incident_count: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None

    def value(self, name: str) -> str | bool:
        """One of MERGE_FIELDS by name."""
        if name not in MERGE_FIELDS:
            raise KeyError(name)
        value: str | bool = getattr(self, name)
        return value


@dataclass(frozen=True)
class CallerPageQuery:
    """One page of the caller list.

    Attributes:
        text: Callers whose name, email or phone starts with this (all if empty).
        include_inactive: Also list deactivated and merged callers.
        after: The (sort key, id) of the last row of the previous page; None for the first.
        limit: Rows per page.
    """

    text: str = ""
    include_inactive: bool = True
    after: tuple[str, int] | None = None
    limit: int = 100


@dataclass(frozen=True)
class CallerPage:
    """A page of callers, by name; ``next_after`` asks for the next one (None at the end)."""

    rows: tuple[CallerAdminRow, ...]
    next_after: tuple[str, int] | None


@dataclass(frozen=True)
class CallerEdit:
    """A caller's details as an edit leaves them."""

    name: str
    email: str = ""
    phone: str = ""
    department: str = ""
    location: str = ""
    vip: bool = False


@dataclass(frozen=True)
class DuplicateGroup:
    """Callers that look like one person.

    Attributes:
        reason: "email", "phone" or "name": what they share.
        key: The shared value, as compared (lower case; a phone's digits).
        callers: The active callers sharing it, oldest first.
    """

    reason: str
    key: str
    callers: tuple[CallerAdminRow, ...]


@dataclass(frozen=True)
class MergeRequest:
    """Merge ``duplicate_ids`` into ``survivor_id``.

    Attributes:
        versions: The version read of every caller named (survivor and duplicates); a caller
            changed since refuses the whole merge.
        choices: For a field of MERGE_FIELDS, the caller (survivor or duplicate) whose value
            the survivor keeps; a field left out keeps the survivor's value if it is not
            empty (or VIP), else the first duplicate's that is.
    """

    survivor_id: int
    duplicate_ids: tuple[int, ...]
    versions: Mapping[int, int]
    choices: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeResult:
    """What a merge did.

    Attributes:
        survivor: The survivor as it is now.
        merged_ids: The callers merged into it (now inactive).
        moved: Rows re-pointed to the survivor, by "table.column"; "email_messages" counts the
            intake's messages whose incidents moved with them.
    """

    survivor: CallerAdminRow
    merged_ids: tuple[int, ...]
    moved: Mapping[str, int]

    @property
    def incidents_moved(self) -> int:
        """How many incidents now name the survivor instead of a duplicate."""
        return self.moved.get("incidents.caller_id", 0)
