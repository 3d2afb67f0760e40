"""What Admin > Users… and Admin > Groups… share: a filter box over a table on the left, the
selected record's edit panel on the right, buttons below, and a status line.

Keyboard: the filter box has the focus when the window opens (Ctrl+F brings it back);
Down or Enter there goes to the table; Enter in the table goes to the panel's first field;
Tab leaves the table for the panel; Enter in a panel text field or Ctrl+S saves the panel;
Esc closes the window (asking first, like moving to another row, if the panel holds unsaved
changes). Service calls run through the DbRunner; a refusal (permission, validation,
someone else's newer edit) is shown in the status line in red and nothing is half-written
(each save is one call, one transaction). Tables and tick lists sort names naturally.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import ConflictError, DeskappError
from deskapp.qt.formatting import natural_key
from deskapp.qt.models.people_models import _RowsModel
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.widgets.questions import Button, QuestionBox

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #b00020;"
LRM = "\u200e"
"""LEFT-TO-RIGHT MARK: makes a paragraph that starts with it left-to-right."""
T = TypeVar("T")
D = TypeVar("D", bound="CreateDialog")


class CreateDialog(QDialog):
    """A New… dialog: accepted once it has created a row, whose id it then holds."""

    created_id: int | None = None


def check_list(name: str, parent: QWidget) -> QListWidget:
    """A list of checkable entries (groups of a person, members of a group)."""
    widget = QListWidget(parent)
    widget.setObjectName(name)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    return widget


def fill_check_list(widget: QListWidget, entries: list[tuple[int, str]],
                    checked: set[int]) -> None:
    """Replace the entries, the checked ones first, each part in natural order; Space
    toggles the current one."""
    widget.clear()
    for entry_id, text in sorted(entries, key=lambda e: (e[0] not in checked,
                                                         natural_key(e[1]))):
        item = QListWidgetItem(text, widget)
        item.setData(Qt.ItemDataRole.UserRole, entry_id)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                      | Qt.ItemFlag.ItemIsSelectable)
        item.setCheckState(Qt.CheckState.Checked if entry_id in checked
                           else Qt.CheckState.Unchecked)
    if widget.count():
        widget.setCurrentRow(0)


def checked_ids(widget: QListWidget) -> set[int]:
    """The ids of the checked entries."""
    return {int(widget.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(widget.count())
            if widget.item(i).checkState() == Qt.CheckState.Checked}


class NaturalSortProxy(QSortFilterProxyModel):
    """Sorts by ItemRole.SORT_VALUE where the model gives one (counts), otherwise by the
    shown text in natural order ("Group 2" before "Group 10", case ignored)."""

    def lessThan(self, source_left: QModelIndex | QPersistentModelIndex,
                 source_right: QModelIndex | QPersistentModelIndex) -> bool:
        left, right = source_left.data(ItemRole.SORT_VALUE), source_right.data(
            ItemRole.SORT_VALUE)
        if left is not None and right is not None:
            return bool(left < right)
        return natural_key(str(source_left.data() or "")) < natural_key(
            str(source_right.data() or ""))


class AdminTableWindow(QWidget):
    """The frame of an administration window; subclasses fill the panel and the calls."""

    def __init__(self, model: _RowsModel[Any], runner: DbRunner, *, name: str, title: str,
                 noun: str, stretch_column: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self._runner = runner
        self.model = model
        self.proxy = NaturalSortProxy(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        outer.addLayout(top)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText(f"Filter {noun}s by any column (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.filter_edit.installEventFilter(self)
        filter_label = QLabel("&Filter:", self)
        filter_label.setBuddy(self.filter_edit)
        top.addWidget(filter_label)
        top.addWidget(self.filter_edit, 1)
        middle = QHBoxLayout()
        outer.addLayout(middle, 1)
        self.table = QTableView(self)
        self.table.setObjectName(f"{noun}sTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Tab leaves the table for the panel (the arrows move between rows and cells).
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The long free text (groups of a person, a group's description) takes what is left.
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(
            lambda _current, _previous: self._row_changed())
        self._shown: Any | None = None
        """The record the panel shows (its values as loaded)."""
        self._asking = False
        self._may_close = False
        """Set once the user chose to close despite (or after saving) unsaved changes."""
        middle.addWidget(self.table, 5)
        self.panel = QGroupBox("Details", self)
        self.panel.setObjectName("detailsPanel")
        panel_layout = QVBoxLayout(self.panel)
        self.form = QFormLayout()
        panel_layout.addLayout(self.form)
        self.save_button = QPushButton("&Save", self.panel)
        self.save_button.setObjectName("saveButton")
        self.save_button.setToolTip("Save the changes to this record (Ctrl+S)")
        self.save_button.clicked.connect(self._save_clicked)
        panel_layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        middle.addWidget(self.panel, 3)
        self.buttons = QHBoxLayout()
        outer.addLayout(self.buttons)
        self.new_button = QPushButton(f"&New {noun}…", self)
        self.new_button.setObjectName("newButton")
        self.buttons.addWidget(self.new_button)
        self.buttons.addStretch(1)
        self.reload_button = QPushButton("Re&load", self)
        self.reload_button.setObjectName("reloadButton")
        self.reload_button.clicked.connect(lambda: self.spawn(self.load(), "reload"))
        self.status = QLabel("", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        # Messages are English sentences: a name in another script (isolated by the
        # services) must not turn the line right-to-left (see say()).
        self.status.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.status)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_filter)
        QShortcut(QKeySequence.StandardKey.Save, self, self._save_clicked)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.resize(1180, 600)

    # --- for subclasses ---------------------------------------------------------------------

    async def fetch(self) -> None:
        """Load the rows (and whatever else the panel picks from) into the model."""
        raise NotImplementedError

    def show_record(self, row: Any | None) -> None:
        """Fill the panel from ``row`` (None: nothing selected)."""
        raise NotImplementedError

    async def save(self, row: Any) -> int | None:
        """Save the panel's values over ``row``; the id to select afterwards, or None."""
        raise NotImplementedError

    def first_field(self) -> QWidget:
        """Where Enter in the table sends the keyboard."""
        raise NotImplementedError

    def edited(self, row: Any) -> bool:
        """Whether the panel holds changes to ``row`` that are not saved."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------------

    def saves_on_enter(self, *edits: QLineEdit) -> None:
        """Enter in these panel fields saves the panel (as Ctrl+S does)."""
        for edit in edits:
            edit.returnPressed.connect(self._save_clicked)

    def add_button(self, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
        """A button in the bottom row, before the stretch's right side (Reload last)."""
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.clicked.connect(slot)
        self.buttons.insertWidget(self.buttons.count() - 1, button)
        return button

    def finish_buttons(self) -> None:
        """Put Reload last (call once the subclass added its buttons)."""
        self.buttons.addWidget(self.reload_button)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        self._runner.spawn(coro, name=f"{self.objectName()} {name}")  # type: ignore[arg-type]

    def current(self) -> Any | None:
        """The selected record's row, or None."""
        index = self.table.currentIndex()
        return index.data(ItemRole.ROW) if index.isValid() else None

    async def load(self, select_id: int | None = None) -> None:
        """Fetch afresh and select ``select_id`` (or the record selected before)."""
        if select_id is None:
            selected = self.current()
            select_id = selected.id if selected is not None else None
        try:
            await self.fetch()
        except DeskappError as exc:
            self.say(str(exc), error=True)
            return
        self.select(select_id)
        if not self.status.styleSheet():
            self._count()

    def _count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.say(f"{total:,} in all" + (f", {shown:,} shown" if shown != total else "") + ".")

    def select(self, record_id: int | None) -> None:
        row = self.model.row_of(record_id) if record_id is not None else -1
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 \
            else self.proxy.index(0, 0)
        if proxy_index.isValid():
            self.table.setCurrentIndex(proxy_index)
            self.table.scrollTo(proxy_index)
        self._row_changed()

    async def call(self, fn: Callable[..., T], *args: Any) -> T | None:
        """Run a service call off the GUI thread; None (and the reason shown) if refused."""
        try:
            return await self._runner.db(fn, *args)
        except ConflictError as exc:
            self.say(f"{exc} Nothing was changed; press Reload.", error=True)
        except DeskappError as exc:
            self.say(f"{exc} Nothing was changed.", error=True)
        except Exception as exc:
            log.warning("An administration call failed", exc_info=exc)
            self.say(describe_error(exc), error=True)
        return None

    async def toggle_row_active(self, row: Any, *, reactivate: Callable[[int, int], Any],
                                deactivate: Callable[[int, int], Any],
                                open_count: Callable[[int], int], title: str, question: str,
                                held: Callable[[int], str]) -> None:
        """Reactivate ``row``, or deactivate it once the admin has read how many open
        incidents it still holds (``held(count)``) and said yes."""
        if not row.active:
            result = await self.call(reactivate, row.id, row.version)
        else:
            count = await self.call(open_count, row.id)
            if count is None:
                return
            answer = await QuestionBox.ask(
                self, title, question, Button.Yes | Button.Cancel, Button.Cancel,
                informative=held(count), icon=QMessageBox.Icon.Warning)
            if answer != Button.Yes:
                return
            result = await self.call(deactivate, row.id, row.version)
        if result is not None:
            await self.load(row.id)
            self.say(result.message)

    def open_create_dialog(self, dialog: D,
                           created: Callable[[int | None], Awaitable[None]]) -> D:
        """Open ``dialog`` (a New… dialog with ``created_id``); ``created`` follows a yes."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.spawn(created(dialog.created_id), "created"))
        self.dialog: QDialog | None = dialog
        dialog.open()
        return dialog

    def say(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` in the status line (red if ``error``), laid out left to right.

        The label's text control picks the paragraph's direction from its first strong
        character and skips no isolate: a message starting with an Arabic name would be
        laid out right to left. A LEFT-TO-RIGHT MARK first settles it.
        """
        self.status.setText(LRM + text.removeprefix(LRM) if text else "")
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def _show_current(self) -> None:
        self._shown = self.current()
        self.show_record(self._shown)

    def _row_changed(self) -> None:
        """Show the newly selected record, unless that would throw away typed changes:
        then go back to the edited one and ask first."""
        if self._asking:
            return  # the question is open; its answer decides what the panel shows
        shown, target = self._shown, self.current()
        if shown is None or not self.edited(shown) or (
                target is not None and target.id == shown.id and target.version == shown.version):
            self._show_current()
            return
        if target is None:
            return  # filtered away or reloading: keep what was typed in view
        if target.id == shown.id:
            self._show_current()  # the same record, reloaded (after a save or Reload)
            return
        self._asking = True
        self._put_back(shown.id)
        self.spawn(self._ask_discard(shown, target.id), "discard?")

    def _put_back(self, record_id: int) -> None:
        row = self.model.row_of(record_id)
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.setCurrentIndex(index)

    async def _ask_unsaved(self) -> Button:
        """Save, Discard or Cancel the panel's unsaved changes?"""
        try:
            return await QuestionBox.ask(
                self, "Unsaved changes",
                "The changes in the panel are not saved yet.",
                Button.Save | Button.Discard | Button.Cancel, Button.Save)
        finally:
            self._asking = False

    async def _ask_discard(self, shown: Any, target_id: int) -> None:
        answer = await self._ask_unsaved()
        if answer == Button.Save:
            if await self.save(shown) is None:
                return  # refused: the message says why, and the typing stays
            message = self.status.text()
            self._shown = None
            await self.load(target_id)
            self.say(message)
        elif answer == Button.Discard:
            self._shown = None
            self._put_back(target_id)
            self._show_current()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close, unless the panel holds unsaved changes: then ask first (Esc too)."""
        shown = self._shown
        if self._may_close or not self.isVisible() or shown is None \
                or not self.edited(shown):
            self._may_close = False
            super().closeEvent(event)
            return
        event.ignore()
        if not self._asking:
            self._asking = True
            self.spawn(self._ask_close(shown), "close?")

    async def _ask_close(self, shown: Any) -> None:
        answer = await self._ask_unsaved()
        if answer == Button.Cancel:
            return
        if answer == Button.Save and await self.save(shown) is None:
            return  # refused: the message says why, and the window stays with the typing
        if answer == Button.Discard:
            self._show_current()  # reopened, the window shows the stored values
        self._may_close = True
        self.close()

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if not self.table.currentIndex().isValid():
            self.select(None)
        self._count()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _save_clicked(self) -> None:
        row = self._shown  # what the panel shows, even if the filter hides it now
        if row is not None:
            self.spawn(self._save(row), "save")

    async def _save(self, row: Any) -> None:
        self.save_button.setEnabled(False)
        try:
            self.say("")
            select_id = await self.save(row)
        finally:
            self.save_button.setEnabled(True)
        if select_id is not None:
            message = self.status.text()
            self._shown = None  # saved: what the panel holds is stored now
            await self.load(select_id)
            self.say(message)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if watched is self.filter_edit and key in (Qt.Key.Key_Down, Qt.Key.Key_Return,
                                                       Qt.Key.Key_Enter):
                self.table.setFocus()
                if not self.table.currentIndex().isValid():
                    self.select(None)
                return True
            if watched is self.table and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.first_field().setFocus()
                return True
        return super().eventFilter(watched, event)

    def current_index(self) -> QModelIndex:
        return self.table.currentIndex()
