"""The workload panel: each group's agents with their open incidents, a drop target."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from deskapp.qt.delegates.count_badge import PriorityCountDelegate
from deskapp.qt.formatting import format_timestamp
from deskapp.qt.generated.workload_view_ui import Ui_WorkloadView
from deskapp.qt.models.workload_model import WorkloadModel
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.reference import ReferenceService
from deskapp.services.workload import WorkloadService

log = logging.getLogger(__name__)

_COUNT_WIDTH = 40
_PRIORITY_WIDTH = 30
_PADDING = 10
_NAME_WIDTH = 150
"""Room for a group's or an agent's name when the panel has its natural width."""
_MIN_NAME_WIDTH = 120
"""The name column never gets narrower: past that the counts scroll instead."""
_MIN_TREE_WIDTH = 220
"""Narrower than this the tree is no use; between it and the natural width it scrolls."""
DEFAULT_SHARE = 0.3
"""The most of its window the panel asks for by default: the queue is the main thing."""
_MIN_DEFAULT_WIDTH = 300
NOTE_WIDTH = 220
"""What the panel asks for when it has only a note to show (the reader is in no group)."""


class WorkloadPanel(QWidget):
    """Shows the workload of the user's groups (every group for managers and admins).

    Loads when asked (``refresh``); the Team menu asks whenever the main window hears of a
    change, so the figures follow work as it moves. Incidents dropped on a row come out of
    the model's ``reassign_requested`` signal.

    Signals:
        loaded(): new figures are shown.
    """

    loaded = Signal()

    def __init__(self, service: WorkloadService, reference: ReferenceService,
                 runner: DbRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._reference = reference
        self._runner = runner
        self._ui = Ui_WorkloadView()
        self._ui.setupUi(self)  # type: ignore[no-untyped-call]
        self._model = WorkloadModel(self)
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._priorities_loaded = False
        self._natural_width = 0
        self.preferred_width: int | None = None
        """The width the user left the panel at (remembered by the Team menu), if any."""
        self._choices: dict[int, bool] = {}
        """Groups the user expanded (True) or collapsed (False) by hand, by group id."""
        self._applying = False
        tree = self.tree
        tree.setModel(self._model)
        tree.setAcceptDrops(True)
        tree.viewport().setAcceptDrops(True)
        tree.setDropIndicatorShown(True)
        self._model.modelReset.connect(self._after_reset)
        self._ui.refreshButton.clicked.connect(self.start_refresh)
        self._ui.expandButton.clicked.connect(tree.expandAll)
        self._counts_width = 0
        tree.viewport().installEventFilter(self)
        tree.expanded.connect(lambda index: self._remember(index, True))
        tree.collapsed.connect(lambda index: self._remember(index, False))

    @property
    def model(self) -> WorkloadModel:
        return self._model

    @property
    def tree(self) -> QTreeView:
        return self._ui.workloadTree

    @property
    def has_groups(self) -> bool | None:
        """Whether the reader has any group to watch; None until loaded."""
        workload = self._model.workload
        return None if workload is None else bool(workload.groups)

    def sizeHint(self) -> QSize:
        """What the dock gives the panel at first: the user's width if remembered, else the
        counts' natural width, but at most ``DEFAULT_SHARE`` of the window."""
        hint = super().sizeHint()
        if self.preferred_width is not None:
            return QSize(self.preferred_width, hint.height())
        if self.has_groups is False:
            return QSize(NOTE_WIDTH, hint.height())
        natural = max(self._natural_width, _MIN_DEFAULT_WIDTH)
        window = self.window()
        share = int(window.width() * DEFAULT_SHARE) if window is not self else natural
        return QSize(min(natural, max(_MIN_DEFAULT_WIDTH, share)), hint.height())

    @property
    def loading(self) -> bool:
        return self._task is not None and not self._task.done()

    def start_refresh(self) -> None:
        """Count again in the background; a request during a count runs after it."""
        if self.loading:
            self._again = True
            return
        self._task = self._runner.spawn(self.refresh(), name="workload refresh")

    async def refresh(self) -> None:
        """Load the figures now and show them."""
        try:
            if not self._priorities_loaded:
                priorities = await self._runner.db(self._reference.priorities)
                self._model.set_priorities(priorities)
                self._priorities_loaded = True
            workload = await self._runner.db(self._service.workload)
        except Exception as exc:
            log.warning("Loading the workload failed", exc_info=exc)
            self._ui.errorLabel.setText(f"⚠ Could not count the workload: "
                                        f"{describe_error(exc)}")
            self._ui.errorLabel.show()
            return
        finally:
            if self._again:
                self._again = False
                asyncio.get_running_loop().call_soon(self.start_refresh)
        self._ui.errorLabel.hide()
        self._model.set_workload(workload)
        self._expand_busy()  # figures changed in place: a group may have become busy
        scope = "all groups" if workload.all_groups else \
            f"{len(workload.groups)} group{'s' if len(workload.groups) != 1 else ''}"
        self._ui.updatedLabel.setText(f"{scope}, counted {format_timestamp(workload.at)}")
        # In no group: a short note instead of an empty table.
        self._ui.noteLabel.setVisible(not workload.groups)
        for widget in (self.tree, self._ui.hintLabel, self._ui.expandButton,
                       self._ui.updatedLabel):
            widget.setVisible(bool(workload.groups))
        self.updateGeometry()
        self.loaded.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.tree.viewport():
            self._fit_names()
        return super().eventFilter(watched, event)

    def _fit_names(self) -> None:
        # The names take the room the counts leave, but no less than they need to be told
        # apart: a narrow panel scrolls its last counts rather than cut every name.
        if self._model.columnCount() > 1:
            self.tree.header().resizeSection(
                0, max(_MIN_NAME_WIDTH, self.tree.viewport().width() - self._counts_width))

    def _remember(self, index: QModelIndex, expanded: bool) -> None:
        if self._applying or index.parent().isValid():
            return
        self._choices[self._model.group_at(index.row()).group_id] = expanded

    def _expand_busy(self) -> None:
        """Groups with open work open, empty ones closed, unless the user chose otherwise."""
        self._applying = True
        try:
            for row in range(self._model.rowCount()):
                group = self._model.group_at(row)
                expanded = self._choices.get(group.group_id, group.total.open > 0)
                self.tree.setExpanded(self._model.index(row, 0), expanded)
        finally:
            self._applying = False

    def _after_reset(self) -> None:
        tree = self.tree
        header = tree.header()
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        metrics = QFontMetrics(header.font())
        delegate = PriorityCountDelegate(tree)
        counts_width = 0
        for column in range(1, self._model.columnCount()):
            title = str(self._model.headerData(column, Qt.Orientation.Horizontal) or "")
            priority = 2 <= column < self._model.breached_column
            tree.setItemDelegateForColumn(column, delegate if priority else None)  # type: ignore[arg-type]
            width = max(metrics.horizontalAdvance(title) + _PADDING,
                        _PRIORITY_WIDTH if priority else _COUNT_WIDTH)
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, width)
            counts_width += width
        # The names keep room to be read however many priorities the matrix has; narrower
        # (the user's choice) the counts scroll.
        header.setMinimumSectionSize(min(_PRIORITY_WIDTH, header.minimumSectionSize()))
        tree.setMinimumWidth(_MIN_TREE_WIDTH)
        self._counts_width = counts_width
        self._fit_names()
        frame = tree.frameWidth() * 2 + tree.verticalScrollBar().sizeHint().width()
        margins = self._ui.rootLayout.contentsMargins()
        self._natural_width = (counts_width + _NAME_WIDTH + frame + margins.left()
                               + margins.right())
        self.updateGeometry()
        # Busy groups open (a lead looks at the agents, not at the totals alone); empty ones
        # closed, so that the busy ones stay in sight.
        self._expand_busy()
