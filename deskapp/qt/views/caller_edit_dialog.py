"""Edit caller… from the call form and the incident form: correct a caller during a call.

A small dialog over the callers service (``CallerAdminService.edit``, permission EDIT): name,
email, phone, department, location and VIP. It reads the caller with its version when it
opens and saves at that version, so a caller someone else changed meanwhile is refused
(ConflictError): the dialog then says who changed it, when and what, takes their values for
the fields the user left alone and keeps what was typed in the others (what the dialog read,
what was typed and what is stored now: a three-way merge), so a second Save stores only the
user's own changes on top of theirs. Where both changed the same field, both values are named
and the typed one wins on the second Save. A value that cannot be stored (no name, an email
without "@", too long) is named next to the fields, its field gets the focus, and nothing is
saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import ConflictError, ValidationError
from deskapp.domain.people import User
from deskapp.qt import theme
from deskapp.qt.formatting import format_timestamp, plain_tooltip
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.widgets.lookup import LookupEdit
from deskapp.services.caller_admin_dto import CallerAdminRow, CallerEdit
from deskapp.services.caller_edit_merge import changes_between, merge_edit
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService
from deskapp.services.permissions import Permission, allowed

log = logging.getLogger(__name__)

SHORTCUT = QKeySequence("Ctrl+Shift+E")
"""Edit caller… in the call form and the incident form (beside Ctrl+Shift+W and C)."""
EDIT_TIP = "Correct the caller's name, email, phone, department, location or VIP flag"
TEXT_FIELDS = (("name", "&Name", 120), ("email", "&Email", 200), ("phone", "&Phone", 40),
               ("department", "&Department", 120), ("location", "&Location", 120))
"""(field, label, most characters) as the domain's check_caller allows them."""

Load = Callable[[int], CallerAdminRow]
"""Reads a caller as stored (with its version)."""
Save = Callable[[int, int, CallerEdit], CallerAdminRow]
"""Saves (caller id, version read, details); returns the caller as stored."""


def caller_view_of(row: CallerAdminRow) -> CallerView:
    """The caller as the forms' look-ups carry it."""
    return CallerView(row.id, row.name, row.email, row.phone, row.department, row.location,
                      row.vip)


async def merged_into_text(load: Load, runner: DbRunner, row: CallerAdminRow) -> str:
    """The caller ``row`` was merged into, as "Caller 4 (#3940)" (its id alone if unreadable)."""
    survivor_id = row.merged_into_id
    if survivor_id is None:
        return "no other caller"
    try:
        survivor = await runner.db(load, survivor_id)
    except Exception:  # the id still says which caller it is
        log.warning("Reading caller #%s failed", survivor_id, exc_info=True)
        return f"caller #{survivor_id}"
    return f"{survivor.name} (#{survivor_id})"


