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


@dataclass(frozen=True)
class Change:
    """Which incidents changed, how, and who did it."""

    incident_ids: frozenset[int]
    kinds: frozenset[ChangeKind]
    actor_id: int | None

    def touches(self, incident_id: int) -> bool:
        return incident_id in self.incident_ids
