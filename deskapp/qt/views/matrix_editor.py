"""The priority matrix editor: the grid, the priority definitions, business hours, history.

Saving first asks the service for a preview of what the new matrix does to open incidents
and shows it in a small dialog (opened with ``open()``, never ``exec()``: it is awaited in a
coroutine), where the user chooses between new incidents only and recomputing the open ones.
Users who may not edit see everything read-only; the service enforces it either way.

Closing the window with unsaved changes (cells, levels, priorities, business hours, or an
imported file) asks Save / Discard / Cancel first, as Admin → Users, Groups and Callers do;
opening it again while it still holds unsaved changes keeps them (only the history is read
again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, time
from pathlib import Path

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTime,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidgetItem,
    QRadioButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.business_hours import DEFAULT_CALENDAR, BusinessCalendar, Holiday
from deskapp.domain.errors import DeskappError, ValidationError
from deskapp.domain.priority import MAX_TARGET_MINUTES, MIN_TARGET_MINUTES, PriorityMatrix
from deskapp.qt import theme
from deskapp.qt.delegates.priority_choice import PriorityChoiceDelegate
from deskapp.qt.generated.matrix_editor_ui import Ui_MatrixEditor
from deskapp.qt.models.matrix_model import MatrixModel
from deskapp.qt.models.priority_definitions_model import (
    DefinitionColumn,
    PriorityDefinitionsModel,
)
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.services.changes import Change
from deskapp.services.matrix_admin import (
    ImpactPreview,
    MatrixAdminService,
    MatrixDraft,
    MatrixEditorData,
    SaveResult,
    describe_version,
)

log = logging.getLogger(__name__)
JSON_FILTER = "Priority matrix (*.json)"


class PreviewDialog(QDialog):
    """What saving would do to open incidents, and the choice of how far it applies."""

    def __init__(self, preview: ImpactPreview, names: dict[int, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixPreview")
        self.setWindowTitle("Save the priority matrix")
        layout = QVBoxLayout(self)
        moved = preview.moved
        summary = QLabel(
            f"{preview.open_incidents} open incidents; {moved} would change priority"
            + (f", {preview.recomputed_targets} more would get new due times"
               if preview.recomputed_targets else "") + ".", self)
        summary.setObjectName("previewSummary")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self.table = QTableWidget(len(preview.moves), 3, self)
        self.table.setObjectName("previewTable")
        self.table.setHorizontalHeaderLabels(["From", "To", "Open incidents"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, move in enumerate(preview.moves):
            to = names.get(move.to_rank, "?") if move.to_rank is not None else (
                "(level removed: unchanged)")
            for column, text in enumerate((names.get(move.from_rank, str(move.from_rank)),
                                           to, str(move.count))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self.new_only = QRadioButton("Apply to &new incidents only", self)
        self.new_only.setObjectName("newOnly")
        self.recompute = QRadioButton("Also &recompute open incidents (each gets an activity "
                                      "entry)", self)
        self.recompute.setObjectName("recomputeOpen")
        self.new_only.setChecked(True)
        layout.addWidget(self.new_only)
        layout.addWidget(self.recompute)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons

    @classmethod
    async def ask(cls, parent: QWidget, preview: ImpactPreview,
                  names: dict[int, str]) -> bool | None:
        """Show the preview; None if cancelled, else whether to recompute open incidents."""
        dialog = cls(preview, names, parent)
        answer: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not answer.done():
                answer.set_result(dialog.recompute.isChecked() if result else None)

        dialog.finished.connect(finished)
        dialog.open()
        try:
            return await answer
        finally:
            with contextlib.suppress(RuntimeError):
                dialog.hide()
                dialog.deleteLater()


_TARGETS = (DefinitionColumn.RESPONSE, DefinitionColumn.RESOLUTION)
_RANGE = (f"from {MIN_TARGET_MINUTES} minute to {MAX_TARGET_MINUTES} minutes (365 days)")


class TargetMinutesDelegate(QStyledItemDelegate):
    """Targets are edited in a spin box of minutes bounded as the domain bounds them.

    What the box cannot take (a minus sign, a number out of range) is said, not dropped;
    what the model refuses (a resolution shorter than the response) the model says.
    """

    refused = Signal(str)
    """A typed target was not taken; the message says why."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        if index.column() not in _TARGETS:
            return super().createEditor(parent, option, index)
        box = QSpinBox(parent)
        box.setObjectName("targetMinutes")
        box.setRange(MIN_TARGET_MINUTES, MAX_TARGET_MINUTES)
        box.setSuffix(" min")
        box.setAccelerated(True)
        box.setToolTip(f"Minutes, {_RANGE}")
        box.installEventFilter(self)
        return box

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QSpinBox):
            editor.interpretText()
            model.setData(index, editor.value())
            return
        super().setModelData(editor, model, index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (isinstance(watched, QSpinBox) and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)):
            if event.key() == Qt.Key.Key_Minus:
                self.refused.emit(f"A target cannot be negative: it is {_RANGE}.")
                return True
            if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and not watched.hasAcceptableInput()):
                self.refused.emit(f"{watched.cleanText() or 'Nothing'} is not a target: "
                                  f"enter {_RANGE}.")
                return True  # the box stays open with what was typed
        return super().eventFilter(watched, event)


