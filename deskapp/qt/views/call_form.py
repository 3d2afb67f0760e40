"""The call form: log an incident while the caller is on the phone, keyboard first.

Tab walks the fields in the order of the conversation (who is calling, what is wrong, what
is affected, how bad it is, who takes it on); Ctrl+S saves, Ctrl+Shift+S saves and starts the
next call. The caller look-up asks the database as the agent types; the priority and its due
times are worked out from the matrix on the GUI thread, without a database call per keystroke.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from deskapp.domain.enums import Channel, ResolutionCode, State
from deskapp.domain.errors import DeskappError, ValidationError
from deskapp.domain.incident import MAX_DESCRIPTION, MAX_SHORT_DESCRIPTION
from deskapp.domain.people import User
from deskapp.domain.priority import Level
from deskapp.qt import theme
from deskapp.qt.formatting import format_duration, format_timestamp
from deskapp.qt.generated.call_form_ui import Ui_CallForm
from deskapp.qt.models.incident_list_model import IncidentListModel, ListedIncident
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.caller_edit_dialog import EditCallerControl, caller_view_of
from deskapp.qt.views.catalog_pickers import ConfigurationItemPicker, catalog_items
from deskapp.qt.widgets.lookup import LookupItem
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.qt.widgets.windows import bring_to_front
from deskapp.services.caller_admin_dto import CallerAdminRow
from deskapp.services.catalog import (
    AgentView,
    CatalogService,
    FormCatalog,
    PriorityPreview,
    preview_priority,
)
from deskapp.services.dto import CallerView, IncidentDetail, IncidentRow
from deskapp.services.incidents import IncidentService, LogCallRequest, utc_now
from deskapp.services.ports import Clock
from deskapp.user_settings import CallFormDefaults

log = logging.getLogger(__name__)

CALLER_MATCHES = 15
"""How many callers the look-up offers; more would not fit a glance."""
SIMILAR_DELAY_MS = 350
"""Look for similar incidents once the agent pauses typing the short description."""
TIMER_TICK_MS = 1000
CREATE_CALLER = "+ New caller “{}”…"
ANYONE = "Anyone in the group (optional)"
NO_GROUP_YET = "Choose the group first"


def caller_item(caller: CallerView) -> LookupItem:
    """How a caller appears in the look-up."""
    detail = " · ".join(part for part in (caller.email, caller.phone, caller.department) if part)
    return LookupItem(caller.id, caller.name, detail, "★ " if caller.vip else "", caller)


def agent_item(agent: AgentView) -> LookupItem:
    """How an agent appears in the assignee picker."""
    return LookupItem(agent.id, agent.full_name, "away" if agent.away else "", payload=agent)


def format_call_time(seconds: float) -> str:
    """A call's duration as the timer shows it: ``04:07``, ``1:02:03``."""
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def fill_levels(combo: QComboBox, levels: list[tuple[int, str]], current: int | None) -> None:
    """Offer impact or urgency levels as "1 - High": typing the digit picks the level."""
    combo.blockSignals(True)
    try:
        combo.clear()
        for value, name in levels:
            combo.addItem(f"{value} - {name}", value)
        index = combo.findData(current)
        combo.setCurrentIndex(index if index >= 0 else len(levels) // 2)
    finally:
        combo.blockSignals(False)


class DigitPicksLevel(QObject):
    """Lets a digit key choose the impact or urgency level with that value, at once.

    A combo box's own type-ahead would read "1" then "2" typed in quick succession as "12"
    and choose nothing.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QComboBox) and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.text().isdigit() \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            index = watched.findData(int(event.text()))
            if index >= 0:
                watched.setCurrentIndex(index)
                return True
        return False


def show_message(label: QLabel, message: str) -> None:
    """Put a message next to a field (or clear it); an empty label takes no room.

    Messages quote what people typed (names, descriptions): always plain text, never markup.
    """
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(message)
    label.setVisible(bool(message))


def _default_level(levels: Sequence[Level], wanted: int) -> int:
    """``wanted`` if the matrix has that level, else its middle one."""
    values = [lv.value for lv in levels]
    return wanted if wanted in values else values[len(values) // 2]


def _default_channel(defaults: CallFormDefaults) -> Channel:
    try:
        return Channel(defaults.channel)
    except ValueError:
        return Channel.PHONE


def priority_style(colour: str) -> str:
    text = theme.text_on(QColor(colour)).name()
    return f"QLabel {{ background: {colour}; color: {text}; font-weight: bold; }}"


def due_text(preview: PriorityPreview, now: datetime) -> str:
    """'Response by 09:30 (15m) · resolution by 13:15 (4h 00m)'."""
    return (f"Response by {format_timestamp(preview.response_due_at)} "
            f"({format_duration(preview.response_due_at - now)}) · resolution by "
            f"{format_timestamp(preview.resolution_due_at)} "
            f"({format_duration(preview.resolution_due_at - now)})")


class CallForm(QWidget):
    """Logs one call after another: caller, problem, classification, save.

    Signals:
        saved(object): an incident was logged; the argument is the service's Change.
        ready(): the form is empty and waits for the next call (after it opened and its
            pickers are filled, and after every Save & new).
        open_incident_requested(int): the agent asked to open this incident (Enter on one
            of the lists beside the form, or Ctrl+O after saving).
        closed(): the form was closed.
    """

    saved = Signal(object)
    ready = Signal()
    open_incident_requested = Signal(int)
    closed = Signal()

    def __init__(
        self,
        *,
        incidents: IncidentService,
        catalog: CatalogService,
        runner: DbRunner,
        user: User,
        clock: Clock = utc_now,
        elapsed: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        """Build the form; call ``start()`` to load its pickers.

        Args:
            incidents: the incident service, acting as ``user``.
            catalog: the catalogue, groups and matrix the pickers offer.
            runner: runs service calls off the GUI thread.
            user: the signed-in agent.
            clock: "now" for the call's start and the due times.
            elapsed: a monotonic clock in seconds, for the call's duration.
            parent: the Qt parent (the form is a window of its own even with one).
        """
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self._incidents = incidents
        self._catalog_service = catalog
        self._runner = runner
        self._user = user
        self._clock = clock
        self._elapsed = elapsed
        self._catalog: FormCatalog | None = None
        self._caller: CallerView | None = None
        self._link: tuple[str, IncidentRow] | None = None
        self._last_saved: IncidentDetail | None = None
        self._saving = False
        self._last_saved_shown = False
        self._closing = False
        self._asking = False
        self._started_at = clock()
        self._started_mono = elapsed()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._history_task: asyncio.Task[None] | None = None
        self._similar_task: asyncio.Task[None] | None = None
        self._members_task: asyncio.Task[None] | None = None
        self._members: dict[int, list[AgentView]] = {}
        self.defaults = CallFormDefaults()
        """What a new call starts with: channel, impact and urgency (Settings)."""

        self.ui = Ui_CallForm()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        ui = self.ui
        ui.shortDescriptionEdit.setMaxLength(MAX_SHORT_DESCRIPTION)
        for channel in Channel:
            ui.channelCombo.addItem(channel.label, channel)
        ui.resolutionCodeCombo.addItem("Choose a resolution code…", None)
        for code in ResolutionCode:
            if code != ResolutionCode.DUPLICATE:  # Ctrl+D does that, naming the original
                ui.resolutionCodeCombo.addItem(code.label, code)

        # The assignee column lines up with the subcategory's above it.
        width = max(ui.subcategoryLabel.sizeHint().width(), ui.assigneeLabel.sizeHint().width())
        for label in (ui.subcategoryLabel, ui.assigneeLabel):
            label.setMinimumWidth(width)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self._digits = DigitPicksLevel(self)
        ui.impactCombo.installEventFilter(self._digits)
        ui.urgencyCombo.installEventFilter(self._digits)

        self._open_model = IncidentListModel(self)
        self._recent_model = IncidentListModel(self)
        self._similar_model = IncidentListModel(self)
        ui.openList.setModel(self._open_model)
        ui.recentList.setModel(self._recent_model)
        ui.similarList.setModel(self._similar_model)

        ui.callerEdit.set_lookup(self._find_callers, create_label=CREATE_CALLER)
        ui.callerEdit.chosen.connect(self._on_caller_chosen)
        ui.callerEdit.create_requested.connect(self._begin_new_caller)
        ui.callerEdit.lookup_failed.connect(lambda m: show_message(ui.callerError, m))
        self.edit_caller = EditCallerControl(self, ui.callerEdit, ui.editCallerButton,
                                             incidents=incidents, runner=runner, user=user,
                                             on_saved=self._caller_edited)
        ui.addCallerButton.clicked.connect(self._add_caller)
        ui.cancelNewCallerButton.clicked.connect(self._cancel_new_caller)
        for edit in (ui.newCallerNameEdit, ui.newCallerEmailEdit, ui.newCallerPhoneEdit):
            edit.returnPressed.connect(self._add_caller)
        ui.categoryEdit.chosen.connect(self._on_category_chosen)
        self._ci_picker = ConfigurationItemPicker(ui.serviceEdit, ui.configurationItemEdit)
        ui.serviceEdit.chosen.connect(lambda _item: self._look_for_similar_soon())
        ui.groupEdit.chosen.connect(self._on_group_chosen)
        ui.impactCombo.currentIndexChanged.connect(self._update_priority)
        ui.urgencyCombo.currentIndexChanged.connect(self._update_priority)
        ui.resolveCheck.toggled.connect(self._on_resolve_toggled)
        ui.unlinkButton.clicked.connect(self.unlink)
        # A message next to a field goes as soon as the agent corrects the field.
        ui.shortDescriptionEdit.textEdited.connect(
            lambda _text: show_message(ui.shortDescriptionError, ""))
        ui.descriptionEdit.textChanged.connect(
            lambda: show_message(ui.descriptionError, ""))
        ui.resolutionNotesEdit.textChanged.connect(
            lambda: show_message(ui.resolutionError, ""))
        ui.callerEdit.chosen.connect(lambda _item: show_message(ui.callerError, ""))
        ui.assigneeEdit.textEdited.connect(lambda _text: show_message(ui.assignmentError, ""))
        ui.saveButton.clicked.connect(lambda: self.save())
        ui.saveNewButton.clicked.connect(lambda: self.save(and_new=True))
        ui.closeButton.clicked.connect(self.close)
        for view in (ui.openList, ui.recentList, ui.similarList):
            view.activated.connect(self._on_list_activated)

        self._similar_timer = QTimer(self)
        self._similar_timer.setSingleShot(True)
        self._similar_timer.setInterval(SIMILAR_DELAY_MS)
        self._similar_timer.timeout.connect(self._look_for_similar)
        ui.shortDescriptionEdit.textEdited.connect(lambda _t: self._look_for_similar_soon())

        self._call_timer = QTimer(self)
        self._call_timer.setInterval(TIMER_TICK_MS)
        self._call_timer.timeout.connect(self._tick)
        self._call_timer.start()

        self._shortcut("Ctrl+S", self.save)
        self._shortcut("Ctrl+Return", self.save)
        self._shortcut("Ctrl+Enter", self.save)
        self._shortcut("Ctrl+Shift+S", lambda: self.save(and_new=True))
        self._shortcut("Ctrl+Shift+Return", lambda: self.save(and_new=True))
        self._shortcut("Ctrl+L", self.link_as_child)
        self._shortcut("Ctrl+D", self.mark_duplicate)
        self._shortcut("Ctrl+J", lambda: self.ui.similarList.setFocus(
            Qt.FocusReason.ShortcutFocusReason))
        self._shortcut("Ctrl+O", self._open_saved)
        # Ctrl+Shift+E: Edit caller… (EditCallerControl above).
        self._shortcut("Esc", self.close)

        ui.callerEdit.setToolTip("Type a name, email or phone number; Down and Enter choose. "
                                 "Unknown? Choose “New caller” at the end of the list.")
        self._reset(keep_banner=False)

    def _shortcut(self, keys: str, slot: Callable[[], object]) -> None:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.activated.connect(slot)

    # --- state, for the application and for tests ---------------------------------------

    @property
    def caller(self) -> CallerView | None:
        return self._caller

    @property
    def catalog(self) -> FormCatalog | None:
        return self._catalog

    @property
    def last_saved(self) -> IncidentDetail | None:
        """The incident the last save created."""
        return self._last_saved

    @property
    def assignees(self) -> list[AgentView] | None:
        """Whom the assignee picker offers: the chosen group's members (None: not loaded)."""
        group_id = self.ui.groupEdit.item_id
        members = self._members.get(group_id) if group_id is not None else None
        return list(members) if members is not None else None

    @property
    def saving(self) -> bool:
        return self._saving

    @property
    def link(self) -> tuple[str, IncidentRow] | None:
        """("child" or "duplicate", the incident) once the call is linked to one."""
        return self._link

    @property
    def similar_model(self) -> IncidentListModel:
        return self._similar_model

    @property
    def open_model(self) -> IncidentListModel:
        return self._open_model

    @property
    def recent_model(self) -> IncidentListModel:
        return self._recent_model

    @property
    def call_started_at(self) -> datetime:
        return self._started_at

    @property
    def dirty(self) -> bool:
        """Whether the agent has typed or chosen anything not saved yet."""
        ui = self.ui
        return bool(
            self._caller is not None or ui.callerEdit.text().strip()
            or ui.shortDescriptionEdit.text().strip()
            or ui.descriptionEdit.toPlainText().strip() or ui.serviceEdit.text().strip()
            or ui.configurationItemEdit.text().strip()
            or ui.categoryEdit.text().strip() or ui.groupEdit.text().strip()
            or ui.resolveCheck.isChecked()
            or self._link is not None
        ) and not self._last_saved_shown

    # --- loading ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the pickers and the matrix; the form is ready for a call when this returns."""
        try:
            catalog = await self._runner.db(self._catalog_service.form_catalog)
        except Exception as exc:
            log.warning("Loading the catalogue failed", exc_info=exc)
            show_message(self.ui.formError,
                         f"Could not load the categories and services: {describe_error(exc)}")
            return
        if self._closing:
            return
        self.set_catalog(catalog)
        self.ready.emit()

    def set_catalog(self, catalog: FormCatalog) -> None:
        """Fill the pickers and the impact and urgency levels."""
        self._catalog = catalog
        ui = self.ui
        # New calls choose from active rows only (catalog_pickers).
        self._ci_picker.set_catalog(catalog)
        ui.categoryEdit.set_items(catalog_items(catalog.top_categories()))
        self._on_category_chosen(ui.categoryEdit.item)
        ui.groupEdit.set_items([LookupItem(g.id, g.name, payload=g)
                                for g in catalog.active_groups()])
        self._on_group_chosen(ui.groupEdit.item)
        matrix = catalog.matrix
        middle_impact = _default_level(matrix.impact_levels, self.defaults.impact)
        middle_urgency = _default_level(matrix.urgency_levels, self.defaults.urgency)
        fill_levels(ui.impactCombo, [(lv.value, lv.name) for lv in matrix.impact_levels],
                    middle_impact)
        fill_levels(ui.urgencyCombo, [(lv.value, lv.name) for lv in matrix.urgency_levels],
                    middle_urgency)
        if not self.dirty:
            ui.channelCombo.setCurrentIndex(max(ui.channelCombo.findData(
                _default_channel(self.defaults)), 0))
        codes = {p.rank: p.code for p in matrix.priorities}
        colours = {p.rank: p.colour for p in matrix.priorities}
        for model in (self._open_model, self._recent_model, self._similar_model):
            model.set_priorities(codes, colours)
        self._update_priority()

    # --- the caller ---------------------------------------------------------------------

    async def _find_callers(self, text: str) -> list[LookupItem]:
        callers = await self._runner.db(self._incidents.lookup_callers, text, CALLER_MATCHES)
        return [caller_item(c) for c in callers]

    def _on_caller_chosen(self, item: LookupItem | None) -> None:
        ui = self.ui
        caller = item.payload if item is not None else None
        self._caller = caller if isinstance(caller, CallerView) else None
        ui.vipLabel.setVisible(bool(self._caller and self._caller.vip))
        show_message(ui.callerError, "")
        self._open_model.set_rows([])
        self._recent_model.set_rows([])
        if self._caller is None:
            ui.callerCard.setText("Type the caller's name, email or phone number.")
            return
        c = self._caller
        vip = theme.colours().warning.name()
        lines = [f"<b style='font-size:14px'>{html.escape(c.name)}</b>"
                 + (f" <span style='color:{vip}'><b>★ VIP</b></span>" if c.vip else "")]
        contact = " · ".join(html.escape(p) for p in (c.email, c.phone) if p)
        place = " · ".join(html.escape(p) for p in (c.department, c.location) if p)
        lines += [line for line in (contact, place) if line]
        ui.callerCard.setText("<br>".join(lines))
        self._history_task = self._spawn(self._load_history(c.id), self._history_task)

    def _caller_edited(self, row: CallerAdminRow) -> None:
        """Edit caller… saved: the field and the card show the new details."""
        if self.ui.callerEdit.item_id == row.id:
            self.ui.callerEdit.set_item(caller_item(caller_view_of(row)))

    async def _load_history(self, caller_id: int) -> None:
        try:
            history = await self._runner.db(self._incidents.caller_history, caller_id)
        except Exception as exc:
            log.warning("Loading the caller's incidents failed", exc_info=exc)
            show_message(self.ui.callerError,
                         f"Could not load the caller's incidents: {describe_error(exc)}")
            return
        if self._caller is None or self._caller.id != caller_id:
            return
        self._open_model.set_rows(history.open)
        self._recent_model.set_rows(history.recent)
        self.ui.openTitle.setText(f"<b>Open incidents of this caller ({len(history.open)})"
                                  "</b>")

    def _begin_new_caller(self, typed: str) -> None:
        """Show the new-caller fields, with what was typed where it belongs."""
        ui = self.ui
        for edit in (ui.newCallerNameEdit, ui.newCallerEmailEdit, ui.newCallerPhoneEdit):
            edit.clear()
        ui.newCallerVipCheck.setChecked(False)
        show_message(ui.newCallerError, "")
        digits = sum(ch.isdigit() for ch in typed)
        if "@" in typed:
            ui.newCallerEmailEdit.setText(typed)
        elif digits >= max(3, len(typed) // 2):
            ui.newCallerPhoneEdit.setText(typed)
        else:
            ui.newCallerNameEdit.setText(typed)
        ui.newCallerBox.show()
        first_empty = next((e for e in (ui.newCallerNameEdit, ui.newCallerEmailEdit,
                                        ui.newCallerPhoneEdit) if not e.text()),
                           ui.newCallerNameEdit)
        first_empty.setFocus(Qt.FocusReason.OtherFocusReason)

    def _cancel_new_caller(self) -> None:
        self.ui.newCallerBox.hide()
        self.ui.callerEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _add_caller(self) -> None:
        ui = self.ui
        if not ui.newCallerBox.isVisible() or self._saving:
            return
        name = ui.newCallerNameEdit.text().strip()
        if not name:
            show_message(ui.newCallerError, "The caller needs a name.")
            ui.newCallerNameEdit.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self._track(self._runner.spawn(self._create_caller(
            name, ui.newCallerEmailEdit.text(), ui.newCallerPhoneEdit.text(),
            ui.newCallerVipCheck.isChecked()), name="add caller"))

    async def _create_caller(self, name: str, email: str, phone: str, vip: bool) -> None:
        ui = self.ui
        ui.addCallerButton.setEnabled(False)
        try:
            caller = await self._runner.db(self._incidents.add_caller, name, email, phone, "",
                                           "", vip)
        except DeskappError as exc:
            show_message(ui.newCallerError, str(exc))
            return
        except Exception as exc:
            log.warning("Adding a caller failed", exc_info=exc)
            show_message(ui.newCallerError, describe_error(exc))
            return
        finally:
            if not self._closing:  # a cancelled task unwinds after the widgets are gone
                ui.addCallerButton.setEnabled(True)
        ui.newCallerBox.hide()
        ui.callerEdit.set_item(caller_item(caller))
        ui.shortDescriptionEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- classification -------------------------------------------------------------------

    def _on_category_chosen(self, item: LookupItem | None) -> None:
        ui = self.ui
        subs = self._catalog.subcategories(item.id) if self._catalog and item else []
        ui.subcategoryEdit.set_items([LookupItem(c.id, c.name, payload=c) for c in subs])
        ui.subcategoryEdit.setEnabled(bool(subs))
        ui.subcategoryEdit.setPlaceholderText("" if subs or item is None
                                              else "(none for this category)")

    # --- assignment -----------------------------------------------------------------------

    def _on_group_chosen(self, item: LookupItem | None) -> None:
        """Offer the chosen group's members; an assignee of another group goes."""
        ui = self.ui
        show_message(ui.assignmentError, "")
        group_id = item.id if item is not None else None
        # Enabled at once, before the members arrive: Tab, which chose the group, must
        # reach the assignee next.
        ui.assigneeEdit.setEnabled(group_id is not None)
        ui.assigneeEdit.setPlaceholderText(ANYONE if group_id is not None else NO_GROUP_YET)
        self._fill_assignees(group_id)
        if group_id is not None:
            # Membership changes while the form stays open all day: ask again each time,
            # offering what was known meanwhile.
            self._members_task = self._spawn(self._load_members(group_id),
                                             self._members_task)

    def _fill_assignees(self, group_id: int | None) -> None:
        members = self._members.get(group_id, []) if group_id is not None else []
        edit = self.ui.assigneeEdit
        edit.set_items([agent_item(a) for a in members])  # drops an agent no longer listed
        if group_id is None and edit.text():
            edit.set_item(None)

    async def _load_members(self, group_id: int) -> None:
        try:
            members = await self._runner.db(self._catalog_service.group_members, group_id)
        except Exception as exc:
            log.warning("Loading the group's members failed", exc_info=exc)
            show_message(self.ui.assignmentError,
                         f"Could not load the group's members: {describe_error(exc)}")
            return
        self._members[group_id] = members
        edit = self.ui.assigneeEdit
        if self.ui.groupEdit.item_id != group_id:
            return  # the agent chose another group meanwhile
        self._fill_assignees(group_id)
        if edit.item is None and edit.text().strip() and not edit.hasFocus():
            edit.choose_best()  # typed and left before the members were there

    def _levels(self) -> tuple[int, int] | None:
        impact = self.ui.impactCombo.currentData()
        urgency = self.ui.urgencyCombo.currentData()
        if not isinstance(impact, int) or not isinstance(urgency, int):
            return None
        return impact, urgency

    @property
    def priority_preview(self) -> PriorityPreview | None:
        """The priority and due times the impact and urgency now give."""
        levels = self._levels()
        if self._catalog is None or levels is None:
            return None
        return preview_priority(self._catalog.matrix, *levels, self._clock())

    def _update_priority(self) -> None:
        ui = self.ui
        preview = self.priority_preview
        if preview is None:
            ui.priorityLabel.setText("")
            ui.dueLabel.setText("")
            return
        ui.priorityLabel.setText(preview.label)
        ui.priorityLabel.setStyleSheet(priority_style(preview.colour))
        ui.dueLabel.setText(due_text(preview, self._clock()))

    def _on_resolve_toggled(self, on: bool) -> None:
        self.ui.resolutionBox.setVisible(on)
        if not on:
            show_message(self.ui.resolutionError, "")

    # --- similar incidents and links -----------------------------------------------------

    def _look_for_similar_soon(self) -> None:
        self._similar_timer.start()

    def _look_for_similar(self) -> None:
        text = self.ui.shortDescriptionEdit.text()
        service_id = self.ui.serviceEdit.item_id
        if not text.strip() and service_id is None:
            self._similar_model.set_entries([])
            return
        self._similar_task = self._spawn(self._load_similar(text, service_id),
                                         self._similar_task)

    async def _load_similar(self, text: str, service_id: int | None) -> None:
        try:
            similar = await self._runner.db(self._incidents.similar_open, text, service_id)
        except Exception as exc:
            log.warning("Looking for similar incidents failed", exc_info=exc)
            return  # a hint, not part of the call: the agent can go on
        entries = []
        for s in similar:
            note = "same service" if s.same_service else ""
            if s.shared_words:
                words = f"{s.shared_words} word{'s' if s.shared_words > 1 else ''} alike"
                note = f"{note}, {words}" if note else words
            entries.append(ListedIncident(s.row, note))
        self._similar_model.set_entries(entries)
        if entries:
            self.ui.similarList.setCurrentIndex(self._similar_model.index(0))
        self.ui.similarTitle.setText(f"<b>Similar open incidents ({len(entries)})</b>")

    def _current_similar(self) -> IncidentRow | None:
        index = self.ui.similarList.currentIndex()
        if not index.isValid() and self._similar_model.rowCount():
            index = self._similar_model.index(0)
        row = index.data(ItemRole.ROW) if index.isValid() else None
        return row if isinstance(row, IncidentRow) else None

    def link_as_child(self) -> None:
        """Make the new incident a child of the major incident highlighted beside the form."""
        row = self._current_similar()
        if row is None:
            show_message(self.ui.formError, "No similar open incident to link to.")
            return
        if not row.is_major:
            show_message(self.ui.formError,
                         f"{row.number} is not a major incident, so it takes no children; "
                         "Ctrl+D logs this call as its duplicate instead.")
            return
        self._set_link(("child", row))

    def mark_duplicate(self) -> None:
        """Log the call as a duplicate of the incident highlighted beside the form."""
        row = self._current_similar()
        if row is None:
            show_message(self.ui.formError, "No similar open incident to mark a duplicate of.")
            return
        self._set_link(("duplicate", row))

    def unlink(self) -> None:
        """Log the call as an incident of its own after all."""
        self._set_link(None)

    def _set_link(self, link: tuple[str, IncidentRow] | None) -> None:
        ui = self.ui
        self._link = link
        show_message(ui.formError, "")
        if link is None:
            ui.linkLabel.hide()
            ui.unlinkButton.hide()
            ui.resolveCheck.setEnabled(True)
            return
        kind, row = link
        text = html.escape(f"{row.number}: {row.short_description}")
        if kind == "child":
            ui.linkLabel.setText(f"Will be linked as a child of major incident <b>{text}</b>")
            ui.resolveCheck.setEnabled(True)
        else:
            ui.linkLabel.setText(f"Will be closed as a duplicate of <b>{text}</b>; "
                                 f"{html.escape(row.number)} gets a note.")
            ui.resolveCheck.setChecked(False)
            ui.resolveCheck.setEnabled(False)
        ui.linkLabel.show()
        ui.unlinkButton.show()

    def _on_list_activated(self, index: QModelIndex) -> None:
        incident_id = index.data(ItemRole.ID)
        if isinstance(incident_id, int):
            self.open_incident_requested.emit(incident_id)

    def _open_saved(self) -> None:
        if self._last_saved is not None:
            self.open_incident_requested.emit(self._last_saved.id)

    # --- saving ---------------------------------------------------------------------------

    def _clear_messages(self) -> None:
        ui = self.ui
        for label in (ui.callerError, ui.shortDescriptionError, ui.descriptionError,
                      ui.serviceError, ui.categoryError, ui.assignmentError,
                      ui.resolutionError, ui.formError):
            show_message(label, "")

    def _collect(self) -> LogCallRequest | None:
        """The request the form holds, or None after showing what is missing or wrong."""
        ui = self.ui
        self._clear_messages()
        problems: list[tuple[QLabel, QWidget, str]] = []
        for edit in (ui.serviceEdit, ui.configurationItemEdit, ui.categoryEdit,
                     ui.subcategoryEdit, ui.groupEdit, ui.assigneeEdit):
            edit.choose_best()
        if self._caller is None:
            problems.append((ui.callerError, ui.callerEdit,
                             "Choose the caller from the list, or “New caller” at its end."))
        short = ui.shortDescriptionEdit.text().strip()
        if not short:
            problems.append((ui.shortDescriptionError, ui.shortDescriptionEdit,
                             "Short description is required."))
        description = ui.descriptionEdit.toPlainText().strip()
        if len(description) > MAX_DESCRIPTION:
            problems.append((ui.descriptionError, ui.descriptionEdit,
                             f"Description is {len(description):,} characters long; at most "
                             f"{MAX_DESCRIPTION:,} are allowed."))
        if ui.serviceEdit.text().strip() and ui.serviceEdit.item is None:
            problems.append((ui.serviceError, ui.serviceEdit,
                             "Choose a service from the list."))
        elif ui.configurationItemEdit.text().strip() and ui.configurationItemEdit.item is None:
            problems.append((ui.serviceError, ui.configurationItemEdit,
                             "Choose a configuration item from the list, or leave it empty."))
        if ui.categoryEdit.text().strip() and ui.categoryEdit.item is None:
            problems.append((ui.categoryError, ui.categoryEdit,
                             "Choose a category from the list."))
        elif ui.subcategoryEdit.text().strip() and ui.subcategoryEdit.item is None:
            problems.append((ui.categoryError, ui.subcategoryEdit,
                             "Choose a subcategory from the list."))
        group = ui.groupEdit.item
        if ui.groupEdit.text().strip() and group is None:
            problems.append((ui.assignmentError, ui.groupEdit,
                             "Choose an assignment group from the list."))
        elif group is not None and ui.assigneeEdit.text().strip() \
                and ui.assigneeEdit.item is None:
            problems.append((ui.assignmentError, ui.assigneeEdit,
                             f"Choose an agent of {group.text} from the list, or leave "
                             "the field empty."))
        resolving = ui.resolveCheck.isChecked() and ui.resolveCheck.isEnabled()
        code = ui.resolutionCodeCombo.currentData() if resolving else None
        notes = ui.resolutionNotesEdit.toPlainText().strip() if resolving else ""
        if resolving and code is None:
            problems.append((ui.resolutionError, ui.resolutionCodeCombo,
                             "Choose how the incident was resolved."))
        elif resolving and not notes:
            problems.append((ui.resolutionError, ui.resolutionNotesEdit,
                             "Say what was done: resolution notes are required."))
        elif len(notes) > MAX_DESCRIPTION:
            problems.append((ui.resolutionError, ui.resolutionNotesEdit,
                             f"Resolution notes are {len(notes):,} characters long; at most "
                             f"{MAX_DESCRIPTION:,} are allowed."))
        levels = self._levels()
        if levels is None:
            problems.append((ui.formError, ui.impactCombo,
                             "The priority matrix is not loaded yet."))
        if problems:
            for label, _widget, message in problems:
                show_message(label, message)
            problems[0][1].setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        assert self._caller is not None and levels is not None
        channel = ui.channelCombo.currentData()
        phone = channel == Channel.PHONE
        seconds = int(self._elapsed() - self._started_mono)
        return LogCallRequest(
            caller_id=self._caller.id,
            short_description=short,
            impact=levels[0],
            urgency=levels[1],
            description=description,
            channel=Channel(channel),
            category_id=ui.categoryEdit.item_id,
            subcategory_id=ui.subcategoryEdit.item_id,
            service_id=ui.serviceEdit.item_id,
            configuration_item_id=ui.configurationItemEdit.item_id,
            assignment_group_id=group.id if group is not None else None,
            assignee_id=ui.assigneeEdit.item_id if group is not None else None,
            parent_id=self._link[1].id if self._link and self._link[0] == "child" else None,
            # A call is logged for calls only; an email or a walk-in has no call to time.
            call_started_at=self._started_at if phone else None,
            call_seconds=seconds if phone else None,
            resolution_code=ResolutionCode(code) if code is not None else None,
            resolution_notes=notes,
        )

    def save(self, *, and_new: bool = False) -> asyncio.Task[bool] | None:
        """Save the call (Ctrl+S); with ``and_new``, start the next one (Ctrl+Shift+S).

        On a form that shows a call already saved, Save & new just starts the next call.

        Returns:
            The saving task (its result says whether the incident was saved), or None when
            nothing was sent to the database: something is missing or a save is running.
        """
        if self._saving:
            return None
        if self._last_saved_shown:
            if and_new:
                self._reset(keep_banner=True)
                self.ready.emit()
            return None
        request = self._collect()
        if request is None:
            return None
        duplicate_of = self._link[1].id if self._link and self._link[0] == "duplicate" \
            else None
        self._set_saving(True)
        task = self._runner.spawn(self._save(request, duplicate_of, and_new), name="log call")
        self._track(task)
        return task

    async def _save(self, request: LogCallRequest, duplicate_of: int | None,
                    and_new: bool) -> bool:
        try:
            if duplicate_of is None:
                detail, change = await self._runner.db(self._incidents.log_call, request)
            else:
                detail, change = await self._runner.db(self._incidents.log_call_as_duplicate,
                                                       request, duplicate_of)
        except ValidationError as exc:
            self._show_validation(exc)
            return False
        except Exception as exc:
            if not isinstance(exc, DeskappError):
                log.exception("Logging a call failed")
            show_message(self.ui.formError, f"Not saved: {describe_error(exc)}")
            return False
        finally:
            self._set_saving(False)
        self._last_saved = detail
        self.saved.emit(change)
        banner = f"✔ Saved as <b>{detail.number}</b>"
        if detail.state == State.RESOLVED:
            banner += " (resolved)"
        if and_new:
            self._reset(keep_banner=True)
            self._show_banner(banner + " — logging the next call.")
            self.ready.emit()
        else:
            self._show_banner(banner + " — read the number to the caller. "
                              "Ctrl+Shift+S: next call · Ctrl+O: open it · Esc: close")
            self._show_saved()
            if self._caller is not None:  # the new incident joins the caller's lists
                self._history_task = self._spawn(self._load_history(self._caller.id),
                                                 self._history_task)
        return True

    def _show_validation(self, exc: ValidationError) -> None:
        ui = self.ui
        where: dict[str | None, QLabel] = {
            "Short description": ui.shortDescriptionError,
            "Description": ui.descriptionError,
            "Resolution notes": ui.resolutionError,
            "resolution_code": ui.resolutionError,
            "subcategory_id": ui.categoryError,
            "assignee_id": ui.assignmentError,
            "assignment_group_id": ui.assignmentError,
            "call_seconds": ui.formError,
        }
        show_message(where.get(exc.field, ui.formError), str(exc))
        if exc.field == "assignee_id":
            ui.assigneeEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        if self._closing:
            return  # a cancelled save unwinds after the widgets may be gone
        self.ui.saveButton.setEnabled(not saving)
        self.ui.saveNewButton.setEnabled(not saving)

    def _show_banner(self, text: str) -> None:
        self.ui.savedBanner.setText(text)
        self.ui.savedBanner.show()

    def _show_saved(self) -> None:
        """After Save: the call stays on screen, read-only, until the next one starts."""
        self._last_saved_shown = True
        self._call_timer.stop()
        self._set_fields_enabled(False)
        self.ui.saveButton.setEnabled(False)
        self.ui.saveNewButton.setText("&New call")
        self.ui.saveNewButton.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_fields_enabled(self, enabled: bool) -> None:
        ui = self.ui
        for widget in (ui.callerEdit, ui.shortDescriptionEdit, ui.descriptionEdit,
                       ui.serviceEdit, ui.categoryEdit, ui.subcategoryEdit, ui.impactCombo,
                       ui.urgencyCombo, ui.groupEdit, ui.channelCombo, ui.resolveCheck,
                       ui.resolutionBox, ui.unlinkButton):
            widget.setEnabled(enabled)
        ui.assigneeEdit.setEnabled(enabled and ui.groupEdit.item is not None)
        self._ci_picker.set_enabled(enabled)

    def _reset(self, *, keep_banner: bool) -> None:
        """Empty the form for the next call; the call timer starts again."""
        ui = self.ui
        self._last_saved_shown = False
        self._set_fields_enabled(True)
        ui.saveButton.setEnabled(True)
        ui.saveNewButton.setText("Save && &new")
        self._similar_timer.stop()
        for task in (self._history_task, self._similar_task, self._members_task):
            if task is not None:
                task.cancel()
        ui.callerEdit.set_item(None)
        ui.newCallerBox.hide()
        ui.shortDescriptionEdit.clear()
        ui.descriptionEdit.clear()
        ui.serviceEdit.set_item(None)
        ui.configurationItemEdit.set_item(None)
        ui.categoryEdit.set_item(None)
        ui.subcategoryEdit.set_item(None)
        ui.groupEdit.set_item(None)  # and the assignee with it
        ui.channelCombo.setCurrentIndex(ui.channelCombo.findData(
            _default_channel(self.defaults)))
        if self._catalog is not None:
            matrix = self._catalog.matrix
            for combo, levels, wanted in (
                    (ui.impactCombo, matrix.impact_levels, self.defaults.impact),
                    (ui.urgencyCombo, matrix.urgency_levels, self.defaults.urgency)):
                combo.setCurrentIndex(combo.findData(_default_level(levels, wanted)))
        ui.resolveCheck.setChecked(False)
        ui.resolutionCodeCombo.setCurrentIndex(0)
        ui.resolutionNotesEdit.clear()
        ui.resolutionBox.hide()
        self._set_link(None)
        self._similar_model.set_entries([])
        ui.similarTitle.setText("<b>Similar open incidents</b>")
        ui.openTitle.setText("<b>Open incidents of this caller</b>")
        self._clear_messages()
        if not keep_banner:
            ui.savedBanner.hide()
        self._started_at = self._clock()
        self._started_mono = self._elapsed()
        self._tick()
        self._call_timer.start()
        self._update_priority()
        ui.callerEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _tick(self) -> None:
        self.ui.callTimerLabel.setText(format_call_time(self._elapsed() - self._started_mono))

    # --- tasks and closing ----------------------------------------------------------------

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _spawn(self, coro: Any, previous: asyncio.Task[Any] | None) -> asyncio.Task[Any]:
        """Start a load that replaces ``previous`` (an older answer is no use any more)."""
        if previous is not None and not previous.done():
            previous.cancel()
        return self._track(self._runner.spawn(coro, name="call form load"))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and self.dirty and not self._saving:
            event.ignore()
            if not self._asking:
                self._track(self._runner.spawn(self._confirm_close(), name="confirm close"))
            return
        if self._saving and not self._closing:
            event.ignore()  # the save finishes first; closing then is one more Esc
            return
        self._closing = True
        self._call_timer.stop()
        self._similar_timer.stop()
        for edit in (self.ui.callerEdit, self.ui.serviceEdit, self.ui.configurationItemEdit,
                     self.ui.categoryEdit, self.ui.subcategoryEdit, self.ui.groupEdit,
                     self.ui.assigneeEdit):
            edit.shutdown()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        super().closeEvent(event)
        self.closed.emit()

    def discard(self) -> None:
        """Close without asking, losing what was typed (the application is quitting)."""
        self._closing = True
        self.close()

    async def _confirm_close(self) -> None:
        self._asking = True
        try:
            answer = await QuestionBox.ask(
                self, "Discard this call?",
                "This call has not been saved. Close the form and lose what was typed?",
                Button.Discard | Button.Cancel, Button.Cancel)
        finally:
            self._asking = False
        if answer == Button.Discard:
            self._closing = True
            self.close()

    def begin_call(self, *, bring_forward: bool = True) -> None:
        """Make the form ready for a new call (Ctrl+N in the main window).

        Args:
            bring_forward: raise the window over others (it was open already; a window
                just shown is on top anyway).
        """
        if self._last_saved_shown:
            self._reset(keep_banner=True)
            self.ready.emit()
        if bring_forward:
            bring_to_front(self)
        else:
            self.show()
            self.activateWindow()
        if not self.dirty:
            self.ui.callerEdit.setFocus(Qt.FocusReason.OtherFocusReason)

    def elapsed_call(self) -> timedelta:
        """How long the current call has lasted."""
        return timedelta(seconds=self._elapsed() - self._started_mono)
