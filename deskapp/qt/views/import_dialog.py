"""Import a ServiceNow incident log from the GUI, with a progress bar and the file's problems.

The import runs in a worker thread of the database runner; its progress callback is called
there and handed to the GUI thread with ``loop.call_soon_threadsafe``. Stopping (Cancel, the
window's close button, Escape) asks the worker to stop at its next progress report: the
import raises inside its one write transaction, which rolls back, so the database is as it
was. The dialog closes once the worker has stopped, never under it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor
from PySide6.QtWidgets import QCompleter, QDialog, QListWidgetItem, QWidget

from deskapp.domain.errors import DeskappError
from deskapp.qt import theme
from deskapp.qt.generated.import_dialog_ui import Ui_ImportDialog
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.importing import (
    ImportProblem,
    ImportReport,
    ImportStage,
    import_servicenow,
)
from deskapp.services.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

ERROR_COLOUR = QColor("#c62828")
WARNING_COLOUR = QColor("#b45309")


class _CancelledError(Exception):
    """Raised in the worker, from the progress callback, to stop an import being cancelled."""


class ImportDialog(QDialog):
    """Chooses a ServiceNow log and a time zone, imports it, and tells how it went.

    Open it with ``open()``; it deletes itself when closed.

    Signals:
        imported(object): the import wrote incidents; the argument is its ImportReport.
    """

    imported = Signal(object)

    def __init__(self, uow_factory: UnitOfWorkFactory, runner: DbRunner, *,
                 actor_id: int | None, parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            uow_factory: the database the import writes to.
            runner: runs the import off the GUI thread.
            actor_id: the user who saves a new matrix version, if the log needs one.
            parent: the window it belongs to.
        """
        super().__init__(parent)
        self._uow_factory = uow_factory
        self._runner = runner
        self._actor_id = actor_id
        self._task: asyncio.Task[None] | None = None
        self._cancel = threading.Event()
        self._close_when_done = False
        self.report: ImportReport | None = None
        """The last import's report, once one has finished."""
        self.ui = Ui_ImportDialog()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._fill_zones()
        self._show_problems([])
        self.ui.progressBar.hide()
        self.ui.browseButton.clicked.connect(self._browse)
        self.ui.importButton.clicked.connect(self.start_import)
        self.ui.closeButton.clicked.connect(self.reject)
        self.ui.fileEdit.textChanged.connect(self._update_buttons)
        self._update_buttons()

    # --- parts, for tests ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The import in progress, if any."""
        return self._task

    def set_file(self, path: Path | str) -> None:
        self.ui.fileEdit.setText(str(path))

    def set_time_zone(self, name: str) -> None:
        self.ui.timezoneCombo.setCurrentText(name)

    # --- set-up -------------------------------------------------------------------------

    def _fill_zones(self) -> None:
        combo = self.ui.timezoneCombo
        zones = sorted(available_timezones() - {"UTC"})
        combo.addItems(["UTC", *zones])
        completer = QCompleter(combo.model(), combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        combo.setCompleter(completer)
        combo.setCurrentText("UTC")

    def _update_buttons(self) -> None:
        running = self.running
        self.ui.importButton.setEnabled(not running and bool(self.ui.fileEdit.text().strip()))
        for widget in (self.ui.fileEdit, self.ui.browseButton, self.ui.timezoneCombo):
            widget.setEnabled(not running)
        self.ui.closeButton.setText("Cancel" if running else "Close")

    def _browse(self) -> None:
        self._runner.spawn(self._choose_file(), name="choose ServiceNow log")

    async def _choose_file(self) -> None:
        current = self.ui.fileEdit.text().strip()
        path = await PathDialog.ask(
            self, title="Choose a ServiceNow incident log",
            filters=["Incident logs (*.csv *.zip)", "All files (*)"],
            start=Path(current).parent if current else "")
        if path is not None:
            self.set_file(path)

    # --- importing ----------------------------------------------------------------------

    def start_import(self) -> asyncio.Task[None] | None:
        """Start importing the chosen file; the task ends when the import has."""
        if self.running or not self.ui.fileEdit.text().strip():
            return None
        self._cancel.clear()
        task = self._runner.spawn(self._import(), name="ServiceNow import")
        self._task = task
        self._update_buttons()
        return task

    async def _import(self) -> None:
        path = Path(self.ui.fileEdit.text().strip())
        zone = self.ui.timezoneCombo.currentText().strip() or "UTC"
        loop = asyncio.get_running_loop()
        cancel = self._cancel

        def progress(stage: ImportStage, done: int, total: int) -> None:
            # In the worker thread: only the flag is read here; widgets wait for the loop.
            if cancel.is_set():
                raise _CancelledError
            loop.call_soon_threadsafe(self._show_progress, stage, done, total)

        self._show_problems([])
        self.ui.summaryLabel.clear()
        self.ui.progressBar.setRange(0, 0)
        self.ui.progressBar.show()
        self.ui.stageLabel.setText(f"Reading {path.name}…")
        try:
            report = await self._runner.db(_run_import, self._uow_factory, path, zone,
                                           progress, self._actor_id)
        except asyncio.CancelledError:
            cancel.set()  # the runner is closing: stop the worker at its next report
            raise
        except _CancelledError:
            self._finish("The import was cancelled; nothing was changed.")
        except DeskappError as exc:
            self._finish(f"<b>Nothing was imported.</b> {_escape(str(exc))}")
        except Exception as exc:
            log.exception("Importing %s failed", path)
            self._finish(f"<b>The import failed; nothing was changed.</b> "
                         f"{_escape(describe_error(exc))}")
        else:
            self._done(report)

    def _show_progress(self, stage: ImportStage, done: int, total: int) -> None:
        if not self.running or self._cancel.is_set():
            return
        bar = self.ui.progressBar
        if bar.maximum() != max(total, 1):
            bar.setRange(0, max(total, 1))
        bar.setValue(done)
        if stage == ImportStage.READING:
            self.ui.stageLabel.setText(f"Reading and checking the file: "
                                       f"{done * 100 // max(total, 1)}%")
        else:
            self.ui.stageLabel.setText(f"Writing incidents: {done:,} of {total:,}")

    def _done(self, report: ImportReport) -> None:
        self.report = report
        self._show_problems(report.problems)
        if not report.ok:
            self._finish(f"<b>{_escape(report.summary())}</b>")
            return
        text = _escape(report.summary())
        if report.imported:
            text += (f"<br>Created {report.groups_created:,} groups, "
                     f"{report.agents_created:,} agents, {report.callers_created:,} callers, "
                     f"{report.categories_created:,} categories and "
                     f"{report.configuration_items_created:,} configuration items.")
        if report.matrix_replaced:
            text += (f"<br>The priority matrix was replaced by the log's (version "
                     f"{report.matrix_version}) so that every incident keeps its priority: "
                     f"{_escape('; '.join(report.matrix_changes))}.")
        self._finish(text)
        if report.imported:
            self.imported.emit(report)

    def _finish(self, message: str) -> None:
        self._task = None
        bar = self.ui.progressBar
        if bar.maximum() == 0:
            bar.setRange(0, 1)
        bar.setValue(bar.maximum())
        self.ui.stageLabel.clear()
        self.ui.summaryLabel.setText(message)
        self._update_buttons()
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    def _show_problems(self, problems: tuple[ImportProblem, ...] | list[ImportProblem]) -> None:
        widget = self.ui.problemList
        widget.clear()
        report = self.report
        for problem in problems:
            item = QListWidgetItem(str(problem))
            item.setForeground(QBrush(ERROR_COLOUR if problem.is_error else WARNING_COLOUR))
            widget.addItem(item)
        more = 0 if report is None else report.errors + report.warnings - len(problems)
        if problems and more > 0:
            widget.addItem(f"… and {more:,} more")
        shown = bool(problems)
        widget.setVisible(shown)
        self.ui.problemsLabel.setVisible(shown)
        if any(p.is_error for p in problems):
            self.ui.problemsLabel.setText("&Rows that stop the import:")
        else:
            self.ui.problemsLabel.setText("&Warnings (the import went ahead):")
        # Without the list, the spacer keeps the rest together at the top.
        layout = self.ui.rootLayout
        layout.setStretch(layout.indexOf(widget), 1 if shown else 0)
        layout.setStretch(layout.indexOf(self.ui.bottomSpacer), 0 if shown else 1)

    # --- closing ------------------------------------------------------------------------

    def reject(self) -> None:
        """Close; while importing, stop the import first and close once it has stopped."""
        if not self.running:
            super().reject()
            return
        self._cancel.set()
        self._close_when_done = True
        self.ui.stageLabel.setText("Stopping the import; nothing will be changed…")
        self.ui.closeButton.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)


def _run_import(uow_factory: UnitOfWorkFactory, path: Path, zone: str, progress: Any,
                actor_id: int | None) -> ImportReport:
    """The worker's part: a plain function, so that the runner's call stays one line."""
    return import_servicenow(uow_factory, path, timezone=zone, progress=progress,
                             actor_id=actor_id)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
