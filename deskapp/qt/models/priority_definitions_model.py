"""The priority definitions as an editable table: code, name, colour, targets, clock."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor

from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import (
    MAX_TARGET_MINUTES,
    MIN_TARGET_MINUTES,
    PriorityDefinition,
    format_minutes,
)
from deskapp.qt.models.matrix_model import text_colour
from deskapp.qt.models.rows_table_model import AnyIndex as Index
from deskapp.qt.models.rows_table_model import RowsTableModel
from deskapp.qt.roles import ItemRole

MIN_MINUTES = MIN_TARGET_MINUTES
MAX_MINUTES = MAX_TARGET_MINUTES


class DefinitionColumn(IntEnum):
    CODE = 0
    NAME = 1
    COLOUR = 2
    RESPONSE = 3
    RESOLUTION = 4
    CLOCK = 5


_HEADERS = ("Code", "Name", "Colour", "Response target", "Resolution target", "Clock")


class PriorityDefinitionsModel(RowsTableModel[PriorityDefinition]):
    """One row per priority rank; targets are edited in minutes (EditRole)."""

    refused = Signal(str)
    """A value was not taken (setData returned False); the message says why."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_HEADERS, parent)
        self.editable = True

    def load(self, priorities: tuple[PriorityDefinition, ...] | list[PriorityDefinition]
             ) -> None:
        self.set_rows(sorted(priorities, key=lambda p: p.rank))

    @property
    def priorities(self) -> tuple[PriorityDefinition, ...]:
        return tuple(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        p = self._row(index)
        if p is None:
            return None
        column = DefinitionColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return {
                DefinitionColumn.CODE: p.code, DefinitionColumn.NAME: p.name,
                DefinitionColumn.COLOUR: p.colour,
                DefinitionColumn.RESPONSE: format_minutes(p.response_minutes),
                DefinitionColumn.RESOLUTION: format_minutes(p.resolution_minutes),
                DefinitionColumn.CLOCK: "Business hours" if p.business_hours else "24x7",
            }[column]
        if role == Qt.ItemDataRole.EditRole:
            return {
                DefinitionColumn.CODE: p.code, DefinitionColumn.NAME: p.name,
                DefinitionColumn.COLOUR: p.colour,
                DefinitionColumn.RESPONSE: p.response_minutes,
                DefinitionColumn.RESOLUTION: p.resolution_minutes,
                DefinitionColumn.CLOCK: p.business_hours,
            }[column]
        if role == Qt.ItemDataRole.CheckStateRole and column == DefinitionColumn.CLOCK:
            return Qt.CheckState.Checked if p.business_hours else Qt.CheckState.Unchecked
        if column == DefinitionColumn.COLOUR:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QColor(p.colour)
            if role == Qt.ItemDataRole.ForegroundRole:
                return text_colour(QColor(p.colour))
        if role == ItemRole.PRIORITY_COLOUR:
            return QColor(p.colour)
        if role == Qt.ItemDataRole.ToolTipRole and column in (DefinitionColumn.RESPONSE,
                                                              DefinitionColumn.RESOLUTION):
            return "In minutes when edited"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or not self.editable:
            return False
        column = DefinitionColumn(index.column())
        p = self._rows[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and column == DefinitionColumn.CLOCK:
            new = replace(p, business_hours=Qt.CheckState(value) == Qt.CheckState.Checked)
        elif role != Qt.ItemDataRole.EditRole:
            return False
        elif column in (DefinitionColumn.CODE, DefinitionColumn.NAME):
            text = str(value).strip()
            limit = 16 if column == DefinitionColumn.CODE else 60
            if not text or len(text) > limit:
                what = "code" if column == DefinitionColumn.CODE else "name"
                return self._refuse(f"{p.code}: the {what} must be 1 to {limit} characters.")
            new = replace(p, code=text) if column == DefinitionColumn.CODE else replace(
                p, name=text)
        elif column == DefinitionColumn.COLOUR:
            colour = QColor(str(value))
            if not colour.isValid():
                return self._refuse(f"{p.code}: {str(value)!r} is not a colour like #d32f2f.")
            new = replace(p, colour=colour.name())
        elif column in (DefinitionColumn.RESPONSE, DefinitionColumn.RESOLUTION):
            try:
                minutes = int(value)
            except (TypeError, ValueError):
                return self._refuse(f"{p.code}: {str(value)!r} is not a number of minutes.")
            new = (replace(p, response_minutes=minutes) if column == DefinitionColumn.RESPONSE
                   else replace(p, resolution_minutes=minutes))
            try:
                new.check_targets()
            except ValidationError as exc:
                return self._refuse(f"{exc} {p.code} keeps "
                                    f"{format_minutes(p.response_minutes)} to respond and "
                                    f"{format_minutes(p.resolution_minutes)} to resolve.")
        else:
            new = replace(p, business_hours=bool(value))
        self._rows[index.row()] = new
        self.dataChanged.emit(self.index(index.row(), 0),
                              self.index(index.row(), len(DefinitionColumn) - 1))
        return True

    def _refuse(self, message: str) -> bool:
        self.refused.emit(message)
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self.editable:
            return flags
        if index.column() == DefinitionColumn.CLOCK:
            return flags | Qt.ItemFlag.ItemIsUserCheckable
        return flags | Qt.ItemFlag.ItemIsEditable
