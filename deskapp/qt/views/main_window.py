"""The main window: the queue of open incidents, a toolbar and a status bar."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFontMetrics
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QStyle,
    QTableView,
    QWidget,
)

from deskapp.domain.people import User
from deskapp.qt.generated.main_window_ui import Ui_MainWindow
from deskapp.qt.models.incident_table_model import Column, IncidentTableModel
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.incidents import IncidentService, utc_now
from deskapp.services.ports import Clock
from deskapp.services.queries import QueueFilter
from deskapp.services.reference import ReferenceService

log = logging.getLogger(__name__)

SLA_TICK_MS = 30_000
"""How often the SLA column counts down; its text changes by the minute."""

HEADER_LAYOUT_VERSION = 1
"""Bump when the columns change, so a saved header layout from before is not misapplied."""

# Sample text per column: a section is wide enough for its longest usual value, never
# measured over the rows (ResizeToContents would read every loaded row on each change).
_SAMPLES: dict[Column, str] = {
    Column.NUMBER: "INC0000000",
    Column.PRIORITY: "P3 - Moderate",
    Column.CALLER: "★ Margaret Hamilton",
    Column.STATE: "In Progress",
    Column.GROUP: "End-User Computing",
    Column.ASSIGNEE: "Franziska Müller",
    Column.OPENED: "2026-12-31 23:59",
    Column.SLA: "Paused, 23h 59m left",
    Column.UPDATED: "2026-12-31 23:59",
}
_DECORATION = 22
"""Room for the priority dot and its margin."""
_PADDING = 16
"""Cell margins on both sides."""


class MainWindow(QMainWindow):
    """Lists the open incidents of the database for the signed-in user.

    Signals:
        closed(): the window was closed; the application ends when it is.
        incident_activated(int): the user opened an incident (double click or Enter); the
            argument is its id.
    """

    closed = Signal()
    incident_activated = Signal(int)

    def __init__(
        self,
        *,
        incidents: IncidentService,
        reference: ReferenceService,
        runner: DbRunner,
        user: User,
        database_name: str,
        window_settings: QSettings,
        clock: Clock = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        """Build the window; nothing is loaded until ``refresh()``.

        Args:
            incidents: the incident service, acting as ``user``.
            reference: reference data (the priorities of the matrix).
            runner: runs service calls off the GUI thread.
            user: the signed-in user.
            database_name: the database as the status bar shows it (no password).
            window_settings: where the window layout is kept between sessions.
            clock: "now" for the SLA column.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self._incidents = incidents
        self._reference = reference
        self._runner = runner
        self._user = user
        self._settings = window_settings
        self._queue_filter = QueueFilter.open_incidents()
        self._busy_calls = 0
        self._error_box: QMessageBox | None = None
        self._open_count: int | None = None
        self._closed = False
        self._showing_load_error = False
        # The window's own tasks, cancelled when it closes so none outlives its widgets.
        self._tasks: set[asyncio.Task[Any]] = set()

        self._ui = Ui_MainWindow()
        self._ui.setupUi(self)  # type: ignore[no-untyped-call]
        self.setWindowTitle("Open incidents — Deskapp")
        if self._ui.actionRefresh.icon().isNull():
            # No icon theme (Windows, macOS, bare X11): the style's own reload icon.
            self._ui.actionRefresh.setIcon(
                self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))

        self._model = IncidentTableModel(incidents, runner, queue_filter=self._queue_filter,
                                         clock=clock, parent=self)
        self._build_status_bar(database_name)
        self._set_up_table()
        self._restore_layout()

        self._ui.actionRefresh.triggered.connect(self.start_refresh)
        self._ui.actionQuit.triggered.connect(self.close)
        self._model.loading_changed.connect(self._update_busy)
        self._model.load_failed.connect(self._show_load_error)
        self._model.reloaded.connect(self._on_reloaded)
        self._runner.task_failed.connect(self.show_error)
        self.table.activated.connect(self._on_activated)

        self._sla_timer = QTimer(self)
        self._sla_timer.setInterval(SLA_TICK_MS)
        self._sla_timer.timeout.connect(self._model.tick)
        self._sla_timer.start()

    # --- parts, for the application and for tests ----------------------------------------

    @property
    def table(self) -> QTableView:
        return self._ui.incidentTable

    @property
    def model(self) -> IncidentTableModel:
        return self._model

    @property
    def busy(self) -> bool:
        """True while anything is being loaded."""
        return self._busy_calls > 0 or self._model.loading

    @property
    def open_count(self) -> int | None:
        """The number of open incidents, once counted."""
        return self._open_count

    @property
    def count_label(self) -> QLabel:
        return self._count_label

    @property
    def busy_indicator(self) -> QProgressBar:
        return self._busy_bar

    @property
    def error_box(self) -> QMessageBox | None:
        return self._error_box

    # --- set-up -------------------------------------------------------------------------

    def _build_status_bar(self, database_name: str) -> None:
        bar = self._ui.statusBar
        self._busy_bar = QProgressBar(self)
        self._busy_bar.setObjectName("busyIndicator")
        self._busy_bar.setRange(0, 0)  # no known end: an indeterminate "working" bar
        self._busy_bar.setTextVisible(False)
        self._busy_bar.setFixedSize(96, 12)
        self._busy_bar.setToolTip("Loading from the database…")
        self._busy_bar.hide()
        self._count_label = QLabel("Counting…", self)
        self._count_label.setObjectName("countLabel")
        self._user_label = QLabel(f"Signed in as {self._user.full_name}", self)
        self._user_label.setObjectName("userLabel")
        self._user_label.setToolTip(f"Signed in as {self._user.username}, "
                                    f"role {self._user.role.value}")
        self._database_label = QLabel(self)
        self._database_label.setObjectName("databaseLabel")
        self._database_label.setToolTip(database_name)
        # A SQLite URL is a file path with a prefix people do not need; long paths would
        # push everything else away, so the middle gives way.
        shown = database_name.removeprefix("sqlite:///")
        metrics = QFontMetrics(self._database_label.font())
        self._database_label.setText(
            metrics.elidedText(f"Database: {shown}", Qt.TextElideMode.ElideMiddle, 360))
        for widget in (self._busy_bar, self._count_label, self._user_label,
                       self._database_label):
            bar.addPermanentWidget(widget)
            widget.setContentsMargins(6, 0, 6, 0)

    def _set_up_table(self) -> None:
        table = self.table
        table.setModel(self._model)
        metrics = table.fontMetrics()
        header = table.horizontalHeader()
        header_metrics = QFontMetrics(header.font())
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(48)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, sample in _SAMPLES.items():
            title = str(self._model.headerData(column, Qt.Orientation.Horizontal))
            width = max(metrics.horizontalAdvance(sample), header_metrics.horizontalAdvance(title))
            if column == Column.PRIORITY:
                width += _DECORATION
            header.resizeSection(column, width + _PADDING)
        # The description takes whatever room is left; it is what people read first.
        header.setSectionResizeMode(Column.SHORT_DESCRIPTION, QHeaderView.ResizeMode.Stretch)

        rows = table.verticalHeader()
        # A fixed row height lets the view place rows without asking the model for sizes.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(metrics.height() + 4)
        rows.setDefaultSectionSize(metrics.height() + 10)

        header.setSortIndicator(self._model.sort_column, self._model.sort_order)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)

    def _restore_layout(self) -> None:
        settings = self._settings
        settings.beginGroup(self._settings_group)
        try:
            geometry = settings.value("geometry")
            if isinstance(geometry, QByteArray):
                self.restoreGeometry(geometry)
            header_state = settings.value("header_state")
            version = settings.value("header_version")
            if isinstance(header_state, QByteArray) and \
                    str(version) == str(HEADER_LAYOUT_VERSION):
                self.table.horizontalHeader().restoreState(header_state)
        finally:
            settings.endGroup()
        header = self.table.horizontalHeader()
        if not self._model.is_sortable(header.sortIndicatorSection()):
            header.setSortIndicator(self._model.sort_column, self._model.sort_order)
        # Enabling sorting applies the (restored) sort indicator to the model, before the
        # first load, so the first page comes in the order the user left it.
        self.table.setSortingEnabled(True)
        header.sortIndicatorChanged.connect(self._on_sort_indicator_changed)

    def _save_layout(self) -> None:
        settings = self._settings
        settings.beginGroup(self._settings_group)
        try:
            settings.setValue("geometry", self.saveGeometry())
            settings.setValue("header_state", self.table.horizontalHeader().saveState())
            settings.setValue("header_version", HEADER_LAYOUT_VERSION)
        finally:
            settings.endGroup()
        settings.sync()

    @property
    def _settings_group(self) -> str:
        # Per user: agents sharing a PC each keep their own columns.
        return f"users/{self._user.username}/main_window"

    # --- loading ------------------------------------------------------------------------

    def start_refresh(self) -> asyncio.Task[None]:
        """Reload everything the window shows, in the background.

        The busy indicator shows at once, before the task gets its first turn.
        """
        task = self._runner.spawn(self.refresh(), name="main window refresh")
        self.begin_busy()
        task.add_done_callback(lambda _task: self.end_busy())
        return task

    async def refresh(self) -> None:
        """Reload the priorities, the queue and its count; errors go to the status bar.

        Closing the window cancels a refresh in progress, however it was started.
        """
        if self._closed:
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await asyncio.gather(self._load_priorities(), self._model.reload(),
                                 self._load_count())
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _load_priorities(self) -> None:
        self.begin_busy()
        try:
            priorities = await self._runner.db(self._reference.priorities)
        except Exception as exc:
            log.warning("Loading the priorities failed", exc_info=exc)
            self._show_load_error(describe_error(exc))
            return
        finally:
            self.end_busy()
        if not self._closed:
            self._model.set_priorities(priorities)

    async def _load_count(self) -> None:
        self.begin_busy()
        try:
            count = await self._runner.db(self._incidents.count, self._queue_filter)
        except Exception as exc:
            log.warning("Counting the open incidents failed", exc_info=exc)
            self._count_label.setText("Count unavailable")
            self._show_load_error(describe_error(exc))
            return
        finally:
            self.end_busy()
        if self._closed:
            return
        self._open_count = count
        self._count_label.setText(f"{count:,} open incident{'' if count == 1 else 's'}")

    def begin_busy(self) -> None:
        """Show the busy indicator until the matching end_busy()."""
        self._busy_calls += 1
        self._update_busy()

    def end_busy(self) -> None:
        """End one begin_busy()."""
        self._busy_calls -= 1
        self._update_busy()

    def _update_busy(self) -> None:
        if not self._closed:  # cancelled loads unwind after close, maybe after deletion
            self._busy_bar.setVisible(self.busy)

    def _on_reloaded(self) -> None:
        # A good load ends an earlier load error's message (and only that kind).
        if self._showing_load_error:
            self._showing_load_error = False
            self._ui.statusBar.clearMessage()

    # --- errors -------------------------------------------------------------------------

    def _show_load_error(self, message: str) -> None:
        self.show_error(f"Could not load from the database: {message}")
        self._showing_load_error = True

    def show_error(self, message: str) -> None:
        """Tell the user something went wrong, without blocking the event loop.

        The message stays in the status bar until the next good load; a message box says
        it once (later errors update the box rather than stacking new ones).
        """
        if self._closed:
            return
        self._showing_load_error = False
        self._ui.statusBar.showMessage(f"⚠ {message}")
        if self._error_box is not None and self._error_box.isVisible():
            self._error_box.setInformativeText(message)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Deskapp",
                          "Something went wrong talking to the database.",
                          QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(message)
        # open(), not exec(): a nested event loop inside a coroutine would stall asyncio.
        box.open()
        self._error_box = box

    # --- events -------------------------------------------------------------------------

    def _on_sort_indicator_changed(self, column: int, _order: Qt.SortOrder) -> None:
        if not self._model.is_sortable(column):
            # The model ignored it; put the arrow back where the rows really are sorted.
            self.table.horizontalHeader().setSortIndicator(self._model.sort_column,
                                                           self._model.sort_order)

    def _column_menu(self, position: QPoint) -> None:
        """Let the user hide and show columns; the header's saved state remembers them."""
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for column in Column:
            if column in (Column.NUMBER, Column.SHORT_DESCRIPTION):
                continue  # without these a row means nothing
            action = menu.addAction(str(self._model.headerData(column,
                                                                Qt.Orientation.Horizontal)))
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            action.toggled.connect(
                lambda shown, c=column: header.setSectionHidden(c, not shown))
        menu.popup(header.mapToGlobal(position))

    def _on_activated(self, index: QModelIndex) -> None:
        incident_id = index.data(ItemRole.ID)
        if isinstance(incident_id, int):
            self.incident_activated.emit(incident_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self._sla_timer.stop()
            self._model.cancel()
            for task in list(self._tasks):
                task.cancel()
            self._save_layout()
        super().closeEvent(event)
        self.closed.emit()
