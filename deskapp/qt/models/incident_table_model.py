"""The incident queue as a Qt table: keyset pages loaded on demand, sorted by the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from deskapp.domain.enums import Escalation
from deskapp.qt import theme
from deskapp.qt.formatting import SlaState, SlaSummary, format_timestamp, plain_tooltip, sla_summary
from deskapp.qt.models.incident_mime import INCIDENTS_MIME_TYPE, DraggedIncident, pack_incidents
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.dto import IncidentRow
from deskapp.services.incidents import utc_now
from deskapp.services.ports import Clock
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey, cursor_after
from deskapp.services.reference import PriorityView

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Rows per keyset page: a screenful or three, and one cheap indexed query."""
MAX_PAGE = 1000
"""The most rows one query may ask for (QueueQuery's limit)."""
REFRESH_LIMIT = 2000
"""A live refresh reloads at most this many rows; rows loaded beyond them are let go."""
REFRESH_SLACK = 50
"""Rows a refresh reads beyond those shown, so that new arrivals do not push any out."""

AnyIndex = QModelIndex | QPersistentModelIndex


class QueueSource(Protocol):
    """Where queue pages come from (IncidentService in the app)."""

    def list_queue(self, query: QueueQuery) -> list[IncidentRow]:
        """One keyset page of a queue."""
        ...


class Column(IntEnum):
    """The columns of the incident table, in their default order."""

    NUMBER = 0
    PRIORITY = 1
    SHORT_DESCRIPTION = 2
    CALLER = 3
    STATE = 4
    GROUP = 5
    ASSIGNEE = 6
    OPENED = 7
    SLA = 8
    UPDATED = 9
    CONFIGURATION_ITEM = 10


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is titled and sorted."""

    title: str
    tooltip: str
    sort_key: SortKey | None
    """The database order behind the column; None means the column cannot be sorted."""
    first_order: Qt.SortOrder = Qt.SortOrder.AscendingOrder
    """The order a first click on the header asks for (newest first for times)."""


COLUMNS: dict[Column, ColumnSpec] = {
    Column.NUMBER: ColumnSpec("Number", "Incident number", SortKey.NUMBER),
    Column.PRIORITY: ColumnSpec("Priority", "Priority from impact and urgency",
                                SortKey.PRIORITY),
    Column.SHORT_DESCRIPTION: ColumnSpec("Short description", "What the caller reported",
                                         SortKey.SHORT_DESCRIPTION),
    Column.CALLER: ColumnSpec("Caller", "Who reported it (★ marks a VIP)", SortKey.CALLER),
    Column.STATE: ColumnSpec("State", "Where the incident stands in its lifecycle",
                             SortKey.STATE),
    Column.GROUP: ColumnSpec("Assignment group", "The group working on it", SortKey.GROUP),
    Column.ASSIGNEE: ColumnSpec("Assigned to", "The agent working on it", SortKey.ASSIGNEE),
    Column.OPENED: ColumnSpec("Opened", "When it was logged (local time)", SortKey.OPENED_AT,
                              Qt.SortOrder.DescendingOrder),
    # Sorting by the due time puts the most urgent first; a paused clock keeps its due time.
    Column.SLA: ColumnSpec("SLA", "Time left until the resolution is due",
                           SortKey.RESOLUTION_DUE_AT),
    Column.UPDATED: ColumnSpec("Updated", "When it was last changed (local time)",
                               SortKey.UPDATED_AT, Qt.SortOrder.DescendingOrder),
    # Not sortable: no index orders incidents by their item's name, and most incidents
    # have none, so a sort would read and order every incident the queue holds.
    Column.CONFIGURATION_ITEM: ColumnSpec("Configuration item",
                                          "The server, application or device affected",
                                          None),
}

DEFAULT_SORT_COLUMN = Column.OPENED
DEFAULT_SORT_ORDER = Qt.SortOrder.DescendingOrder

VIP_MARK = "★ "
UNASSIGNED = "Unassigned"
NO_GROUP = "—"
"""Shown for no group (and no configuration item)."""

# Text colours dark enough to read on white and on the alternate row colour; the table
# asks the theme (deskapp.qt.theme.colours), which has a dark set too.
OVERDUE_COLOUR = QColor("#c62828")
AT_RISK_COLOUR = QColor("#b45309")
MUTED_COLOUR = QColor("#6b7280")
MAJOR_COLOUR = QColor("#b91c1c")

_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def sort_key_for(column: int) -> SortKey | None:
    """The database order behind a column, or None if it cannot be sorted."""
    try:
        return COLUMNS[Column(column)].sort_key
    except ValueError:
        return None


def _icon(colour: QColor, draw: Callable[[QPainter], None]) -> QIcon:
    """A 16 px icon: ``draw`` paints with a pen a shade darker than its ``colour`` fill."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(colour.darker(130))
        painter.setBrush(colour)
        draw(painter)
    finally:
        painter.end()
    return QIcon(pixmap)


