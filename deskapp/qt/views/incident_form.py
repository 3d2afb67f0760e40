"""The detail form: work one incident - its fields, its state, its timeline, its notes.

The form keeps the version it read. Saving sends every change at once (fields,
classification, assignment and a move through the lifecycle) in one transaction at that
version; if someone else saved in between, the agent sees what they changed and chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QStandardItemModel
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from deskapp.domain.activity import time_in_states
from deskapp.domain.enums import ActivityKind, Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import ConflictError, DeskappError, ValidationError
from deskapp.domain.incident import MAX_DESCRIPTION, MAX_NOTE, MAX_SHORT_DESCRIPTION
from deskapp.domain.lifecycle import ALLOWED
from deskapp.domain.people import User
from deskapp.domain.sla import resolution_missed
from deskapp.qt import theme
from deskapp.qt.formatting import format_duration, format_timestamp, plain_tooltip
from deskapp.qt.generated.incident_form_ui import Ui_IncidentForm
from deskapp.qt.models.activity_model import ActivityFilter, ActivityModel
from deskapp.qt.models.incident_list_model import IncidentListModel
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.call_form import (
    DigitPicksLevel,
    caller_item,
    fill_levels,
    format_call_time,
    priority_style,
    show_message,
)
from deskapp.qt.views.caller_edit_dialog import EditCallerControl, caller_view_of
from deskapp.qt.views.catalog_pickers import ConfigurationItemPicker, catalog_items
from deskapp.qt.views.conflict_dialog import ConflictDialog, Resolution
from deskapp.qt.widgets.lookup import LookupItem
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.qt.widgets.read_only import set_read_only
from deskapp.qt.widgets.windows import bring_to_front
from deskapp.services.caller_admin_dto import CallerAdminRow
from deskapp.services.catalog import AgentView, CatalogService, FormCatalog, preview_priority
from deskapp.services.dto import ActivityView, IncidentDetail, IncidentFormData, caller_ids_in
from deskapp.services.incidents import IncidentEdit, IncidentService, StateChange, utc_now
from deskapp.services.merge import (
    FIELD_LABELS,
    FORM_FIELDS,
    INFO_FIELDS,
    PriorityOutcome,
    changed,
    compare,
    edit_for,
    values_of,
)
from deskapp.services.permissions import Permission, allowed
from deskapp.services.ports import Clock

log = logging.getLogger(__name__)

SLA_TICK_MS = 30_000
"""The SLA panel's "time left" changes by the minute."""
UPDATED_NOTICE_MS = 15_000
"""How long "Updated by … at …" stays after the form showed someone else's save by itself."""
STATE_ORDER = (State.IN_PROGRESS, State.ON_HOLD, State.RESOLVED, State.CLOSED, State.CANCELLED)
OVERDUE_STYLE = "color: #c62828; font-weight: bold;"
STATE_STYLES = {
    State.NEW: ("#e3f2fd", "#0d47a1"), State.IN_PROGRESS: ("#e8f5e9", "#1b5e20"),
    State.ON_HOLD: ("#fff8e1", "#8d6e00"), State.RESOLVED: ("#ede7f6", "#4527a0"),
    State.CLOSED: ("#eeeeee", "#424242"), State.CANCELLED: ("#eeeeee", "#424242"),
}
NO_GROUP = "(no group)"
UNASSIGNED = "(unassigned)"


def button_text(current: State, target: State) -> str:
    """What a state button says: the action, not the state's name."""
    if current == State.RESOLVED and target == State.IN_PROGRESS:
        return "Reopen"
    return {State.IN_PROGRESS: "Start work", State.ON_HOLD: "Put on hold",
            State.RESOLVED: "Resolve", State.CLOSED: "Close",
            State.CANCELLED: "Cancel incident"}[target]


