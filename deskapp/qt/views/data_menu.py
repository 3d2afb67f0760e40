"""The main window's Data menu: export the queue shown, import a ServiceNow log or a CSV file.

An export takes what the window shows - its queue's filter, its sort, its visible columns in
their on-screen order - and writes it a page at a time, each page one short call in the
database runner: the window keeps loading and painting in between, and Cancel stops after
the page in hand (the partial file is removed; an older file of that name stays).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QProgressDialog

from deskapp.domain.errors import DeskappError
from deskapp.domain.people import User
from deskapp.qt.models.incident_table_model import Column, sort_key_for
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.exporting import (
    ExportColumn,
    ExportFormat,
    ExportReport,
    ExportRequest,
    ExportService,
    QueueExport,
)
from deskapp.services.incidents import utc_now
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.services.queries import SortKey

if TYPE_CHECKING:
    from deskapp.qt.views.csv_mapping_dialog import CsvMappingDialog
    from deskapp.qt.views.import_dialog import ImportDialog

log = logging.getLogger(__name__)

EXPORT_FILTERS = {ExportFormat.CSV: "CSV, for any spreadsheet (*.csv)",
                  ExportFormat.XLSX: "Excel workbook (*.xlsx)"}
SETTINGS_FOLDER = "export/folder"
SETTINGS_FORMAT = "export/format"
STATUS_MS = 15_000

EXPORT_COLUMNS: dict[Column, ExportColumn] = {
    column: ExportColumn[column.name] for column in Column
    if column.name in ExportColumn.__members__
}
"""The queue table's columns as the export service names them (the same names)."""


def visible_columns(window: MainWindow) -> tuple[ExportColumn, ...]:
    """The table's visible columns, in the order the user sees them (moved or not)."""
    header = window.table.horizontalHeader()
    chosen = []
    for visual in range(header.count()):
        logical = header.logicalIndex(visual)
        if header.isSectionHidden(logical):
            continue
        try:
            chosen.append(EXPORT_COLUMNS[Column(logical)])
        except (KeyError, ValueError):
            log.warning("Column %s has no export counterpart; left out", logical)
    return tuple(chosen)


def export_request(window: MainWindow) -> ExportRequest | None:
    """What the window shows, as an export: None before a queue is chosen."""
    queue = window.current_queue
    if queue is None:
        return None
    model = window.model
    sort = sort_key_for(model.sort_column) or SortKey.OPENED_AT
    return ExportRequest(
        queue_filter=model.queue_filter, sort=sort,
        descending=model.sort_order == Qt.SortOrder.DescendingOrder,
        columns=visible_columns(window) or (ExportColumn.NUMBER,), title=queue.title)


def _file_name(title: str, fmt: ExportFormat) -> str:
    stem = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', " ", title)
    stem = " ".join(stem.split())[:80] or "Incidents"
    return f"{stem} {datetime.now():%Y-%m-%d}.{fmt.value}"


