"""The callers administration's table: callers by name, fetched a page at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from deskapp.qt import theme
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.caller_admin_dto import CallerAdminRow, CallerPage, CallerPageQuery

log = logging.getLogger(__name__)
AnyIndex = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 200


class CallerColumn(IntEnum):
    NAME = 0
    EMAIL = 1
    PHONE = 2
    DEPARTMENT = 3
    LOCATION = 4
    VIP = 5
    INCIDENTS = 6
    STATUS = 7


_TITLES = {CallerColumn.NAME: "Name", CallerColumn.EMAIL: "Email",
           CallerColumn.PHONE: "Phone", CallerColumn.DEPARTMENT: "Department",
           CallerColumn.LOCATION: "Location", CallerColumn.VIP: "VIP",
           CallerColumn.INCIDENTS: "Incidents", CallerColumn.STATUS: "Status"}


def status_text(row: CallerAdminRow) -> str:
    """"Active", "Inactive", "Merged into #n", with "to review" for flagged callers."""
    if row.merged_into_id is not None:
        text = f"Merged into #{row.merged_into_id}"
    else:
        text = "Active" if row.active else "Inactive"
    return f"{text}, to review" if row.needs_review else text


class CallerAdminModel(QAbstractTableModel):
    """Callers in name order; ``search`` starts over, scrolling fetches the next page.

    Roles: DisplayRole, ToolTipRole (status), TextAlignmentRole (counts), ForegroundRole
    (muted for inactive callers), ItemRole.ROW (the CallerAdminRow), ItemRole.ID (its id).

    Args:
        source: Reads one page (run in the runner's worker thread).
        runner: Runs database work off the GUI thread.
    """

    loaded = Signal(bool)
    """A page arrived; True when it was the first page of a new search."""
    load_failed = Signal(str)
    """Reading a page failed; the text says why."""

    def __init__(self, source: Callable[[CallerPageQuery], CallerPage], runner: DbRunner,
                 parent: QObject | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self._source = source
        self._runner = runner
        self._page_size = page_size
        self._rows: list[CallerAdminRow] = []
        self._query = CallerPageQuery(limit=page_size)
        self._next: tuple[str, int] | None = None
        self._task: asyncio.Task[None] | None = None

    # --- loading ------------------------------------------------------------------------

    def search(self, text: str, include_inactive: bool) -> asyncio.Task[None]:
        """Show the first page of callers matching ``text`` (a load in flight is dropped)."""
        self._query = CallerPageQuery(text.strip(), include_inactive, None, self._page_size)
        return self._start(self._query, reset=True)

    def _start(self, query: CallerPageQuery, *, reset: bool) -> asyncio.Task[None]:
        if self._task is not None:
            self._task.cancel()
        task = self._runner.spawn(self._load(query, reset), name="caller page")
        self._task = task
        return task

    async def _load(self, query: CallerPageQuery, reset: bool) -> None:
        try:
            page = await self._runner.db(self._source, query)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self._task = None
            log.warning("Loading a page of callers failed", exc_info=exc)
            self.load_failed.emit(describe_error(exc))
            return
        if reset:
            self.beginResetModel()
            try:
                self._rows = list(page.rows)
                self._task, self._next = None, page.next_after
            finally:
                self.endResetModel()
        elif page.rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.rows) - 1)
            try:
                self._rows.extend(page.rows)
                self._task, self._next = None, page.next_after
            finally:
                self.endInsertRows()
        else:
            self._task, self._next = None, page.next_after
        self.loaded.emit(reset)

    def cancel(self) -> None:
        """Drop a load in flight (the window is closing)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    @property
    def loading(self) -> bool:
        return self._task is not None

    @property
    def exhausted(self) -> bool:
        """Whether every matching caller is loaded."""
        return self._next is None

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        # A view may still ask after its window closed and the runner with it.
        return (not parent.isValid() and self._next is not None and self._task is None
                and not self._runner.closed)

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            query = CallerPageQuery(self._query.text, self._query.include_inactive,
                                    self._next, self._page_size)
            self._start(query, reset=False)

    # --- rows ---------------------------------------------------------------------------

    def set_rows(self, rows: list[CallerAdminRow], next_after: tuple[str, int] | None = None
                 ) -> None:
        """Show these rows (tests and previews; ``search`` is the normal way)."""
        self.beginResetModel()
        try:
            self._rows = list(rows)
            self._next = next_after
        finally:
            self.endResetModel()

    def row_at(self, row: int) -> CallerAdminRow:
        return self._rows[row]

    def row_of(self, caller_id: int) -> int | None:
        """The row showing this caller, if loaded."""
        return next((i for i, r in enumerate(self._rows) if r.id == caller_id), None)

    def update_row(self, row: CallerAdminRow) -> None:
        """Show a caller as it is now (after an edit), where it is listed."""
        at = self.row_of(row.id)
        if at is not None:
            self._rows[at] = row
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(CallerColumn) - 1))

    # --- Qt model interface -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CallerColumn)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(CallerColumn):
            return _TITLES[CallerColumn(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) \
                or not 0 <= index.column() < len(CallerColumn):
            return None
        row = self._rows[index.row()]
        column = CallerColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column == CallerColumn.VIP:
                return "VIP" if row.vip else ""
            if column == CallerColumn.INCIDENTS:
                return f"{row.incident_count:,}"
            if column == CallerColumn.STATUS:
                return status_text(row)
            return str(row.value(column.name.lower()))
        if role == Qt.ItemDataRole.ForegroundRole and not row.active:
            return theme.colours().muted  # inactive and merged callers recede
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CallerColumn.INCIDENTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"#{row.id}: {status_text(row)}"
        if role == ItemRole.ROW:
            return row
        if role == ItemRole.ID:
            return row.id
        return None