class IncidentForm(QWidget):
    """One incident, editable as the agent's role allows.

    Signals:
        saved(object): the incident (or its timeline) was saved; the argument is the
            service's Change.
        loaded(): the incident is shown as stored (after opening, saving or reloading).
        open_incident_requested(int): the agent asked to open another incident (its parent
            or a child).
        closed(): the form was closed.
    """

    saved = Signal(object)
    loaded = Signal()
    open_incident_requested = Signal(int)
    closed = Signal()

    def __init__(
        self,
        incident_id: int,
        *,
        incidents: IncidentService,
        catalog: CatalogService,
        runner: DbRunner,
        user: User,
        clock: Clock = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        """Build the form; ``start()`` loads the incident.

        Args:
            incident_id: the incident to show.
            incidents: the incident service, acting as ``user``.
            catalog: the catalogue, groups, agents and matrix the pickers offer.
            runner: runs service calls off the GUI thread.
            user: the signed-in agent; their role decides what is editable.
            clock: "now" for the SLA panel.
            parent: the Qt parent (the form is a window of its own even with one).
        """
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self._id = incident_id
        self._incidents = incidents
        self._catalog_service = catalog
        self._runner = runner
        self._user = user
        self._clock = clock
        self._catalog: FormCatalog | None = None
        self._data: IncidentFormData | None = None
        self._base: dict[str, Any] = {}
        self._members: dict[int, list[AgentView]] = {}
        self._caller_names: dict[int, str] = {}
        """Names of the callers the timeline and a conflict name (a merge moves incidents to
        another caller), read with them: never the whole callers table."""
        self._pending: State | None = None
        self._parent_choice: tuple[str, int | None] | None = None
        self._note_kind = ActivityKind.WORK_NOTE
        self._busy = False
        self._closing = False
        self._asking = False
        self._resolving = False
        """The conflict dialog is open: what it compares must not move underneath it."""
        self._looking: asyncio.Task[bool] | None = None
        self._look_again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._state_buttons: list[QPushButton] = []

        self.ui = Ui_IncidentForm()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        ui = self.ui
        ui.shortDescriptionEdit.setMaxLength(MAX_SHORT_DESCRIPTION)
        for channel in Channel:
            ui.channelCombo.addItem(channel.label, channel)
        ui.holdReasonCombo.addItem("Choose why it waits…", None)
        for reason in HoldReason:
            ui.holdReasonCombo.addItem(reason.label, reason)
        ui.resolutionCodeCombo.addItem("Choose a resolution code…", None)
        for code in ResolutionCode:
            ui.resolutionCodeCombo.addItem(code.label, code)
        for text, kinds in (("All activity", ActivityFilter.ALL),
                            ("Notes, comments and calls", ActivityFilter.NOTES),
                            ("Changes", ActivityFilter.CHANGES)):
            ui.activityFilter.addItem(text, kinds)
        self._digits = DigitPicksLevel(self)
        ui.impactCombo.installEventFilter(self._digits)
        ui.urgencyCombo.installEventFilter(self._digits)

        self._activity = ActivityModel(self._describe, self)
        ui.activityList.setModel(self._activity)
        self._children = IncidentListModel(self)
        ui.childrenList.setModel(self._children)
        ui.splitter.setStretchFactor(0, 3)
        ui.splitter.setStretchFactor(1, 2)

        ui.callerEdit.set_lookup(self._find_callers)
        self.edit_caller = EditCallerControl(self, ui.callerEdit, ui.editCallerButton,
                                             incidents=incidents, runner=runner, user=user,
                                             on_saved=self._caller_edited)
        ui.categoryEdit.chosen.connect(self._on_category_chosen)
        self._ci_picker = ConfigurationItemPicker(ui.serviceEdit, ui.configurationItemEdit)
        ui.impactCombo.currentIndexChanged.connect(self._update_priority_hint)
        ui.urgencyCombo.currentIndexChanged.connect(self._update_priority_hint)
        ui.groupCombo.currentIndexChanged.connect(self._on_group_changed)
        ui.parentEdit.editingFinished.connect(self._resolve_parent)
        ui.parentLink.linkActivated.connect(self._open_link)
        ui.childrenList.activated.connect(self._on_child_activated)
        ui.activityFilter.currentIndexChanged.connect(
            lambda _i: self._activity.set_kinds(ui.activityFilter.currentData()))
        ui.confirmTransitionButton.clicked.connect(lambda: self.save())
        ui.cancelTransitionButton.clicked.connect(self.cancel_transition)
        ui.addWorkNoteButton.clicked.connect(lambda: self.add_note(ActivityKind.WORK_NOTE))
        ui.addCommentButton.clicked.connect(lambda: self.add_note(ActivityKind.COMMENT))
        ui.saveButton.clicked.connect(lambda: self.save())
        ui.reloadButton.clicked.connect(self.reload)
        ui.closeButton.clicked.connect(self.close)

        self._shortcut("Ctrl+S", self.save)
        self._shortcut("F5", self.reload)
        self._shortcut("Esc", self._escape)
        self._shortcut("Ctrl+Shift+W", lambda: self.begin_note(ActivityKind.WORK_NOTE))
        self._shortcut("Ctrl+Shift+C", lambda: self.begin_note(ActivityKind.COMMENT))
        # Ctrl+Shift+E: Edit caller… (EditCallerControl above).
        for number in range(1, 6):
            self._shortcut(f"Alt+{number}", self._state_key(number - 1))
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            post = QShortcut(QKeySequence(keys), ui.noteEdit)
            post.setContext(Qt.ShortcutContext.WidgetShortcut)
            post.activated.connect(lambda: self.add_note(self._note_kind))

        self._sla_timer = QTimer(self)
        self._sla_timer.setInterval(SLA_TICK_MS)
        self._sla_timer.timeout.connect(self._update_sla)
        self._sla_timer.start()
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(UPDATED_NOTICE_MS)
        self._live_timer.timeout.connect(ui.liveBanner.hide)

        for label in (ui.callerError, ui.shortDescriptionError, ui.descriptionError,
                      ui.catalogError, ui.assignmentError, ui.parentError, ui.transitionError,
                      ui.noteError, ui.formError):
            show_message(label, "")
        ui.savedBanner.hide()
        ui.liveBanner.hide()
        ui.messageBanner.hide()
        ui.transitionBox.hide()
        ui.majorLabel.hide()
        ui.vipLabel.hide()
        self.setWindowTitle("Incident — Deskapp")

    def _shortcut(self, keys: str, slot: Callable[[], object]) -> None:
        QShortcut(QKeySequence(keys), self).activated.connect(slot)

    # --- state, for the application and for tests -------------------------------------------

    @property
    def incident_id(self) -> int:
        return self._id

    @property
    def detail(self) -> IncidentDetail | None:
        """The incident as the form last read it."""
        return self._data.detail if self._data is not None else None

    @property
    def activity_model(self) -> ActivityModel:
        return self._activity

    @property
    def children_model(self) -> IncidentListModel:
        return self._children

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def pending_transition(self) -> State | None:
        return self._pending

    def state_buttons(self) -> dict[State, QPushButton]:
        """The state buttons on offer now, by the state they move to."""
        return {State(b.property("target")): b for b in self._state_buttons}

    @property
    def dirty(self) -> bool:
        """Whether the form holds changes not saved yet (a note being typed counts)."""
        if self._data is None:
            return False
        return bool(self.changes()) or self._pending is not None \
            or bool(self.ui.noteEdit.toPlainText().strip())

    # --- loading ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the pickers and the incident."""
        self._set_busy(True)
        try:
            catalog, data = await asyncio.gather(
                self._runner.db(self._catalog_service.form_catalog),
                self._runner.db(self._incidents.load_form, self._id))
        except Exception as exc:
            log.warning("Opening incident %s failed", self._id, exc_info=exc)
            show_message(self.ui.formError, f"Could not open the incident: {describe_error(exc)}")
            return
        finally:
            self._set_busy(False)
        if self._closing:
            return
        self._set_catalog(catalog)
        self._show_data(data)

    def reload(self) -> None:
        """Read the incident again (F5); asks first if that would lose changes."""
        self._track(self._runner.spawn(self._reload(ask=True), name="reload incident"))

    async def _reload(self, *, ask: bool) -> None:
        if ask and self.dirty:
            answer = await QuestionBox.ask(self, "Reload the incident?",
                                           "Reloading drops the changes you have not saved.",
                                           Button.Discard | Button.Cancel, Button.Cancel)
            if answer != Button.Discard:
                return
        self._set_busy(True)
        try:
            data = await self._runner.db(self._incidents.load_form, self._id)
        except Exception as exc:
            show_message(self.ui.formError, f"Could not reload: {describe_error(exc)}")
            return
        finally:
            self._set_busy(False)
        self.ui.noteEdit.clear()
        self._show_data(data)

    # --- changes saved elsewhere -----------------------------------------------------------

    def check_for_changes(self) -> asyncio.Task[bool] | None:
        """Look whether someone saved the incident since the form read it (live updates).

        A form with no unsaved changes shows the new version at once, the focus and the
        cursor kept where they were, and says for a while who updated it and when (a note
        being typed stays as it is). A form with unsaved changes keeps every one of them and
        says in a banner who changed which fields: Save then offers the merge.

        Returns:
            The task looking (its result: whether a newer version was found), or None when
            the form cannot look now (loading, saving, a conflict being resolved).
        """
        if self._data is None or self._closing or self._busy or self._resolving:
            return None
        if self._looking is not None and not self._looking.done():
            self._look_again = True  # the running look may have read too early
            return self._looking
        self._looking = self._track(self._runner.spawn(self._check_for_changes(),
                                                       name="check incident"))
        return self._looking

    async def _check_for_changes(self) -> bool:
        found = False
        while True:
            self._look_again = False
            found = await self._look_once() or found
            if not self._look_again or self._closing:
                return found

    def _can_take(self, version: int) -> bool:
        """Whether a newer version just read may be shown now."""
        shown = self.detail
        return not (self._closing or self._busy or self._resolving or shown is None
                    or version <= shown.version)

    def _holds_edits(self) -> bool:
        """Changed fields or a state move begun: what showing another version would lose.
        (A note being typed is not: showing the incident leaves the note field alone.)"""
        return bool(self.changes()) or self._pending is not None

    async def _look_once(self) -> bool:
        try:
            current = await self._runner.db(self._incidents.get, self._id)
            if not self._can_take(current.version):
                return False
            if self._holds_edits():
                self._say_changed_underneath(current)
                return True
            data = await self._runner.db(self._incidents.load_form, self._id)
        except Exception as exc:
            # A lost connection shows in the main window's banner; F5 still reloads.
            log.info("Checking incident %s for changes failed: %s", self._id, exc)
            return False
        if not self._can_take(data.detail.version):
            return False
        if self._holds_edits():  # the agent began typing meanwhile
            self._say_changed_underneath(data.detail)
            return True
        with self._focus_kept():
            self._show_data(data)
        d = data.detail
        self._show_live(f"Updated by {self._who(d)} at {self._when(d)}.")
        self._live_timer.start()
        return True

    def _say_changed_underneath(self, theirs: IncidentDetail) -> None:
        now = values_of(theirs)
        fields = [FIELD_LABELS[name] for name in (*FORM_FIELDS, *INFO_FIELDS)
                  if now[name] != self._base.get(name)]
        what = f": {', '.join(fields)}" if fields else ""
        self._live_timer.stop()
        self._show_live(f"{self._who(theirs)} changed this incident at {self._when(theirs)}"
                        f"{what}. Your changes are kept; Save will let you merge.")

    def _show_live(self, text: str) -> None:
        self.ui.liveBanner.setText(text)
        self.ui.liveBanner.show()

    def _who(self, d: IncidentDetail) -> str:
        if d.updated_by_id is None:
            return "Someone"
        if d.updated_by_id == self._user.id:
            return "You"  # in another window or on another desk
        name = self._catalog.agent_name(d.updated_by_id) if self._catalog else ""
        return name or "Someone"

    @staticmethod
    def _when(d: IncidentDetail) -> str:
        return format_timestamp(d.updated_at) if d.updated_at is not None else "just now"

    @contextlib.contextmanager
    def _focus_kept(self) -> Iterator[None]:
        """Put the focus and the cursor back where they were after the fields are refilled."""
        widget = QApplication.focusWidget()
        if widget is None or not self.isAncestorOf(widget):
            yield
            return
        position = scroll = 0
        if isinstance(widget, QLineEdit):
            position = widget.cursorPosition()
        elif isinstance(widget, QPlainTextEdit):
            position = widget.textCursor().position()
            scroll = widget.verticalScrollBar().value()
        yield
        if not (widget.isVisible() and widget.isEnabled()):
            return
        if QApplication.focusWidget() is not widget:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(widget, QLineEdit):
            widget.setCursorPosition(min(position, len(widget.text())))
        elif isinstance(widget, QPlainTextEdit):
            cursor = widget.textCursor()
            cursor.setPosition(min(position, len(widget.toPlainText())))
            widget.setTextCursor(cursor)
            widget.verticalScrollBar().setValue(scroll)

    def _set_catalog(self, catalog: FormCatalog) -> None:
        self._catalog = catalog
        ui = self.ui
        self._offer_catalog(None)
        matrix = catalog.matrix
        fill_levels(ui.impactCombo, [(lv.value, lv.name) for lv in matrix.impact_levels], None)
        fill_levels(ui.urgencyCombo, [(lv.value, lv.name) for lv in matrix.urgency_levels], None)
        ui.groupCombo.blockSignals(True)
        ui.groupCombo.clear()
        ui.groupCombo.addItem(NO_GROUP, None)
        for group in catalog.groups:
            if group.active:
                ui.groupCombo.addItem(group.name, group.id)
            else:
                # Named where an incident still sits in it, never offered as a new choice.
                ui.groupCombo.addItem(f"{group.name} (inactive)", group.id)
                item = cast(QStandardItemModel, ui.groupCombo.model()).item(
                    ui.groupCombo.count() - 1)
                item.setEnabled(False)
        ui.groupCombo.blockSignals(False)
        self._children.set_priorities({p.rank: p.code for p in matrix.priorities},
                                      {p.rank: p.colour for p in matrix.priorities})

    def _show_data(self, data: IncidentFormData) -> None:
        """Show the incident as stored; what the form held before is replaced."""
        self._data = data
        self._caller_names.update(data.caller_names)
        d = data.detail
        self._base = values_of(d)
        self._live_timer.stop()
        self.ui.liveBanner.hide()  # what it said is shown now, or saved over
        self._pending = None
        self._parent_choice = None
        ui = self.ui
        self.setWindowTitle(f"{d.number}: {d.short_description} — Deskapp")
        ui.numberLabel.setText(d.number)
        ui.stateLabel.setText(d.state.label)
        background, foreground = STATE_STYLES[d.state]
        ui.stateLabel.setStyleSheet(f"QLabel {{ background: {background}; color: {foreground}; }}")
        ui.majorLabel.setVisible(d.is_major)
        if self._catalog is not None:
            priority = self._catalog.matrix.definition(d.priority)
            ui.priorityLabel.setText(priority.label)
            ui.priorityLabel.setStyleSheet(priority_style(priority.colour))
        updated = f"Version {d.version}"
        if d.updated_at is not None:
            who = self._catalog.agent_name(d.updated_by_id) if self._catalog else ""
            updated += f" · saved {format_timestamp(d.updated_at)}" + (f" by {who}" if who
                                                                       else "")
        ui.versionLabel.setText(updated)

        ui.callerEdit.set_item(LookupItem(d.caller_id, d.caller_name))
        ui.vipLabel.setVisible(d.caller_vip)
        ui.channelCombo.setCurrentIndex(ui.channelCombo.findData(d.channel))
        ui.shortDescriptionEdit.setText(d.short_description)
        ui.shortDescriptionEdit.setCursorPosition(0)
        ui.descriptionEdit.setPlainText(d.description)
        self._offer_catalog(d)
        ui.serviceEdit.set_item_id(d.service_id)
        ui.configurationItemEdit.set_item_id(d.configuration_item_id)
        ui.categoryEdit.set_item_id(d.category_id)
        self._on_category_chosen(ui.categoryEdit.item)
        ui.subcategoryEdit.set_item_id(d.subcategory_id)
        for combo, value in ((ui.impactCombo, d.impact), (ui.urgencyCombo, d.urgency)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(False)
        ui.groupCombo.blockSignals(True)
        ui.groupCombo.setCurrentIndex(max(ui.groupCombo.findData(d.assignment_group_id), 0))
        ui.groupCombo.blockSignals(False)
        self._fill_assignees(d.assignment_group_id, d.assignee_id)
        if d.assignment_group_id is not None and d.assignment_group_id not in self._members:
            self._track(self._runner.spawn(self._load_members(d.assignment_group_id),
                                           name="group members"))
        ui.parentEdit.setText(data.parent.number if data.parent else "")
        self._show_parent_link()
        ui.majorCheck.setChecked(d.is_major)
        self._children.set_rows(data.children)
        has_children = bool(data.children)
        ui.childrenLabel.setVisible(has_children)
        ui.childrenList.setVisible(has_children)
        resolved = d.resolution_code is not None
        ui.resolutionLabel.setVisible(resolved)
        ui.resolutionValue.setVisible(resolved)
        if d.resolution_code is not None:
            ui.resolutionValue.setText(f"<b>{html.escape(d.resolution_code.label)}</b>: "
                                       f"{html.escape(d.resolution_notes)}")
        self._activity.set_activity(data.activity)
        self._build_state_buttons()
        self._hide_transition()
        self._apply_permissions()
        self._update_priority_hint()
        self._update_sla()
        for label in (ui.callerError, ui.shortDescriptionError, ui.descriptionError,
                      ui.catalogError, ui.assignmentError, ui.parentError, ui.formError):
            show_message(label, "")
        self.loaded.emit()

    def _show_parent_link(self) -> None:
        data = self._data
        parent = data.parent if data is not None else None
        if parent is None:
            self.ui.parentLink.setText("")
            return
        mark = " ⚑" if parent.is_major else ""
        self.ui.parentLink.setText(
            f'<a href="incident:{parent.id}">{html.escape(parent.number)}</a>{mark} '
            f"{html.escape(parent.short_description)}")

    def _apply_permissions(self) -> None:
        """Open what the role and the state allow; the rest is read-only."""
        d = self.detail
        if d is None:
            return
        ui = self.ui
        final = d.state in (State.CLOSED, State.CANCELLED)
        # Assigned beyond an agent's groups: the service refuses every change but notes.
        beyond = self._data.read_only_reason if self._data is not None else None
        unmovable = self._data.reassign_refusal if self._data is not None else None
        can_edit = allowed(self._user, Permission.EDIT) and not final and beyond is None
        can_assign = (allowed(self._user, Permission.REASSIGN) and d.state.is_open
                      and beyond is None and unmovable is None)
        for field in (ui.shortDescriptionEdit, ui.parentEdit, ui.descriptionEdit):
            set_read_only(field, not can_edit)
        for lookup in (ui.callerEdit, ui.serviceEdit, ui.configurationItemEdit, ui.categoryEdit,
                       ui.subcategoryEdit):
            lookup.setReadOnly(not can_edit)
        for choice in (ui.channelCombo, ui.impactCombo, ui.urgencyCombo, ui.majorCheck):
            choice.setEnabled(can_edit)
        ui.subcategoryEdit.setEnabled(bool(ui.subcategoryEdit.model.rowCount()
                                           or self._subcategories_offered()))
        ui.groupCombo.setEnabled(can_assign)
        ui.assigneeCombo.setEnabled(can_assign)
        for combo in (ui.groupCombo, ui.assigneeCombo):
            combo.setToolTip(plain_tooltip(unmovable or ""))
        notes = allowed(self._user, Permission.EDIT) and d.state != State.CLOSED
        for part in (ui.noteEdit, ui.addWorkNoteButton, ui.addCommentButton):
            part.setEnabled(notes)
        ui.saveButton.setEnabled(can_edit or can_assign)
        for button in self._state_buttons:
            if beyond is not None:
                button.setEnabled(False)
                button.setToolTip(plain_tooltip(beyond))
        if not can_edit:
            why = (f"A {d.state.label.lower()} incident is final." if final
                   else beyond if beyond is not None
                   else f"Your role ({self._user.role.value}) may only read incidents.")
            self._banner(why)

    def _subcategories_offered(self) -> bool:
        item = self.ui.categoryEdit.item
        return bool(self._catalog and item and self._catalog.subcategories(item.id))

    # --- pickers ------------------------------------------------------------------------------

    def _caller_edited(self, row: CallerAdminRow) -> None:
        """Edit caller… saved: the field shows the new details (the incident is unchanged)."""
        if self.ui.callerEdit.item_id == row.id:
            self.ui.callerEdit.set_item(caller_item(caller_view_of(row)))
            self.ui.vipLabel.setVisible(row.vip)

    async def _find_callers(self, text: str) -> list[LookupItem]:
        callers = await self._runner.db(self._incidents.lookup_callers, text, 15)
        return [caller_item(c) for c in callers]

    def _offer_catalog(self, d: IncidentDetail | None) -> None:
        """Offer the active catalogue rows, and those the incident holds even if inactive."""
        catalog = self._catalog
        if catalog is None:
            return
        self._ci_picker.set_catalog(catalog, d.service_id if d else None,
                                    d.configuration_item_id if d else None)
        self.ui.categoryEdit.set_items(catalog_items(
            catalog.top_categories(d.category_id if d else None)))

    def _on_category_chosen(self, item: LookupItem | None) -> None:
        keep = self.detail.subcategory_id if self.detail is not None else None
        subs = self._catalog.subcategories(item.id, keep) if self._catalog and item else []
        self.ui.subcategoryEdit.set_items(catalog_items(subs))
        self.ui.subcategoryEdit.setEnabled(bool(subs))

    def _on_group_changed(self) -> None:
        group_id = self.ui.groupCombo.currentData()
        keep = self.ui.assigneeCombo.currentData()
        self._fill_assignees(group_id, keep)
        if group_id is not None and group_id not in self._members:
            self._track(self._runner.spawn(self._load_members(group_id), name="group members"))

    async def _load_members(self, group_id: int) -> None:
        try:
            members = await self._runner.db(self._catalog_service.group_members, group_id)
        except Exception as exc:
            show_message(self.ui.assignmentError,
                         f"Could not load the group's members: {describe_error(exc)}")
            return
        self._members[group_id] = members
        if self.ui.groupCombo.currentData() == group_id:
            self._fill_assignees(group_id, self.ui.assigneeCombo.currentData())

    def _fill_assignees(self, group_id: int | None, selected: int | None) -> None:
        """Offer the group's members; the current assignee stays while members load."""
        combo = self.ui.assigneeCombo
        combo.blockSignals(True)
        try:
            combo.clear()
            combo.addItem(UNASSIGNED, None)
            members = self._members.get(group_id, []) if group_id is not None else []
            for agent in members:
                combo.addItem(agent.full_name + (" (away)" if agent.away else ""), agent.id)
            loading = group_id is not None and group_id not in self._members
            stored = self._data.detail if self._data is not None else None
            # A deactivated person still assigned is named, but never offered anew.
            kept = stored is not None and selected == stored.assignee_id \
                and group_id == stored.assignment_group_id
            if selected is not None and combo.findData(selected) < 0 and (loading or kept):
                name = self._catalog.agent_name(selected) if self._catalog else str(selected)
                combo.addItem(name if loading else f"{name} (inactive)", selected)
                if not loading:
                    cast(QStandardItemModel, combo.model()).item(combo.count() - 1) \
                        .setEnabled(False)
            combo.setCurrentIndex(max(combo.findData(selected), 0))
        finally:
            combo.blockSignals(False)

    def _resolve_parent(self) -> None:
        text = self.ui.parentEdit.text().strip().upper()
        current = self._data.parent.number if self._data and self._data.parent else ""
        show_message(self.ui.parentError, "")
        if text == current or not text:
            self._parent_choice = None if text == current else ("", None)
            return
        self._track(self._runner.spawn(self._look_up_parent(text), name="parent look-up"))

    async def _look_up_parent(self, number: str) -> None:
        try:
            parent = await self._runner.db(self._incidents.get_by_number, number)
        except DeskappError as exc:
            show_message(self.ui.parentError, str(exc))
            self._parent_choice = (number, None)
            return
        if self.ui.parentEdit.text().strip().upper() != number:
            return
        if not parent.is_major:
            show_message(self.ui.parentError, f"{parent.number} is not a major incident; only "
                         "major incidents have children.")
            self._parent_choice = (number, None)
            return
        self._parent_choice = (number, parent.id)

    def _open_link(self, link: str) -> None:
        if link.startswith("incident:"):
            self.open_incident_requested.emit(int(link.removeprefix("incident:")))

    def _on_child_activated(self, index: QModelIndex) -> None:
        incident_id = index.data(ItemRole.ID)
        if isinstance(incident_id, int):
            self.open_incident_requested.emit(incident_id)

    def _update_priority_hint(self) -> None:
        d = self.detail
        hint = self.ui.priorityHint
        impact, urgency = self.ui.impactCombo.currentData(), self.ui.urgencyCombo.currentData()
        if d is None or self._catalog is None or not isinstance(impact, int) \
                or not isinstance(urgency, int):
            hint.setText("")
            return
        preview = preview_priority(self._catalog.matrix, impact, urgency, d.opened_at,
                                   timedelta(seconds=d.sla_paused_seconds))
        if preview.rank == d.priority:
            hint.setText("")
            return
        hint.setText(f"→ <b>{html.escape(preview.label)}</b>, resolution due "
                     f"{format_timestamp(preview.resolution_due_at)} once saved")

    # --- SLA ----------------------------------------------------------------------------------

    def _update_sla(self) -> None:
        d = self.detail
        if d is None:
            return
        ui = self.ui
        now = self._clock()
        response = format_timestamp(d.response_due_at)
        if d.first_response_at is not None:
            late = d.first_response_at > d.response_due_at
            response += f" — {'late' if late else 'met'}, answered " \
                        f"{format_timestamp(d.first_response_at)}"
        elif now > d.response_due_at and d.state.is_open:
            response += f" — overdue {format_duration(now - d.response_due_at)}"
        ui.responseDueValue.setText(response)
        ui.resolutionDueValue.setText(format_timestamp(d.resolution_due_at))
        # Time in On Hold, as the review counts it: the SLA clock's paused time also holds
        # the time spent Resolved before a reopening.
        activity = self._data.activity if self._data is not None else ()
        on_hold = time_in_states(d.opened_at, activity, now).get(State.ON_HOLD)
        hold = format_duration(on_hold) if on_hold is not None else "never"
        if d.state == State.ON_HOLD and d.sla_paused_since is not None:
            hold += f" (on hold since {format_timestamp(d.sla_paused_since)}" + \
                (f": {d.hold_reason.label.lower()})" if d.hold_reason else ")")
        ui.onHoldValue.setText(hold)
        overdue = False
        if d.state == State.CANCELLED:
            left = "—"
        else:
            overdue = resolution_missed(d.state, resolution_breached=d.resolution_breached,
                                        resolution_due_at=d.resolution_due_at,
                                        paused_since=d.sla_paused_since, now=now)
            if not d.state.is_open:
                left = "Breached" if overdue else "Met"
            else:
                remaining = d.resolution_due_at - (d.sla_paused_since or now)
                left = f"{format_duration(remaining)} " + ("left" if remaining >= timedelta(0)
                                                           else "overdue")
                if d.sla_paused_since is not None:
                    left = f"Paused, {left}"
        ui.timeLeftValue.setText(left)
        ui.timeLeftValue.setStyleSheet(
            theme.text_style(theme.colours().error, bold=True) if overdue else "")

    # --- state transitions --------------------------------------------------------------------

    def _build_state_buttons(self) -> None:
        ui = self.ui
        for old in self._state_buttons:
            ui.stateButtonsLayout.removeWidget(old)
            old.deleteLater()
        self._state_buttons = []
        d = self.detail
        if d is None:
            return
        for number, target in enumerate(t for t in STATE_ORDER if t in ALLOWED[d.state]):
            button = QPushButton(f"{button_text(d.state, target)}", self)
            button.setObjectName(f"stateButton_{target.value}")
            button.setProperty("target", target.value)
            button.setToolTip(f"Move to {target.label} (Alt+{number + 1})")
            button.setAutoDefault(False)
            needed = Permission.RESOLVE if target in (State.RESOLVED, State.CLOSED) \
                else Permission.EDIT
            button.setEnabled(allowed(self._user, needed))
            button.clicked.connect(lambda _c=False, t=target: self.begin_transition(t))
            ui.stateButtonsLayout.addWidget(button)
            button.show()  # now, not when the layout gets round to it: Alt+n may come first
            self._state_buttons.append(button)
        final = not self._state_buttons
        ui.stateButtonsTitle.setText("Final state: no further moves." if final else "Move to:")
        ui.stateHint.setVisible(not final)

    def _state_key(self, position: int) -> Callable[[], None]:
        return lambda: self._press_state_button(position)

    def _press_state_button(self, position: int) -> None:
        if 0 <= position < len(self._state_buttons) and self._state_buttons[position].isEnabled():
            self._state_buttons[position].click()

    def begin_transition(self, target: State) -> None:
        """Ask inline for what the move needs; Ctrl+S (or the confirm button) then saves it."""
        d = self.detail
        if d is None or target not in ALLOWED[d.state]:
            return
        ui = self.ui
        self._pending = target
        reopening = d.state == State.RESOLVED and target == State.IN_PROGRESS
        rows = {
            "hold": target == State.ON_HOLD,
            "resolution": target == State.RESOLVED,
            "reopen": reopening,
        }
        layout = ui.transitionLayout
        layout.setRowVisible(ui.holdReasonCombo, rows["hold"])
        layout.setRowVisible(ui.resolutionCodeCombo, rows["resolution"])
        layout.setRowVisible(ui.resolutionNotesEdit, rows["resolution"])
        layout.setRowVisible(ui.reopenReasonEdit, rows["reopen"])
        ui.holdReasonCombo.setCurrentIndex(0)
        ui.resolutionCodeCombo.setCurrentIndex(0)
        ui.resolutionNotesEdit.clear()
        ui.reopenReasonEdit.clear()
        show_message(ui.transitionError, "")
        action = button_text(d.state, target)
        ui.transitionBox.setTitle(f"{action}: {d.state.label} → {target.label}")
        ui.confirmTransitionButton.setText(f"{action} (Ctrl+S)")
        ui.transitionBox.show()
        first: QWidget = ui.confirmTransitionButton
        if rows["hold"]:
            first = ui.holdReasonCombo
        elif rows["resolution"]:
            first = ui.resolutionCodeCombo
        elif rows["reopen"]:
            first = ui.reopenReasonEdit
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_transition(self) -> None:
        """Drop the move asked for (Esc while its fields are open)."""
        self._pending = None
        self._hide_transition()

    def _hide_transition(self) -> None:
        self.ui.transitionBox.hide()
        show_message(self.ui.transitionError, "")

    def _state_change(self) -> StateChange | None:
        """The move the transition fields describe, or None after saying what is missing."""
        if self._pending is None:
            return None
        ui = self.ui
        d = self.detail
        assert d is not None
        target = self._pending
        problem: tuple[str, QWidget] | None = None
        hold = ui.holdReasonCombo.currentData() if target == State.ON_HOLD else None
        code = ui.resolutionCodeCombo.currentData() if target == State.RESOLVED else None
        notes = ui.resolutionNotesEdit.toPlainText().strip()
        reason = ui.reopenReasonEdit.toPlainText().strip()
        if target == State.ON_HOLD and hold is None:
            problem = ("Say why the incident waits.", ui.holdReasonCombo)
        elif target == State.RESOLVED and code is None:
            problem = ("Choose how the incident was resolved.", ui.resolutionCodeCombo)
        elif target == State.RESOLVED and not notes:
            problem = ("Say what was done: resolution notes are required.",
                       ui.resolutionNotesEdit)
        elif target == State.RESOLVED and len(notes) > MAX_DESCRIPTION:
            problem = (f"Resolution notes are {len(notes):,} characters long; at most "
                       f"{MAX_DESCRIPTION:,} are allowed.", ui.resolutionNotesEdit)
        elif d.state == State.RESOLVED and target == State.IN_PROGRESS and not reason:
            problem = ("Say why the incident is reopened.", ui.reopenReasonEdit)
        if problem is not None:
            show_message(ui.transitionError, problem[0])
            problem[1].setFocus(Qt.FocusReason.OtherFocusReason)
            raise _IncompleteError
        return StateChange(target, hold_reason=hold, resolution_code=code,
                           resolution_notes=notes, reason=reason)

    # --- editing and saving ---------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The form fields as the agent has them now (ids for references)."""
        ui = self.ui
        base = self._base
        parent_id = base.get("parent_id")
        if self._parent_choice is not None:
            parent_id = self._parent_choice[1]
        caller = ui.callerEdit.item_id
        return {
            "caller_id": caller,
            "channel": ui.channelCombo.currentData(),
            "short_description": ui.shortDescriptionEdit.text().strip(),
            "description": ui.descriptionEdit.toPlainText().strip(),
            "service_id": ui.serviceEdit.item_id,
            "configuration_item_id": ui.configurationItemEdit.item_id,
            "category_id": ui.categoryEdit.item_id,
            "subcategory_id": ui.subcategoryEdit.item_id,
            "parent_id": parent_id,
            "is_major": ui.majorCheck.isChecked(),
            "impact": ui.impactCombo.currentData(),
            "urgency": ui.urgencyCombo.currentData(),
            "assignment_group_id": ui.groupCombo.currentData(),
            "assignee_id": ui.assigneeCombo.currentData(),
        }

    def changes(self) -> dict[str, Any]:
        """The fields the agent changed since the incident was read."""
        if self._data is None:
            return {}
        return changed(self._base, self.values())

    def _check_fields(self) -> bool:
        """Say next to each field what is missing or wrong; True if nothing is."""
        ui = self.ui
        for edit in (ui.serviceEdit, ui.configurationItemEdit, ui.categoryEdit,
                     ui.subcategoryEdit):
            if not edit.isReadOnly():
                edit.choose_best()
        problems: list[tuple[QLabel, QWidget, str]] = []
        if ui.callerEdit.item is None:
            problems.append((ui.callerError, ui.callerEdit, "Choose the caller from the list."))
        short = ui.shortDescriptionEdit.text().strip()
        if not short:
            problems.append((ui.shortDescriptionError, ui.shortDescriptionEdit,
                             "Short description is required."))
        description = ui.descriptionEdit.toPlainText().strip()
        if len(description) > MAX_DESCRIPTION:
            problems.append((ui.descriptionError, ui.descriptionEdit,
                             f"Description is {len(description):,} characters long; at most "
                             f"{MAX_DESCRIPTION:,} are allowed."))
        for edit, what in ((ui.serviceEdit, "a service"),
                           (ui.configurationItemEdit, "a configuration item (or none)"),
                           (ui.categoryEdit, "a category"), (ui.subcategoryEdit, "a subcategory")):
            if edit.text().strip() and edit.item is None:
                problems.append((ui.catalogError, edit, f"Choose {what} from the list."))
        if self._parent_choice is not None and self._parent_choice[0] \
                and self._parent_choice[1] is None:
            problems.append((ui.parentError, ui.parentEdit,
                             ui.parentError.text() or "That is not a major incident's number."))
        for label in (ui.callerError, ui.shortDescriptionError, ui.descriptionError,
                      ui.catalogError, ui.parentError, ui.assignmentError, ui.formError):
            show_message(label, "")
        for label, _widget, message in problems:
            show_message(label, message)
        if problems:
            problems[0][1].setFocus(Qt.FocusReason.OtherFocusReason)
        return not problems

    def save(self) -> asyncio.Task[bool] | None:
        """Save every change at the version the form read (Ctrl+S).

        Returns:
            The saving task (its result says whether the incident was saved), or None when
            nothing was sent: nothing changed, something is missing, or a save is running.
        """
        d = self.detail
        if d is None or self._busy:
            return None
        if not self._check_fields():
            return None
        try:
            state = self._state_change()
        except _IncompleteError:
            return None
        mine = self.changes()
        if not mine and state is None:
            self._banner("Nothing to save: the form shows the incident as stored.")
            return None
        edit = edit_for(mine, d, state)
        task = self._runner.spawn(self._save(edit, d.version, mine, state), name="save incident")
        self._track(task)
        return task

    async def _save(self, edit: IncidentEdit, version: int, mine: dict[str, Any],
                    state: StateChange | None) -> bool:
        self._set_busy(True)
        try:
            try:
                _detail, change = await self._runner.db(self._incidents.save_changes, self._id,
                                                        version, edit)
            except ConflictError as exc:
                return await self._resolve_conflict(exc, mine, state)
            except ValidationError as exc:
                self._show_validation(exc)
                return False
            except Exception as exc:
                if not isinstance(exc, DeskappError):
                    log.exception("Saving incident %s failed", self._id)
                show_message(self.ui.formError, f"Not saved: {describe_error(exc)}")
                return False
            data = await self._runner.db(self._incidents.load_form, self._id)
        finally:
            self._set_busy(False)
        self._show_data(data)
        self.ui.savedBanner.setText(f"✔ Saved {data.detail.number} "
                                    f"(version {data.detail.version}).")
        self.ui.savedBanner.show()
        self.saved.emit(change)
        return True

    async def _resolve_conflict(self, exc: ConflictError, mine: dict[str, Any],
                                state: StateChange | None) -> bool:
        """Show what the other person changed; save what the agent chooses on top of it."""
        current = await self._runner.db(self._incidents.load_form, self._id)
        self._caller_names.update(current.caller_names)  # their caller, by name
        theirs = current.detail
        rows = compare(self._base, values_of(theirs), {**self._base, **mine})
        priority = None
        if self._catalog is not None:
            # The priority the dialog promises is the one saving derives: from the matrix
            # as it is now, which someone may have changed since the form opened.
            matrix = await self._runner.db(self._catalog_service.current_matrix)
            self._catalog = replace(self._catalog, matrix=matrix)
            priority = PriorityOutcome(values_of(theirs), matrix)
        self._set_busy(False)
        self._resolving = True
        try:
            choice = await ConflictDialog.ask(self, rows, self.value_text, exc.changed_by,
                                              exc.changed_at, priority=priority)
        finally:
            self._resolving = False
        if choice is None:
            self._banner(f"{exc.changed_by or 'Someone'} saved this incident after you opened "
                         "it; your changes are not saved yet. Ctrl+S shows the differences "
                         "again.")
            return False
        if choice.resolution == Resolution.KEEP_THEIRS:
            self.ui.noteEdit.clear()
            self._show_data(current)
            self._banner("Their version is shown; your changes were dropped.")
            return False
        self._set_busy(True)
        if state is not None and state.target not in ALLOWED[theirs.state]:
            state = None  # they moved it already; the agent's move no longer applies
        edit = edit_for(choice.values, theirs, state)
        if edit.empty:
            self._show_data(current)
            return False
        self._base = values_of(theirs)
        return await self._save(edit, theirs.version, changed(self._base, {**self._base,
                                                                           **choice.values}),
                                state)

    def _show_validation(self, exc: ValidationError) -> None:
        ui = self.ui
        where: dict[str | None, QLabel] = {
            "Short description": ui.shortDescriptionError,
            "Description": ui.descriptionError,
            "subcategory_id": ui.catalogError,
            "assignee_id": ui.assignmentError,
            "parent_id": ui.parentError,
            "hold_reason": ui.transitionError,
            "resolution_code": ui.transitionError,
            "Resolution notes": ui.transitionError,
            "Reason for reopening": ui.transitionError,
        }
        show_message(where.get(exc.field, ui.formError), str(exc))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if self._closing:
            return  # a cancelled task unwinds after the widgets may be gone
        self.ui.saveButton.setEnabled(not busy)
        self.ui.confirmTransitionButton.setEnabled(not busy)
        self.ui.reloadButton.setEnabled(not busy)

    def _banner(self, text: str) -> None:
        self.ui.messageBanner.setText(text)
        self.ui.messageBanner.show()

    # --- notes and comments -------------------------------------------------------------------

    def begin_note(self, kind: ActivityKind) -> None:
        """Start a work note (Ctrl+Shift+W) or a comment to the caller (Ctrl+Shift+C)."""
        self._note_kind = kind
        ui = self.ui
        ui.noteKindLabel.setText("<b>Work note</b> (internal)" if kind == ActivityKind.WORK_NOTE
                                 else "<b>Comment</b> (the caller sees it)")
        show_message(ui.noteError, "")
        ui.noteEdit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def add_note(self, kind: ActivityKind) -> asyncio.Task[bool] | None:
        """Add what the note field holds as a work note or comment; no version needed."""
        ui = self.ui
        body = ui.noteEdit.toPlainText().strip()
        if not body:
            self.begin_note(kind)
            show_message(ui.noteError, "Type the note first.")
            return None
        if len(body) > MAX_NOTE:
            show_message(ui.noteError, f"The note is {len(body):,} characters long; at most "
                         f"{MAX_NOTE:,} are allowed.")
            return None
        task = self._runner.spawn(self._add_note(kind, body), name="add note")
        self._track(task)
        return task

    async def _add_note(self, kind: ActivityKind, body: str) -> bool:
        ui = self.ui
        service = self._incidents.add_work_note if kind == ActivityKind.WORK_NOTE \
            else self._incidents.add_comment
        ui.addWorkNoteButton.setEnabled(False)
        ui.addCommentButton.setEnabled(False)
        try:
            change = await self._runner.db(service, self._id, body)
            activity = await self._runner.db(self._incidents.activity, self._id)
            unnamed = caller_ids_in(activity) - self._caller_names.keys()
            if unnamed:  # someone else changed the caller meanwhile
                self._caller_names.update(
                    await self._runner.db(self._incidents.caller_names, unnamed))
        except Exception as exc:
            show_message(ui.noteError, f"Not added: {describe_error(exc)}")
            return False
        finally:
            if not self._closing:  # a cancelled task unwinds after the widgets are gone
                ui.addWorkNoteButton.setEnabled(True)
                ui.addCommentButton.setEnabled(True)
        if ui.noteEdit.toPlainText().strip() == body:
            ui.noteEdit.clear()
        show_message(ui.noteError, "")
        self._activity.set_activity(activity)
        self.saved.emit(change)
        return True

    # --- words for values -----------------------------------------------------------------------

    def value_text(self, field: str, value: Any) -> str:
        """How a field's value reads on screen (names for ids, labels for codes)."""
        if value is None or value == "":
            return "—"
        catalog = self._catalog
        try:
            if field in ("category_id", "subcategory_id") and catalog:
                return catalog.category_name(int(value)) or str(value)
            if field == "service_id" and catalog:
                return catalog.service_name(int(value)) or str(value)
            if field == "configuration_item_id" and catalog:
                return catalog.configuration_item_name(int(value)) or str(value)
            if field == "assignment_group_id" and catalog:
                return catalog.group_name(int(value)) or str(value)
            if field in ("assignee_id", "updated_by_id") and catalog:
                return catalog.agent_name(int(value)) or str(value)
            if field == "caller_id":
                item = self.ui.callerEdit.item
                if item is not None and item.id == int(value):
                    return item.text
                return self._caller_names.get(int(value), f"caller {value}")
            if field == "parent_id":
                parent = self._data.parent if self._data else None
                return parent.number if parent and parent.id == int(value) else \
                    f"incident {value}"
            if field == "state":
                return State(value).label
            if field == "hold_reason":
                return HoldReason(value).label
            if field == "resolution_code":
                return ResolutionCode(value).label
            if field == "channel":
                return Channel(value).label
            if field == "priority" and catalog:
                return catalog.matrix.definition(int(value)).label
            if field == "impact" and catalog:
                return f"{value} - {catalog.matrix.impact_name(int(value))}"
            if field == "urgency" and catalog:
                return f"{value} - {catalog.matrix.urgency_name(int(value))}"
            if field == "is_major":
                return "yes" if value in (True, "true") else "no"
        except (ValueError, DeskappError):
            pass
        return str(value)

    def _describe(self, view: ActivityView) -> str:
        kind = ActivityKind(view.kind)
        if kind in (ActivityKind.WORK_NOTE, ActivityKind.COMMENT):
            return view.body or ""
        if kind == ActivityKind.CREATED:
            return view.body or ""
        if kind == ActivityKind.CALL:
            started = format_timestamp(view.call_started_at) if view.call_started_at else ""
            text = f"Call at {started}, {format_call_time(view.call_seconds or 0)} long"
            return text + (f": {view.body}" if view.body else "")
        field = view.field or ""
        label = FIELD_LABELS.get(field, field.replace("_", " "))
        old, new = self.value_text(field, view.old_value), self.value_text(field, view.new_value)
        return f"{label}: {old} → {new}"

    # --- tasks and closing ----------------------------------------------------------------------

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _escape(self) -> None:
        if self.ui.transitionBox.isVisible():
            self.cancel_transition()
        else:
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and (self.dirty or self._busy):
            event.ignore()
            if not self._asking and not self._busy:
                self._track(self._runner.spawn(self._confirm_close(), name="confirm close"))
            return
        self._closing = True
        self._sla_timer.stop()
        for edit in (self.ui.callerEdit, self.ui.serviceEdit, self.ui.configurationItemEdit,
                     self.ui.categoryEdit, self.ui.subcategoryEdit):
            edit.shutdown()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        super().closeEvent(event)
        self.closed.emit()

    def discard(self) -> None:
        """Close without asking, losing unsaved changes (the application is quitting)."""
        self._closing = True
        self.close()

    async def _confirm_close(self) -> None:
        self._asking = True
        try:
            answer = await QuestionBox.ask(
                self, "Discard your changes?",
                f"{self.detail.number if self.detail else 'The incident'} has changes that are "
                "not saved. Close it and lose them?",
                Button.Discard | Button.Cancel, Button.Cancel)
        finally:
            self._asking = False
        if answer == Button.Discard:
            self.discard()

    def bring_forward(self) -> None:
        """Show the form on top (it was opened again from the queue)."""
        bring_to_front(self)


class _IncompleteError(Exception):
    """The transition fields are incomplete; the form said so next to them."""
