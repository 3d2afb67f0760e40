"""What a mutation changed, so that views refresh only when they must."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    """The kinds of change a view may care about."""

    CREATED = "created"
    FIELDS = "fields"
    STATE = "state"
    ASSIGNMENT = "assignment"
    ACTIVITY = "activity"
    PRIORITY = "priority"
    REFERENCE_DATA = "reference_data"
    REVIEW = "review"
    """The incident's post-incident review was written or changed."""


@dataclass(frozen=True)
class Change:
    """Which incidents changed, how, and who did it."""

    incident_ids: frozenset[int]
    kinds: frozenset[ChangeKind]
    actor_id: int | None

    def touches(self, incident_id: int) -> bool:
        return incident_id in self.incident_ids


@dataclass(frozen=True)
class ChangeNotice:
    """Word that incidents changed in the database, by anyone (another agent or this one).

    Views reload what they show when they hear it; it carries ids where the database can
    tell them (PostgreSQL's notifications) and ``everything`` where it cannot (SQLite's
    data_version, bulk imports).
    """

    incident_ids: frozenset[int] = frozenset()
    everything: bool = False
