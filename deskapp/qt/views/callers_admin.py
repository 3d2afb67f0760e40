"""Admin > Callers…: search and page through callers, edit them, deactivate, merge duplicates.

The window lists callers by name (a page at a time, fetched as the list scrolls) with a
debounced search box; the panel beside it edits the selected caller (its version travels with
the edit: a caller changed meanwhile by someone else is refused, and what was typed stays).
"Find duplicates" lists callers sharing an email, a phone number or a name; "Merge…" opens
:class:`MergeDialog` on the selected callers (or on the selected caller and its likely
duplicates), which shows them side by side with a radio button per field.

Keyboard: Ctrl+F search, Down from the search box into the list, Enter in the list to the
edit panel, Ctrl+S save, Esc asks whether to save or discard unsaved edits (or closes the
window when there are none), Ctrl+M merge, Ctrl+D find duplicates. Moving to another caller
or closing the window with unsaved edits asks Save / Discard / Cancel first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import ConflictError
from deskapp.domain.text import counted
from deskapp.qt import theme
from deskapp.qt.formatting import format_timestamp, plain_tooltip
from deskapp.qt.models.caller_admin_model import CallerAdminModel, CallerColumn, status_text
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.services.caller_admin import CallerAdminService, merged_values
from deskapp.services.caller_admin_dto import (
    MERGE_FIELDS,
    CallerAdminRow,
    CallerEdit,
    CallerPageQuery,
    DuplicateGroup,
    MergeRequest,
    MergeResult,
)
from deskapp.services.caller_edit_merge import changes_between, merge_edit

SEARCH_DELAY_MS = 250
"""How long typing must pause before the list is searched again."""
_FIELD_TITLES = {"name": "Name", "email": "Email", "phone": "Phone",
                 "department": "Department", "location": "Location", "vip": "VIP"}


def _shown(value: str | bool) -> str:
    if isinstance(value, bool):
        return "VIP" if value else "not VIP"
    return value or "—"


def _caller_title(row: CallerAdminRow) -> str:
    return f"{row.name} (#{row.id})"


SPACE_MARK = "·"
"""Stands for each character of a space a reader could not see (see ``visible_spaces``)."""
_HIDDEN_SPACE = re.compile(r"^\s+|\s+$|\s{2,}|[^\S ]")


def visible_spaces(text: str) -> str:
    """``text`` with the spaces that do not show marked: "Jane··Duplicate".

    A single space between words stays as it is; leading and trailing whitespace, runs of two
    or more, and other whitespace characters (tab, no-break space) become one SPACE_MARK per
    character, so two names differing only there look different.
    """
    return _HIDDEN_SPACE.sub(lambda match: SPACE_MARK * len(match.group()), text)


# --- the merge dialog -----------------------------------------------------------------------

class MergeDialog(QDialog):
    """The callers side by side: who survives, and for each field whose value it keeps.

    One column per caller; the first row picks the survivor, each row below picks a field's
    value (defaults: the survivor's if not empty, else a duplicate's). Arrow keys move
    between a row's radio buttons, Tab to the next row. ``request()`` is what "Merge" asks.
    """

    def __init__(self, rows: Sequence[CallerAdminRow], parent: QWidget | None = None, *,
                 survivor_id: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mergeCallersDialog")
        self.setWindowTitle("Merge callers")
        self.rows = {row.id: row for row in rows}
        self._ids = [row.id for row in rows]
        layout = QVBoxLayout(self)
        intro = QLabel("Choose the caller that stays, and for each detail whose value it "
                       "keeps. The others become inactive and point to it; their incidents "
                       "move to it. Nothing is deleted.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        layout.addLayout(grid)
        for column, row in enumerate(rows, start=1):
            # Rich text folds runs of spaces into one: mark them, or two names differing
            # only by a double space would look the same.
            title = QLabel(f"<b>{html.escape(visible_spaces(_caller_title(row)))}</b><br>"
                           f"{counted(row.incident_count, 'incident')}, "
                           f"{html.escape(status_text(row).lower())}")
            title.setTextFormat(Qt.TextFormat.RichText)
            title.setObjectName(f"mergeTitle_{row.id}")
            grid.addWidget(title, 0, column)
        if any(visible_spaces(row.name) != row.name for row in rows):
            note = QLabel(f"“{SPACE_MARK}” in a name above marks a space you might not see "
                          f"(a double space, a space at the start or end, a tab).")
            note.setObjectName("mergeSpacesNote")
            note.setWordWrap(True)
            layout.addWidget(note)
        self.survivor_group = QButtonGroup(self)
        self.survivor_group.setObjectName("survivorGroup")
        grid.addWidget(QLabel("Keep this caller"), 1, 0)
        for column, row in enumerate(rows, start=1):
            button = QRadioButton("&Survivor" if column == 1 else "Survivor")
            button.setObjectName(f"survivor_{row.id}")
            self.survivor_group.addButton(button, row.id)
            grid.addWidget(button, 1, column)
        self.field_groups: dict[str, QButtonGroup] = {}
        for line, name in enumerate(MERGE_FIELDS, start=2):
            grid.addWidget(QLabel(_FIELD_TITLES[name]), line, 0)
            group = QButtonGroup(self)
            group.setObjectName(f"{name}Group")
            self.field_groups[name] = group
            for column, row in enumerate(rows, start=1):
                # The exact value ("&" doubled: it would make a shortcut, not show).
                button = QRadioButton(_shown(row.value(name)).replace("&", "&&"))
                button.setObjectName(f"{name}_{row.id}")
                button.setToolTip(plain_tooltip(
                    f"Keep {_caller_title(row)}'s {_FIELD_TITLES[name].lower()}"))
                group.addButton(button, row.id)
                grid.addWidget(button, line, column)
        self.moveLabel = QLabel()
        self.moveLabel.setObjectName("mergeMoveLabel")
        self.moveLabel.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.moveLabel)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.mergeButton = self.buttons.addButton("&Merge",
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.mergeButton.setObjectName("mergeButton")
        self.mergeButton.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.survivor_group.idToggled.connect(self._survivor_toggled)
        first = survivor_id if survivor_id in self.rows else self._ids[0]
        first_button = self.survivor_group.button(first)
        first_button.setChecked(True)
        first_button.setFocus()

    @property
    def survivor_id(self) -> int:
        return self.survivor_group.checkedId()

    @property
    def duplicate_ids(self) -> tuple[int, ...]:
        return tuple(i for i in self._ids if i != self.survivor_id)

    def _survivor_toggled(self, caller_id: int, checked: bool) -> None:
        if not checked:
            return
        # A new survivor starts again from the defaults its own values give.
        defaults = merged_values(self.rows, caller_id, self.duplicate_ids, {})
        for name, group in self.field_groups.items():
            chosen = next((i for i in (caller_id, *self.duplicate_ids)
                           if self.rows[i].value(name) == defaults[name]), caller_id)
            group.button(chosen).setChecked(True)
        moving = sum(self.rows[i].incident_count for i in self.duplicate_ids)
        self.moveLabel.setText(
            f"{counted(moving, 'incident')} will move to "
            f"{visible_spaces(_caller_title(self.rows[caller_id]))}; "
            f"{counted(len(self.duplicate_ids), 'caller')} will be marked merged.")

    def choices(self) -> dict[str, int]:
        """For each field, the caller whose value the survivor keeps."""
        return {name: group.checkedId() for name, group in self.field_groups.items()}

    def request(self) -> MergeRequest:
        """The merge as chosen, with the versions the dialog was shown with."""
        return MergeRequest(self.survivor_id, self.duplicate_ids,
                            {i: row.version for i, row in self.rows.items()}, self.choices())


# --- the duplicates list --------------------------------------------------------------------

class DuplicatesDialog(QDialog):
    """Groups of callers that look like one person; Enter opens the merge of a group."""

    def __init__(self, groups: Sequence[DuplicateGroup], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicateCallersDialog")
        self.setWindowTitle("Likely duplicate callers")
        self.resize(620, 380)
        layout = QVBoxLayout(self)
        label = QLabel(f"{counted(len(groups), 'group')} of active callers share an email "
                       "address, a phone number or a name." if groups else
                       "No active callers share an email address, a phone number or a name.")
        label.setWordWrap(True)
        layout.addWidget(label)
        self.list = QListWidget()
        self.list.setObjectName("duplicateGroups")
        for group in groups:
            names = ", ".join(_caller_title(c) for c in group.callers)
            item = QListWidgetItem(f"Same {group.reason} “{group.key}”: {names}")
            item.setData(Qt.ItemDataRole.UserRole, group)
            self.list.addItem(item)
        label.setBuddy(self.list)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.mergeButton = buttons.addButton("&Merge…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.mergeButton.setObjectName("mergeGroupButton")
        self.mergeButton.setEnabled(bool(groups))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.list.itemActivated.connect(lambda _item: self.accept())
        layout.addWidget(buttons)
        if groups:
            self.list.setCurrentRow(0)
        self.list.setFocus()

    def chosen(self) -> DuplicateGroup | None:
        item = self.list.currentItem()
        group = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return group if isinstance(group, DuplicateGroup) else None


# --- picking an existing caller (for a flagged one) ----------------------------------------

class CallerPickerDialog(QDialog):
    """Search for the existing caller a flagged one should be merged into."""

    def __init__(self, service: CallerAdminService, runner: DbRunner, flagged: CallerAdminRow,
                 suggestions: Sequence[CallerAdminRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callerPickerDialog")
        self.setWindowTitle(f"Merge {flagged.name} into…")
        self.resize(520, 360)
        self._service = service
        self._runner = runner
        self._flagged = flagged
        layout = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("pickerSearch")
        self.search.setPlaceholderText("Name, email or phone of the existing caller")
        label = QLabel("&Find the caller:")
        label.setBuddy(self.search)
        layout.addWidget(label)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("pickerList")
        layout.addWidget(self.list, 1)
        self.status = QLabel("Likely matches:" if suggestions else "Type to search.")
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.chooseButton = buttons.addButton("&Choose…", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.list.itemActivated.connect(lambda _item: self.accept())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._search)
        self.search.textEdited.connect(lambda _text: self._timer.start())
        self.search.installEventFilter(self)
        self._show(suggestions)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down:
            self.list.setFocus()
            return True
        return super().eventFilter(watched, event)

    def _show(self, rows: Sequence[CallerAdminRow]) -> None:
        self.list.clear()
        for row in rows:
            if row.id == self._flagged.id or not row.active:
                continue
            item = QListWidgetItem(f"{row.name} <{row.email or 'no email'}> "
                                   f"{row.phone} — {counted(row.incident_count, 'incident')}")
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _search(self) -> None:
        self._runner.spawn(self._find(self.search.text()), name="caller picker search")

    async def _find(self, text: str) -> None:
        try:
            page = await self._runner.db(self._service.page,
                                         CallerPageQuery(text, include_inactive=False, limit=50))
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.status.setText(describe_error(exc))
            return
        if text == self.search.text():
            self._show(page.rows)
            self.status.setText(f"{counted(self.list.count(), 'caller')} found.")

    def chosen(self) -> CallerAdminRow | None:
        item = self.list.currentItem()
        row = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return row if isinstance(row, CallerAdminRow) else None


class MergeFlow(QObject):
    """Opens the merge dialog on fresh copies of the callers and runs the merge.

    Args:
        on_merged: Called on the GUI thread with the result of a merge that was made.
        on_message: Called with what to tell the user (an error when ``error``).
    """

    def __init__(self, service: CallerAdminService, runner: DbRunner, parent: QWidget,
                 on_merged: Callable[[MergeResult], None],
                 on_message: Callable[[str, bool], None]) -> None:
        super().__init__(parent)
        self._service = service
        self._runner = runner
        self._parent = parent
        self._on_merged = on_merged
        self._on_message = on_message
        self.dialog: MergeDialog | None = None

    def start(self, caller_ids: Sequence[int], survivor_id: int | None = None) -> None:
        """Read the callers afresh (versions, counts), then show the dialog."""
        self._runner.spawn(self._open(list(caller_ids), survivor_id), name="merge dialog")

    async def _open(self, caller_ids: list[int], survivor_id: int | None) -> None:
        try:
            rows = [await self._runner.db(self._service.get, i) for i in caller_ids]
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self._on_message(describe_error(exc), True)
            return
        self.dialog = MergeDialog(rows, self._parent, survivor_id=survivor_id)
        theme.follow(self.dialog)
        self.dialog.accepted.connect(self._accepted)
        self.dialog.open()

    def _accepted(self) -> None:
        if self.dialog is not None:
            self._runner.spawn(self.merge(self.dialog.request()), name="merge callers")

    async def merge(self, request: MergeRequest) -> MergeResult | None:
        """Run the merge; say what it did or why it was refused."""
        try:
            result = await self._runner.db(self._service.merge, request)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self._on_message(describe_error(exc), True)
            return None
        self._on_message(
            f"Merged {counted(len(result.merged_ids), 'caller')} into "
            f"{_caller_title(result.survivor)}: {counted(result.incidents_moved, 'incident')} "
            f"moved.", False)
        self._on_merged(result)
        return result


# --- the window -----------------------------------------------------------------------------

class CallersAdminWindow(QWidget):
    """Admin > Callers…; a window of its own. ``load()`` shows the first page."""

    def __init__(self, service: CallerAdminService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callersAdminWindow")
        self.setWindowTitle("Callers")
        self.setWindowFlag(Qt.WindowType.Window, True)
        # Wide enough for every column at its contents' width next to the edit panel.
        self.resize(1320, 640)
        self._service = service
        self._runner = runner
        self._may_edit = False
        self._may_administer = False
        self._current: CallerAdminRow | None = None
        self._dirty = False
        self._asking = False
        """A Save / Discard / Cancel question is open; its answer decides what comes next."""
        self._note = ""
        self.model = CallerAdminModel(service.page, runner, self)
        self.merge_flow = MergeFlow(service, runner, self, self._merged, self.show_message)

        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        layout.addLayout(bar)
        self.search = QLineEdit()
        self.search.setObjectName("callerSearch")
        self.search.setPlaceholderText("Name, email or phone starts with…")
        self.search.setClearButtonEnabled(True)
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search)
        bar.addWidget(search_label)
        bar.addWidget(self.search, 1)
        self.inactive = QCheckBox("Show &inactive")
        self.inactive.setObjectName("showInactive")
        self.inactive.setChecked(False)
        bar.addWidget(self.inactive)
        self.duplicatesButton = QPushButton("Find &duplicates")
        self.duplicatesButton.setObjectName("findDuplicatesButton")
        bar.addWidget(self.duplicatesButton)
        self.mergeButton = QPushButton("&Merge…")
        self.mergeButton.setObjectName("mergeCallersButton")
        bar.addWidget(self.mergeButton)

        splitter = QSplitter()
        layout.addWidget(splitter, 1)
        self.table = QTableView()
        self.table.setObjectName("callersTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        # One line per caller, each column as wide as what it shows (a status such as
        # "Merged into #5247" whole); the name takes what is left.
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CallerColumn.NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(36)
        splitter.addWidget(self.table)

        self.panel = QGroupBox("Caller")
        self.panel.setObjectName("callerPanel")
        form = QFormLayout(self.panel)
        self.edits: dict[str, QLineEdit] = {}
        for name, title in (("name", "&Name"), ("email", "&Email"), ("phone", "&Phone"),
                            ("department", "De&partment"), ("location", "&Location")):
            edit = QLineEdit()
            edit.setObjectName(f"caller_{name}")
            edit.setMaxLength(200 if name == "email" else 40 if name == "phone" else 120)
            edit.textEdited.connect(self._edited)
            edit.returnPressed.connect(self.save)
            self.edits[name] = edit
            form.addRow(title + ":", edit)
        self.vip = QCheckBox("&VIP")
        self.vip.setObjectName("caller_vip")
        self.vip.toggled.connect(self._edited)
        form.addRow("", self.vip)
        self.infoLabel = QLabel()
        self.infoLabel.setObjectName("callerInfo")
        self.infoLabel.setWordWrap(True)
        form.addRow(self.infoLabel)
        buttons = QHBoxLayout()
        self.saveButton = QPushButton("&Save")
        self.saveButton.setObjectName("saveCallerButton")
        self.activeButton = QPushButton("Deac&tivate")
        self.activeButton.setObjectName("toggleActiveButton")
        buttons.addWidget(self.saveButton)
        buttons.addWidget(self.activeButton)
        form.addRow(buttons)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 320])

        self.status = QLabel()
        self.status.setObjectName("callersStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._timer.start())
        self.search.installEventFilter(self)
        self.table.installEventFilter(self)
        self.inactive.toggled.connect(lambda _on: self.reload())
        self.duplicatesButton.clicked.connect(self.find_duplicates)
        self.mergeButton.clicked.connect(self.merge_selected)
        self.saveButton.clicked.connect(self.save)
        self.activeButton.clicked.connect(self.toggle_active)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(self._update_enabled)
        self.model.loaded.connect(self._page_loaded)
        self.model.load_failed.connect(lambda text: self.show_message(text, True))
        for keys, slot in ((QKeySequence.StandardKey.Find, self._focus_search),
                           (QKeySequence.StandardKey.Save, self.save),
                           (QKeySequence("Ctrl+M"), self.merge_selected),
                           (QKeySequence("Ctrl+D"), self.find_duplicates),
                           (QKeySequence(Qt.Key.Key_Escape), self._escape)):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        QWidget.setTabOrder(self.search, self.inactive)
        QWidget.setTabOrder(self.inactive, self.duplicatesButton)
        QWidget.setTabOrder(self.duplicatesButton, self.mergeButton)
        QWidget.setTabOrder(self.mergeButton, self.table)
        QWidget.setTabOrder(self.table, self.edits["name"])
        self._show_caller(None)

    # --- loading ------------------------------------------------------------------------

    async def load(self) -> None:
        """Read what the user may do, then search with what the box holds."""
        try:
            self._may_edit = await self._runner.db(self._service.may_edit)
            self._may_administer = await self._runner.db(self._service.may_administer)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.show_message(describe_error(exc), True)
            return
        await self.model.search(self.search.text(), self.inactive.isChecked())
        self.search.setFocus()

    def reload(self) -> None:
        """Search again (the box's text, the inactive switch), from the first page."""
        self._timer.stop()
        if not self._runner.closed:
            self.model.search(self.search.text(), self.inactive.isChecked())

    def _page_loaded(self, first: bool) -> None:
        shown = self.model.rowCount()
        more = "" if self.model.exhausted else " (more as you scroll)"
        # What a merge said stays in front of the count of the list read after it.
        note, self._note = (self._note + " ") if self._note else "", ""
        self.show_message(f"{note}{counted(shown, 'caller')} shown{more}.", False)
        if self._keeps_typing():
            # A new search (or a page) never throws away what was typed: the edited caller
            # stays in the panel, selected if the list shows it.
            assert self._current is not None
            at = self.model.row_of(self._current.id)
            if at is not None and self.table.currentIndex().row() != at:
                self._select_row(at)
        elif first:
            if shown:
                self._select_row(0)
            else:
                self._show_caller(None)
        elif self._current is not None and self.model.row_of(self._current.id) is None:
            self._show_caller(None)

    # --- the edit panel -----------------------------------------------------------------

    def _keeps_typing(self) -> bool:
        return self._dirty and self._current is not None

    def _select_row(self, at: int) -> None:
        self.table.selectionModel().setCurrentIndex(
            self.model.index(at, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)

    def _current_changed(self) -> None:
        """Show the newly selected caller, unless that would throw away typed edits: then
        go back to the edited caller and ask Save / Discard / Cancel first."""
        if self._asking:
            return  # the question is open (or being answered); its answer moves on
        index = self.table.currentIndex()
        target = self.model.row_at(index.row()) if index.isValid() else None
        if not self._keeps_typing():
            self._show_caller(target)
            return
        edited = self._current
        assert edited is not None
        if target is None or target.id == edited.id:
            return  # the list was searched again or refreshed: the typing stays in view
        self._asking = True
        self._put_back(edited.id)
        self._runner.spawn(self._ask_then_show(target.id), name="caller unsaved edits")

    def _put_back(self, caller_id: int) -> None:
        """Select the edited caller again (or nothing if the list no longer shows it)."""
        at = self.model.row_of(caller_id)
        if at is not None:
            self._select_row(at)
        else:
            self.table.selectionModel().clear()

    async def _ask_unsaved(self) -> Button:
        """Ask what becomes of the panel's unsaved edits (the Users window's question)."""
        edited = self._current
        name = _caller_title(edited) if edited is not None else "this caller"
        self._asking = True
        try:
            return await QuestionBox.ask(
                self, "Unsaved changes",
                f"The changes to {name} are not saved yet.",
                Button.Save | Button.Discard | Button.Cancel, Button.Save)
        finally:
            self._asking = False

    async def _ask_then_show(self, target_id: int) -> None:
        """The user moved to another caller with unsaved edits: save or drop them first."""
        answer = await self._ask_unsaved()
        if answer == Button.Cancel or (answer == Button.Save and await self.save_now() is None):
            return  # kept (or refused: the message says why, and the typing stays)
        self._discard()  # after a save: nothing left to drop
        at = self.model.row_of(target_id)
        if at is None:
            self._show_caller(None)
            return
        self._select_row(at)
        self._show_caller(self.model.row_at(at))  # also when the row was current already

    def _show_caller(self, row: CallerAdminRow | None) -> None:
        self._current = row
        for name, edit in self.edits.items():
            edit.setText(str(row.value(name)) if row is not None else "")
        self.vip.blockSignals(True)
        self.vip.setChecked(bool(row is not None and row.vip))
        self.vip.blockSignals(False)
        self._dirty = False
        if row is None:
            self.panel.setTitle("Caller")
            self.infoLabel.setText("Select a caller in the list.")
        else:
            self.panel.setTitle(f"{row.name} (caller #{row.id})")
            self.infoLabel.setText(f"{counted(row.incident_count, 'incident')}; "
                                   f"{status_text(row).lower()}.")
        self._update_enabled()

    def _edited(self) -> None:
        self._dirty = True
        self._update_enabled()

    def _update_enabled(self) -> None:
        row = self._current
        editable = row is not None and row.merged_into_id is None and self._may_edit
        for edit in self.edits.values():
            edit.setReadOnly(not editable)
        self.vip.setEnabled(editable)
        self.saveButton.setEnabled(editable and self._dirty)
        self.activeButton.setText("Deac&tivate" if row is None or row.active else "Reac&tivate")
        self.activeButton.setEnabled(row is not None and row.merged_into_id is None
                                     and self._may_administer)
        self.mergeButton.setEnabled(self._may_administer and row is not None)
        self.duplicatesButton.setEnabled(self._may_administer)

    def edit_values(self) -> CallerEdit:
        """What the panel holds."""
        text = {name: edit.text() for name, edit in self.edits.items()}
        return CallerEdit(text["name"], text["email"], text["phone"], text["department"],
                          text["location"], self.vip.isChecked())

    def _restore(self, typed: CallerEdit) -> None:
        for name, edit in self.edits.items():
            edit.setText(str(getattr(typed, name)))
        self.vip.blockSignals(True)
        self.vip.setChecked(typed.vip)
        self.vip.blockSignals(False)
        self._edited()

    def save(self) -> None:
        """Save the panel's edits to the selected caller (the version read goes along)."""
        if self._current is not None and self._dirty and self.saveButton.isEnabled():
            self._runner.spawn(self.save_now(), name="save caller")

    async def save_now(self) -> CallerAdminRow | None:
        """Save, and show the caller as stored; on refusal keep what was typed."""
        row = self._current
        if row is None:
            return None
        self.saveButton.setEnabled(False)
        try:
            saved = await self._runner.db(self._service.edit, row.id, row.version,
                                          self.edit_values())
        except ConflictError as exc:
            await self._after_conflict(row, exc)
            return None
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.show_message(describe_error(exc) + " (Esc, then Discard, drops your changes "
                              "and shows the caller as stored.)", True)
            self._update_enabled()
            self._refresh_listed(row.id)
            return None
        self.model.update_row(saved)
        self._show_caller(saved)
        self.show_message(f"Saved {_caller_title(saved)}.", False)
        return saved

    async def _after_conflict(self, read: CallerAdminRow, refusal: ConflictError) -> None:
        """Someone saved the caller meanwhile: their changes go into the fields this user
        did not touch, and the next Save stores this user's on top (a three-way merge, as
        Edit caller… does); without it every Save would be refused until they retyped."""
        try:
            now = await self._runner.db(self._service.get, read.id)
        except Exception as exc:  # the refusal is what matters; the typing stays
            self.show_message(f"{describe_error(refusal)} ({describe_error(exc)})", True)
            self._update_enabled()
            return
        self.model.update_row(now)
        if now.merged_into_id is not None:
            self._show_caller(now)  # read-only from now on: its incidents moved away
            self.show_message(f"{describe_error(refusal)} It was merged into caller "
                              f"#{now.merged_into_id}; edit that caller instead.", True)
            return
        merged, clashes = merge_edit(read, self.edit_values(), now)
        theirs = changes_between(read, now) or "nothing shown here"
        self._current = now  # the base of the next merge, and the version Save sends
        self._restore(merged)
        who = refusal.changed_by or "someone else"
        if refusal.changed_at is not None:
            who += f" at {format_timestamp(refusal.changed_at)}"
        message = (f"Not saved: {_caller_title(now)} was changed by {who} after you opened "
                   f"it. Their change: {theirs}.")
        if clashes:
            message += (f" You both changed {'; '.join(clashes)}. Save again stores yours "
                        "on top of theirs, yours winning where you both changed.")
        else:
            message += " Their changes are now in the fields: Save again stores yours on top."
        self.show_message(message, True)

    def _refresh_listed(self, caller_id: int) -> None:
        # The list shows the caller as stored now; the panel keeps what was typed.
        async def refresh() -> None:
            try:
                row = await self._runner.db(self._service.get, caller_id)
            except Exception:  # the message about the refusal is already shown
                return
            self.model.update_row(row)
        self._runner.spawn(refresh(), name="refresh caller")

    def _escape(self) -> None:
        if self._asking:
            return
        if self._keeps_typing():
            self._runner.spawn(self._escape_unsaved(), name="caller escape")
        else:
            self.close()

    async def _escape_unsaved(self) -> None:
        """Esc with unsaved edits: save them, or show the caller as stored, or go on typing."""
        answer = await self._ask_unsaved()
        if answer == Button.Save:
            await self.save_now()
        elif answer == Button.Discard:
            self._discard()
            self.show_message("Changes discarded.", False)
            self.table.setFocus()

    def _discard(self) -> None:
        """Drop the typed edits: the panel shows the caller as last listed."""
        if self._current is not None:
            at = self.model.row_of(self._current.id)
            self._show_caller(self.model.row_at(at) if at is not None else self._current)

    def toggle_active(self) -> None:
        """Deactivate the selected caller, or reactivate it."""
        if self._current is not None and self.activeButton.isEnabled():
            self._runner.spawn(self.set_active(not self._current.active), name="caller active")

    async def set_active(self, active: bool) -> CallerAdminRow | None:
        row = self._current
        if row is None:
            return None
        try:
            saved = await self._runner.db(self._service.set_active, row.id, row.version, active)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.show_message(describe_error(exc), True)
            self._refresh_listed(row.id)
            return None
        self.model.update_row(saved)
        typed = self.edit_values() if self._dirty else None
        self._show_caller(saved)
        if typed is not None:
            # Deactivating is no reason to lose what was typed: it stays, to be saved.
            self._restore(typed)
        self.show_message(f"{_caller_title(saved)} is now "
                          f"{'active' if active else 'inactive'}.", False)
        return saved

    # --- duplicates and merging ---------------------------------------------------------

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(r).id for r in rows]

    def merge_selected(self) -> None:
        """Merge the selected callers; with one selected, it and its likely duplicates."""
        if not self.mergeButton.isEnabled():
            return
        ids = self.selected_ids()
        current = self._current.id if self._current is not None else None
        if len(ids) >= 2:
            self.merge_flow.start(ids, survivor_id=current)
        elif current is not None:
            self._runner.spawn(self._merge_with_duplicates(current), name="caller duplicates")

    async def _merge_with_duplicates(self, caller_id: int) -> None:
        try:
            others = await self._runner.db(self._service.duplicates_of, caller_id)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.show_message(describe_error(exc), True)
            return
        if not others:
            self.show_message("No other active caller shares this caller's email, phone or "
                              "name. Select the callers to merge (Shift or Ctrl with the "
                              "arrow keys), then Merge.", True)
            return
        self.merge_flow.start([caller_id, *(o.id for o in others)], survivor_id=caller_id)

    def find_duplicates(self) -> None:
        """List likely duplicates; the chosen group opens in the merge dialog."""
        if self.duplicatesButton.isEnabled():
            self._runner.spawn(self._find_duplicates(), name="find duplicate callers")

    async def _find_duplicates(self) -> DuplicatesDialog | None:
        try:
            groups = await self._runner.db(self._service.duplicates)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.show_message(describe_error(exc), True)
            return None
        dialog = DuplicatesDialog(groups, self)
        theme.follow(dialog)
        self.duplicates_dialog = dialog

        def chosen() -> None:
            group = dialog.chosen()
            if group is not None:
                self.merge_flow.start([c.id for c in group.callers])
        dialog.accepted.connect(chosen)
        dialog.open()
        return dialog

    def _merged(self, result: MergeResult) -> None:
        self.model.update_row(result.survivor)
        self._note = self.status.text()
        self.reload()

    def show_message(self, text: str, error: bool = False) -> None:
        """Say something under the list (in the error colour if ``error``)."""
        self.status.setText(text)
        self.status.setStyleSheet(theme.text_style(theme.colours().error) if error else "")
        # The label wraps: a longer message needs more lines than the last one had. Lay out
        # now, so it is never painted (or grabbed) squeezed into the old height, clipped.
        layout = self.layout()
        if layout is not None:
            layout.activate()

    # --- keyboard -----------------------------------------------------------------------

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.search and event.key() == Qt.Key.Key_Down:
                self.table.setFocus()
                return True
            if watched is self.table and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.edits["name"].setFocus()
                self.edits["name"].selectAll()
                return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._keeps_typing() and not self._runner.closed:
            event.ignore()  # the answer closes the window (or not)
            if not self._asking:
                self._runner.spawn(self._confirm_close(), name="caller close")
            return
        self._timer.stop()
        self.model.cancel()
        super().closeEvent(event)

    async def _confirm_close(self) -> None:
        """Closing with unsaved edits: save them first, drop them, or stay."""
        answer = await self._ask_unsaved()
        if answer == Button.Cancel or (answer == Button.Save and await self.save_now() is None):
            return
        self._discard()  # shown again later (Admin > Callers…), it shows what is stored
        self.close()


def merge_into_existing(service: CallerAdminService, runner: DbRunner, parent: QWidget,
                        caller_id: int, on_merged: Callable[[MergeResult], None],
                        on_done: Callable[[str, bool], None]) -> None:
    """For a flagged caller: pick the existing caller it is, then merge it into that one.

    Args:
        on_merged: Called with the result of a merge that was made.
        on_done: Called with a message (and whether it is an error) once the merge is made
            or refused.
    """
    async def pick() -> None:
        try:
            flagged = await runner.db(service.get, caller_id)
            suggestions = await runner.db(service.duplicates_of, caller_id)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            on_done(describe_error(exc), True)
            return
        picker = CallerPickerDialog(service, runner, flagged, suggestions, parent)
        theme.follow(picker)
        flow = MergeFlow(service, runner, parent, on_merged, on_done)

        def chosen() -> None:
            target = picker.chosen()
            if target is not None:
                flow.start([target.id, caller_id], survivor_id=target.id)
        picker.accepted.connect(chosen)
        picker.open()
    runner.spawn(pick(), name="merge into existing caller")
