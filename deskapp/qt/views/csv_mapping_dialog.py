"""Import callers or incidents from a CSV file: preview, map columns to fields, dry run, import.

Mappings are remembered per source (the name the user gives the file's origin) in QSettings
under ``csv_mappings/<source>``: the next file from the same system maps itself. They are a
convenience of this desk, like window layout, so they stay out of the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QListWidgetItem,
    QTableWidgetItem,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.qt import theme
from deskapp.qt.generated.csv_mapping_dialog_ui import Ui_CsvMappingDialog
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.import_dialog import ERROR_COLOUR, WARNING_COLOUR
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.importing.csv_import import (
    CsvImportReport,
    CsvKind,
    CsvPreview,
    fields_for,
    guess_mapping,
    import_csv,
    preview_csv,
)
from deskapp.services.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

SETTINGS_GROUP = "csv_mappings"
NOT_IMPORTED = "(not imported)"
_MAPPING_COLUMNS = 2
"""Field and combo pairs side by side: fourteen incident fields fit without scrolling."""
_MUTED = QColor("#6b7280")
_KINDS = ((CsvKind.CALLERS, "Callers"), (CsvKind.INCIDENTS, "Incidents"))


def mapping_key(source: str) -> str:
    """Where a source's mapping is kept; a slash would open a QSettings group."""
    clean = " ".join(source.replace("/", "_").replace("\\", "_").split())
    return f"{SETTINGS_GROUP}/{clean or 'unnamed'}"


