"""The workload panel: each group's agents with their open incidents, a drop target."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Qt, Signal
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

_COUNT_WIDTH = 44
_PRIORITY_WIDTH = 34
_PADDING = 14
_NAME_WIDTH = 190


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
        tree = self.tree
        tree.setModel(self._model)
        tree.setAcceptDrops(True)
        tree.viewport().setAcceptDrops(True)
        tree.setDropIndicatorShown(True)
        self._model.modelReset.connect(self._after_reset)
        self._ui.refreshButton.clicked.connect(self.start_refresh)
        self._ui.expandButton.clicked.connect(tree.expandAll)

    @property
    def model(self) -> WorkloadModel:
        return self._model

    @property
    def tree(self) -> QTreeView:
        return self._ui.workloadTree

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
        scope = "all groups" if workload.all_groups else \
            f"{len(workload.groups)} group{'s' if len(workload.groups) != 1 else ''}"
        self._ui.updatedLabel.setText(f"{scope}, counted {format_timestamp(workload.at)}")
        if not workload.groups:
            self._ui.updatedLabel.setText("You are in no assignment group")
        self.loaded.emit()

    def _after_reset(self) -> None:
        tree = self.tree
        header = tree.header()
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
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
        # The names keep room to be read however many priorities the matrix has.
        tree.setMinimumWidth(counts_width + _NAME_WIDTH)
        # Groups open: a lead looks at the agents, not at the totals alone.
        tree.expandAll()
