"""Entries of an incident's append-only activity log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deskapp.domain.enums import ActivityKind


@dataclass(frozen=True)
class ActivityEntry:
    """One thing that happened to an incident: a change, a note, a comment or a call."""

    kind: ActivityKind
    at: datetime
    actor_id: int | None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    body: str | None = None
    call_started_at: datetime | None = None
    call_seconds: int | None = None