def saved_message(result: SaveResult) -> str:
    """"Saved as version 4, now in force; 1 open incident recomputed."."""
    n = result.recomputed
    return (f"Saved as version {result.version}, now in force"
            + (f"; {n} open incident{'' if n == 1 else 's'} recomputed." if n else "."))


class MatrixEditor(QWidget):
    """The editor window; ``load()`` fills it (a coroutine: it reads through the runner)."""

    def __init__(self, service: MatrixAdminService, runner: DbRunner, *,
                 on_change: Callable[[Change], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ui = Ui_MatrixEditor()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self.setObjectName("matrixEditor")
        self._service = service
        self._runner = runner
        self._on_change = on_change
        self._based_on = 0
        self.can_edit = False
        self.busy = False
        self._loaded: MatrixEditorData | None = None
        self._clean: tuple[object, ...] = ()
        """What the editor showed when it was loaded (see ``has_unsaved_changes``)."""
        self._asking = False
        self._may_close = False
        self.model = MatrixModel(self)
        self.definitions = PriorityDefinitionsModel(self)
        self.delegate = PriorityChoiceDelegate(lambda: self.definitions.priorities, self)
        self.targets_delegate = TargetMinutesDelegate(self)
        self._days = [getattr(self.ui, f"day{i}Check") for i in range(7)]
        self._setup_views()
        self._connect()

    # --- set-up -------------------------------------------------------------------------

    def _setup_views(self) -> None:
        view = self.ui.matrixView
        view.setModel(self.model)
        view.setItemDelegate(self.delegate)
        view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for header in (view.horizontalHeader(), view.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(36)
        view.verticalHeader().setDefaultSectionSize(44)
        definitions = self.ui.definitionsView
        definitions.setModel(self.definitions)
        definitions.setItemDelegate(self.targets_delegate)
        definitions.verticalHeader().hide()
        definitions.horizontalHeader().setStretchLastSection(True)
        definitions.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)

    def _connect(self) -> None:
        ui = self.ui
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        ui.addImpactButton.clicked.connect(lambda: self._add(vertical))
        ui.addUrgencyButton.clicked.connect(lambda: self._add(horizontal))
        ui.removeImpactButton.clicked.connect(lambda: self._remove(vertical))
        ui.removeUrgencyButton.clicked.connect(lambda: self._remove(horizontal))
        ui.impactUpButton.clicked.connect(lambda: self._move(vertical, -1))
        ui.impactDownButton.clicked.connect(lambda: self._move(vertical, 1))
        ui.urgencyLeftButton.clicked.connect(lambda: self._move(horizontal, -1))
        ui.urgencyRightButton.clicked.connect(lambda: self._move(horizontal, 1))
        ui.matrixView.horizontalHeader().sectionDoubleClicked.connect(
            lambda s: self._rename(horizontal, s))
        ui.matrixView.verticalHeader().sectionDoubleClicked.connect(
            lambda s: self._rename(vertical, s))
        for signal in (self.model.dataChanged, self.model.rowsInserted,
                       self.model.rowsRemoved, self.model.columnsInserted,
                       self.model.columnsRemoved, self.model.modelReset):
            signal.connect(self._update_state)
        self.definitions.dataChanged.connect(
            lambda *_: self.model.set_priorities(self.definitions.priorities))
        self.definitions.refused.connect(self._refused)
        self.targets_delegate.refused.connect(self._refused)
        ui.saveButton.clicked.connect(lambda: self._runner.spawn(self.save(), name="save"))
        ui.restoreButton.clicked.connect(
            lambda: self._runner.spawn(self.restore_selected(), name="restore"))
        ui.exportButton.clicked.connect(self._export_clicked)
        ui.importButton.clicked.connect(self._import_clicked)

    # --- loading ------------------------------------------------------------------------

    async def load(self, *, keep_edits: bool = True) -> None:
        """Read the current matrix, definitions, calendar and history.

        Args:
            keep_edits: if the editor holds unsaved changes, keep them and read only the
                history (saving them later still checks they were based on the newest
                version); False shows what is stored whatever the editor holds.
        """
        data = await self._runner.db(self._service.load)
        if keep_edits and self.has_unsaved_changes():
            self._show_history(data)
            return
        self.show_data(data)

    def show_data(self, data: MatrixEditorData) -> None:
        """Fill every tab from ``data``; read-only unless the user may edit."""
        self._loaded = data
        self.can_edit = data.can_edit
        self._based_on = data.matrix.version
        self.model.editable = self.definitions.editable = data.can_edit
        self._show_matrix(data.matrix)
        self.set_calendar(data.calendar)
        self.ui.commentEdit.clear()
        self._show_history(data)
        for widget in (self.ui.saveButton, self.ui.importButton, self.ui.restoreButton,
                       self.ui.commentEdit, self.ui.opensEdit, self.ui.closesEdit,
                       self.ui.timeZoneEdit, *self._days):
            widget.setEnabled(data.can_edit)
        self.ui.holidaysEdit.setReadOnly(not data.can_edit)
        self.ui.statusLabel.setText(
            f"Version {data.matrix.version} is in force." + (
                "" if data.can_edit else " Only admins and team leads may change it: "
                                         "you see it read-only."))
        self._update_state()
        self._clean = self._snapshot()

    def _show_history(self, data: MatrixEditorData) -> None:
        self.ui.historyList.clear()
        for info in data.history:
            item = QListWidgetItem(describe_version(info))
            item.setData(Qt.ItemDataRole.UserRole, info.version)
            self.ui.historyList.addItem(item)

    def _snapshot(self) -> tuple[object, ...]:
        """What the user can change, as entered (also when it would not validate)."""
        draft = self.model.draft(self.definitions.priorities, self._loaded.calendar
                                 if self._loaded else DEFAULT_CALENDAR, 0)
        return (draft.impact_levels, draft.urgency_levels, dict(draft.cells),
                draft.priorities, tuple(box.isChecked() for box in self._days),
                self.ui.opensEdit.time(), self.ui.closesEdit.time(),
                self.ui.timeZoneEdit.text().strip(),
                [line.strip() for line in self.ui.holidaysEdit.toPlainText().splitlines()
                 if line.strip()])

    def has_unsaved_changes(self) -> bool:
        """Whether the matrix, priorities or business hours differ from what was loaded
        (the "Why" comment alone is no change)."""
        return self.can_edit and self._loaded is not None and self._snapshot() != self._clean

    def _show_matrix(self, matrix: PriorityMatrix | MatrixDraft) -> None:
        self.model.load(matrix)
        self.definitions.load(matrix.priorities)

    def set_calendar(self, calendar: BusinessCalendar) -> None:
        for day, box in enumerate(self._days):
            box.setChecked(day in calendar.working_days)
        self.ui.opensEdit.setTime(QTime(calendar.opens.hour, calendar.opens.minute))
        self.ui.closesEdit.setTime(QTime(calendar.closes.hour, calendar.closes.minute))
        self.ui.timeZoneEdit.setText(calendar.time_zone)
        self.ui.holidaysEdit.setPlainText("\n".join(
            f"{h.day.isoformat()} {h.name}".rstrip() for h in calendar.holidays))

    def calendar(self) -> BusinessCalendar:
        """The business hours as entered; ValidationError says what is wrong."""
        holidays = []
        for number, line in enumerate(self.ui.holidaysEdit.toPlainText().splitlines(), 1):
            if not line.strip():
                continue
            day_text, _, name = line.strip().partition(" ")
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                raise ValidationError(f"Public holidays, line {number}: '{day_text}' is not a "
                                      "date like 2026-12-25.") from None
            holidays.append(Holiday(day, name.strip()))
        opens, closes = self.ui.opensEdit.time(), self.ui.closesEdit.time()
        return BusinessCalendar(
            frozenset(d for d, box in enumerate(self._days) if box.isChecked()),
            time(opens.hour(), opens.minute()), time(closes.hour(), closes.minute()),
            self.ui.timeZoneEdit.text().strip() or "UTC", tuple(holidays))

    def draft(self) -> MatrixDraft:
        return self.model.draft(self.definitions.priorities, self.calendar(), self._based_on)

    # --- levels -------------------------------------------------------------------------

    def _current(self) -> QModelIndex:
        return self.ui.matrixView.currentIndex()

    def _add(self, orientation: Qt.Orientation) -> None:
        what = "Urgency" if orientation == Qt.Orientation.Horizontal else "Impact"
        count = (self.model.columnCount() if orientation == Qt.Orientation.Horizontal
                 else self.model.rowCount())
        self.model.add_level(orientation, f"{what} {count + 1}")

    def _remove(self, orientation: Qt.Orientation) -> None:
        index = self._current()
        count = (self.model.columnCount() if orientation == Qt.Orientation.Horizontal
                 else self.model.rowCount())
        if not index.isValid():
            position = count - 1
        else:
            position = (index.column() if orientation == Qt.Orientation.Horizontal
                        else index.row())
        self.model.remove_level(orientation, position)

    def _move(self, orientation: Qt.Orientation, step: int) -> None:
        index = self._current()
        if not index.isValid():
            return
        position = index.column() if orientation == Qt.Orientation.Horizontal else index.row()
        if self.model.move_level(orientation, position, position + step):
            row, column = ((index.row(), position + step)
                           if orientation == Qt.Orientation.Horizontal
                           else (position + step, index.column()))
            self.ui.matrixView.setCurrentIndex(self.model.index(row, column))

    def _rename(self, orientation: Qt.Orientation, section: int) -> None:
        if not self.can_edit:
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("renameLevel")
        dialog.setWindowTitle("Rename level")
        dialog.setLabelText("Name:")
        dialog.setTextValue(str(self.model.headerData(section, orientation)))
        dialog.textValueSelected.connect(
            lambda name: self.model.rename_level(orientation, section, name))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _update_state(self, *_args: object) -> None:
        empty = self.model.empty_cells()
        self.ui.emptyLabel.setText(
            "Every cell needs a priority before saving. Empty: "
            + ", ".join(f"{i.name} impact x {u.name} urgency" for i, u in empty) + "."
            if empty else "")
        self.ui.emptyLabel.setStyleSheet(theme.text_style(theme.colours().error) if empty else "")
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.ui.addImpactButton.setEnabled(self.model.can_add(vertical))
        self.ui.addUrgencyButton.setEnabled(self.model.can_add(horizontal))
        self.ui.removeImpactButton.setEnabled(self.model.can_remove(vertical))
        self.ui.removeUrgencyButton.setEnabled(self.model.can_remove(horizontal))
        for button in (self.ui.impactUpButton, self.ui.impactDownButton,
                       self.ui.urgencyLeftButton, self.ui.urgencyRightButton,
                       self.ui.exportButton):
            button.setEnabled(self.can_edit or button is self.ui.exportButton)

    # --- saving -------------------------------------------------------------------------

    def _error(self, exc: BaseException) -> None:
        self.ui.statusLabel.setText(describe_error(exc))
        self.ui.statusLabel.setStyleSheet(theme.text_style(theme.colours().error))

    def _refused(self, text: str) -> None:
        self._error(ValidationError(text))

    def _ok(self, text: str) -> None:
        self.ui.statusLabel.setText(text)
        self.ui.statusLabel.setStyleSheet("")

    async def save(self) -> SaveResult | None:
        """Preview, ask, save; None if cancelled or refused (the reason is shown)."""
        if self.busy:
            return None
        self.busy = True
        try:
            draft = self.draft()
            draft.to_matrix()  # empty cells and bad names fail here, before any query
            preview = await self._runner.db(self._service.preview, draft)
            names = {p.rank: p.label for p in draft.priorities}
            recompute = await PreviewDialog.ask(self, preview, names)
            if recompute is None:
                return None
            result = await self._runner.db(self._save, draft, recompute,
                                           self.ui.commentEdit.text())
        except DeskappError as exc:
            self._error(exc)
            return None
        finally:
            self.busy = False
        await self._finish(result)
        return result

    def _save(self, draft: MatrixDraft, recompute: bool, comment: str) -> SaveResult:
        return self._service.save(draft, recompute_open=recompute, comment=comment)

    async def _finish(self, result: SaveResult) -> None:
        """Tell the other views, show the saved version, and say what the save did (the
        reload's "Version N is in force" would hide it)."""
        self.ui.commentEdit.clear()
        if result.recomputed and self._on_change is not None:
            self._on_change(result.change)
        await self.load(keep_edits=False)
        self._ok(saved_message(result))

    async def restore_selected(self) -> SaveResult | None:
        """Save the version selected in the history again as the newest."""
        item = self.ui.historyList.currentItem()
        if item is None or self.busy:
            return None
        version = int(item.data(Qt.ItemDataRole.UserRole))
        self.busy = True
        try:
            old = await self._runner.db(self._service.version, version)
            preview = await self._runner.db(self._service.preview, MatrixDraft(
                old.impact_levels, old.urgency_levels, dict(old.cells), old.priorities,
                old.calendar or self.calendar(), self._based_on))
            names = {p.rank: p.label for p in old.priorities}
            recompute = await PreviewDialog.ask(self, preview, names)
            if recompute is None:
                return None
            result = await self._runner.db(self._restore, version, recompute)
        except DeskappError as exc:
            self._error(exc)
            return None
        finally:
            self.busy = False
        await self._finish(result)
        return result

    def _restore(self, version: int, recompute: bool) -> SaveResult:
        return self._service.restore(version, self._based_on, recompute_open=recompute)

    # --- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close, unless there are unsaved changes: then ask Save / Discard / Cancel."""
        if (self._may_close or not self.isVisible() or self._runner.closed
                or not self.has_unsaved_changes()):
            self._may_close = False
            super().closeEvent(event)
            return
        event.ignore()  # the answer closes the window (or not)
        if not self._asking and not self.busy:
            self._asking = True
            self._runner.spawn(self._confirm_close(), name="matrix close?")

    async def _confirm_close(self) -> None:
        try:
            answer = await QuestionBox.ask(
                self, "Unsaved changes",
                "The changes to the priority matrix are not saved yet.",
                Button.Save | Button.Discard | Button.Cancel, Button.Save)
        finally:
            self._asking = False
        if answer == Button.Cancel:
            return
        if answer == Button.Save and await self.save() is None:
            return  # cancelled or refused (the message says why): the edits stay
        if answer == Button.Discard and self._loaded is not None:
            self.show_data(self._loaded)  # opened again, the editor shows what is stored
        self._may_close = True
        self.close()

    # --- JSON ---------------------------------------------------------------------------

    def export_to(self, path: Path) -> bool:
        """Write the matrix as JSON; False (and the reason shown) if it is incomplete."""
        try:
            path.write_text(MatrixAdminService.export_json(self.draft()), encoding="utf-8")
        except (DeskappError, OSError) as exc:
            self._error(exc)
            return False
        self._ok(f"Exported to {path}.")
        return True

    def import_from(self, path: Path) -> bool:
        """Show the matrix of a JSON file (not saved yet); False with the reason if bad."""
        try:
            draft = MatrixAdminService.import_json(path.read_text(encoding="utf-8"),
                                                   self._based_on)
        except (DeskappError, OSError, UnicodeDecodeError) as exc:
            self._error(exc)
            return False
        self._show_matrix(draft)
        self.set_calendar(draft.calendar)
        self._ok(f"Imported {path.name}: check it, then Save to make it the new version.")
        return True

    def _export_clicked(self) -> None:
        dialog = QFileDialog(self, "Export the priority matrix", "priority-matrix.json",
                             JSON_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(lambda name: self.export_to(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _import_clicked(self) -> None:
        dialog = QFileDialog(self, "Import a priority matrix", "", JSON_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.import_from(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
