"""Making PDF reports from the GUI: the period report's filters, and an export that runs off
the GUI thread with a progress bar and a Cancel button, then offers to open the file.

The figures are gathered in the database runner (``runner.db``); the PDF is laid out in the
reports' own single thread, so that a long layout never holds up the queue's paging. Cancel
stops waiting at once: whatever is still being computed is thrown away and no file is
written (a call already running in a thread cannot be interrupted; it ends on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QDate, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.qt import theme
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.queues import FilterChoices
from deskapp.services.report_data import PeriodFilters, save_atomically

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D")

PDF_FILTER = "PDF documents (*.pdf)"


class ReportExporter(QObject):
    """Runs report exports, one at a time, each with its progress dialog.

    Attributes:
        progress: the progress dialog of the export running now, if any.
        last_path: the file the last successful export wrote.
    """

    def __init__(self, runner: DbRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportExporter")
        self._runner = runner
        self._executor: ThreadPoolExecutor | None = None
        self.progress: QProgressDialog | None = None
        self.last_path: Path | None = None
        self.offer_to_open = True
        """Ask whether to open the file after writing it (tests turn it off)."""
        self.open_box: QMessageBox | None = None
        self._cancel: Callable[[], None] | None = None

    @property
    def busy(self) -> bool:
        return self.progress is not None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="deskapp-report")
        return self._executor

    async def export(self, parent: QWidget, title: str, gather: Callable[[], D],
                     render: Callable[[D], bytes], path: Path) -> Path | None:
        """Gather the report's data in the database runner, lay out its PDF, write ``path``.

        Returns:
            ``path`` once written; None if the user cancelled or it failed (after saying why).
        """
        if self.busy:
            return None
        dialog = QProgressDialog(f"Making “{title}”…", "Cancel", 0, 3, parent)
        dialog.setObjectName("reportProgress")
        dialog.setWindowTitle("Report")
        # Not modal: a modal progress dialog spins a nested event loop in setValue().
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(300)
        dialog.setValue(0)
        self.progress = dialog
        cancelled = asyncio.get_running_loop().create_future()

        def cancel() -> None:
            if not cancelled.done():
                cancelled.set_result(None)

        dialog.canceled.connect(cancel)
        self._cancel = cancel
        try:
            dialog.setLabelText("Reading the figures from the database…")
            data = await self._unless_cancelled(self._runner.db(gather), cancelled)
            dialog.setValue(1)
            dialog.setLabelText("Laying out the PDF…")
            pdf = await self._unless_cancelled(self._in_pool(render, data), cancelled)
            dialog.setValue(2)
            dialog.setLabelText(f"Writing {path.name}…")
            await self._unless_cancelled(self._in_pool(save_atomically, path, pdf), cancelled)
            dialog.setValue(3)
        except _CancelledError:
            return None
        except Exception as exc:
            log.warning("Making %s failed", title, exc_info=exc)
            self._warn(parent, title, describe_error(exc))
            return None
        finally:
            self.progress = None
            self._cancel = None
            with contextlib.suppress(RuntimeError):  # gone already if the window closed
                dialog.close()
                dialog.deleteLater()
        self.last_path = path
        if self.offer_to_open:
            self._offer_to_open(parent, path)
        return path

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool(), fn, *args)

    @staticmethod
    async def _unless_cancelled(work: Any, cancelled: asyncio.Future[None]) -> Any:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        # The thread's result (or error) is dropped with the task; nothing is written.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise _CancelledError

    def cancel(self) -> None:
        """Stop the export running now, as its Cancel button does."""
        if self._cancel is not None:
            self._cancel()

    def _offer_to_open(self, parent: QWidget, path: Path) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Report", f"Saved {path.name}.",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close,
                          parent)
        box.setObjectName("reportSaved")
        box.setTextFormat(Qt.TextFormat.PlainText)  # a file name is the user's text
        box.setInformativeText(str(path))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Open:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        box.finished.connect(answered)
        self.open_box = box
        box.open()  # open(), not exec(): a nested event loop would stall asyncio

    @staticmethod
    def _warn(parent: QWidget, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Report", f"“{title}” was not made.",
                          QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("reportError")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def close(self) -> None:
        """Stop the report thread (waiting for a layout in progress)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class _CancelledError(Exception):
    """The user cancelled the export."""