class CsvMappingDialog(QDialog):
    """Maps a CSV file's columns to the fields of callers or incidents and imports it.

    Open it with ``open()``; it deletes itself when closed.

    Signals:
        imported(object): rows were written; the argument is the CsvImportReport.
    """

    imported = Signal(object)

    def __init__(self, uow_factory: UnitOfWorkFactory, runner: DbRunner, *,
                 actor_id: int | None, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            uow_factory: the database the import reads and writes.
            runner: runs the reading, the dry run and the import off the GUI thread.
            actor_id: the user who opens the imported incidents.
            settings: where mappings are remembered (default: the user's QSettings).
            parent: the window it belongs to.
        """
        super().__init__(parent)
        self._uow_factory = uow_factory
        self._runner = runner
        self._actor_id = actor_id
        self._settings = settings if settings is not None else QSettings()
        self._preview: CsvPreview | None = None
        self._combos: dict[str, QComboBox] = {}
        self._task: asyncio.Task[None] | None = None
        self._close_when_done = False
        self._mapped_source = ""
        self.report: CsvImportReport | None = None
        """The last dry run's or import's report."""
        self.ui = Ui_CsvMappingDialog()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for kind, label in _KINDS:
            self.ui.kindCombo.addItem(label, kind.value)
        self.ui.busyBar.hide()
        header = self.ui.previewTable.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.ui.previewTable.verticalHeader().setDefaultSectionSize(
            self.ui.previewTable.fontMetrics().height() + 8)
        self.ui.browseButton.clicked.connect(self._browse)
        self.ui.fileEdit.editingFinished.connect(self._file_typed)
        self.ui.kindCombo.currentIndexChanged.connect(lambda _i: self._build_mapping())
        self.ui.sourceEdit.editingFinished.connect(self._source_edited)
        self.ui.dryRunButton.clicked.connect(lambda: self.start(dry_run=True))
        self.ui.importButton.clicked.connect(lambda: self.start(dry_run=False))
        self.ui.closeButton.clicked.connect(self.reject)
        self._build_mapping()

    # --- parts, for tests and the data menu ---------------------------------------------

    @property
    def kind(self) -> CsvKind:
        return CsvKind(self.ui.kindCombo.currentData())

    def set_kind(self, kind: CsvKind) -> None:
        self.ui.kindCombo.setCurrentIndex(self.ui.kindCombo.findData(CsvKind(kind).value))

    @property
    def source(self) -> str:
        text = self.ui.sourceEdit.text().strip()
        if text:
            return text
        file = self.ui.fileEdit.text().strip()
        return Path(file).stem if file else ""

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def combo(self, field_name: str) -> QComboBox:
        """The combo box that maps ``field_name``."""
        return self._combos[field_name]

    def mapping(self) -> dict[str, str]:
        """Field name -> the file's column, for the fields that are mapped."""
        return {name: combo.currentText() for name, combo in self._combos.items()
                if combo.currentIndex() > 0}

    def set_mapping(self, mapping: dict[str, str]) -> None:
        """Map fields to columns; a column the file lacks leaves its field unmapped."""
        for name, combo in self._combos.items():
            index = combo.findText(mapping.get(name, ""), Qt.MatchFlag.MatchFixedString)
            combo.setCurrentIndex(max(index, 0))
        self._update_buttons()

    async def load_file(self, path: Path | str) -> bool:
        """Read the file's first rows and map its columns; False if it cannot be read."""
        path = Path(path)
        self.ui.fileEdit.setText(str(path))
        try:
            preview = await self._runner.db(preview_csv, path)
        except DeskappError as exc:
            self._preview = None
            self._show_preview()
            self._say(f"<b>{_escape(str(exc))}</b>")
            return False
        self._preview = preview
        if not self.ui.sourceEdit.text().strip():
            self.ui.sourceEdit.setText(path.stem)
        saved = self._saved(self.source)
        if saved is not None and saved[0] != self.kind:
            self.set_kind(saved[0])  # rebuilds the mapping
        self._show_preview()
        self._build_mapping()
        self._say(f"{_escape(preview.source)}: {len(preview.columns)} columns. Check the "
                  "mapping, then try a dry run: it shows what the import would create and "
                  "every row's problem, and writes nothing.")
        return True

    # --- the file and its preview -------------------------------------------------------

    def _browse(self) -> None:
        self._runner.spawn(self._choose_file(), name="choose CSV file")

    async def _choose_file(self) -> None:
        current = self.ui.fileEdit.text().strip()
        path = await PathDialog.ask(self, title="Choose a CSV file",
                                    filters=["CSV files (*.csv *.txt *.zip)", "All files (*)"],
                                    start=Path(current).parent if current else "")
        if path is not None:
            await self.load_file(path)

    def _file_typed(self) -> None:
        text = self.ui.fileEdit.text().strip()
        if text and (self._preview is None or Path(text).name not in self._preview.source):
            self._runner.spawn(self.load_file(text), name="read CSV preview")

    def _show_preview(self) -> None:
        table = self.ui.previewTable
        table.clear()
        preview = self._preview
        if preview is None:
            table.setRowCount(0)
            table.setColumnCount(0)
            return
        table.setColumnCount(len(preview.columns))
        table.setHorizontalHeaderLabels(list(preview.columns))
        table.setRowCount(len(preview.rows))
        for row, values in enumerate(preview.rows):
            for column, value in enumerate(values[:len(preview.columns)]):
                table.setItem(row, column, QTableWidgetItem(value))
        metrics = table.fontMetrics()
        for column, title in enumerate(preview.columns):
            widest = max([metrics.horizontalAdvance(title),
                          *(metrics.horizontalAdvance(r[column]) for r in preview.rows
                            if column < len(r))])
            table.setColumnWidth(column, min(widest + 24, 260))

    # --- the mapping --------------------------------------------------------------------

    def _build_mapping(self) -> None:
        grid = self.ui.mappingGrid
        while grid.count():
            item = grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._combos = {}
        columns = list(self._preview.columns) if self._preview else []
        fields = fields_for(self.kind)
        rows = (len(fields) + _MAPPING_COLUMNS - 1) // _MAPPING_COLUMNS
        for index, field in enumerate(fields):
            row, pair = index % rows, index // rows
            label = QLabel(f"{field.label}{' *' if field.required else ''}:", self.ui.mappingBox)
            combo = QComboBox(self.ui.mappingBox)
            combo.setObjectName(f"map_{field.name}")
            combo.setMinimumWidth(180)
            combo.addItem(NOT_IMPORTED)
            combo.addItems(columns)
            combo.setAccessibleName(f"Column for {field.label}")
            combo.setToolTip(field.hint or field.label)
            combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
            label.setBuddy(combo)
            hint = QLabel(field.hint, self.ui.mappingBox)
            hint.setProperty("role", "hint")
            grid.addWidget(label, row, pair * 3)
            grid.addWidget(combo, row, pair * 3 + 1)
            grid.addWidget(hint, row, pair * 3 + 2)
            self._combos[field.name] = combo
        for pair in range(_MAPPING_COLUMNS):
            grid.setColumnStretch(pair * 3 + 1, 2)
            grid.setColumnStretch(pair * 3 + 2, 1)
        self._apply_saved_mapping()

    def _source_edited(self) -> None:
        # editingFinished also comes with a mere change of focus: only a new name that has
        # a mapping of its own replaces what the user has mapped by hand.
        source = self.source
        if source == self._mapped_source:
            return
        self._mapped_source = source
        saved = self._saved(source)
        if saved is not None:
            if saved[0] != self.kind:
                self.set_kind(saved[0])  # rebuilds the mapping from the saved one
            else:
                self.set_mapping(saved[1])

    def _apply_saved_mapping(self) -> None:
        columns = self._preview.columns if self._preview else ()
        self._mapped_source = self.source
        saved = self._saved(self.source)
        if saved is not None and saved[0] == self.kind:
            self.set_mapping(saved[1])
        else:
            self.set_mapping(guess_mapping(self.kind, columns))

    def _saved(self, source: str) -> tuple[CsvKind, dict[str, str]] | None:
        if not source:
            return None
        raw = self._settings.value(mapping_key(source))
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
            return CsvKind(data["kind"]), {str(k): str(v) for k, v in data["mapping"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("Ignoring an unreadable saved CSV mapping for %s", source)
            return None

    def _remember(self) -> None:
        self._settings.setValue(mapping_key(self.source),
                                json.dumps({"kind": self.kind.value, "mapping": self.mapping()}))
        self._settings.sync()

    # --- dry run and import -------------------------------------------------------------

    def _update_buttons(self) -> None:
        running = self.running
        mapped = set(self.mapping())
        ready = self._preview is not None and all(
            f.name in mapped for f in fields_for(self.kind) if f.required)
        self.ui.dryRunButton.setEnabled(ready and not running)
        self.ui.importButton.setEnabled(ready and not running)
        for widget in (self.ui.fileEdit, self.ui.browseButton, self.ui.kindCombo,
                       self.ui.sourceEdit, self.ui.mappingBox):
            widget.setEnabled(not running)
        self.ui.busyBar.setVisible(running)

    def start(self, *, dry_run: bool) -> asyncio.Task[None] | None:
        """Start a dry run or the import; the task ends when it has."""
        if self.running or self._preview is None:
            return None
        task = self._runner.spawn(self._run(dry_run), name="CSV import")
        self._task = task
        self._update_buttons()
        return task

    async def _run(self, dry_run: bool) -> None:
        path = Path(self.ui.fileEdit.text().strip())
        mapping = self.mapping()
        self._say("Checking every row…" if dry_run else "Importing…")
        try:
            report = await self._runner.db(_run_import, self._uow_factory, path, self.kind,
                                           mapping, dry_run, self.source, self._actor_id)
        except DeskappError as exc:
            self._finish(f"<b>{_escape(str(exc))}</b>")
            return
        except Exception as exc:
            log.exception("Importing %s failed", path)
            self._finish(f"<b>The import failed; nothing was changed.</b> "
                         f"{_escape(describe_error(exc))}")
            return
        self.report = report
        self._show_report(report)
        if report.ok:
            self._remember()  # a mapping that worked is worth keeping
        self._finish(("<b>" if not report.ok else "") + _escape(report.summary()))
        if report.ok and not dry_run and (report.created or report.callers_created):
            self.imported.emit(report)

    def _show_report(self, report: CsvImportReport) -> None:
        widget = self.ui.reportList
        widget.clear()
        for problem in report.problems:
            item = QListWidgetItem(str(problem))
            item.setForeground(QBrush(ERROR_COLOUR if problem.is_error else WARNING_COLOUR))
            widget.addItem(item)
        more = report.errors + report.warnings - len(report.problems)
        if more > 0:
            widget.addItem(f"… and {more:,} more problems")
        verb = "Would create" if report.dry_run else "Created"
        for line in report.planned:
            item = QListWidgetItem(f"{verb}: {line}")
            if not report.ok:
                item.setForeground(QBrush(_MUTED))
            widget.addItem(item)
        if report.created > len(report.planned) and report.planned:
            widget.addItem(f"… and {report.created - len(report.planned):,} more")

    def _finish(self, message: str) -> None:
        self._task = None
        self._say(message)
        self._update_buttons()
        if self._close_when_done:
            self.done(QDialog.DialogCode.Rejected)

    def _say(self, message: str) -> None:
        self.ui.summaryLabel.setText(message)

    # --- closing ------------------------------------------------------------------------

    def reject(self) -> None:
        """Close; during an import, once it has ended (a database write cannot be cut off
        half-way, and it is all or nothing anyway)."""
        if not self.running:
            super().reject()
            return
        self._close_when_done = True
        self.ui.closeButton.setEnabled(False)
        self._say("Closing when the import has finished…")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)


def _run_import(uow_factory: UnitOfWorkFactory, path: Path, kind: CsvKind,
                mapping: dict[str, str], dry_run: bool, source: str,
                actor_id: int | None) -> CsvImportReport:
    return import_csv(uow_factory, path, kind, mapping, dry_run=dry_run, source=source,
                      actor_id=actor_id)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
