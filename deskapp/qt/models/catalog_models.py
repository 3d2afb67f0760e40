"""Item models of the catalogue admin windows: the category tree, services, configuration items.

The models hold the rows the service returned (no database access in ``data()``); inactive
rows are greyed. An inline edit does not change the model: it emits ``edit_requested`` and
the window sends it to the database, then puts the stored row back with ``upsert``. Rows are
kept in natural name order ("cmdb_ci 2" before "cmdb_ci 10", any case), also as they are
added or renamed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont

from deskapp.domain.catalog import CiClass
from deskapp.qt import theme
from deskapp.qt.formatting import natural_key
from deskapp.qt.models.rows_table_model import RowsTableModel
from deskapp.qt.roles import ItemRole
from deskapp.services.catalog_admin import CategoryNode, CiEntry, ServiceEntry

AnyIndex = QModelIndex | QPersistentModelIndex
_ROOT = 0
"""internalId of top-level rows; a subcategory's is its parent's (positive) id."""


def _order(name: str, row_id: int) -> tuple[tuple[str, str], int]:
    """Where a row goes: by natural name (ties by exact name), then by id (stable)."""
    return natural_key(name), row_id


def class_label(value: str) -> str:
    """A configuration item class as people read it (an unknown one as stored)."""
    return CiClass(value).label if value in CiClass.__members__.values() else value


def _status(active: bool) -> str:
    return "Active" if active else "Inactive"


def _greyed(role: int, active: bool) -> Any:
    """What an inactive row answers for the colour and font roles (None: the default)."""
    if active:
        return None
    if role == Qt.ItemDataRole.ForegroundRole:
        return theme.colours().muted
    if role == Qt.ItemDataRole.FontRole:
        font = QFont()
        font.setItalic(True)
        return font
    return None


R = TypeVar("R", CategoryNode, ServiceEntry, CiEntry)


def _sorted_upsert(model: QAbstractItemModel, parent: QModelIndex, rows: list[R],
                   entry: R) -> int:
    """Insert ``entry`` into ``rows`` (the children of ``parent``) at its sorted place, or
    replace the row with its id and move it if its name moved it; returns its row.

    The rows are announced to the views (insert, move, dataChanged) so that a selection
    follows the row, as it does after a reload.
    """
    old = next((i for i, r in enumerate(rows) if r.id == entry.id), None)
    others = [_order(r.name, r.id) for r in rows if r.id != entry.id]
    new = bisect_left(others, _order(entry.name, entry.id))
    if old is None:
        model.beginInsertRows(parent, new, new)
        try:
            rows.insert(new, entry)
        finally:
            model.endInsertRows()
        return new
    if new != old:
        # Qt's move takes the row before which it lands, counted before the move.
        model.beginMoveRows(parent, old, old, parent, new + 1 if new > old else new)
        try:
            rows.pop(old)
            rows.insert(new, entry)
        finally:
            model.endMoveRows()
    else:
        rows[old] = entry
    last = model.columnCount(parent) - 1
    model.dataChanged.emit(model.index(new, 0, parent), model.index(new, last, parent))
    return new


class CategoryTreeModel(QAbstractItemModel):
    """Top categories with their subcategories; columns Name, Incidents, Status.

    Roles: ItemRole.ROW (the CategoryNode), ItemRole.ID.

    Signals:
        edit_requested(object, str): a name was typed inline for the CategoryNode.
    """

    edit_requested = Signal(object, str)
    HEADERS = ("Name", "Incidents", "Status")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tops: list[CategoryNode] = []
        self._children: dict[int, list[CategoryNode]] = {}

    def set_nodes(self, nodes: Sequence[CategoryNode]) -> None:
        """Show these rows, each level in natural name order."""
        ordered = sorted(nodes, key=lambda n: _order(n.name, n.id))
        self.beginResetModel()
        try:
            self._tops = [n for n in ordered if n.parent_id is None]
            self._children = {t.id: [] for t in self._tops}
            for node in ordered:
                if node.parent_id is not None and node.parent_id in self._children:
                    self._children[node.parent_id].append(node)
        finally:
            self.endResetModel()

    def upsert(self, node: CategoryNode) -> QModelIndex:
        """Put a stored row in its sorted place among its siblings; returns its index."""
        siblings = self._tops if node.parent_id is None else self._children.get(node.parent_id)
        if siblings is None:
            return QModelIndex()
        parent = QModelIndex() if node.parent_id is None else self.index_of(node.parent_id)
        row = _sorted_upsert(self, parent, siblings, node)
        if node.parent_id is None:
            self._children.setdefault(node.id, [])
        return self.index(row, 0, parent)

    def node(self, index: AnyIndex) -> CategoryNode | None:
        """The row at ``index`` (any column)."""
        if not index.isValid():
            return None
        parent_id = index.internalId()
        siblings = self._tops if parent_id == _ROOT else self._children.get(parent_id, [])
        return siblings[index.row()] if 0 <= index.row() < len(siblings) else None

    def index_of(self, category_id: int) -> QModelIndex:
        """The index of the category with this id (column 0); invalid if not shown."""
        for row, top in enumerate(self._tops):
            if top.id == category_id:
                return self.index(row, 0)
            for sub_row, sub in enumerate(self._children.get(top.id, [])):
                if sub.id == category_id:
                    return self.index(sub_row, 0, self.index(row, 0))
        return QModelIndex()

    # --- QAbstractItemModel --------------------------------------------------------------

    def index(self, row: int, column: int,
              parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _ROOT)
        top = self.node(parent)
        if top is None or top.parent_id is not None:
            return QModelIndex()
        return self.createIndex(row, column, top.id)

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent_id = index.internalId()
        if parent_id == _ROOT:
            return QModelIndex()
        row = next((i for i, t in enumerate(self._tops) if t.id == parent_id), None)
        return QModelIndex() if row is None else self.createIndex(row, 0, _ROOT)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._tops)
        if parent.column() != 0:
            return 0
        node = self.node(parent)
        if node is None or node.parent_id is not None:
            return 0
        return len(self._children.get(node.id, []))

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (node.name, f"{node.incident_count:,}", _status(node.active))[column]
        if role == Qt.ItemDataRole.EditRole:
            return node.name if column == 0 else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and not node.active:
            return "Inactive: no longer offered for new incidents; old incidents keep it."
        if role == ItemRole.ROW:
            return node
        if role == ItemRole.ID:
            return node.id
        return _greyed(role, node.active)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: AnyIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        node = self.node(index)
        if node is None or index.column() != 0 or role != Qt.ItemDataRole.EditRole:
            return False
        text = str(value).strip()
        if text and text != node.name:
            self.edit_requested.emit(node, text)
        # The row changes once the database has stored the name (upsert).
        return False


T = TypeVar("T", ServiceEntry, CiEntry)


@dataclass(frozen=True)
class Column(Generic[T]):
    """A column of a catalogue table: its header, its text, and what an edit changes."""

    header: str
    text: Callable[[T], str]
    field: str | None = None
    """The entry's field an inline edit changes (None: read-only)."""
    numeric: bool = False


class CatalogTableModel(RowsTableModel[T]):
    """Services or configuration items as a table, inactive rows greyed.

    Roles: ItemRole.ROW (the entry), ItemRole.ID; EditRole gives an editable cell's value.

    Signals:
        edit_requested(object, str, object): an entry, the field and the value typed inline.
    """

    edit_requested = Signal(object, str, object)

    def __init__(self, columns: Sequence[Column[T]], parent: QObject | None = None) -> None:
        super().__init__([c.header for c in columns], parent)
        self.columns: tuple[Column[T], ...] = tuple(columns)

    def set_rows(self, rows: Iterable[T]) -> None:
        """Show these rows, in natural name order."""
        with self._resetting():
            self._rows = sorted(rows, key=lambda r: _order(r.name, r.id))

    def upsert(self, entry: T) -> int:
        """Put a stored row in its sorted place; returns its row."""
        return _sorted_upsert(self, QModelIndex(), self._rows, entry)

    def row_of(self, entry_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == entry_id), -1)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self._row(index)
        if entry is None:
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(entry)
        if role == Qt.ItemDataRole.EditRole:
            return getattr(entry, column.field) if column.field else column.text(entry)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and not entry.active:
            return "Inactive: no longer offered for new incidents; old incidents keep it."
        if role == ItemRole.ROW:
            return entry
        if role == ItemRole.ID:
            return entry.id
        return _greyed(role, entry.active)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.columns[index.column()].field:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: AnyIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        entry = self._rows[index.row()]
        field = self.columns[index.column()].field
        if field is None:
            return False
        if isinstance(value, str):
            value = value.strip()
        if value != getattr(entry, field):
            self.edit_requested.emit(entry, field, value)
        return False  # the row changes once the database has stored it (upsert)


SERVICE_COLUMNS: tuple[Column[ServiceEntry], ...] = (
    Column("Name", lambda s: s.name, "name"),
    Column("Description", lambda s: s.description, "description"),
    Column("Incidents", lambda s: f"{s.incident_count:,}", numeric=True),
    Column("Status", lambda s: _status(s.active)),
)
CI_COLUMNS: tuple[Column[CiEntry], ...] = (
    Column("Name", lambda c: c.name, "name"),
    Column("Class", lambda c: class_label(c.ci_class), "ci_class"),
    Column("Service", lambda c: c.service_name or "—", "service_id"),
    Column("Description", lambda c: c.description, "description"),
    Column("Incidents", lambda c: f"{c.incident_count:,}", numeric=True),
    Column("Status", lambda c: _status(c.active)),
)
CI_CLASS_COLUMN = 1
CI_SERVICE_COLUMN = 2