class CallerEditDialog(QDialog):
    """One caller's details; ``load()`` fills it, Save (Ctrl+S or Enter) stores them.

    Signals:
        saved(object): the caller was saved; the argument is the CallerAdminRow as stored.
    """

    saved = Signal(object)

    def __init__(self, caller_id: int, *, load: Load, save: Save, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callerEditDialog")
        self.setWindowTitle("Edit caller")
        self._caller_id = caller_id
        self._load = load
        self._save = save
        self._runner = runner
        self._row: CallerAdminRow | None = None
        """The caller as last read; its version goes with the save."""

        layout = QVBoxLayout(self)
        self.intro = QLabel("Loading the caller…", self)
        self.intro.setObjectName("callerEditIntro")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        form = QFormLayout()
        layout.addLayout(form)
        self.edits: dict[str, QLineEdit] = {}
        for name, label, limit in TEXT_FIELDS:
            edit = QLineEdit(self)
            edit.setObjectName(f"callerEdit_{name}")
            edit.setMaxLength(limit)
            edit.textEdited.connect(self._clear_message)
            self.edits[name] = edit
            form.addRow(label + ":", edit)
        self.edits["email"].setPlaceholderText("name@example.com")
        self.vip = QCheckBox("&VIP: handle with priority", self)
        self.vip.setObjectName("callerEdit_vip")
        form.addRow("", self.vip)
        self.error = QLabel("", self)
        self.error.setObjectName("callerEditError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet(theme.text_style(theme.colours().error))
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
            self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("saveCallerEditButton")
        self.save_button.setToolTip("Save the caller's details (Ctrl+S or Enter)")
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)

    @property
    def row(self) -> CallerAdminRow | None:
        """The caller as last read (or saved)."""
        return self._row

    def values(self) -> CallerEdit:
        """What the fields hold."""
        text = {name: edit.text() for name, edit in self.edits.items()}
        return CallerEdit(text["name"], text["email"], text["phone"], text["department"],
                          text["location"], self.vip.isChecked())

    async def load(self) -> bool:
        """Read the caller and show it; False (with the reason shown) if it cannot be read."""
        try:
            row = await self._runner.db(self._load, self._caller_id)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self.intro.setText("The caller could not be read.")
            self.show_message(describe_error(exc))
            return False
        self._show(row)
        if row.merged_into_id is not None:
            survivor = await merged_into_text(self._load, self._runner, row)
            self.show_message(f"{row.name} was merged into {survivor}; "
                              "edit that caller instead.")
            return True
        self.save_button.setEnabled(True)
        self.edits["name"].setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def _show(self, row: CallerAdminRow) -> None:
        self._row = row
        self.setWindowTitle(f"Edit caller — {row.name}")
        count = f"{row.incident_count:,} incident" + ("" if row.incident_count == 1 else "s")
        self.intro.setText(f"Caller #{row.id} · {count}. The change shows wherever the "
                           "caller is named.")
        self._fill(CallerEdit(row.name, row.email, row.phone, row.department, row.location,
                              row.vip))

    def _fill(self, details: CallerEdit) -> None:
        for name, edit in self.edits.items():
            edit.setText(str(getattr(details, name)))
            edit.setCursorPosition(0)
        self.vip.setChecked(details.vip)

    def show_message(self, message: str) -> None:
        """Say why the save did not happen (or clear it with "")."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        # A long refusal (a conflict naming both values) must not squeeze the fields.
        box = self.layout()
        if box is None:
            return
        box.activate()
        needed = box.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _clear_message(self, _text: str = "") -> None:
        self.show_message("")

    def save(self) -> None:
        """Save what the fields hold, at the version read (Ctrl+S, Enter or Save)."""
        if self._row is not None and self.save_button.isEnabled():
            self._runner.spawn(self.save_now(), name="edit caller")

    async def save_now(self) -> CallerAdminRow | None:
        """Save; on success close the dialog, else show why and keep what was typed."""
        row = self._row
        if row is None:
            return None
        typed = self.values()
        self.save_button.setEnabled(False)
        try:
            saved = await self._runner.db(self._save, row.id, row.version, typed)
        except ValidationError as exc:
            self.show_message(str(exc))
            edit = self.edits.get(exc.field or "")
            if edit is not None:
                edit.setFocus(Qt.FocusReason.OtherFocusReason)
                edit.selectAll()
            return None
        except ConflictError as exc:
            who = exc.changed_by or "someone else"
            if exc.changed_at is not None:
                who += f" at {format_timestamp(exc.changed_at)}"
            await self._after_conflict(row, who)
            return None
        except Exception as exc:  # the reason is what the user needs, whatever it is
            log.warning("Saving a caller failed", exc_info=exc)
            self.show_message(describe_error(exc))
            return None
        finally:
            if self._row is not None and self._row.merged_into_id is None:
                self.save_button.setEnabled(True)
        self._row = saved
        self.saved.emit(saved)
        self.accept()
        return saved

    async def _after_conflict(self, read: CallerAdminRow, who: str) -> None:
        """Someone saved the caller meanwhile: say what they changed, keep the typing."""
        refused = (f"Not saved: {read.name} was changed by {who} after this dialog opened.")
        try:
            now = await self._runner.db(self._load, read.id)
        except Exception as exc:  # the refusal itself is what matters
            self.show_message(f"{refused} ({describe_error(exc)})")
            return
        if now.merged_into_id is not None:
            self._row = now
            self.save_button.setEnabled(False)
            survivor = await merged_into_text(self._load, self._runner, now)
            self.show_message(f"{refused} It was merged into {survivor}; "
                              "edit that caller instead.")
            return
        theirs = changes_between(read, now) or "nothing shown here"
        # Read the fields now, not at Save: the user may have typed on while we waited.
        merged, clashes = merge_edit(read, self.values(), now)
        self._row = now  # the base of the next merge, and the version the next Save sends
        self._fill(merged)
        message = f"{refused} Their change: {theirs}."
        if clashes:
            message += (f" You both changed {'; '.join(clashes)}. Their other changes are "
                        "now in the fields: Save again stores yours on top, yours winning "
                        "where you both changed, or Cancel.")
        else:
            message += (" Your changes are kept and theirs are now in the fields: Save again "
                        "to store yours on top of theirs, or Cancel.")
        self.show_message(message)


class EditCallerControl(QObject):
    """Edit caller… beside a form's caller field: its button, Ctrl+Shift+E anywhere in the
    form, and the first entry of the field's context menu. Enabled for roles with EDIT
    while the field names a caller.

    Args:
        form: The form window (the shortcut's scope and the dialog's parent).
        field: The caller look-up; the dialog edits the caller it names.
        button: The form's Edit caller… button.
        incidents: The form's incident service (its ``callers()`` saves).
        runner: Runs the reads and the save off the GUI thread.
        user: The signed-in user; without EDIT everything stays disabled.
        on_saved: Called with the caller as stored after a save, to show the new details.
    """

    def __init__(self, form: QWidget, field: LookupEdit, button: QAbstractButton, *,
                 incidents: IncidentService, runner: DbRunner, user: User,
                 on_saved: Callable[[CallerAdminRow], None]) -> None:
        super().__init__(form)
        self._form = form
        self._field = field
        self._button = button
        self._incidents = incidents
        self._runner = runner
        self._user = user
        self._on_saved = on_saved
        self._may_edit = allowed(user, Permission.EDIT)
        self.dialog: CallerEditDialog | None = None
        """The dialog opened last (while it is open)."""
        button.clicked.connect(self.open)
        QShortcut(SHORTCUT, form).activated.connect(self.open)
        field.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        field.customContextMenuRequested.connect(
            lambda at: self.context_menu().exec(field.mapToGlobal(at)))
        field.chosen.connect(lambda _item: self.update())
        self.update()

    @property
    def enabled(self) -> bool:
        """Whether Edit caller… would open now."""
        return self._may_edit and self._field.item_id is not None

    def _why_not(self) -> str:
        if not self._may_edit:
            return (f"Editing callers needs the edit permission, which your role "
                    f"({self._user.role.value}) does not have.")
        return "Choose a caller first."

    def update(self) -> None:
        """Enable the button as the field and the role allow."""
        self._button.setEnabled(self.enabled)
        self._button.setToolTip(
            f"{EDIT_TIP} ({SHORTCUT.toString(QKeySequence.SequenceFormat.NativeText)})"
            if self.enabled else plain_tooltip(self._why_not()))

    def context_menu(self) -> QMenu:
        """The caller field's context menu: Edit caller… first, then the usual entries."""
        menu = self._field.createStandardContextMenu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        action = QAction("&Edit caller…", menu)
        action.setObjectName("editCallerMenuAction")
        action.setShortcut(SHORTCUT)
        action.setEnabled(self.enabled)
        action.setToolTip(EDIT_TIP if self.enabled else plain_tooltip(self._why_not()))
        action.triggered.connect(self.open)
        existing = menu.actions()
        if existing:
            menu.insertAction(existing[0], action)
            menu.insertSeparator(existing[0])
        else:
            menu.addAction(action)
        return menu

    def open(self) -> CallerEditDialog | None:
        """Open the dialog for the caller the field names (None when disabled)."""
        caller_id = self._field.item_id
        if not self.enabled or caller_id is None:
            return None
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        callers = self._incidents.callers()
        dialog = CallerEditDialog(caller_id, load=callers.get, save=callers.edit,
                                  runner=self._runner, parent=self._form)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._on_saved)
        dialog.destroyed.connect(lambda _obj=None: self._forget(dialog))
        self.dialog = dialog
        dialog.open()  # window-modal, without a nested event loop (qasync)
        self._runner.spawn(dialog.load(), name="load caller")
        return dialog

    def _forget(self, dialog: CallerEditDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
