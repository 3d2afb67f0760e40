"""Reassign (or escalate) many incidents at once, and the short note dialogs of the Team menu.

The dialog sends the versions the queue showed. If any incident changed meanwhile the
service writes nothing and names them all (BulkConflictError): the dialog lists them and
offers to reload their current versions and try the same change again. A permission error
is shown in the dialog, in words, and the dialog stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import ConflictError, PermissionDeniedError
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.generated.reassign_dialog_ui import Ui_ReassignDialog
from deskapp.qt.models.incident_mime import DraggedIncident
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.services.assignment import (
    AssignmentService,
    BulkConflictError,
    GroupChoice,
    IncidentRef,
)
from deskapp.services.changes import Change
from deskapp.services.workload import WorkloadService

log = logging.getLogger(__name__)

SHOWN_NUMBERS = 8
"""Incident numbers the summary names before it says "and N more"."""
AWAY_COLOUR = QColor("#6b7280")


def describe_incidents(incidents: Sequence[DraggedIncident]) -> str:
    """ "3 incidents: INC0000001, INC0000002, INC0000003" (the first few numbers)."""
    numbers = ", ".join(i.number for i in incidents[:SHOWN_NUMBERS])
    more = f" and {len(incidents) - SHOWN_NUMBERS} more" if len(incidents) > SHOWN_NUMBERS \
        else ""
    noun = "incident" if len(incidents) == 1 else "incidents"
    return f"{len(incidents)} {noun}: {numbers}{more}"


def permission_message(exc: PermissionDeniedError) -> str:
    """A permission error as the dialogs show it."""
    return f"Not allowed: {exc} Nothing was changed."


class ReassignDialog(QDialog):
    """Pick a group and agent (away agents marked) and a reason; reassigns all or none.

    In escalation mode (``escalate=True``) only the group is asked for and the incidents are
    escalated functionally to it.

    Signals:
        changed(Change): the incidents were reassigned (or escalated); the dialog closes.
    """

    changed = Signal(object)

    def __init__(self, assignment: AssignmentService, workload: WorkloadService,
                 runner: DbRunner, incidents: Sequence[DraggedIncident], *,
                 group_id: int | None = None, assignee_id: int | None = None,
                 escalate: bool = False, parent: QWidget | None = None) -> None:
        """Build the dialog; ``load()`` fills the group and agent choices.

        Args:
            assignment: the assignment service, acting as the signed-in user.
            workload: reads the incidents' current versions for "reload and retry".
            runner: runs service calls off the GUI thread.
            incidents: what to move, at the versions the queue showed.
            group_id: the group chosen at first (a drop target), if any.
            assignee_id: the agent chosen at first, if any (None: the group's pile).
            escalate: escalate to another group instead of reassigning.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self._ui = Ui_ReassignDialog()
        self._ui.setupUi(self)  # type: ignore[no-untyped-call]
        self._assignment = assignment
        self._workload = workload
        self._runner = runner
        self._incidents = list(incidents)
        self._initial = (group_id, assignee_id)
        self._escalate = escalate
        self._targets: list[GroupChoice] = []
        self._busy = False
        self._task: asyncio.Task[bool] | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        if escalate:
            self.setWindowTitle("Escalate to another group")
            self._ui.formLayout.setRowVisible(1, False)
            self._ui.reasonEdit.setPlaceholderText(
                "Why it needs another group (required; it goes into each incident's activity)")
            self.ok_button.setText("Escalate")
        else:
            self.ok_button.setText("Reassign")
        self._show_summary()
        self._ui.groupCombo.currentIndexChanged.connect(self._fill_agents)
        self._ui.buttonBox.accepted.connect(self._on_ok)
        self._ui.buttonBox.rejected.connect(self.reject)
        self._ui.retryButton.clicked.connect(self._on_retry)
        self._ui.reasonEdit.textChanged.connect(self._clear_error)
        self.ok_button.setEnabled(False)  # until the choices are in

    # --- parts, for the Team menu and tests ----------------------------------------------

    @property
    def group_combo(self) -> QComboBox:
        return self._ui.groupCombo

    @property
    def agent_combo(self) -> QComboBox:
        return self._ui.agentCombo

    @property
    def reason_edit(self) -> QPlainTextEdit:
        return self._ui.reasonEdit

    @property
    def ok_button(self) -> QPushButton:
        button = self._ui.buttonBox.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    @property
    def error_label(self) -> QLabel:
        return self._ui.errorLabel

    @property
    def conflict_frame(self) -> QFrame:
        return self._ui.conflictFrame

    @property
    def stale_list(self) -> QListWidget:
        return self._ui.staleList

    @property
    def retry_button(self) -> QPushButton:
        return self._ui.retryButton

    @property
    def incidents(self) -> list[DraggedIncident]:
        """What the dialog moves, at the versions it will send."""
        return list(self._incidents)

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def task(self) -> asyncio.Task[bool] | None:
        """The submission in flight or last run (tests wait for it)."""
        return self._task

    # --- loading ------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch the groups and their agents, and choose the initial ones."""
        try:
            self._targets = await self._runner.db(self._assignment.reassign_targets)
        except Exception as exc:
            log.warning("Loading the reassignment targets failed", exc_info=exc)
            self._show_error(f"Could not load the groups: {describe_error(exc)}")
            return
        combo = self._ui.groupCombo
        combo.blockSignals(True)
        try:
            combo.clear()
            for group in self._targets:
                combo.addItem(group.name, group.group_id)
            wanted = combo.findData(self._initial[0]) if self._initial[0] is not None else 0
            combo.setCurrentIndex(max(wanted, 0))
        finally:
            combo.blockSignals(False)
        self._fill_agents()
        agent = self._ui.agentCombo.findData(self._initial[1])
        if agent >= 0:
            self._ui.agentCombo.setCurrentIndex(agent)
        self.ok_button.setEnabled(bool(self._targets))
        self._ui.reasonEdit.setFocus()

    def _fill_agents(self) -> None:
        combo = self._ui.agentCombo
        combo.clear()
        combo.addItem("Nobody (the group's unassigned pile)", None)
        group_id = self._ui.groupCombo.currentData()
        group = next((g for g in self._targets if g.group_id == group_id), None)
        if group is None:
            return
        for member in group.members:
            combo.addItem(f"{member.full_name} (away)" if member.away else member.full_name,
                          member.user_id)
            if member.away:
                index = combo.count() - 1
                combo.setItemData(index, AWAY_COLOUR, Qt.ItemDataRole.ForegroundRole)
                combo.setItemData(index, plain_tooltip(f"{member.full_name} is marked away"),
                                  Qt.ItemDataRole.ToolTipRole)

    def _show_summary(self) -> None:
        verb = "Escalate" if self._escalate else "Reassign"
        self._ui.summaryLabel.setText(f"{verb} {describe_incidents(self._incidents)}")

    # --- submitting ---------------------------------------------------------------------

    def _on_ok(self) -> None:
        if not self._busy:
            self._task = self._runner.spawn(self.submit(), name="reassign")

    def _on_retry(self) -> None:
        if not self._busy:
            self._task = self._runner.spawn(self.reload_and_retry(), name="reassign retry")

    async def submit(self) -> bool:
        """Send the change; True (and the dialog closed) if it was made.

        A missing reason, a conflict or a refusal is shown in the dialog, which stays open.
        """
        reason = self._ui.reasonEdit.toPlainText().strip()
        if not reason:
            self._show_error("Give a reason: it goes into each incident's activity.")
            self._ui.reasonEdit.setFocus()
            return False
        group_id = self._ui.groupCombo.currentData()
        if not isinstance(group_id, int):
            self._show_error("Choose a group.")
            return False
        assignee = self._ui.agentCombo.currentData()
        assignee_id = assignee if isinstance(assignee, int) else None
        refs = [IncidentRef(i.id, i.version) for i in self._incidents]
        self._set_busy(True)
        try:
            if self._escalate:
                change = await self._runner.db(self._assignment.escalate_functional, refs,
                                               group_id, reason)
            else:
                change = await self._runner.db(self._assignment.reassign, refs, group_id,
                                               assignee_id, reason)
        except BulkConflictError as exc:
            self._show_conflict([f"{s.number}: {s.reason}" for s in exc.stale])
            return False
        except ConflictError as exc:
            self._show_conflict([str(exc)])
            return False
        except PermissionDeniedError as exc:
            self._show_error(permission_message(exc))
            return False
        except Exception as exc:
            log.warning("Reassigning failed", exc_info=exc)
            self._show_error(describe_error(exc))
            return False
        finally:
            self._set_busy(False)
        self.changed.emit(change)
        self.accept()
        return True

    async def reload_and_retry(self) -> bool:
        """Take the incidents' current versions and send the same change again."""
        self._set_busy(True)
        try:
            rows = await self._runner.db(self._workload.current_rows,
                                         [i.id for i in self._incidents])
        except Exception as exc:
            self._show_error(f"Could not reload the incidents: {describe_error(exc)}")
            return False
        finally:
            self._set_busy(False)
        current = {r.id: r for r in rows}
        gone = [i.number for i in self._incidents if i.id not in current]
        self._incidents = [DraggedIncident(i.id, current[i.id].version, i.number)
                           for i in self._incidents if i.id in current]
        self._show_summary()
        self._ui.conflictFrame.hide()
        self._ui.staleList.clear()
        if gone:
            self._show_error(f"No longer there, left out: {', '.join(gone)}.")
        if not self._incidents:
            return False
        return await self.submit()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.ok_button.setEnabled(not busy and bool(self._targets))
        self._ui.retryButton.setEnabled(not busy)
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _show_conflict(self, lines: list[str]) -> None:
        self._clear_error()
        self._ui.staleList.clear()
        self._ui.staleList.addItems(lines)
        what = "incident" if len(lines) == 1 else "incidents"
        self._ui.conflictLabel.setText(
            f"<b>{len(lines)} {what} changed after you selected them.</b> "
            "Nothing was changed, so nobody's work was overwritten.")
        self._ui.conflictFrame.show()
        self._ui.retryButton.setFocus()

    def _show_error(self, message: str) -> None:
        self._ui.errorLabel.setText(f"⚠ {message}")
        self._ui.errorLabel.show()

    def _clear_error(self) -> None:
        self._ui.errorLabel.hide()
        self._ui.errorLabel.clear()


class NoteDialog(QDialog):
    """Asks for a note or a reason, then runs one change with it; errors stay in the dialog.

    Signals:
        changed(Change): the change was made; the dialog closes.
    """

    changed = Signal(object)

    def __init__(self, title: str, prompt: str, action: str,
                 submit: Callable[[str], Awaitable[Change]], runner: DbRunner, *,
                 required: bool = True, parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            title: the window title.
            prompt: what is asked, above the text box.
            action: the OK button's text ("Hand back", "Escalate").
            submit: makes the change with the text typed (awaited on the GUI thread).
            runner: runs the submission as a task.
            required: the text may not be empty.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self.setWindowTitle(title)
        self._submit = submit
        self._runner = runner
        self._required = required
        self._task: asyncio.Task[bool] | None = None
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setObjectName("noteEdit")
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setAccessibleName(prompt)
        layout.addWidget(self.text_edit)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setText(action)
        self.ok_button = ok
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(440, 220)

    @property
    def task(self) -> asyncio.Task[bool] | None:
        """The submission in flight or last run (tests wait for it)."""
        return self._task

    def _on_ok(self) -> None:
        if self._task is None or self._task.done():
            self._task = self._runner.spawn(self.submit(), name=self.windowTitle())

    async def submit(self) -> bool:
        """Make the change with the text typed; True (and the dialog closed) if it was made."""
        text = self.text_edit.toPlainText().strip()
        if self._required and not text:
            self._show_error("This cannot be empty: it goes into the incident's activity.")
            return False
        self.ok_button.setEnabled(False)
        try:
            change = await self._submit(text)
        except PermissionDeniedError as exc:
            self._show_error(permission_message(exc))
            return False
        except Exception as exc:
            log.warning("%s failed", self.windowTitle(), exc_info=exc)
            self._show_error(describe_error(exc))
            return False
        finally:
            self.ok_button.setEnabled(True)
        self.changed.emit(change)
        self.accept()
        return True

    def _show_error(self, message: str) -> None:
        self.error_label.setText(f"⚠ {message}")
        self.error_label.show()
