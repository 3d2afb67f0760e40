"""The main window: queues in a sidebar, the chosen queue's incidents, search, live updates."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QByteArray,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QStyle,
    QTableView,
    QWidget,
)

from deskapp.domain.errors import NotFoundError
from deskapp.domain.incident import typed_number
from deskapp.domain.people import User
from deskapp.qt import theme
from deskapp.qt.delegates.priority import PriorityDelegate
from deskapp.qt.delegates.queue_item import QueueItemDelegate
from deskapp.qt.delegates.sla import SlaDelegate
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.generated.main_window_ui import Ui_MainWindow
from deskapp.qt.live import LiveUpdates
from deskapp.qt.models.incident_table_model import COLUMNS, Column, IncidentTableModel
from deskapp.qt.models.queue_list_model import QueueListModel
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.changes import Change, ChangeNotice
from deskapp.services.incidents import IncidentService, utc_now
from deskapp.services.ports import ChangeFeed, Clock
from deskapp.services.queues import (
    BUILT_IN_QUEUES,
    DEFAULT_QUEUE_KEY,
    QueueKind,
    QueueService,
    QueueView,
    search_queue,
)
from deskapp.services.reference import ReferenceService

if TYPE_CHECKING:
    from deskapp.qt.views.filter_dialog import FilterDialog  # loaded when first opened

log = logging.getLogger(__name__)

SLA_TICK_MS = 30_000
"""How often the SLA column counts down; its text changes by the minute."""
SEARCH_DEBOUNCE_MS = 300
"""Typing pauses this long before a search runs: one query per burst of keys."""
LIVE_DEBOUNCE_MS = 400
"""Changes heard within this time are folded into one refresh."""
SEARCH_MIN_CHARS = 2
"""Shorter text matches too much to be worth a query."""

ACCOUNT_DEACTIVATED = ("Your account has been deactivated by an administrator; Deskapp will "
                       "close.")
DEACTIVATED_DRAFTS = ("Anything you typed in a form and had not saved is kept on this "
                      "computer as a draft, and offered back when you next sign in.")

HEADER_LAYOUT_VERSION = 3
"""Bump when the columns change, so a saved header layout from before is not misapplied."""
ADDED_COLUMNS: dict[int, tuple[Column, ...]] = {3: (Column.CONFIGURATION_ITEM,)}
"""The columns each layout version appended. A layout saved by an older version that only
lacks them is still restored (Qt adds the missing sections, shown); they are then hidden, as
for a new user, so nobody loses their column order and widths to a new column."""


def columns_added_since(version: object) -> tuple[Column, ...] | None:
    """The columns added after a header layout saved at ``version``; None if that layout
    cannot be applied (unknown, too old, or from a newer Deskapp)."""
    saved = int(str(version)) if str(version).isdigit() else None
    if saved is None or saved > HEADER_LAYOUT_VERSION:
        return None
    later = range(saved + 1, HEADER_LAYOUT_VERSION + 1)
    if any(v not in ADDED_COLUMNS for v in later):
        return None
    return tuple(c for v in later for c in ADDED_COLUMNS[v])

_FULL_NUMBER = re.compile(r"^\s*INC\d{7}\s*$", re.IGNORECASE)

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
    Column.SLA: "Paused, overdue 23h 59m",
    Column.UPDATED: "2026-12-31 23:59",
    Column.CONFIGURATION_ITEM: "exch-mbx-db01",
}
HIDDEN_BY_DEFAULT = (Column.UPDATED, Column.CONFIGURATION_ITEM)
"""Columns a new user does not see until they ask (header menu): room for the description."""
_DECORATION = 22
"""Room for the priority badge's margin and the major-incident mark."""
_PADDING = 16
"""Cell margins on both sides."""


