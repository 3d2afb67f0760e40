"""The shared part of the small list-backed tables (rules, priorities, people, audit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex
R = TypeVar("R")


class RowsTableModel(QAbstractTableModel, Generic[R]):
    """A flat table over a Python list of rows under fixed column headers.

    Subclasses say what a cell shows (``data``) and, if they edit, what a change does; the
    list, its reset, the counts and the headers are here. Vertical headers show row numbers
    when ``row_numbers`` is set (tables whose order means something, such as rules tried
    first to last).
    """

    def __init__(self, headers: Sequence[str], parent: QObject | None = None, *,
                 row_numbers: bool = False) -> None:
        super().__init__(parent)
        self._headers = tuple(headers)
        self._row_numbers = row_numbers
        self._rows: list[R] = []

    @contextmanager
    def _resetting(self) -> Iterator[None]:
        """Change the rows (and whatever goes with them) inside one model reset."""
        self.beginResetModel()
        try:
            yield
        finally:
            self.endResetModel()

    def set_rows(self, rows: Iterable[R]) -> None:
        """Show these rows instead."""
        with self._resetting():
            self._rows = list(rows)

    @property
    def rows(self) -> list[R]:
        """A copy of the rows shown."""
        return list(self._rows)

    def row_at(self, row: int) -> R | None:
        """The row shown on line ``row``; None outside the table."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def _row(self, index: AnyIndex) -> R | None:
        """The row a valid index points at; None for an invalid or stale one."""
        if not index.isValid() or not 0 <= index.column() < len(self._headers):
            return None
        return self.row_at(index.row())

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._headers[section] if 0 <= section < len(self._headers) else None
        return str(section + 1) if self._row_numbers else None