def _list(choices: list[tuple[int, str]], name: str) -> QListWidget:
    widget = QListWidget()
    widget.setObjectName(name)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
    widget.setMaximumHeight(110)
    for choice_id, label in choices:
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, choice_id)
        widget.addItem(item)
    return widget


def _selected(widget: QListWidget) -> tuple[int, ...]:
    return tuple(int(item.data(Qt.ItemDataRole.UserRole)) for item in widget.selectedItems())


class PeriodReportDialog(QDialog):
    """Asks for the period report's days and filters; nothing selected means "all"."""

    def __init__(self, choices: FilterChoices, priorities: list[tuple[int, str]],
                 today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("periodReportDialog")
        self.setWindowTitle("Period report")
        first_of_month = today.replace(day=1)
        last_month_end = first_of_month - timedelta(days=1)
        self.from_edit = QDateEdit(QDate(last_month_end.year, last_month_end.month, 1))
        self.to_edit = QDateEdit(QDate(last_month_end.year, last_month_end.month,
                                       last_month_end.day))
        for edit, name in ((self.from_edit, "fromEdit"), (self.to_edit, "toEdit")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.groups = _list([(c.id, c.label) for c in choices.groups], "groupList")
        self.categories = _list([(c.id, c.label) for c in choices.categories], "categoryList")
        self.services = _list([(c.id, c.label) for c in choices.services], "serviceList")
        self.priority_boxes: list[tuple[int, QCheckBox]] = []
        priority_row = QHBoxLayout()
        for rank, label in priorities:
            box = QCheckBox(label)
            box.setObjectName(f"priority{rank}")
            self.priority_boxes.append((rank, box))
            priority_row.addWidget(box)
        priority_row.addStretch(1)
        form = QFormLayout()
        form.addRow("&From", self.from_edit)
        form.addRow("&To (included)", self.to_edit)
        form.addRow("&Groups", self.groups)
        form.addRow("&Categories", self.categories)
        form.addRow("&Services", self.services)
        form.addRow("Priorities", priority_row)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setStyleSheet(theme.text_style(theme.colours().error))
        self.error_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Make report…")
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        hint = QLabel("Leave a list without a selection to include everything.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.filters: PeriodFilters | None = None

    def current_filters(self) -> PeriodFilters:
        """The filters as set now; ValidationError if the days are wrong."""
        return PeriodFilters(
            first_day=self.from_edit.date().toPython(),  # type: ignore[arg-type]
            last_day=self.to_edit.date().toPython(),  # type: ignore[arg-type]
            group_ids=_selected(self.groups),
            category_ids=_selected(self.categories),
            service_ids=_selected(self.services),
            priorities=tuple(rank for rank, box in self.priority_boxes if box.isChecked()),
        )

    def _accept_if_valid(self) -> None:
        try:
            self.filters = self.current_filters()
        except DeskappError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()

    @classmethod
    async def ask(cls, parent: QWidget, choices: FilterChoices,
                  priorities: list[tuple[int, str]], today: date) -> PeriodFilters | None:
        """Show the dialog (``open()``, no nested loop) and wait for the filters."""
        dialog = cls(choices, priorities, today, parent)
        done: asyncio.Future[PeriodFilters | None] = \
            asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not done.done():
                done.set_result(dialog.filters if result == QDialog.DialogCode.Accepted
                                else None)

        dialog.finished.connect(finished)
        dialog.open()
        try:
            return await done
        finally:
            with contextlib.suppress(RuntimeError):
                dialog.hide()
                dialog.deleteLater()