def _priority_icon(colour: QColor) -> QIcon:
    """A round swatch of the priority's colour; a dot reads better than a filled cell."""
    return _icon(colour, lambda painter: painter.drawEllipse(2, 2, 12, 12))


def _major_incident_icon() -> QIcon:
    """A red diamond: major incidents stand out in any sort order, also without colour."""
    def draw(painter: QPainter) -> None:
        painter.drawPolygon([QPoint(8, 1), QPoint(15, 8), QPoint(8, 15), QPoint(1, 8)])
        painter.setPen(QColor("white"))
        painter.drawLine(8, 4, 8, 9)
        painter.drawPoint(8, 12)
    return _icon(MAJOR_COLOUR, draw)


def _escalation_icon(colour: QColor) -> QIcon:
    """An upward arrow: the incident was escalated (orange functional, red to the lead)."""
    return _icon(colour, lambda painter: painter.drawPolygon(
        [QPoint(8, 1), QPoint(15, 9), QPoint(11, 9), QPoint(11, 15), QPoint(5, 15),
         QPoint(5, 9), QPoint(1, 9)]))


ESCALATION_COLOURS = {Escalation.FUNCTIONAL: QColor("#d97706"),
                      Escalation.HIERARCHICAL: QColor("#b91c1c")}
ESCALATION_TEXT = {Escalation.FUNCTIONAL: "Escalated to another group (functional)",
                   Escalation.HIERARCHICAL: "Escalated to the lead (hierarchical)"}

_BY_INDEX: tuple[Column, ...] = tuple(Column)
_ANSWERED_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole,
    *ItemRole,
})


