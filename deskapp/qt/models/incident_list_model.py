"""Short lists of incidents beside a form: a caller's incidents, similar open ones, children."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from deskapp.qt import theme
from deskapp.qt.formatting import format_timestamp, plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.services.dto import IncidentRow

AnyIndex = QModelIndex | QPersistentModelIndex

MAJOR_MARK = "⚑ "


@dataclass(frozen=True)
class ListedIncident:
    """One line of the list: the incident and why it is listed ("same service")."""

    row: IncidentRow
    note: str = ""


class IncidentListModel(QAbstractListModel):
    """A few incidents, one line each, as plain data.

    Roles: DisplayRole (number, priority, state and short description), ToolTipRole,
    FontRole (bold for major incidents), ForegroundRole (the priority's colour for major
    incidents), ItemRole.ID (the incident id), ItemRole.ROW (the IncidentRow).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[ListedIncident] = []
        self._priority_codes: dict[int, str] = {}
        self._colours: dict[int, QColor] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_priorities(self, codes: Mapping[int, str], colours: Mapping[int, str]) -> None:
        """Name (P1...) and colour priorities as the current matrix does."""
        self._priority_codes = dict(codes)
        self._colours = {rank: QColor(colour) for rank, colour in colours.items()}
        if self._entries:
            self.dataChanged.emit(self.index(0), self.index(len(self._entries) - 1))

    def set_entries(self, entries: Sequence[ListedIncident]) -> None:
        self.beginResetModel()
        try:
            self._entries = list(entries)
        finally:
            self.endResetModel()

    def set_rows(self, rows: Sequence[IncidentRow]) -> None:
        self.set_entries([ListedIncident(r) for r in rows])

    def entry(self, row: int) -> ListedIncident:
        return self._entries[row]

    @property
    def entries(self) -> list[ListedIncident]:
        return list(self._entries)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        row = entry.row
        if role == Qt.ItemDataRole.DisplayRole:
            # Two lines, so that the description gets the panel's whole width.
            code = self._priority_codes.get(row.priority, f"P{row.priority}")
            first = [row.number, code, row.state.label]
            if row.is_major:
                first.append(MAJOR_MARK + "major incident")
            if entry.note:
                first.append(entry.note)
            return " · ".join(first) + "\n" + row.short_description
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(
                f"{row.number}: {row.short_description}\nCaller: {row.caller_name}\n"
                f"Opened {format_timestamp(row.opened_at)}; assigned to "
                f"{row.assignee_name or row.group_name or 'nobody yet'}")
        if role == Qt.ItemDataRole.FontRole and row.is_major:
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole and row.is_major:
            colour = self._colours.get(row.priority)
            # The priority's own colour as text can be pale (P3's yellow on white):
            # darkened or lightened, keeping its hue, until it reads on the list.
            return None if colour is None else theme.legible(colour, theme.base_colour())
        if role == ItemRole.ID:
            return row.id
        if role == ItemRole.ROW:
            return row
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
