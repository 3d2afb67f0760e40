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