class MainWindow(QMainWindow):
    """The queues of the signed-in user: a sidebar with counts, the chosen queue, search.

    Signals:
        closed(): the window was closed; the application ends when it is.
        incident_activated(int): the user opened an incident (Enter, double click, the Open
            action, or typing its full number in the search box); the argument is its id.
        log_call_requested(): the user asked to log a new call (Ctrl+N or the toolbar).
        live_refresh_started(): the window reloads what it shows after changes it made or
            heard of (debounced): other views (the workload panel) reload with it.
        first_rows_shown(): the first queue's first rows are in (or failed to load), once
            per window: work that can wait until the user sees the queue (the workload
            panel's figures, assignment notifications) starts then, in its shadow.
    """

    closed = Signal()
    incident_activated = Signal(int)
    log_call_requested = Signal()
    live_refresh_started = Signal()
    first_rows_shown = Signal()

    def __init__(
        self,
        *,
        incidents: IncidentService,
        reference: ReferenceService,
        queues: QueueService,
        runner: DbRunner,
        user: User,
        database_name: str,
        window_settings: QSettings,
        open_change_feed: Callable[[], ChangeFeed] | None = None,
        clock: Clock = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        """Build the window; nothing is loaded until ``refresh()``.

        Args:
            incidents: the incident service, acting as ``user``.
            reference: reference data (the priorities of the matrix).
            queues: the user's queues and saved filters.
            runner: runs service calls off the GUI thread.
            user: the signed-in user.
            database_name: the database as the status bar shows it (no password).
            window_settings: where the window layout is kept between sessions.
            open_change_feed: opens a feed of the database's changes, for live updates;
                None for a window that only refreshes when asked.
            clock: "now" for the SLA column.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self._incidents = incidents
        self._reference = reference
        self._queue_service = queues
        self._runner = runner
        self._user = user
        self._settings = window_settings
        self._busy_calls = 0
        self._error_box: QMessageBox | None = None
        self._closed = False
        self._showing_load_error = False
        self._current: QueueView | None = None
        self._before_search: str = DEFAULT_QUEUE_KEY
        self._user_order: tuple[Column, Qt.SortOrder] | None = None
        self._remembered_queue = DEFAULT_QUEUE_KEY
        self._selecting = False
        self._first_rows_done = False
        # The window's own tasks, cancelled when it closes so none outlives its widgets.
        self._tasks: set[asyncio.Task[Any]] = set()

        self._ui = Ui_MainWindow()
        self._ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self._use_style_icons()

        self._model = IncidentTableModel(incidents, runner, clock=clock, parent=self)
        self._queue_model = QueueListModel(self)
        self._build_search_box()
        self._build_status_bar(database_name)
        self._set_up_sidebar()
        self._set_up_table()
        self._restore_layout()
        self._connect_actions()

        self._sla_timer = QTimer(self)
        self._sla_timer.setInterval(SLA_TICK_MS)
        self._sla_timer.timeout.connect(self._model.tick)
        self._sla_timer.start()

        self._live: LiveUpdates | None = None
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_DEBOUNCE_MS)
        self._live_timer.timeout.connect(self._start_live_refresh)
        if open_change_feed is not None:
            self._live = LiveUpdates(open_change_feed, self)
            self._live.changed.connect(self._on_changes_heard)
            self._live.connection_lost.connect(self._on_connection_lost)
            self._live.connection_restored.connect(self._on_connection_restored)
            self._live.login_refused.connect(self._on_login_refused)

    # --- parts, for the application and for tests ----------------------------------------

    @property
    def table(self) -> QTableView:
        return self._ui.incidentTable

    @property
    def queue_list(self) -> QListView:
        return self._ui.queueList

    @property
    def search_box(self) -> QLineEdit:
        return self._search_box

    @property
    def model(self) -> IncidentTableModel:
        return self._model

    @property
    def queue_model(self) -> QueueListModel:
        return self._queue_model

    @property
    def current_queue(self) -> QueueView | None:
        """The queue the table shows."""
        return self._current

    @property
    def first_rows_done(self) -> bool:
        """True once ``first_rows_shown`` has been emitted."""
        return self._first_rows_done

    @property
    def busy(self) -> bool:
        """True while anything is being loaded."""
        return self._busy_calls > 0 or self._model.loading

    @property
    def current_count(self) -> int | None:
        """How many incidents the queue shown holds, once counted."""
        if self._current is None:
            return None
        return self._queue_model.count_of(self._current.key)

    @property
    def count_label(self) -> QLabel:
        return self._count_label

    @property
    def connection_label(self) -> QLabel:
        return self._connection_label

    @property
    def banner(self) -> QWidget:
        """The strip above the queue that says the connection is lost."""
        return self._ui.connectionBanner

    @property
    def busy_indicator(self) -> QProgressBar:
        return self._busy_bar

    @property
    def error_box(self) -> QMessageBox | None:
        return self._error_box

    def action(self, name: str) -> QAction:
        """One of the window's actions by object name (``actionLogCall``...), for tests."""
        found = getattr(self._ui, name)
        assert isinstance(found, QAction)
        return found

    # --- set-up -------------------------------------------------------------------------

    def _use_style_icons(self) -> None:
        # No icon theme (Windows, macOS, bare X11): the style's own icons instead.
        fallbacks = {
            self._ui.actionRefresh: QStyle.StandardPixmap.SP_BrowserReload,
            self._ui.actionOpen: QStyle.StandardPixmap.SP_DialogOpenButton,
            self._ui.actionLogCall: QStyle.StandardPixmap.SP_FileIcon,
            self._ui.actionSearch: QStyle.StandardPixmap.SP_FileDialogContentsView,
        }
        for action, pixmap in fallbacks.items():
            if action.icon().isNull():
                action.setIcon(self.style().standardIcon(pixmap))

    def _build_search_box(self) -> None:
        box = QLineEdit(self)
        box.setObjectName("searchBox")
        box.setPlaceholderText("Search incidents or type a number (Ctrl+F)")
        box.setClearButtonEnabled(True)
        box.setAccessibleName("Search incidents")
        box.setToolTip("Words in numbers, descriptions and notes; INC0001234 opens it")
        box.setMinimumWidth(280)
        box.setMaximumWidth(440)
        self._ui.mainToolBar.addSeparator()
        self._ui.mainToolBar.addWidget(box)
        self._search_box = box
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._start_search)
        box.textEdited.connect(lambda _text: self._search_timer.start())
        box.textChanged.connect(self._on_search_text_changed)
        box.returnPressed.connect(self._search_now)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), box)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self._leave_search)
        escape.setWhatsThis("Leave the search, back to the queue")

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
        self._count_label.setTextFormat(Qt.TextFormat.PlainText)  # names a saved filter
        self._connection_label = QLabel(self)
        self._connection_label.setObjectName("connectionLabel")
        self._set_connected(True)
        self._user_label = QLabel(f"Signed in as {self._user.full_name}", self)
        self._user_label.setObjectName("userLabel")
        self._user_label.setTextFormat(Qt.TextFormat.PlainText)
        self._user_label.setToolTip(plain_tooltip(f"Signed in as {self._user.username}, "
                                                  f"role {self._user.role.value}"))
        self._database_label = QLabel(self)
        self._database_label.setObjectName("databaseLabel")
        self._database_label.setToolTip(plain_tooltip(database_name))
        # A SQLite URL is a file path with a prefix people do not need; long paths would
        # push everything else away, so the middle gives way.
        shown = database_name.removeprefix("sqlite:///")
        metrics = QFontMetrics(self._database_label.font())
        self._database_label.setText(
            metrics.elidedText(f"Database: {shown}", Qt.TextElideMode.ElideMiddle, 360))
        for widget in (self._busy_bar, self._count_label, self._connection_label,
                       self._user_label, self._database_label):
            bar.addPermanentWidget(widget)
            widget.setContentsMargins(6, 0, 6, 0)

    def _set_up_sidebar(self) -> None:
        view = self.queue_list
        view.setModel(self._queue_model)
        view.setItemDelegate(QueueItemDelegate(view))
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._queue_menu)
        view.selectionModel().currentChanged.connect(self._on_queue_current_changed)
        self._ui.splitter.setStretchFactor(0, 0)
        self._ui.splitter.setStretchFactor(1, 1)
        self._ui.splitter.setSizes([240, 1200])
        # Ctrl+1..9 jump to the built-in queues, in sidebar order.
        for number, queue in enumerate(BUILT_IN_QUEUES, start=1):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda key=queue.key: self.start_choose_queue(key))
            shortcut.setWhatsThis(f"Show {queue.title}")

    def _set_up_table(self) -> None:
        table = self.table
        table.setModel(self._model)
        table.setItemDelegateForColumn(Column.PRIORITY, PriorityDelegate(table))
        table.setItemDelegateForColumn(Column.SLA, SlaDelegate(table))
        metrics = table.fontMetrics()
        header = table.horizontalHeader()
        header_metrics = QFontMetrics(header.font())
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(48)
        header.setSectionsMovable(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, sample in _SAMPLES.items():
            title = str(self._model.headerData(column, Qt.Orientation.Horizontal))
            width = max(metrics.horizontalAdvance(sample), header_metrics.horizontalAdvance(title))
            if column in (Column.PRIORITY, Column.NUMBER):
                width += _DECORATION
            header.resizeSection(column, width + _PADDING)
        # The description takes whatever room is left; it is what people read first.
        header.setSectionResizeMode(Column.SHORT_DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        for column in HIDDEN_BY_DEFAULT:
            header.setSectionHidden(column, True)

        rows = table.verticalHeader()
        # A fixed row height lets the view place rows without asking the model for sizes.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(metrics.height() + 4)
        rows.setDefaultSectionSize(metrics.height() + 12)

        header.setSortIndicator(self._model.sort_column, self._model.sort_order)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)

    def _connect_actions(self) -> None:
        ui = self._ui
        ui.actionRefresh.triggered.connect(self.start_refresh)
        ui.actionQuit.triggered.connect(self.close)
        ui.actionLogCall.triggered.connect(self.log_call_requested)
        ui.actionOpen.triggered.connect(self.open_selected)
        ui.actionSearch.triggered.connect(self.focus_search)
        ui.actionNewFilter.triggered.connect(lambda: self._edit_filter(None))
        ui.actionEditFilter.triggered.connect(self._edit_current_filter)
        ui.actionDeleteFilter.triggered.connect(self._delete_current_filter)
        self._model.loading_changed.connect(self._update_busy)
        self._model.load_failed.connect(self._show_load_error)
        self._model.reloaded.connect(self._on_reloaded)
        self._model.order_restored.connect(
            lambda: self.table.horizontalHeader().setSortIndicator(self._model.sort_column,
                                                                   self._model.sort_order))
        self._runner.task_failed.connect(self.show_error)
        self.table.activated.connect(self._on_activated)
        self._update_filter_actions()

    def _restore_layout(self) -> None:
        settings = self._settings
        settings.beginGroup(self._settings_group)
        try:
            geometry = settings.value("geometry")
            if isinstance(geometry, QByteArray):
                self.restoreGeometry(geometry)
            splitter = settings.value("splitter")
            if isinstance(splitter, QByteArray):
                self._ui.splitter.restoreState(splitter)
            header_state = settings.value("header_state")
            version = settings.value("header_version")
            added = columns_added_since(version)
            if isinstance(header_state, QByteArray) and added is not None:
                header = self.table.horizontalHeader()
                if header.restoreState(header_state):
                    for column in added:
                        header.setSectionHidden(column, True)
            queue = settings.value("queue")
            if isinstance(queue, str) and queue:
                self._remembered_queue = queue
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
            settings.setValue("splitter", self._ui.splitter.saveState())
            settings.setValue("header_state", self.table.horizontalHeader().saveState())
            settings.setValue("header_version", HEADER_LAYOUT_VERSION)
            if self._current is not None and self._current.kind != QueueKind.SEARCH:
                settings.setValue("queue", self._current.key)
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
        """Reload the priorities, the queues with their counts, and the chosen queue.

        The first refresh also starts live updates. Errors go to the status bar; closing the
        window cancels a refresh in progress, however it was started.
        """
        if self._closed:
            return
        async with self._own_task():
            if self._live is not None:
                self._live.start()
            await asyncio.gather(self._load_priorities(), self._load_queues())
            if self._current is None:
                await self.choose_queue(self._remembered_queue)
            else:
                # In place: the rows update and the selection stays where the user left it.
                await asyncio.gather(self._reload_current(reset=False), self._load_counts())

    def _own_task(self) -> _TaskScope:
        return _TaskScope(self._tasks)

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

    async def _load_queues(self) -> None:
        self.begin_busy()
        try:
            queues = await self._runner.db(self._queue_service.queues)
        except Exception as exc:
            log.warning("Loading the queues failed", exc_info=exc)
            self._show_load_error(describe_error(exc))
            queues = list(BUILT_IN_QUEUES)
        finally:
            self.end_busy()
        if self._closed:
            return
        current = self._current.key if self._current is not None else None
        self._selecting = True
        try:
            self._queue_model.set_queues(queues)
            self._select_row_of(current)
        finally:
            self._selecting = False

    async def _load_counts(self) -> None:
        queues = self._queue_model.queues()
        if not queues:
            return
        self.begin_busy()
        try:
            counts = await self._runner.db(self._queue_service.counts, queues)
        except Exception as exc:
            log.warning("Counting the queues failed", exc_info=exc)
            self._count_label.setText("Count unavailable")
            self._show_load_error(describe_error(exc))
            return
        finally:
            self.end_busy()
        if self._closed:
            return
        # A count only stands for the queue it was made for: a search typed on meanwhile
        # keeps the key "search" but is another queue.
        listed = {q.key: q for q in self._queue_model.queues()}
        counted = {q.key: q for q in queues}
        self._queue_model.set_counts({key: count for key, count in counts.items()
                                      if listed.get(key) is counted[key]})
        self._show_count()

    def _show_count(self) -> None:
        if self._current is None:
            return
        count = self._queue_model.count_of(self._current.key)
        if count is None:
            self._count_label.setText("Counting…")
            return
        noun = "incident" if count == 1 else "incidents"
        self._count_label.setText(f"{count:,} {noun} in {self._current.title}")

    def start_choose_queue(self, key: str) -> None:
        """Show the queue with this key, in the background."""
        if not self._closed:
            self._runner.spawn(self.choose_queue(key), name="choose queue")

    async def choose_queue(self, key: str) -> None:
        """Show the queue with this key (the default queue if it is gone) and its count."""
        if self._closed:
            return
        async with self._own_task():
            await self._choose_queue(key)

    async def _choose_queue(self, key: str) -> None:
        row = self._queue_model.row_of(key)
        if row is None:
            row = self._queue_model.row_of(DEFAULT_QUEUE_KEY)
        queue = self._queue_model.queue_at(row) if row is not None else None
        if queue is None:
            return
        if queue.kind != QueueKind.SEARCH and self._queue_model.search is not None:
            self._drop_search()
        self._switch_order(queue)
        self._current = queue
        self._selecting = True
        try:
            self._select_row_of(queue.key)
        finally:
            self._selecting = False
        self._ui.queueTitle.setText(queue.title)
        self._ui.queueTitle.setToolTip(plain_tooltip(queue.description))
        self.setWindowTitle(f"{queue.title} — Deskapp")
        self._update_filter_actions()
        self._show_count()
        # The rows first, the counts after: the rows are what the user waits for, and on
        # SQLite's one database thread the counts would otherwise run before the page. One
        # busy span over both: the window is not idle between them.
        self.begin_busy()
        try:
            await self._reload_current(reset=True)
            self._note_first_rows()
            await self._load_counts()
        finally:
            self.end_busy()

    def _note_first_rows(self) -> None:
        if not self._first_rows_done and not self._closed:
            self._first_rows_done = True
            self.first_rows_shown.emit()

    def _switch_order(self, queue: QueueView) -> None:
        """Give a queue the order it is best read in (a search newest number first, the SLA
        queue most urgent first); leaving it gives back the order the user had chosen."""
        had_own = self._current is not None and self._current.order is not None
        if queue.order is not None:
            if not had_own:
                self._user_order = (self._model.sort_column, self._model.sort_order)
            key, descending = queue.order
            column = next(c for c, spec in COLUMNS.items() if spec.sort_key == key)
            self._apply_order(column, Qt.SortOrder.DescendingOrder if descending
                              else Qt.SortOrder.AscendingOrder)
        elif had_own and self._user_order is not None:
            self._apply_order(*self._user_order)
            self._user_order = None

    def _apply_order(self, column: Column, order: Qt.SortOrder) -> None:
        self._model.set_order(column, order)
        # The model already has this order, so the header's signal loads nothing.
        self.table.horizontalHeader().setSortIndicator(column, order)

    async def _reload_current(self, *, reset: bool) -> None:
        queue = self._current
        if queue is None:
            return
        self.begin_busy()
        try:
            queue_filter = await self._runner.db(self._queue_service.resolve, queue)
        except Exception as exc:
            log.warning("Resolving the queue failed", exc_info=exc)
            self._show_load_error(describe_error(exc))
            return
        finally:
            self.end_busy()
        if self._closed or queue is not self._current:
            return  # the user chose another queue meanwhile
        if reset:
            await self._model.set_filter(queue_filter)
        else:
            await self._model.refresh(queue_filter)

    def _select_row_of(self, key: str | None) -> None:
        row = None if key is None else self._queue_model.row_of(key)
        selection = self.queue_list.selectionModel()
        if row is None:
            selection.clearSelection()
            return
        selection.setCurrentIndex(self._queue_model.index(row),
                                  QItemSelectionModel.SelectionFlag.ClearAndSelect)

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

    # --- live updates -------------------------------------------------------------------

    def apply_change(self, change: Change) -> None:
        """Show a change this desktop made (a saved form) without waiting to hear of it."""
        if change.incident_ids or change.kinds:
            self._live_timer.start(0)

    def _on_changes_heard(self, notice: ChangeNotice) -> None:
        # Bursts (an agent saving, a bulk import) fold into one refresh.
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _start_live_refresh(self) -> None:
        if self._closed:
            return
        self.live_refresh_started.emit()
        if self._current is None:
            return
        self._runner.spawn(self._live_refresh(), name="live refresh")

    async def _live_refresh(self) -> None:
        async with self._own_task():
            await asyncio.gather(self._reload_current(reset=False), self._load_counts())

    def _on_connection_lost(self, message: str) -> None:
        self._set_connected(False)
        self._ui.bannerLabel.setText(
            "Lost the connection to the database. Reconnecting… Nothing you typed is lost.")
        self._ui.bannerLabel.setToolTip(plain_tooltip(message))
        self._ui.connectionBanner.show()

    def _on_connection_restored(self) -> None:
        self._set_connected(True)
        self._ui.connectionBanner.hide()
        self._ui.statusBar.showMessage("Connected again; reloading what changed meanwhile.",
                                       5000)
        # Nothing heard while away: reload everything, keeping the rows in place.
        self._live_timer.start(0)

    def _on_login_refused(self, message: str) -> None:
        """The server refuses this person's login: say so once, then close (forms' unsaved
        text is written as drafts when the window closes)."""
        if self._closed:
            return
        log.warning("Closing: %s", message)
        self._set_connected(False)
        self._connection_label.setText("● Signed out")
        self._connection_label.setToolTip(plain_tooltip(message))
        self._ui.bannerLabel.setText(ACCOUNT_DEACTIVATED)
        self._ui.bannerLabel.setToolTip(plain_tooltip(message))
        self._ui.connectionBanner.show()
        self._runner.spawn(self._close_deactivated(message), name="account deactivated")

    async def _close_deactivated(self, message: str) -> None:
        from deskapp.qt.widgets.questions import QuestionBox  # only ever needed here

        await QuestionBox.ask(self, "Account deactivated", ACCOUNT_DEACTIVATED,
                              QMessageBox.StandardButton.Ok, QMessageBox.StandardButton.Ok,
                              informative=DEACTIVATED_DRAFTS, icon=QMessageBox.Icon.Warning)
        self.close()

    def _set_connected(self, connected: bool) -> None:
        self._connection_label.setText("● Connected" if connected else "● Reconnecting…")
        colours = theme.colours()
        self._connection_label.setStyleSheet(
            theme.text_style(colours.success) if connected
            else theme.text_style(colours.error, bold=True))
        self._connection_label.setToolTip(
            "Live updates: changes by other agents appear within seconds" if connected
            else "The database cannot be reached; trying again")

    # --- search -------------------------------------------------------------------------

    def focus_search(self) -> None:
        """Put the cursor in the search box, its text selected for typing over."""
        self._search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search_box.selectAll()

    def _on_search_text_changed(self, text: str) -> None:
        if not text.strip() and self._queue_model.search is not None:
            # The clear button or deleting everything: back to where the user was.
            self._search_timer.stop()
            self._leave_search()

    def _search_now(self) -> None:
        self._search_timer.stop()
        self._start_search(entered=True)

    def _start_search(self, entered: bool = False) -> None:
        if not self._closed:
            self._runner.spawn(self.search(self._search_box.text(), entered=entered),
                               name="search")

    async def search(self, text: str, entered: bool = False) -> None:
        """Show the incidents matching ``text``; an incident number opens that incident.

        A full number (INC0000112) opens it as soon as it is typed. A number without its
        padding ("INC112", "0000112", "112") opens it when Enter confirms it (``entered``):
        while typing, "INC11" is on its way to INC0000112 or INC0001123, not INC0000011.
        Until then (or if no incident has that number) it is searched for, and the incident
        it names is among the matches.
        """
        async with self._own_task():
            text = text.strip()
            if _FULL_NUMBER.match(text) or (entered and typed_number(text) is not None):
                try:
                    detail = await self._runner.db(self._incidents.get_by_number, text)
                except NotFoundError:
                    pass  # not a known number: search for it as text
                else:
                    self._ui.statusBar.showMessage(f"Opened {detail.number}", 4000)
                    self.incident_activated.emit(detail.id)
                    return
            if len(text) < SEARCH_MIN_CHARS or self._search_box.text().strip() != text:
                return  # too short, or the user typed on (or pressed Esc) meanwhile
            if self._current is not None and self._current.kind != QueueKind.SEARCH:
                self._before_search = self._current.key
            queue = search_queue(text)
            self._queue_model.set_search(queue)
            await self.choose_queue(queue.key)

    def _leave_search(self) -> None:
        if self._search_box.text():
            self._search_box.clear()
        if self._queue_model.search is None:
            self.table.setFocus()
            return
        self._drop_search()
        self.start_choose_queue(self._before_search)
        self.table.setFocus()

    def _drop_search(self) -> None:
        self._selecting = True
        try:
            self._queue_model.set_search(None)
        finally:
            self._selecting = False

    # --- saved filters ------------------------------------------------------------------

    def _selected_saved_filter(self) -> QueueView | None:
        queue = self._current
        return queue if queue is not None and queue.kind == QueueKind.SAVED else None

    def _update_filter_actions(self) -> None:
        saved = self._selected_saved_filter() is not None
        self._ui.actionEditFilter.setEnabled(saved)
        self._ui.actionDeleteFilter.setEnabled(saved)

    def _edit_current_filter(self) -> None:
        queue = self._selected_saved_filter()
        if queue is not None:
            self._edit_filter(queue)

    def _edit_filter(self, queue: QueueView | None, *, copy_of: QueueView | None = None
                     ) -> FilterDialog:
        """Open the filter editor for a new filter, a copy, or a saved one (not modal)."""
        from deskapp.qt.views.filter_dialog import FilterDialog

        dialog = FilterDialog(self._queue_service, self._reference, self._runner,
                              queue=queue, copy_of=copy_of, parent=self)
        dialog.saved.connect(self._on_filter_saved)
        dialog.open()
        return dialog

    def _on_filter_saved(self, queue: QueueView) -> None:
        self._runner.spawn(self._show_saved_filter(queue), name="saved filter")

    async def _show_saved_filter(self, queue: QueueView) -> None:
        async with self._own_task():
            await self._load_queues()
            await self.choose_queue(queue.key)

    def _delete_current_filter(self) -> None:
        queue = self._selected_saved_filter()
        if queue is None or queue.saved_filter_id is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete filter",
                          f"Delete the saved filter “{queue.title}”?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the filter's name is the user's text
        box.setInformativeText("Only the filter goes; its incidents stay as they are.")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        filter_id = queue.saved_filter_id

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self._runner.spawn(self.delete_filter(filter_id), name="delete filter")

        box.finished.connect(answered)
        box.open()  # open(), not exec(): a nested event loop would stall asyncio

    async def delete_filter(self, filter_id: int) -> None:
        """Delete one of the user's saved filters and show the default queue."""
        async with self._own_task():
            try:
                await self._runner.db(self._queue_service.delete_filter, filter_id)
            except Exception as exc:
                self.show_error(describe_error(exc))
                return
            await self._load_queues()
            await self.choose_queue(DEFAULT_QUEUE_KEY)

    def _queue_menu(self, position: QPoint) -> None:
        index = self.queue_list.indexAt(position)
        queue = index.data(ItemRole.QUEUE) if index.isValid() else None
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if isinstance(queue, QueueView) and queue.kind == QueueKind.SAVED:
            menu.addAction("Edit filter…", lambda: self._edit_filter(queue))
            menu.addAction("Delete filter…", self._delete_current_filter)
            menu.addSeparator()
        if isinstance(queue, QueueView):
            menu.addAction("Save as a new filter…", lambda: self._edit_filter(
                None, copy_of=queue))
        menu.addAction(self._ui.actionNewFilter)
        menu.popup(self.queue_list.viewport().mapToGlobal(position))

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
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(message)
        # open(), not exec(): a nested event loop inside a coroutine would stall asyncio.
        box.open()
        self._error_box = box

    # --- events -------------------------------------------------------------------------

    def _on_queue_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._selecting or not current.isValid():
            return
        queue = current.data(ItemRole.QUEUE)
        if isinstance(queue, QueueView) and (self._current is None
                                             or queue.key != self._current.key):
            self.start_choose_queue(queue.key)

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

    def open_selected(self) -> None:
        """Open every selected incident (or the current one)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex()]
        for index in rows:
            self._on_activated(index)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self._sla_timer.stop()
            self._live_timer.stop()
            self._search_timer.stop()
            if self._live is not None:
                self._live.stop()
            self._model.cancel()
            for task in list(self._tasks):
                task.cancel()
            self._save_layout()
        super().closeEvent(event)
        self.closed.emit()


class _TaskScope:
    """Registers the running task with the window while a block runs, so close cancels it."""

    def __init__(self, tasks: set[asyncio.Task[Any]]) -> None:
        self._tasks = tasks
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        # Nested scopes of one task: only the outermost registers and unregisters it.
        if task is not None and task not in self._tasks:
            self._task = task
            self._tasks.add(task)

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._tasks.discard(self._task)
