"""The priority matrix as an editable table: impact levels as rows, urgency levels as columns.

Each cell holds a priority rank (EditRole) or None while it is empty, shown as the priority's
label on its colour. Levels are added, removed, renamed and moved here too; a level keeps its
number (incidents store it) wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from deskapp.domain.business_hours import BusinessCalendar
from deskapp.domain.priority import Level, PriorityDefinition, PriorityMatrix
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.qt.theme import text_on
from deskapp.services.matrix_admin import MAX_LEVELS, MIN_LEVELS, MatrixDraft

Index = QModelIndex | QPersistentModelIndex
EMPTY_TEXT = "(empty)"
EMPTY_COLOUR = QColor("#fde2e2")


def text_colour(background: QColor) -> QColor:
    """Black or white, whichever has the higher contrast on ``background`` (WCAG)."""
    return text_on(background)


class MatrixModel(QAbstractTableModel):
    """Rows: impact levels; columns: urgency levels; cells: priority ranks."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._impact: list[Level] = []
        self._urgency: list[Level] = []
        self._cells: dict[tuple[int, int], int | None] = {}
        self._priorities: dict[int, PriorityDefinition] = {}
        self.editable = True

    # --- loading and reading back -------------------------------------------------------

    def load(self, matrix: PriorityMatrix | MatrixDraft) -> None:
        """Show ``matrix`` (or a draft with empty cells), replacing everything."""
        self.beginResetModel()
        try:
            self._impact = list(matrix.impact_levels)
            self._urgency = list(matrix.urgency_levels)
            self._cells = dict(matrix.cells)
            self._priorities = {p.rank: p for p in matrix.priorities}
        finally:
            self.endResetModel()

    def set_priorities(self, priorities: Sequence[PriorityDefinition]) -> None:
        """New names and colours for the ranks (the definitions table was edited)."""
        self._priorities = {p.rank: p for p in priorities}
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self.rowCount() - 1, self.columnCount() - 1))

    @property
    def priorities(self) -> list[PriorityDefinition]:
        return sorted(self._priorities.values(), key=lambda p: p.rank)

    def draft(self, priorities: Sequence[PriorityDefinition], calendar: BusinessCalendar,
              based_on: int) -> MatrixDraft:
        """What the editor holds, for preview, save and export."""
        keep = {(i.value, u.value) for i in self._impact for u in self._urgency}
        return MatrixDraft(tuple(self._impact), tuple(self._urgency),
                           {k: v for k, v in self._cells.items() if k in keep},
                           tuple(priorities), calendar, based_on)

    def empty_cells(self) -> list[tuple[Level, Level]]:
        """The (impact, urgency) levels of the cells without a priority."""
        return [(i, u) for i in self._impact for u in self._urgency
                if self._cells.get((i.value, u.value)) is None]

    # --- Qt model -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._impact)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._urgency)

    def _key(self, index: Index) -> tuple[int, int]:
        return self._impact[index.row()].value, self._urgency[index.column()].value

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        rank = self._cells.get(self._key(index))
        priority = self._priorities.get(rank) if rank is not None else None
        if role == Qt.ItemDataRole.DisplayRole:
            return priority.label if priority else EMPTY_TEXT
        if role == Qt.ItemDataRole.EditRole:
            return rank
        if role in (Qt.ItemDataRole.BackgroundRole, ItemRole.PRIORITY_COLOUR):
            return QColor(priority.colour) if priority else (
                EMPTY_COLOUR if role == Qt.ItemDataRole.BackgroundRole else None)
        if role == Qt.ItemDataRole.ForegroundRole:
            return text_colour(QColor(priority.colour)) if priority else QColor("#b91c1c")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            impact, urgency = self._impact[index.row()], self._urgency[index.column()]
            what = priority.label if priority else "no priority yet"
            return plain_tooltip(f"{impact.name} impact x {urgency.name} urgency: {what}")
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or not self.editable:
            return False
        if value is not None and int(value) not in self._priorities:
            return False
        self._cells[self._key(index)] = None if value is None else int(value)
        self.dataChanged.emit(index, index)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags | Qt.ItemFlag.ItemIsEditable if self.editable else flags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        levels = self._levels(orientation)
        if not 0 <= section < len(levels):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return levels[section].name
        if role == Qt.ItemDataRole.ToolTipRole:
            what = "Urgency" if orientation == Qt.Orientation.Horizontal else "Impact"
            return f"{what} level {levels[section].value} (double-click to rename)"
        return None

    def setHeaderData(self, section: int, orientation: Qt.Orientation, value: Any,
                      role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole:
            return False
        return self.rename_level(orientation, section, str(value))

    # --- levels -------------------------------------------------------------------------

    def _levels(self, orientation: Qt.Orientation) -> list[Level]:
        return self._urgency if orientation == Qt.Orientation.Horizontal else self._impact

    def can_add(self, orientation: Qt.Orientation) -> bool:
        return self.editable and len(self._levels(orientation)) < MAX_LEVELS

    def can_remove(self, orientation: Qt.Orientation) -> bool:
        return self.editable and len(self._levels(orientation)) > MIN_LEVELS

    def add_level(self, orientation: Qt.Orientation, name: str) -> bool:
        """A new level after the others, with the next free number; its cells are empty."""
        if not self.can_add(orientation):
            return False
        levels = self._levels(orientation)
        level = Level(max((lvl.value for lvl in levels), default=0) + 1, name.strip())
        position = len(levels)
        if orientation == Qt.Orientation.Horizontal:
            self.beginInsertColumns(QModelIndex(), position, position)
            try:
                levels.append(level)
            finally:
                self.endInsertColumns()
        else:
            self.beginInsertRows(QModelIndex(), position, position)
            try:
                levels.append(level)
            finally:
                self.endInsertRows()
        return True

    def remove_level(self, orientation: Qt.Orientation, position: int) -> bool:
        if not self.can_remove(orientation) or not 0 <= position < len(
                self._levels(orientation)):
            return False
        levels = self._levels(orientation)
        # A level added later may take the same number: it must start with empty cells.
        value = levels[position].value
        axis = 1 if orientation == Qt.Orientation.Horizontal else 0
        self._cells = {k: v for k, v in self._cells.items() if k[axis] != value}
        if orientation == Qt.Orientation.Horizontal:
            self.beginRemoveColumns(QModelIndex(), position, position)
            try:
                del levels[position]
            finally:
                self.endRemoveColumns()
        else:
            self.beginRemoveRows(QModelIndex(), position, position)
            try:
                del levels[position]
            finally:
                self.endRemoveRows()
        return True

    def rename_level(self, orientation: Qt.Orientation, position: int, name: str) -> bool:
        levels = self._levels(orientation)
        name = name.strip()
        if not self.editable or not name or not 0 <= position < len(levels):
            return False
        levels[position] = Level(levels[position].value, name)
        self.headerDataChanged.emit(orientation, position, position)
        return True

    def move_level(self, orientation: Qt.Orientation, position: int, to: int) -> bool:
        """Move a level one place or more; its cells move with it."""
        levels = self._levels(orientation)
        if (not self.editable or position == to or not 0 <= position < len(levels)
                or not 0 <= to < len(levels)):
            return False
        # Qt's move API names the destination as "before this row" in the old numbering.
        destination = to + 1 if to > position else to
        if orientation == Qt.Orientation.Horizontal:
            ok = self.beginMoveColumns(QModelIndex(), position, position, QModelIndex(),
                                       destination)
        else:
            ok = self.beginMoveRows(QModelIndex(), position, position, QModelIndex(),
                                    destination)
        if not ok:
            return False
        try:
            levels.insert(to, levels.pop(position))
        finally:
            if orientation == Qt.Orientation.Horizontal:
                self.endMoveColumns()
            else:
                self.endMoveRows()
        return True
