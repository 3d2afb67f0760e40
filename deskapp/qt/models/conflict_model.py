"""The fields of a save conflict: theirs, mine, and which to keep, one row per field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.services.merge import DERIVED_FROM, FieldConflict, PriorityOutcome

AnyIndex = QModelIndex | QPersistentModelIndex

ValueText = Callable[[str, Any], str]
"""How a field's value reads ("Email (Exchange Online)" for a service id)."""


class ConflictColumn(IntEnum):
    FIELD = 0
    THEIRS = 1
    MINE = 2
    KEEP = 3


_TITLES = {ConflictColumn.FIELD: "Field", ConflictColumn.THEIRS: "Their value",
           ConflictColumn.MINE: "Mine", ConflictColumn.KEEP: "Keep"}


class ConflictModel(QAbstractTableModel):
    """One row per field either side changed; the Keep column chooses between them.

    The Keep column is checkable where the agent changed the field (checked: mine); fields
    only the other person changed are theirs, and say so. The priority is no choice: the
    matrix derives it from the impact and urgency kept, so its row shows what it will be,
    following the choices made above it. Roles: DisplayRole, ToolTipRole, CheckStateRole
    (Keep column), FontRole (bold for clashes), ItemRole.ROW (the FieldConflict).
    """

    def __init__(self, rows: Sequence[FieldConflict], value_text: ValueText,
                 parent: QObject | None = None, *,
                 priority: PriorityOutcome | None = None) -> None:
        super().__init__(parent)
        self._rows = list(rows)
        self._text = value_text
        self._priority = priority
        self._use_mine = {r.field: r.mine_changed for r in self._rows}
        self._bold = QFont()
        self._bold.setBold(True)

    @property
    def rows(self) -> list[FieldConflict]:
        return list(self._rows)

    def use_mine(self) -> dict[str, bool]:
        """For each field, whether my value is kept."""
        return dict(self._use_mine)

    def resulting_priority(self) -> int | None:
        """The priority the incident gets with the choices made now (None: not known)."""
        if self._priority is None:
            return None
        return self._priority.result(self._rows, self._use_mine)

    def set_all(self, mine: bool) -> None:
        """Keep my value everywhere I have one (True) or theirs everywhere (False)."""
        for row in self._rows:
            if row.mine_changed:
                self._use_mine[row.field] = mine
        if self._rows:
            self.dataChanged.emit(self.index(0, ConflictColumn.KEEP),
                                  self.index(len(self._rows) - 1, ConflictColumn.KEEP))

    def toggle(self, row: int) -> None:
        """Switch the row between theirs and mine (Space on the row)."""
        if 0 <= row < len(self._rows) and self._rows[row].mine_changed:
            field = self._rows[row].field
            self._use_mine[field] = not self._use_mine[field]
            index = self.index(row, ConflictColumn.KEEP)
            self.dataChanged.emit(index, index)
            self._priority_follows(field)

    def _priority_follows(self, field: str) -> None:
        """The priority's row shows a new result when impact or urgency changed hands."""
        if field not in DERIVED_FROM:
            return
        for number, row in enumerate(self._rows):
            if row.field == "priority":
                index = self.index(number, ConflictColumn.KEEP)
                self.dataChanged.emit(index, index)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ConflictColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(ConflictColumn):
            return _TITLES[ConflictColumn(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = ConflictColumn(index.column())
        mine = self._use_mine[row.field]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._shown(row, column, mine)
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.field == "priority" and column == ConflictColumn.KEEP:
                return plain_tooltip(
                    "The priority is not chosen: the priority matrix derives it from the "
                    "impact and urgency kept above. " + self._shown(row, column, mine))
            return plain_tooltip(self._shown(row, column, mine))
        if role == Qt.ItemDataRole.CheckStateRole and column == ConflictColumn.KEEP \
                and row.mine_changed:
            return Qt.CheckState.Checked if mine else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.FontRole and row.clash:
            return self._bold
        if role == ItemRole.ROW:
            return row
        return None

    def _shown(self, row: FieldConflict, column: ConflictColumn, mine: bool) -> str:
        if row.field == "priority":
            return self._priority_shown(row, column)
        if column == ConflictColumn.FIELD:
            return row.label
        if column == ConflictColumn.THEIRS:
            return self._text(row.field, row.theirs) if row.theirs_changed else "(unchanged)"
        if column == ConflictColumn.MINE:
            return self._text(row.field, row.mine) if row.mine_changed else "(unchanged)"
        if not row.mine_changed:
            return "Theirs"
        return "Mine" if mine else "Theirs"

    def _priority_shown(self, row: FieldConflict, column: ConflictColumn) -> str:
        if column == ConflictColumn.FIELD:
            return f"{row.label} (from impact and urgency)"
        if column == ConflictColumn.THEIRS:
            return self._text(row.field, row.theirs) if row.theirs_changed else "(unchanged)"
        mine = self._priority.mine(self._rows) if self._priority is not None else None
        if column == ConflictColumn.MINE:
            return "(unchanged)" if mine is None else self._text(row.field, mine)
        result = self.resulting_priority()
        return "(follows)" if result is None else f"Result: {self._text(row.field, result)}"

    def setData(self, index: AnyIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != ConflictColumn.KEEP \
                or role != Qt.ItemDataRole.CheckStateRole:
            return False
        row = self._rows[index.row()]
        if not row.mine_changed:
            return False
        checked = value == Qt.CheckState.Checked or value == Qt.CheckState.Checked.value
        self._use_mine[row.field] = bool(checked)
        self.dataChanged.emit(index, index)
        self._priority_follows(row.field)
        return True

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == ConflictColumn.KEEP and self._rows[index.row()].mine_changed:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags
