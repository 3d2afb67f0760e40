"""The workload view's model: groups, and under each its unassigned pile and its agents.

Two levels: a group row shows the group's totals; its children are the unassigned pile, then
each agent (away agents and former members marked). Columns: the name, open incidents, one
column per priority of the current matrix, then breached, at risk and on hold. Incidents
dropped on a group, its pile or an agent ask for a reassignment (``reassign_requested``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.incident_mime import (
    INCIDENTS_MIME_TYPE,
    DraggedIncident,
    unpack_incidents,
)
from deskapp.qt.roles import ItemRole
from deskapp.services.reference import PriorityView
from deskapp.services.workload_dto import AgentLoad, GroupLoad, Workload

AnyIndex = QModelIndex | QPersistentModelIndex

_GROUP = 0
"""internalId of a group row; an agent row's is its group's row + 1."""

BREACHED_COLOUR = QColor("#c62828")
AT_RISK_COLOUR = QColor("#b45309")
MUTED_COLOUR = QColor("#6b7280")
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_CENTER = int(Qt.AlignmentFlag.AlignCenter)


class WorkloadModel(QAbstractItemModel):
    """The team's workload as a two-level tree (groups, then their pile and agents).

    Roles answered besides Qt's display, tooltip, font, foreground and alignment:
    ``ItemRole.ROW`` (the row's GroupLoad or AgentLoad), ``ItemRole.ID`` (the agent's user
    id; None for groups and piles), ``ItemRole.COUNT`` (the cell's count, count columns
    only) and ``ItemRole.PRIORITY_COLOUR`` (priority columns only).

    Signals:
        reassign_requested(list, int, object): incidents (DraggedIncident) were dropped on a
            group or its pile (assignee None) or on an agent: (incidents, group id,
            assignee id or None).
    """

    reassign_requested = Signal(list, int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workload: Workload | None = None
        self._groups: list[GroupLoad] = []
        self._priorities: dict[int, PriorityView] = {}
        self._ranks: tuple[int, ...] = ()
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    # --- data in ------------------------------------------------------------------------

    @property
    def workload(self) -> Workload | None:
        return self._workload

    def set_priorities(self, priorities: Iterable[PriorityView]) -> None:
        """Title and colour the priority columns as the current matrix does."""
        self._priorities = {p.rank: p for p in priorities}
        if self.columnCount() > 0:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def set_workload(self, workload: Workload) -> None:
        """Show new figures: in place when the rows are the same, else a reset."""
        if self._workload is not None and _shape(self._workload) == _shape(workload):
            self._workload, self._groups = workload, list(workload.groups)
            if self._groups:
                last = self.columnCount() - 1
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._groups) - 1, last))
                for row, group in enumerate(self._groups):
                    parent = self.index(row, 0)
                    self.dataChanged.emit(self.index(0, 0, parent),
                                          self.index(len(group.agents), last, parent))
            return
        self.beginResetModel()
        try:
            self._workload = workload
            self._groups = list(workload.groups)
            self._ranks = workload.priorities
        finally:
            self.endResetModel()

    # --- columns ------------------------------------------------------------------------

    @property
    def open_column(self) -> int:
        return 1

    def priority_column(self, rank: int) -> int:
        """The column counting incidents of this priority."""
        return 2 + self._ranks.index(rank)

    @property
    def breached_column(self) -> int:
        return 2 + len(self._ranks)

    @property
    def at_risk_column(self) -> int:
        return 3 + len(self._ranks)

    @property
    def on_hold_column(self) -> int:
        return 4 + len(self._ranks)

    def _rank_of(self, column: int) -> int | None:
        offset = column - 2
        return self._ranks[offset] if 0 <= offset < len(self._ranks) else None

    # --- rows ---------------------------------------------------------------------------

    def group_at(self, row: int) -> GroupLoad:
        return self._groups[row]

    @staticmethod
    def _children(group: GroupLoad) -> Sequence[AgentLoad]:
        return (group.unassigned, *group.agents)

    def load_at(self, index: AnyIndex) -> GroupLoad | AgentLoad | None:
        """What a row shows: a group's totals, its pile or an agent."""
        if not index.isValid():
            return None
        if index.internalId() == _GROUP:
            return self._groups[index.row()] if index.row() < len(self._groups) else None
        group_row = index.internalId() - 1
        if group_row >= len(self._groups):
            return None
        children = self._children(self._groups[group_row])
        return children[index.row()] if index.row() < len(children) else None

    def target_of(self, index: AnyIndex) -> tuple[int, int | None] | None:
        """(group id, assignee id or None) a drop on this row assigns to."""
        load = self.load_at(index)
        if isinstance(load, GroupLoad):
            return load.group_id, None
        if isinstance(load, AgentLoad):
            return load.group_id, load.user_id
        return None

    def agent_index(self, group_id: int, user_id: int | None) -> QModelIndex:
        """The row of an agent (or of the pile, for None) in a group; invalid if not shown."""
        for row, group in enumerate(self._groups):
            if group.group_id != group_id:
                continue
            for child_row, child in enumerate(self._children(group)):
                if child.user_id == user_id:
                    return self.index(child_row, 0, self.index(row, 0))
        return QModelIndex()

    # --- Qt model interface -------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _GROUP)
        if parent.internalId() == _GROUP:
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == _GROUP:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _GROUP)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == _GROUP and parent.column() == 0 and \
                parent.row() < len(self._groups):
            return len(self._children(self._groups[parent.row()]))
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 5 + len(self._ranks)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        rank = self._rank_of(section)
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Group / agent"
            if section == self.open_column:
                return "Open"
            if rank is not None:
                priority = self._priorities.get(rank)
                return priority.code if priority else f"P{rank}"
            return {self.breached_column: "Breached", self.at_risk_column: "At risk",
                    self.on_hold_column: "On hold"}.get(section)
        if role == Qt.ItemDataRole.ToolTipRole:
            if rank is not None:
                priority = self._priorities.get(rank)
                return plain_tooltip(
                    f"Open incidents of priority {priority.label if priority else rank}")
            return {0: "Drop incidents on a group, its unassigned pile or an agent",
                    self.open_column: "Open incidents (new, in progress, on hold)",
                    self.breached_column: "Past the resolution due time",
                    self.at_risk_column: "Less than a quarter of the resolution time left",
                    self.on_hold_column: "Waiting: the SLA clock is paused"}.get(section)
        if role == Qt.ItemDataRole.TextAlignmentRole and section > 0:
            return _CENTER if rank is not None else _RIGHT
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemIsDropEnabled
        if index.internalId() != _GROUP:
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        load = self.load_at(index)
        if load is None:
            return None
        column = index.column()
        figures = load.total if isinstance(load, GroupLoad) else load
        count = self._count(figures, column)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self._name(load)
            return str(count) if count else ("0" if column == self.open_column else "")
        if role == ItemRole.COUNT:
            return count
        if role == ItemRole.ROW:
            return load
        if role == ItemRole.ID:
            return load.user_id if isinstance(load, AgentLoad) else None
        if role == ItemRole.PRIORITY_COLOUR:
            rank = self._rank_of(column)
            priority = self._priorities.get(rank) if rank is not None else None
            return QColor(priority.colour) if priority else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == 0:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return _CENTER if self._rank_of(column) is not None else _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.breached_column and count:
                return BREACHED_COLOUR
            if column == self.at_risk_column and count:
                return AT_RISK_COLOUR
            if column == 0 and isinstance(load, AgentLoad) and \
                    (load.away or not load.member or load.unassigned):
                return MUTED_COLOUR
            return None
        if role == Qt.ItemDataRole.FontRole:
            if isinstance(load, GroupLoad) or (column == self.breached_column and count):
                return self._bold
            if column == 0 and isinstance(load, AgentLoad) and load.unassigned:
                return self._italic
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(load, figures))
        return None

    def _count(self, figures: AgentLoad, column: int) -> int | None:
        if column == self.open_column:
            return figures.open
        rank = self._rank_of(column)
        if rank is not None:
            return figures.by_priority.get(rank, 0)
        if column == self.breached_column:
            return figures.breached
        if column == self.at_risk_column:
            return figures.at_risk
        if column == self.on_hold_column:
            return figures.on_hold
        return None

    @staticmethod
    def _name(load: GroupLoad | AgentLoad) -> str:
        if isinstance(load, GroupLoad):
            return load.name
        if load.unassigned:
            return "Unassigned pile"
        if not load.member:
            return f"{load.name} (not in the group)"
        return f"{load.name} (away)" if load.away else load.name

    def _tooltip(self, load: GroupLoad | AgentLoad, figures: AgentLoad) -> str:
        parts = [f"{self._priorities[r].code if r in self._priorities else f'P{r}'}: "
                 f"{figures.by_priority.get(r, 0)}" for r in self._ranks]
        breakdown = ", ".join(parts)
        if isinstance(load, GroupLoad):
            lead = f"; lead {load.lead_name}" if load.lead_name else ""
            return (f"{load.name}{lead}: {figures.open} open ({breakdown}). "
                    f"Drop incidents here to put them in the group's pile.")
        if load.unassigned:
            return (f"{figures.open} open incidents nobody has taken ({breakdown}). "
                    f"Drop incidents here to hand them to the group.")
        away = " They are away: assignment rules skip them." if load.away else ""
        stranger = " No longer a member of the group." if not load.member else ""
        return (f"{load.name}: {figures.open} open ({breakdown}).{away}{stranger} "
                f"Drop incidents here to assign them to {load.name}.")

    # --- drag and drop ------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return [INCIDENTS_MIME_TYPE]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def _drop_target(self, row: int, parent: AnyIndex) -> tuple[int, int | None] | None:
        # Dropped on a row: parent is that row (row == -1). Dropped between rows: parent
        # is the rows' parent, so between two agents means their group.
        if not parent.isValid():
            return None
        if row >= 0 and parent.internalId() != _GROUP:
            return None
        return self.target_of(parent)

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: AnyIndex) -> bool:
        return bool(unpack_incidents(data)) and self._drop_target(row, parent) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: AnyIndex) -> bool:
        incidents: list[DraggedIncident] = unpack_incidents(data)
        target = self._drop_target(row, parent)
        if not incidents or target is None or action == Qt.DropAction.IgnoreAction:
            return False
        self.reassign_requested.emit(incidents, target[0], target[1])
        # Nothing moves out of the queue: the reassignment refreshes it, if it goes ahead.
        return True


def _shape(workload: Workload) -> tuple[object, ...]:
    return (workload.priorities, tuple(
        (g.group_id, tuple((a.user_id, a.name, a.away, a.member) for a in g.agents))
        for g in workload.groups))
