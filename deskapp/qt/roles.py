"""Custom item data roles, declared once for every Deskapp model."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

_FIRST = int(Qt.ItemDataRole.UserRole)


class ItemRole(IntEnum):
    """Roles beyond Qt's own; each model documents which of them it answers."""

    ROW = _FIRST + 1
    """The whole row's DTO (e.g. an IncidentRow), for views and actions that need it."""
    ID = _FIRST + 2
    """The database id of the row's record."""
    PRIORITY_COLOUR = _FIRST + 3
    """The QColor of the row's priority, as the current matrix defines it."""
    SORT_VALUE = _FIRST + 4
    """The value the database sorts the column by (None for columns it cannot sort)."""
    SLA = _FIRST + 5
    """The row's SlaSummary at the model's "now" (queue table)."""
    SLA_LEFT_SHARE = _FIRST + 6
    """The share of the resolution target still left, 0.0 to 1.0 (None when not running)."""
    COUNT = _FIRST + 7
    """How many incidents a queue holds (None until counted) (queue list)."""
    QUEUE = _FIRST + 8
    """The QueueView of a sidebar entry (queue list)."""
