"""The saved-filter editor: conditions, a name, and a live count of what they match."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from deskapp.domain.enums import State
from deskapp.domain.errors import ValidationError
from deskapp.qt import theme
from deskapp.qt.generated.filter_dialog_ui import Ui_FilterDialog
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.queries import SlaCondition
from deskapp.services.queues import Choice, FilterConditions, QueueService, QueueView
from deskapp.services.reference import ReferenceService

log = logging.getLogger(__name__)

PREVIEW_DEBOUNCE_MS = 400
_ID = Qt.ItemDataRole.UserRole
_SLA_CHOICES = [
    (SlaCondition.ANY, "Any"),
    (SlaCondition.BREACHED, "Breached"),
    (SlaCondition.ATTENTION, "Breached or at risk"),
]


class FilterDialog(QDialog):
    """Edits a new filter, a copy of a queue, or one of the user's saved filters.

    Not modal to the application: open it with ``open()``. It saves through the service
    itself and stays open, with the message next to the field, when the service refuses.

    Signals:
        saved(QueueView): the filter was saved; the argument is its sidebar entry.
    """

    saved = Signal(object)

    def __init__(self, queues: QueueService, reference: ReferenceService, runner: DbRunner, *,
                 queue: QueueView | None = None, copy_of: QueueView | None = None,
                 parent: QWidget | None = None) -> None:
        """Build the editor; its choices load in the background once it shows.

        Args:
            queues: saves the filter and counts its matches.
            reference: names the priorities as the current matrix does.
            runner: runs service calls off the GUI thread.
            queue: the saved filter to edit, or None for a new one.
            copy_of: a queue whose conditions a new filter starts from.
            parent: the window it belongs to.
        """
        super().__init__(parent)
        self._queues = queues
        self._reference = reference
        self._runner = runner
        self._queue = queue
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._saving = False
        self.ui = Ui_FilterDialog()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        start = queue or copy_of
        self._initial = start.conditions if start is not None else FilterConditions()
        if queue is not None:
            self.setWindowTitle(f"Edit filter “{queue.title}”")
            self.ui.nameEdit.setText(queue.title)
        elif copy_of is not None:
            self.setWindowTitle("New filter")
            self.ui.nameEdit.setText(f"{copy_of.title} (mine)"[:80])
        else:
            self.setWindowTitle("New filter")
        self._fill_static_choices()
        self._apply_simple(self._initial)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._start_preview)
        self._connect_changes()
        self.ui.buttonBox.accepted.connect(self.save)
        self.ui.buttonBox.rejected.connect(self.reject)
        self._save_button.setEnabled(False)  # until the choices are in
        self._spawn(self._load_choices())

    @property
    def _save_button(self) -> QWidget:
        return self.ui.buttonBox.button(QDialogButtonBox.StandardButton.Save)

    @property
    def preview_label(self) -> QLabel:
        return self.ui.previewLabel

    @property
    def ready(self) -> bool:
        """True once the choices are loaded and the filter can be saved."""
        return self._save_button.isEnabled()

    # --- filling ------------------------------------------------------------------------

    def _fill_static_choices(self) -> None:
        ui = self.ui
        _fill(ui.stateList, [Choice(i, s.label) for i, s in enumerate(State)])
        for label in _SLA_CHOICES:
            ui.slaCombo.addItem(label[1], label[0].value)
        today = QDate.currentDate()
        ui.openedFromDate.setDate(today.addDays(-30))
        ui.openedToDate.setDate(today)

    def _apply_simple(self, c: FilterConditions) -> None:
        ui = self.ui
        ui.textEdit.setText(c.text)
        ui.openedWithinSpin.setValue(c.opened_within_days or 0)
        ui.resolvedWithinSpin.setValue(c.resolved_within_days or 0)
        ui.openedFromCheck.setChecked(c.opened_from is not None)
        ui.openedFromDate.setEnabled(c.opened_from is not None)
        if c.opened_from is not None:
            ui.openedFromDate.setDate(_qdate(c.opened_from))
        ui.openedToCheck.setChecked(c.opened_to is not None)
        ui.openedToDate.setEnabled(c.opened_to is not None)
        if c.opened_to is not None:
            ui.openedToDate.setDate(_qdate(c.opened_to))
        ui.slaCombo.setCurrentIndex(max(0, ui.slaCombo.findData(c.sla.value)))
        ui.majorOnlyCheck.setChecked(c.major_only)
        ui.inMyGroupsCheck.setChecked(c.in_my_groups)
        ui.assignedToMeCheck.setChecked(c.assigned_to_me)
        ui.unassignedCheck.setChecked(c.unassigned)
        states = list(State)
        _check(self.ui.stateList, {states.index(s) for s in c.states})

    async def _load_choices(self) -> None:
        try:
            choices, priorities = await asyncio.gather(
                self._runner.db(self._queues.choices),
                self._runner.db(self._priorities))
        except Exception as exc:
            log.warning("Loading the filter choices failed", exc_info=exc)
            self.ui.previewLabel.setText(f"⚠ Could not load the choices: {describe_error(exc)}")
            return
        if self._closed:
            return
        c = self._initial
        ui = self.ui
        _fill(ui.priorityList, priorities, c.priorities)
        _fill(ui.groupList, choices.groups, c.group_ids)
        _fill(ui.assigneeList, choices.agents, c.assignee_ids)
        _fill(ui.categoryList, choices.categories, c.category_ids)
        _fill(ui.serviceList, choices.services, c.service_ids)
        self._save_button.setEnabled(True)
        self._preview_timer.start(0)

    def _priorities(self) -> list[Choice]:
        # Runs in the worker: priorities are named as the current matrix names them.
        return [Choice(p.rank, p.label) for p in self._reference.priorities()]

    def _connect_changes(self) -> None:
        ui = self.ui
        restart = self._preview_timer.start
        for edit in (ui.textEdit,):
            edit.textChanged.connect(lambda _t: restart())
        for spin in (ui.openedWithinSpin, ui.resolvedWithinSpin):
            spin.valueChanged.connect(lambda _v: restart())
        for box in (ui.openedFromCheck, ui.openedToCheck):
            box.toggled.connect(lambda _on: restart())
        ui.openedFromCheck.toggled.connect(ui.openedFromDate.setEnabled)
        ui.openedToCheck.toggled.connect(ui.openedToDate.setEnabled)
        for date_edit in (ui.openedFromDate, ui.openedToDate):
            date_edit.dateChanged.connect(lambda _d: restart())
        ui.slaCombo.currentIndexChanged.connect(lambda _i: restart())
        for check in (ui.majorOnlyCheck, ui.inMyGroupsCheck, ui.assignedToMeCheck,
                      ui.unassignedCheck):
            check.toggled.connect(lambda _on: restart())
        for widget in (ui.stateList, ui.priorityList, ui.groupList, ui.assigneeList,
                       ui.categoryList, ui.serviceList):
            widget.itemChanged.connect(lambda _item: restart())
        ui.nameEdit.textEdited.connect(lambda _t: ui.nameError.hide())

    # --- reading ------------------------------------------------------------------------

    def conditions(self) -> FilterConditions:
        """The conditions as the form stands.

        Raises:
            ValidationError: the dates contradict each other.
        """
        ui = self.ui
        states = list(State)
        return FilterConditions(
            states=tuple(states[i] for i in _checked(ui.stateList)),
            priorities=tuple(_checked(ui.priorityList)),
            group_ids=tuple(_checked(ui.groupList)),
            in_my_groups=ui.inMyGroupsCheck.isChecked(),
            assignee_ids=tuple(_checked(ui.assigneeList)),
            assigned_to_me=ui.assignedToMeCheck.isChecked(),
            unassigned=ui.unassignedCheck.isChecked(),
            category_ids=tuple(_checked(ui.categoryList)),
            service_ids=tuple(_checked(ui.serviceList)),
            opened_within_days=ui.openedWithinSpin.value() or None,
            opened_from=_date(ui.openedFromDate.date()) if ui.openedFromCheck.isChecked()
            else None,
            opened_to=_date(ui.openedToDate.date()) if ui.openedToCheck.isChecked() else None,
            resolved_within_days=ui.resolvedWithinSpin.value() or None,
            sla=SlaCondition(ui.slaCombo.currentData() or ""),
            major_only=ui.majorOnlyCheck.isChecked(),
            text=ui.textEdit.text().strip(),
        )

    # --- preview and save ---------------------------------------------------------------

    def _start_preview(self) -> None:
        if not self._closed:
            self._spawn(self._preview())

    async def _preview(self) -> None:
        self.ui.datesError.hide()
        try:
            conditions = self.conditions()
        except ValidationError as exc:
            self._show_field_error(exc)
            self.ui.previewLabel.setText("")
            return
        self.ui.previewLabel.setText("Counting…")
        try:
            count = await self._runner.db(self._queues.count_matching, conditions)
        except Exception as exc:
            self.ui.previewLabel.setText(f"⚠ {describe_error(exc)}")
            return
        if self._closed or conditions != self._current_or_none():
            return  # the form changed meanwhile: a newer preview follows
        noun = "incident matches" if count == 1 else "incidents match"
        self.ui.previewLabel.setText(f"{count:,} {noun} now")

    def _current_or_none(self) -> FilterConditions | None:
        try:
            return self.conditions()
        except ValidationError:
            return None

    def save(self) -> None:
        """Save the filter (in the background); the dialog closes when it is stored."""
        if self._saving or not self.ready:
            return
        self._saving = True  # now, not when the task starts: two quick Enters save once
        self._spawn(self._save())

    async def _save(self) -> None:
        self._saving = True
        try:
            try:
                conditions = self.conditions()
                queue = await self._runner.db(
                    self._queues.save_filter, self.ui.nameEdit.text(), conditions,
                    self._queue.saved_filter_id if self._queue is not None else None)
            except ValidationError as exc:
                self._show_field_error(exc)
                return
            except Exception as exc:
                self.ui.nameError.setText(f"Could not save: {describe_error(exc)}")
                self.ui.nameError.show()
                return
        finally:
            self._saving = False
        if not self._closed:
            self.saved.emit(queue)
            self.accept()

    def _show_field_error(self, exc: ValidationError) -> None:
        ui = self.ui
        if exc.field in ("opened_from", "opened_to"):
            ui.datesError.setText(str(exc))
            ui.datesError.show()
            ui.openedFromDate.setFocus()
        else:
            ui.nameError.setText(str(exc))
            ui.nameError.show()
            ui.nameEdit.setFocus()

    # --- lifetime -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._runner.spawn(coro, name="filter dialog")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def done(self, result: int) -> None:
        self._closed = True
        self._preview_timer.stop()
        for task in list(self._tasks):
            task.cancel()
        super().done(result)


def _fill(widget: QListWidget, choices: Iterable[Choice], checked: Iterable[int] = ()) -> None:
    widget.clear()
    ticked = set(checked)
    choices = list(choices)
    # A condition on something no longer offered (an agent who left) stays, and says so,
    # rather than vanish when the filter is saved again.
    offered = {c.id for c in choices}
    choices += [Choice(i, f"#{i} (no longer listed)") for i in sorted(ticked - offered)]
    for choice in choices:
        item = QListWidgetItem(choice.label, widget)
        item.setData(_ID, choice.id)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable |
                      Qt.ItemFlag.ItemIsSelectable)
        item.setCheckState(Qt.CheckState.Checked if choice.id in ticked
                           else Qt.CheckState.Unchecked)


def _check(widget: QListWidget, ids: set[int]) -> None:
    for row in range(widget.count()):
        item = widget.item(row)
        item.setCheckState(Qt.CheckState.Checked if item.data(_ID) in ids
                           else Qt.CheckState.Unchecked)


def _checked(widget: QListWidget) -> list[int]:
    return [int(widget.item(row).data(_ID)) for row in range(widget.count())
            if widget.item(row).checkState() == Qt.CheckState.Checked]


def _date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)