class IncidentTableModel(QAbstractTableModel):
    """One queue of incidents, a keyset page at a time.

    The model holds plain IncidentRow data; ``data()`` never touches the database. Pages are
    loaded through the DbRunner when the view asks for more (``fetchMore``), and sorting asks
    the database for the new order instead of sorting the loaded rows. Nothing is loaded until
    the first ``reload()``.

    Signals:
        loading_changed(bool): a page load started (True) or ended (False).
        load_failed(str): a page could not be loaded; the argument is a one-line message.
        reloaded(): the first page of a reload or a new sort order is in place.
        refreshed(): an in-place refresh is done.
        order_restored(): a new order could not be loaded; the model is back in the order
            its rows are in (views put their sort indicator back).
    """

    loading_changed = Signal(bool)
    load_failed = Signal(str)
    reloaded = Signal()
    refreshed = Signal()
    order_restored = Signal()

    def __init__(
        self,
        source: QueueSource,
        runner: DbRunner,
        *,
        queue_filter: QueueFilter | None = None,
        page_size: int = PAGE_SIZE,
        clock: Clock = utc_now,
        parent: QObject | None = None,
    ) -> None:
        """Create an empty model.

        Args:
            source: what lists the queue's pages.
            runner: runs the page queries off the GUI thread.
            queue_filter: which incidents the queue holds (default: the open ones).
            page_size: rows per page.
            clock: "now" for the SLA column.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self._source = source
        self._runner = runner
        self._filter = queue_filter if queue_filter is not None else \
            QueueFilter.open_incidents()
        self._page_size = page_size
        self._clock = clock
        self._now = clock()
        self._rows: list[IncidentRow] = []
        self._sort_column = DEFAULT_SORT_COLUMN
        self._sort_order = DEFAULT_SORT_ORDER
        # The order the loaded rows are in: it lags the requested one until the first page
        # of a new order is in, and a next page only makes sense in the rows' own order.
        self._rows_order = (self._sort_column, self._sort_order)
        self._started = False
        self._exhausted = False
        self._task: asyncio.Task[None] | None = None
        self._refresh_pending = False
        self._priorities: dict[int, PriorityView] = {}
        self._icons: dict[int, QIcon] = {}
        self._colours: dict[int, QColor] = {}
        self._major: QIcon | None = None
        self._escalation_icons: dict[Escalation, QIcon] = {}
        self._sla_cache: dict[int, tuple[tuple[int, int, datetime], SlaSummary]] = {}
        self._texts: dict[int, tuple[IncidentRow, list[str]]] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # --- state --------------------------------------------------------------------------

    @property
    def queue_filter(self) -> QueueFilter:
        return self._filter

    @property
    def loading(self) -> bool:
        """True while a page is being loaded."""
        return self._task is not None

    @property
    def exhausted(self) -> bool:
        """True once the last page is loaded."""
        return self._exhausted

    @property
    def sort_column(self) -> Column:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    def is_sortable(self, column: int) -> bool:
        return sort_key_for(column) is not None

    def row_at(self, row: int) -> IncidentRow:
        """The IncidentRow shown in ``row``."""
        return self._rows[row]

    def set_priorities(self, priorities: Iterable[PriorityView]) -> None:
        """Name and colour priorities as the current matrix does."""
        self._priorities = {p.rank: p for p in priorities}
        self._sla_cache.clear()
        self._texts.clear()
        self._colours = {rank: QColor(p.colour) for rank, p in self._priorities.items()}
        self._icons = {rank: _priority_icon(c) for rank, c in self._colours.items()}
        self._column_changed(Column.PRIORITY, Column.PRIORITY)
        self._column_changed(Column.SLA, Column.SLA)

    def tick(self) -> None:
        """Move "now" on, so the SLA column counts down without a reload."""
        self._now = self._clock()
        self._column_changed(Column.SLA, Column.SLA)

    def _column_changed(self, first: Column, last: Column) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, first), self.index(len(self._rows) - 1, last))

    # --- loading ------------------------------------------------------------------------

    async def reload(self) -> None:
        """Load the first page again (the queue, order and filter kept); wait until it is in.

        A failure is reported through ``load_failed``, not raised.
        """
        self._started = True
        task = self._start_load(reset=True)
        # asyncio.wait, not await: if a newer reload or sort supersedes this one, the
        # cancellation belongs to the old page load, not to whoever awaits reload().
        await asyncio.wait({task})

    async def set_filter(self, queue_filter: QueueFilter) -> None:
        """Show another queue: its first page in the current order; wait until it is in."""
        self._filter = queue_filter
        await self.reload()

    async def refresh(self, queue_filter: QueueFilter | None = None) -> None:
        """Load the rows shown again, in place: changed rows update, new ones appear, gone
        ones leave, and the view keeps its selection and scroll position.

        Reloads the rows loaded now (up to REFRESH_LIMIT). While a page is loading, the
        refresh waits its turn and runs right after it: the page in flight may have been
        read before the change it is meant to show.

        Args:
            queue_filter: the same queue's filter as of now (relative conditions such as
                "resolved in the last 7 days" move with the clock); None keeps the filter.
        """
        if queue_filter is not None:
            self._filter = queue_filter
        if not self._started:
            await self.reload()
            return
        if self._task is not None:
            self._refresh_pending = True
            return
        await asyncio.wait({self._start_refresh()})

    def _start_refresh(self) -> asyncio.Task[None]:
        self._refresh_pending = False
        task = self._runner.spawn(self._refresh(), name="incident queue refresh")
        self._task = task
        task.add_done_callback(self._load_done)
        self.loading_changed.emit(True)
        return task

    def _after_load(self) -> None:
        """Run a refresh that was asked for while the load that just ended was in flight."""
        if self._refresh_pending and self._task is None and self._started:
            self._start_refresh()

    async def _refresh(self) -> None:
        # A little more than is shown: a new incident above pushes the last rows down, and
        # they must stay (the selection may be on them), not fall off the end.
        last_id = self._rows[-1].id if self._rows else None
        shown = len(self._rows)
        wanted = min(max(shown, self._page_size) + REFRESH_SLACK, REFRESH_LIMIT)
        order = (self._sort_column, self._sort_order)
        key = sort_key_for(self._sort_column)
        assert key is not None
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        rows: list[IncidentRow] = []
        exhausted = False
        try:
            while len(rows) < wanted:
                limit = min(wanted - len(rows), MAX_PAGE)
                page = await self._runner.db(self._source.list_queue, QueueQuery(
                    filter=self._filter, sort=key, descending=descending,
                    after=cursor_after(rows[-1], key) if rows else None, limit=limit))
                rows.extend(page)
                if len(page) < limit:
                    exhausted = True
                    break
        except Exception as exc:
            self._task = None
            self.loading_changed.emit(False)
            log.warning("Refreshing the queue failed", exc_info=exc)
            self.load_failed.emit(describe_error(exc))
            self._after_load()
            return
        ids = [r.id for r in rows]
        if last_id in ids:
            keep = max(ids.index(last_id) + 1, min(shown, len(rows)))
        else:
            keep = min(max(shown, self._page_size), len(rows))
        if keep < len(rows):
            rows, exhausted = rows[:keep], False
        self._merge(rows)
        self._rows_order = order
        self._task = None
        self._exhausted = exhausted
        self._now = self._clock()
        self.loading_changed.emit(False)
        self.refreshed.emit()
        self._after_load()

    def _merge(self, new: list[IncidentRow]) -> None:
        """Turn the loaded rows into ``new`` with row moves, inserts and removals.

        Persistent indexes (the selection, the current row) follow their incidents, which a
        model reset would throw away.
        """
        # A row that moved between two of the refresh's pages may come twice: keep the first.
        seen: set[int] = set()
        new = [r for r in new if not (r.id in seen or seen.add(r.id))]  # type: ignore[func-returns-value]
        keep = seen
        end = len(self._rows)
        while end > 0:  # removals, back to front, a run at a time
            if self._rows[end - 1].id in keep:
                end -= 1
                continue
            start = end - 1
            while start > 0 and self._rows[start - 1].id not in keep:
                start -= 1
            self.beginRemoveRows(QModelIndex(), start, end - 1)
            try:
                del self._rows[start:end]
            finally:
                self.endRemoveRows()
            end = start
        present = {r.id for r in self._rows}
        changed: list[int] = []
        for target, row in enumerate(new):
            if target < len(self._rows) and self._rows[target].id == row.id:
                if self._rows[target] != row:
                    self._rows[target] = row
                    changed.append(target)
                continue
            if row.id not in present:
                self.beginInsertRows(QModelIndex(), target, target)
                try:
                    self._rows.insert(target, row)
                finally:
                    self.endInsertRows()
                continue
            source = next(i for i in range(target + 1, len(self._rows))
                          if self._rows[i].id == row.id)
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target)
            try:
                self._rows.insert(target, self._rows.pop(source))
            finally:
                self.endMoveRows()
            if self._rows[target] != row:
                self._rows[target] = row
                changed.append(target)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0),
                                  self.index(max(changed), len(Column) - 1))

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid():
            return False
        # A view may still ask after its window closed and the runner with it.
        return (self._started and not self._exhausted and self._task is None
                and self._rows_order == (self._sort_column, self._sort_order)
                and not self._runner.closed)

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._start_load(reset=False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if sort_key_for(column) is None:
            return
        column = Column(column)
        if (column, order) == (self._sort_column, self._sort_order):
            return
        self._sort_column, self._sort_order = column, order
        if self._started:
            self._start_load(reset=True)

    def set_order(self, column: Column, order: Qt.SortOrder) -> None:
        """Change the order without loading: for a caller about to load a new queue anyway."""
        if sort_key_for(column) is not None:
            self._sort_column, self._sort_order = column, order

    def _query(self, reset: bool) -> QueueQuery:
        key = sort_key_for(self._sort_column)
        assert key is not None
        after = None if reset or not self._rows else cursor_after(self._rows[-1], key)
        return QueueQuery(
            filter=self._filter,
            sort=key,
            descending=self._sort_order == Qt.SortOrder.DescendingOrder,
            after=after,
            limit=self._page_size,
        )

    def _start_load(self, *, reset: bool) -> asyncio.Task[None]:
        if self._task is not None:
            # The page in flight is for an order or a start that no longer holds.
            self._task.cancel()
        query = self._query(reset)
        task = self._runner.spawn(self._load(query, reset), name="incident page")
        was_loading = self._task is not None
        self._task = task
        task.add_done_callback(self._load_done)
        if not was_loading:
            self.loading_changed.emit(True)
        return task

    def cancel(self) -> None:
        """Stop a page load in flight, quietly: for a view that is going away."""
        task, self._task = self._task, None
        if task is not None:
            task.remove_done_callback(self._load_done)
            task.cancel()

    def _load_done(self, task: asyncio.Task[None]) -> None:
        # Only for a load that ended without clearing itself (cancelled by close()).
        if self._task is task:
            self._task = None
            self.loading_changed.emit(False)

    async def _load(self, query: QueueQuery, reset: bool) -> None:
        try:
            rows = await self._runner.db(self._source.list_queue, query)
        except Exception as exc:
            self._task = None
            if reset:
                # The rows keep their order: so does the model, and paging goes on in it.
                self._sort_column, self._sort_order = self._rows_order
                self.order_restored.emit()
            self.loading_changed.emit(False)
            log.warning("Loading a page of the queue failed", exc_info=exc)
            self.load_failed.emit(describe_error(exc))
            self._after_load()
            return
        if reset:
            self._replace(rows, query.limit)
        else:
            self._append(rows, query.limit)
        # A view may have asked for the next page as soon as it saw these rows.
        if self._task is None:
            self.loading_changed.emit(False)
        if reset:
            self.reloaded.emit()
        self._after_load()

    def _take_page(self, rows: list[IncidentRow], limit: int) -> None:
        """The state after a page: called between begin* and end*, never before begin*.

        Views and testers call canFetchMore/fetchMore from inside the model's signals: before
        the change (rowsAboutToBeInserted) they must see the old state, still loading; after
        it (rowsInserted) the new one, ready for the next page.
        """
        self._task = None
        self._exhausted = len(rows) < limit
        self._now = self._clock()

    def _replace(self, rows: list[IncidentRow], limit: int) -> None:
        self.beginResetModel()
        try:
            self._rows = rows
            self._sla_cache.clear()
            self._texts.clear()
            self._rows_order = (self._sort_column, self._sort_order)
            self._take_page(rows, limit)
        finally:
            self.endResetModel()

    def _append(self, rows: list[IncidentRow], limit: int) -> None:
        if not rows:
            self._take_page(rows, limit)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        try:
            self._rows.extend(rows)
            self._take_page(rows, limit)
        finally:
            self.endInsertRows()

    # --- Qt model interface -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren | Qt.ItemFlag.ItemIsDragEnabled

    # --- dragging rows out (onto the workload view) -------------------------------------

    def mimeTypes(self) -> list[str]:
        return [INCIDENTS_MIME_TYPE]

    def supportedDragActions(self) -> Qt.DropAction:
        # Copy: a drop reassigns; the rows never leave the queue by being dragged.
        return Qt.DropAction.CopyAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        """The dragged rows' incidents (id, version, number), each once, in row order."""
        rows = sorted({i.row() for i in indexes
                       if i.isValid() and 0 <= i.row() < len(self._rows)})
        return pack_incidents(DraggedIncident(self._rows[r].id, self._rows[r].version,
                                              self._rows[r].number) for r in rows)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        spec = COLUMNS[Column(section)]
        if role == Qt.ItemDataRole.DisplayRole:
            return spec.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return spec.tooltip
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            return spec.first_order.value

        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A screenful asks for thousands of (cell, role) pairs per paint, most of them for
        # roles this model does not answer: those leave first, and nothing builds an enum.
        if role not in _ANSWERED_ROLES or not index.isValid():
            return None
        row_number, column_number = index.row(), index.column()
        if not (0 <= row_number < len(self._rows) and 0 <= column_number < len(_BY_INDEX)):
            return None
        row = self._rows[row_number]
        column = _BY_INDEX[column_number]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.SLA:
                return self._sla(row).text
            texts = self._texts.get(row.id)
            if texts is None or texts[0] is not row:
                # Each paint asks again for every visible cell: format a row once.
                texts = (row, [self._display(row, c) for c in _BY_INDEX])
                self._texts[row.id] = texts
            return texts[1][column]
        if role == Qt.ItemDataRole.DecorationRole:
            if column == Column.PRIORITY:
                return self._icons.get(row.priority)
            if column == Column.NUMBER and row.is_major:
                return self._major_icon()
            if column == Column.STATE and row.escalation is not None:
                return self._escalation_icon(row.escalation)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, column)
        if role == Qt.ItemDataRole.FontRole:
            return self._font(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(row, column)
            return None if tip is None else plain_tooltip(tip)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT
        if role == ItemRole.ROW:
            return row
        if role == ItemRole.ID:
            return row.id
        if role == ItemRole.PRIORITY_COLOUR:
            return self._colours.get(row.priority)
        if role == ItemRole.SLA:
            return self._sla(row) if column == Column.SLA else None
        if role == ItemRole.SLA_LEFT_SHARE:
            return self._sla_left_share(row) if column == Column.SLA else None
        if role == ItemRole.SORT_VALUE:
            key = sort_key_for(column)
            return None if key is None else cursor_after(row, key)[0]
        return None

    def _display(self, row: IncidentRow, column: Column) -> str:
        match column:
            case Column.NUMBER:
                return row.number
            case Column.PRIORITY:
                priority = self._priorities.get(row.priority)
                return priority.label if priority else f"P{row.priority}"
            case Column.SHORT_DESCRIPTION:
                return row.short_description
            case Column.CALLER:
                return f"{VIP_MARK}{row.caller_name}" if row.caller_vip else row.caller_name
            case Column.STATE:
                return row.state.label
            case Column.GROUP:
                return row.group_name or NO_GROUP
            case Column.ASSIGNEE:
                return row.assignee_name or UNASSIGNED
            case Column.OPENED:
                return format_timestamp(row.opened_at)
            case Column.SLA:
                return self._sla(row).text
            case Column.UPDATED:
                return format_timestamp(row.updated_at)
            case Column.CONFIGURATION_ITEM:
                return row.configuration_item_name or NO_GROUP

    def _escalation_icon(self, escalation: Escalation) -> QIcon:
        icon = self._escalation_icons.get(escalation)
        if icon is None:
            icon = _escalation_icon(ESCALATION_COLOURS[escalation])
            self._escalation_icons[escalation] = icon
        return icon

    def _major_icon(self) -> QIcon:
        if self._major is None:
            self._major = _major_incident_icon()
        return self._major

    def _sla(self, row: IncidentRow) -> SlaSummary:
        # Text, colour, font and the delegate's bar all ask; work it out once per "now".
        key = (row.id, row.version, self._now)
        cached = self._sla_cache.get(row.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        priority = self._priorities.get(row.priority)
        summary = sla_summary(row, self._now, priority.resolution_minutes if priority else None)
        self._sla_cache[row.id] = (key, summary)
        return summary

    def _sla_left_share(self, row: IncidentRow) -> float | None:
        summary = self._sla(row)
        priority = self._priorities.get(row.priority)
        if summary.remaining is None or priority is None or summary.state in (
                SlaState.MET, SlaState.NONE):
            return None
        target = priority.resolution_minutes * 60
        return max(0.0, min(1.0, summary.remaining.total_seconds() / target)) if target else None

    def _foreground(self, row: IncidentRow, column: Column) -> QColor | None:
        if column == Column.SLA:
            state = self._sla(row).state
            colours = theme.colours()
            if state == SlaState.OVERDUE:
                return colours.error
            if state == SlaState.AT_RISK:
                return colours.warning
            if state in (SlaState.PAUSED, SlaState.NONE):
                return colours.muted
        elif (column == Column.ASSIGNEE and row.assignee_name is None) or \
                (column == Column.GROUP and row.group_name is None) or \
                (column == Column.CONFIGURATION_ITEM and row.configuration_item_name is None):
            return theme.colours().muted
        return None

    def _font(self, row: IncidentRow, column: Column) -> QFont | None:
        overdue = column == Column.SLA and self._sla(row).state == SlaState.OVERDUE
        if (row.is_major and column == Column.NUMBER) or overdue:
            return self._bold
        return None

    def _tooltip(self, row: IncidentRow, column: Column) -> str | None:
        match column:
            case Column.NUMBER:
                return f"{row.number} (major incident)" if row.is_major else row.number
            case Column.PRIORITY:
                return f"Impact {row.impact}, urgency {row.urgency}"
            case Column.SHORT_DESCRIPTION:
                return row.short_description
            case Column.CALLER:
                return f"{row.caller_name} (VIP)" if row.caller_vip else row.caller_name
            case Column.STATE if row.escalation is not None:
                return f"{row.state.label}. {ESCALATION_TEXT[row.escalation]}"
            case Column.SLA:
                return f"Resolution due {format_timestamp(row.resolution_due_at)}"
            case Column.OPENED:
                return _full_time(row.opened_at)
            case Column.UPDATED:
                return _full_time(row.updated_at)
            case _:
                return None


def _full_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%A %d %B %Y, %H:%M:%S %Z")
