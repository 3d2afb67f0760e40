"""Someone saved the incident after the form read it: show their changes, let the agent choose."""

from __future__ import annotations

import asyncio
import contextlib
import html
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHeaderView, QWidget

from deskapp.qt import theme
from deskapp.qt.formatting import format_timestamp
from deskapp.qt.generated.conflict_dialog_ui import Ui_ConflictDialog
from deskapp.qt.models.conflict_model import ConflictColumn, ConflictModel, ValueText
from deskapp.services.merge import FieldConflict, PriorityOutcome, merged


class Resolution(Enum):
    """What the agent chose to do about the conflict."""

    KEEP_THEIRS = "keep_theirs"
    """Drop my changes; show the incident as the other person saved it."""
    APPLY_MINE = "apply_mine"
    """Save all my changes on top of theirs."""
    APPLY_CHOSEN = "apply_chosen"
    """Save the values chosen field by field."""


@dataclass(frozen=True)
class ConflictChoice:
    """The agent's answer: what to do, and the values to save on top of theirs."""

    resolution: Resolution
    values: dict[str, Any] = field(default_factory=dict)


class ConflictDialog(QDialog):
    """Lists every field changed on either side: field, their value, mine, which to keep.

    Opened with ``open()`` through ``ask()``, never ``exec()``: it is asked from inside a
    coroutine. Tests answer it through its buttons or the keyboard.
    """

    def __init__(self, rows: list[FieldConflict], value_text: ValueText, who: str | None,
                 when: datetime | None, parent: QWidget | None = None, *,
                 priority: PriorityOutcome | None = None) -> None:
        super().__init__(parent)
        self.ui = Ui_ConflictDialog()
        self.ui.setupUi(self)  # type: ignore[no-untyped-call]
        theme.follow(self)
        self._choice: ConflictChoice | None = None
        self.model = ConflictModel(rows, value_text, self, priority=priority)
        table = self.ui.conflictTable
        table.setModel(self.model)
        header = table.horizontalHeader()
        header.setSectionResizeMode(ConflictColumn.FIELD, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ConflictColumn.THEIRS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ConflictColumn.MINE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ConflictColumn.KEEP, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if rows:
            table.setCurrentIndex(self.model.index(0, ConflictColumn.FIELD))
        clashes = sum(1 for r in rows if r.clash)
        mine = sum(1 for r in rows if r.mine_changed)
        changes = sum(1 for r in rows if r.mine_changed or r.theirs_changed)
        who_text = html.escape(who or "Another user")  # a name, inside rich text
        when_text = f" at {format_timestamp(when)}" if when else ""
        self.ui.messageLabel.setText(
            f"<b>{who_text} saved this incident{when_text}</b>, after you opened it. Nothing "
            f"of yours is saved yet. {changes} field{'s' if changes != 1 else ''} "
            f"changed; {clashes} of them you both changed (in bold).")
        self.ui.applyMineButton.setEnabled(mine > 0)
        self.ui.applyChosenButton.setEnabled(mine > 0)
        self.ui.keepTheirsButton.clicked.connect(lambda: self._finish(Resolution.KEEP_THEIRS))
        self.ui.applyMineButton.clicked.connect(lambda: self._finish(Resolution.APPLY_MINE))
        self.ui.applyChosenButton.clicked.connect(
            lambda: self._finish(Resolution.APPLY_CHOSEN))
        self.ui.cancelButton.clicked.connect(self.reject)
        toggle = QShortcut(QKeySequence(Qt.Key.Key_Space), table)
        toggle.setContext(Qt.ShortcutContext.WidgetShortcut)
        toggle.activated.connect(lambda: self.model.toggle(table.currentIndex().row()))
        table.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def choice(self) -> ConflictChoice | None:
        return self._choice

    def _finish(self, resolution: Resolution) -> None:
        rows = self.model.rows
        if resolution == Resolution.KEEP_THEIRS:
            self._choice = ConflictChoice(resolution)
        elif resolution == Resolution.APPLY_MINE:
            self._choice = ConflictChoice(resolution, merged(rows, {}))
        else:
            self._choice = ConflictChoice(resolution, merged(rows, self.model.use_mine()))
        self.accept()

    @classmethod
    async def ask(cls, parent: QWidget, rows: list[FieldConflict], value_text: ValueText,
                  who: str | None, when: datetime | None, *,
                  priority: PriorityOutcome | None = None) -> ConflictChoice | None:
        """Show the conflict and wait for the agent's choice; None if they cancelled.

        Args:
            priority: how the priority follows from the impact and urgency kept (its row
                then shows the result of the choices).
        """
        dialog = cls(rows, value_text, who, when, parent, priority=priority)
        done: asyncio.Future[ConflictChoice | None] = \
            asyncio.get_running_loop().create_future()

        def finished(_result: int) -> None:
            if not done.done():
                done.set_result(dialog.choice)

        dialog.finished.connect(finished)
        dialog.open()
        try:
            return await done
        finally:
            with contextlib.suppress(RuntimeError):  # the form (its parent) may be gone
                dialog.finished.disconnect(finished)
                dialog.hide()
                dialog.deleteLater()