class DataMenu(QObject):
    """The Data menu and what its actions do; a child of the window (``findChild``)."""

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                 runner: DbRunner, user: User, clock: Clock = utc_now,
                 settings: QSettings | None = None) -> None:
        """Add the menu to ``window``'s menu bar.

        Args:
            window: the main window whose queue is exported and which imports refresh.
            uow_factory: the database exports read and imports write.
            runner: runs the database work off the GUI thread.
            user: the signed-in user (who opens imported incidents).
            clock: "now" for SLA conditions of the exported queue.
            settings: where the last export folder and CSV mappings are kept.
        """
        super().__init__(window)
        self.setObjectName("dataMenu")
        self._window = window
        self._uow_factory = uow_factory
        self._runner = runner
        self._user = user
        self._settings = settings if settings is not None else QSettings()
        self._exports = ExportService(uow_factory, clock, actor_id=user.id)
        self._export: QueueExport | None = None
        self._cancelled = False
        self.progress: QProgressDialog | None = None
        """The export's progress dialog while one runs."""

        menu = window.menuBar().addMenu("&Data")
        menu.setObjectName("dataMenu")
        self.menu = menu
        self.export_action = QAction("&Export…", window)
        self.export_action.setObjectName("actionExport")
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Save the queue shown, with its visible columns, as "
                                        "a CSV file or an Excel workbook")
        self.export_action.triggered.connect(self._start_export)
        self.servicenow_action = QAction("Import &ServiceNow log…", window)
        self.servicenow_action.setObjectName("actionImportServiceNow")
        self.servicenow_action.setStatusTip("Import incidents with their history from a "
                                            "ServiceNow incident event log")
        self.servicenow_action.triggered.connect(self.open_servicenow_import)
        self.csv_action = QAction("Import &CSV…", window)
        self.csv_action.setObjectName("actionImportCsv")
        self.csv_action.setStatusTip("Import callers or incidents from any CSV file")
        self.csv_action.triggered.connect(self.open_csv_import)
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction(self.servicenow_action)
        menu.addAction(self.csv_action)
        # Shortcuts of actions outside the window's own widgets need the window to own them.
        window.addAction(self.export_action)

    # --- export -------------------------------------------------------------------------

    @property
    def exporting(self) -> bool:
        return self._export is not None

    def _start_export(self) -> None:
        if not self.exporting:
            self._runner.spawn(self.export_current(), name="export")

    async def export_current(self) -> ExportReport | None:
        """Ask for a file and export the queue shown to it; None if nothing was written."""
        window = self._window
        request = export_request(window)
        if request is None:
            window.statusBar().showMessage("Choose a queue to export first.", STATUS_MS)
            return None
        last = self._settings.value(SETTINGS_FORMAT, ExportFormat.XLSX.value)
        fmt = ExportFormat(last) if last in {f.value for f in ExportFormat} \
            else ExportFormat.XLSX
        folder = self._settings.value(SETTINGS_FOLDER) or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        filters = [EXPORT_FILTERS[fmt], *(v for k, v in EXPORT_FILTERS.items() if k != fmt)]
        path = await PathDialog.ask(window, title=f"Export “{request.title}”",
                                    filters=filters, save=True, default_suffix=fmt.value,
                                    start=Path(str(folder)) / _file_name(request.title, fmt))
        if path is None:
            return None
        try:
            fmt = ExportFormat.for_path(path)
        except DeskappError as exc:
            self._warn(str(exc))
            return None
        self._settings.setValue(SETTINGS_FOLDER, str(path.parent))
        self._settings.setValue(SETTINGS_FORMAT, fmt.value)
        return await self._export_to(request, path, fmt)

    async def export_to(self, path: Path | str) -> ExportReport | None:
        """Export the queue shown to ``path`` without asking (its extension picks the format)."""
        request = export_request(self._window)
        if request is None:
            return None
        try:
            fmt = ExportFormat.for_path(path)
        except DeskappError as exc:
            self._warn(str(exc))
            return None
        return await self._export_to(request, Path(path), fmt)

    async def _export_to(self, request: ExportRequest, path: Path,
                         fmt: ExportFormat) -> ExportReport | None:
        window = self._window
        self.export_action.setEnabled(False)
        window.begin_busy()
        self._cancelled = False
        export: QueueExport | None = None
        try:
            export = await self._runner.db(self._exports.start, request, path, fmt)
            self._export = export
            self._show_progress(export, request.title)
            while not export.done and not self._stopping():
                await self._runner.db(export.write_page)
                self._update_progress(export)
            if self._stopping():
                await self._runner.db(export.abort)
                window.statusBar().showMessage(f"Export cancelled; {path.name} was not "
                                               "written.", STATUS_MS)
                return None
            report = await self._runner.db(export.finish)
        except asyncio.CancelledError:
            if export is not None:
                export.abort()  # the window is closing: drop the partial file now
            raise
        except Exception as exc:
            if export is not None:
                await self._runner.db(export.abort)
            log.warning("Exporting to %s failed", path, exc_info=exc)
            self._warn(describe_error(exc))
            return None
        finally:
            self._export = None
            self._close_progress()
            window.end_busy()
            self.export_action.setEnabled(True)
        window.statusBar().showMessage(report.summary(), STATUS_MS)
        return report

    def _show_progress(self, export: QueueExport, title: str) -> None:
        total = export.total or 0
        dialog = QProgressDialog(f"Exporting “{title}”…", "Cancel", 0, total, self._window)
        dialog.setObjectName("exportProgress")
        dialog.setWindowTitle("Export")
        # Not modal: a modal progress dialog spins a nested event loop in setValue().
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(400)  # quick exports finish before it would show
        dialog.canceled.connect(self.cancel_export)
        dialog.setValue(0)
        self.progress = dialog

    def _update_progress(self, export: QueueExport) -> None:
        dialog = self.progress
        if dialog is None:
            return
        if export.total is not None and export.rows <= dialog.maximum():
            dialog.setValue(export.rows)
        dialog.setLabelText(f"Exported {export.rows:,}"
                            + (f" of {export.total:,}" if export.total is not None else "")
                            + " incidents…")

    def _close_progress(self) -> None:
        dialog, self.progress = self.progress, None
        if dialog is not None:
            dialog.canceled.disconnect(self.cancel_export)
            dialog.close()
            dialog.deleteLater()

    def _stopping(self) -> bool:
        # Cancel, Escape and the close button all leave the dialog "canceled".
        return self._cancelled or (self.progress is not None and self.progress.wasCanceled())

    def cancel_export(self) -> None:
        """Stop the export after the page in hand; no file is written."""
        self._cancelled = True

    def _warn(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Export", "The export failed.",
                          QMessageBox.StandardButton.Ok, self._window)
        box.setObjectName("exportError")
        box.setTextFormat(Qt.TextFormat.PlainText)  # the message may quote file and names
        box.setInformativeText(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # open(), not exec(): a nested event loop would stall asyncio

    # --- imports ------------------------------------------------------------------------

    def open_servicenow_import(self) -> ImportDialog:
        """Open the ServiceNow import dialog (not modal)."""
        # Loaded on first use: the importers are not needed to start the app.
        from deskapp.qt.views.import_dialog import ImportDialog

        dialog = ImportDialog(self._uow_factory, self._runner, actor_id=self._user.id,
                              parent=self._window)
        dialog.imported.connect(lambda _report: self._window.start_refresh())
        dialog.open()
        return dialog

    def open_csv_import(self) -> CsvMappingDialog:
        """Open the CSV import dialog (not modal)."""
        from deskapp.qt.views.csv_mapping_dialog import CsvMappingDialog

        dialog = CsvMappingDialog(self._uow_factory, self._runner, actor_id=self._user.id,
                                  settings=self._settings, parent=self._window)
        dialog.imported.connect(lambda _report: self._window.start_refresh())
        dialog.open()
        return dialog


def install_data_menu(window: MainWindow, *, uow_factory: UnitOfWorkFactory, runner: DbRunner,
                      user: User, clock: Clock = utc_now,
                      settings: QSettings | None = None) -> None:
    """Add the Data menu (Export… Ctrl+E, Import ServiceNow log…, Import CSV…) to ``window``.

    The menu's controller is a child of the window: ``window.findChild(DataMenu)``.
    """
    DataMenu(window, uow_factory=uow_factory, runner=runner, user=user, clock=clock,
             settings=settings)
