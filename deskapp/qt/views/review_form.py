"""The post-incident review form: the review's texts, its action items, sign-off and export.

The form carries the version it loaded. Saving sends it; if someone saved in between, the
service refuses with a ConflictError naming them, and the form keeps what the user typed,
offering to load the other version instead (never a silent overwrite either way).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHeaderView,
    QMessageBox,
    QPlainTextEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from deskapp.domain.errors import ConflictError, DeskappError
from deskapp.qt import theme
from deskapp.qt.generated.review_form_ui import Ui_ReviewForm
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.report_dialogs import PDF_FILTER, ReportExporter
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.changes import Change
from deskapp.services.report_data import ReportService
from deskapp.services.report_dto import (
    ActionItem,
    ActionState,
    ReviewContent,
    ReviewStatus,
    ReviewView,
)
from deskapp.services.reviews import ReviewService

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Action", "Owner", "Due", "State")
DESCRIPTION, OWNER, DUE, STATE = range(4)
STATES = list(ActionState)

# The form's text fields and the content fields they hold, in the form's order.
TEXT_FIELDS = {
    "summaryEdit": "summary", "customerImpactEdit": "customer_impact",
    "businessImpactEdit": "business_impact", "detectionEdit": "detection",
    "rootCauseEdit": "root_cause", "contributingFactorsEdit": "contributing_factors",
    "resolutionEdit": "resolution", "wentWellEdit": "went_well",
    "wentBadlyEdit": "went_badly", "lessonsLearnedEdit": "lessons_learned",
}


class ActionItemsModel(QAbstractTableModel):
    """The review's action items as an editable table: action, owner, due date, state.

    Roles: DisplayRole and EditRole (the due date as a QDate, the state as its label for
    display and its index in ActionState for editing).

    Signals:
        edited(): the user changed, added or removed an item.
    """

    edited = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[ActionItem] = []
        self._read_only = False

    @property
    def items(self) -> tuple[ActionItem, ...]:
        return tuple(self._items)

    def set_items(self, items: tuple[ActionItem, ...]) -> None:
        self.beginResetModel()
        try:
            self._items = list(items)
        finally:
            self.endResetModel()

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags if self._read_only else flags | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (item.description, item.owner,
                    item.due.isoformat() if item.due else "",
                    item.state.label)[column]
        if role == Qt.ItemDataRole.EditRole:
            if column == DUE:
                due = item.due
                return QDate(due.year, due.month, due.day) if due else QDate.currentDate()
            if column == STATE:
                return STATES.index(item.state)
            return (item.description, item.owner)[column]
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.EditRole or not index.isValid() or self._read_only
                or not 0 <= index.row() < len(self._items)):
            return False
        item = self._items[index.row()]
        column = index.column()
        if column == DESCRIPTION:
            item = replace(item, description=str(value))
        elif column == OWNER:
            item = replace(item, owner=str(value))
        elif column == DUE:
            due = value.toPython() if isinstance(value, QDate) and value.isValid() else None
            item = replace(item, due=due if isinstance(due, date) else None)
        else:
            item = replace(item, state=STATES[int(value)])
        self._items[index.row()] = item
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole,
                                             Qt.ItemDataRole.EditRole])
        self.edited.emit()
        return True

    def add(self) -> int:
        """Append an empty open item; returns its row."""
        row = len(self._items)
        self.beginInsertRows(QModelIndex(), row, row)
        try:
            self._items.append(ActionItem(""))
        finally:
            self.endInsertRows()
        self.edited.emit()
        return row

    def remove(self, row: int) -> None:
        if not 0 <= row < len(self._items):
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        try:
            del self._items[row]
        finally:
            self.endRemoveRows()
        self.edited.emit()


class StateDelegate(QStyledItemDelegate):
    """Edits an action item's state with a list of the states."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: Index) -> QWidget:
        editor = QComboBox(parent)
        editor.addItems([state.label for state in STATES])
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(int(index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentIndex(), Qt.ItemDataRole.EditRole)


class ReviewForm(QWidget):
    """The review of one incident, in a window of its own.

    Signals:
        changed(object): the review was saved, signed off or made a draft (a Change).
    """

    changed = Signal(object)

    def __init__(self, *, reviews: ReviewService, reports: ReportService, runner: DbRunner,
                 exporter: ReportExporter, incident_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._reviews = reviews
        self._reports = reports
        self._runner = runner
        self._exporter = exporter
        self.incident_id = incident_id
        self.review: ReviewView | None = None
        self.number = ""
        self._can_edit = False
        self._can_sign_off = False
        self._dirty = False
        self.ui = Ui_ReviewForm()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self.setObjectName("reviewForm")
        self.actions_model = ActionItemsModel(self)
        self.ui.actionsView.setModel(self.actions_model)
        self.ui.actionsView.setItemDelegateForColumn(STATE, StateDelegate(self))
        header = self.ui.actionsView.horizontalHeader()
        header.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.actions_model.edited.connect(self._mark_dirty)
        for name in TEXT_FIELDS:
            self._edit(name).textChanged.connect(self._mark_dirty)
        self.ui.detectedCheck.toggled.connect(self.ui.detectedEdit.setEnabled)
        self.ui.detectedCheck.toggled.connect(self._mark_dirty)
        self.ui.detectedEdit.dateTimeChanged.connect(self._mark_dirty)
        self.ui.addActionButton.clicked.connect(self._add_action)
        self.ui.removeActionButton.clicked.connect(self._remove_action)
        self.ui.saveButton.clicked.connect(lambda: self._spawn(self.save(), "save review"))
        self.ui.finalButton.clicked.connect(
            lambda: self._spawn(self.mark_final(), "sign off review"))
        self.ui.draftButton.clicked.connect(
            lambda: self._spawn(self.make_draft(), "redraft review"))
        self.ui.reloadButton.clicked.connect(lambda: self._spawn(self.load(), "load review"))
        self.ui.exportButton.clicked.connect(
            lambda: self._spawn(self.export_pdf(), "export review"))
        self.ui.closeButton.clicked.connect(self.close)
        self._update_buttons()

    def _edit(self, name: str) -> QPlainTextEdit:
        edit = getattr(self.ui, name)
        assert isinstance(edit, QPlainTextEdit)
        return edit

    def _spawn(self, coro: Any, name: str) -> None:
        self._runner.spawn(coro, name=name)

    @property
    def dirty(self) -> bool:
        """Whether the form holds changes not saved yet."""
        return self._dirty

    def _mark_dirty(self, *_args: object) -> None:
        if not self._filling:
            self._dirty = True
            self._update_buttons()

    _filling = False

    # --- loading --------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the incident's review (throwing away unsaved changes)."""
        try:
            data = await self._runner.db(self._reviews.load, self.incident_id)
            self._can_edit = await self._runner.db(self._reviews.can_edit)
            self._can_sign_off = await self._runner.db(self._reviews.can_sign_off)
        except DeskappError as exc:
            self._message(str(exc), error=True)
            return
        self.number = data.incident.number
        self.setWindowTitle(f"Post-incident review \u2014 {data.incident.number}")
        self.ui.titleLabel.setText(f"{data.incident.number}: "
                                   f"{data.incident.short_description}")
        self.show_review(data.review)

    def show_review(self, review: ReviewView | None) -> None:
        """Fill the form with ``review`` (None: an empty first draft)."""
        self.review = review
        content = review.content if review else ReviewContent()
        self._filling = True
        try:
            for name, field in TEXT_FIELDS.items():
                self._edit(name).setPlainText(getattr(content, field))
            self.ui.detectedCheck.setChecked(content.detected_at is not None)
            moment = content.detected_at or datetime.now(UTC)
            self.ui.detectedEdit.setDateTime(
                QDateTime.fromSecsSinceEpoch(int(moment.timestamp())))
            self.actions_model.set_items(content.action_items)
        finally:
            self._filling = False
        self._dirty = False
        self._update_buttons()
        self._message("")

    def _update_buttons(self) -> None:
        final = self.review is not None and self.review.status == ReviewStatus.FINAL
        editable = self._can_edit and not final
        for name in TEXT_FIELDS:
            self._edit(name).setReadOnly(not editable)
        self.ui.detectedCheck.setEnabled(editable)
        self.ui.detectedEdit.setEnabled(editable and self.ui.detectedCheck.isChecked())
        self.actions_model.set_read_only(not editable)
        self.ui.addActionButton.setEnabled(editable)
        self.ui.removeActionButton.setEnabled(editable)
        self.ui.saveButton.setEnabled(editable and (self._dirty or self.review is None))
        self.ui.finalButton.setEnabled(self._can_sign_off and self.review is not None
                                       and not final and not self._dirty)
        self.ui.draftButton.setVisible(final)
        self.ui.draftButton.setEnabled(self._can_sign_off and final)
        if self.review is None:
            status = "Not begun yet: write a first draft and save it."
        else:
            r = self.review
            status = (f"{r.status.label}, version {r.version}; begun by {r.author_name}, "
                      f"last saved by {r.updated_by_name} "
                      f"{r.updated_at.astimezone():%Y-%m-%d %H:%M}")
            if final and r.finalized_by_name:
                status += f"; signed off by {r.finalized_by_name}"
        if self._dirty:
            status += " \u2014 unsaved changes"
        self.ui.statusLabel.setText(status)

    # --- editing --------------------------------------------------------------------------

    def content(self) -> ReviewContent:
        """What the form holds now."""
        detected = None
        if self.ui.detectedCheck.isChecked():
            value = self.ui.detectedEdit.dateTime().toPython()
            assert isinstance(value, datetime)
            detected = value.astimezone(UTC) if value.tzinfo else \
                value.astimezone().astimezone(UTC)
        texts = {field: self._edit(name).toPlainText() for name, field in TEXT_FIELDS.items()}
        return ReviewContent(**texts, detected_at=detected,
                             action_items=self.actions_model.items)

    def _add_action(self) -> None:
        row = self.actions_model.add()
        index = self.actions_model.index(row, DESCRIPTION)
        self.ui.actionsView.setCurrentIndex(index)
        self.ui.actionsView.edit(index)

    def _remove_action(self) -> None:
        self.actions_model.remove(self.ui.actionsView.currentIndex().row())

    async def save(self) -> bool:
        """Save what the form holds at the version it loaded; False if nothing was saved."""
        review = self.review
        try:
            view, change = await self._runner.db(
                lambda: self._reviews.save(self.incident_id, self.content(),
                                           review_id=review.id if review else None,
                                           version=review.version if review else None))
        except ConflictError as exc:
            self._conflict(exc)
            return False
        except DeskappError as exc:
            self._message(str(exc), error=True)
            return False
        self.show_review(view)
        self._message(f"Saved version {view.version}.")
        self._announce(change)
        return True

    async def mark_final(self) -> bool:
        """Sign the review off (after saving pending changes)."""
        if self.review is None or (self._dirty and not await self.save()):
            return False
        review = self.review
        assert review is not None
        try:
            view, change = await self._runner.db(self._reviews.mark_final, self.incident_id,
                                                 review.id, review.version)
        except ConflictError as exc:
            self._conflict(exc)
            return False
        except DeskappError as exc:
            self._message(str(exc), error=True)
            return False
        self.show_review(view)
        self._message("The review is final.")
        self._announce(change)
        return True

    async def make_draft(self) -> bool:
        """Make a final review a draft again."""
        review = self.review
        if review is None:
            return False
        try:
            view, change = await self._runner.db(self._reviews.reopen_draft, self.incident_id,
                                                 review.id, review.version)
        except DeskappError as exc:
            self._message(str(exc), error=True)
            return False
        self.show_review(view)
        self._announce(change)
        return True

    def _announce(self, change: Change) -> None:
        self.changed.emit(change)

    def _conflict(self, exc: ConflictError) -> None:
        # What the user typed stays in the form; loading the other version is their choice.
        self._message(str(exc), error=True)
        box = QMessageBox(QMessageBox.Icon.Warning, "Review changed meanwhile", str(exc),
                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # names who saved
        box.setObjectName("reviewConflict")
        box.button(QMessageBox.StandardButton.Discard).setText("Load their version")
        box.button(QMessageBox.StandardButton.Cancel).setText("Keep mine (copy it first)")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Discard:
                self._spawn(self.load(), "reload review")

        box.finished.connect(answered)
        box.open()
        self.conflict_box = box

    conflict_box: QMessageBox | None = None

    def _message(self, text: str, *, error: bool = False) -> None:
        self.ui.messageLabel.setStyleSheet(theme.text_style(theme.colours().error) if error else "")
        self.ui.messageLabel.setText(text)

    # --- export ---------------------------------------------------------------------------

    async def export_pdf(self, path: Path | None = None) -> Path | None:
        """Save the review as a PDF (asking where, unless ``path`` is given)."""
        if path is None:
            path = await PathDialog.ask(self, title="Export the review", filters=[PDF_FILTER],
                                        save=True, default_suffix="pdf",
                                        start=Path.home() / f"{self.number}-review.pdf")
            if path is None:
                return None
        incident_id = self.incident_id
        try:
            return await self._exporter.export(
                self, f"the review of {self.number}",
                lambda: self._reports.review_report(incident_id), review_pdf, path)
        except Exception as exc:  # the exporter reports its own; this is a safety net
            self._message(describe_error(exc), error=True)
            return None
