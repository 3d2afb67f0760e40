"""The sidebar's list of queues: built-in ones, a search while one runs, saved filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.services.queues import QueueKind, QueueView

AnyIndex = QModelIndex | QPersistentModelIndex

SAVED_HEADER = "Saved filters"
NO_SAVED_FILTERS = "No saved filters yet"


class QueueListModel(QAbstractListModel):
    """Queues as sidebar rows, each with its count.

    Rows, top to bottom: the search (only while one is active), the built-in queues, then a
    "Saved filters" heading (not selectable) and the user's filters. Answers
    ``ItemRole.QUEUE`` (the QueueView, None for the heading) and ``ItemRole.COUNT`` (int, None
    until counted).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._search: QueueView | None = None
        self._built_in: list[QueueView] = []
        self._saved: list[QueueView] = []
        self._counts: dict[str, int] = {}

    # --- content ------------------------------------------------------------------------

    def set_queues(self, queues: Sequence[QueueView]) -> None:
        """Replace the built-in queues and saved filters (the search stays)."""
        self.beginResetModel()
        try:
            self._built_in = [q for q in queues if q.kind == QueueKind.BUILT_IN]
            self._saved = [q for q in queues if q.kind == QueueKind.SAVED]
        finally:
            self.endResetModel()

    def set_search(self, queue: QueueView | None) -> None:
        """Show a search as the first row, replace it, or (None) remove it."""
        if queue is not None and self._search is not None:
            self._search = queue
            self._counts.pop(queue.key, None)
            self.dataChanged.emit(self.index(0), self.index(0))
        elif queue is not None:
            self.beginInsertRows(QModelIndex(), 0, 0)
            try:
                self._search = queue
            finally:
                self.endInsertRows()
        elif self._search is not None:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            try:
                self._search = None
            finally:
                self.endRemoveRows()

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """Show these counts (by queue key); others keep theirs."""
        self._counts.update(counts)
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                                   Qt.ItemDataRole.AccessibleTextRole, ItemRole.COUNT])

    @property
    def search(self) -> QueueView | None:
        return self._search

    def queues(self) -> list[QueueView]:
        """Every queue listed, top to bottom."""
        return [q for q in self._rows() if q is not None]

    def queue_at(self, row: int) -> QueueView | None:
        """The queue in ``row``; None for the heading or a row out of range."""
        rows = self._rows()
        return rows[row] if 0 <= row < len(rows) else None

    def row_of(self, key: str) -> int | None:
        """The row of the queue with this key, if it is listed."""
        for row, queue in enumerate(self._rows()):
            if queue is not None and queue.key == key:
                return row
        return None

    def count_of(self, key: str) -> int | None:
        return self._counts.get(key)

    def _rows(self) -> list[QueueView | None]:
        head: list[QueueView | None] = [self._search] if self._search is not None else []
        return [*head, *self._built_in, None, *self._saved]

    # --- Qt model interface -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows())

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.queue_at(index.row()) is None:
            return Qt.ItemFlag.ItemNeverHasChildren  # the heading: seen, never chosen
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        queue = self.queue_at(index.row())
        if queue is None:
            return self._heading(role)
        count = self._counts.get(queue.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return queue.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(queue.description if count is None else
                                 f"{queue.description} ({count:,} incident"
                                 f"{'' if count == 1 else 's'})")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return queue.title if count is None else f"{queue.title}, {count:,} incidents"
        if role == ItemRole.COUNT:
            return count
        if role == ItemRole.QUEUE:
            return queue
        return None

    def _heading(self, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return SAVED_HEADER
        if role == Qt.ItemDataRole.ToolTipRole:
            return NO_SAVED_FILTERS if not self._saved else \
                "Queues you made: right-click one to edit, rename or delete it"
        return None
