"""Drafts: what the agent typed in a form and has not saved, kept on disk and offered back.

A form's text is written to a small JSON file a moment after the agent stops typing, and
when the application closes its forms; so neither closing with unsaved work nor a crash
loses more than the last second or two. Saving the form (or choosing to discard it) deletes
the draft. The next start offers each draft back: "You have an unsaved call from 10:42:
Restore / Discard".

Drafts are kept per user and database (the folder's name is a hash of both), in the user's
data directory (DESKAPP_DRAFTS_DIR overrides it, for tests).

What a form holds is read from its widgets by object name, the Designer's names: line edits
and text boxes by their text, combo boxes by their text, check boxes, and look-up fields by
the id of the chosen item (restored when the item is listed, else by the text typed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from deskapp.qt.widgets.lookup import LookupEdit
from deskapp.qt.widgets.questions import QuestionBox

log = logging.getLogger(__name__)

ENV_DRAFTS_DIR = "DESKAPP_DRAFTS_DIR"
DRAFT_DELAY_MS = 1500
"""A pause in typing this long writes the draft."""
CALL_KEY = "call"

FieldValue = str | bool | int | None | dict[str, Any]


@dataclass(frozen=True)
class Draft:
    """One form's unsaved text."""

    key: str
    """"call", or "incident-<id>"."""
    title: str
    """How the question names it: "call", "INC0000123"."""
    saved_at: datetime
    fields: dict[str, FieldValue] = field(default_factory=dict)
    incident_id: int | None = None

    @property
    def is_call(self) -> bool:
        return self.incident_id is None

    def question(self) -> str:
        """"You have an unsaved call from 10:42." in the computer's time zone."""
        local = self.saved_at.astimezone()
        when = local.strftime("%H:%M") if local.date() == datetime.now().astimezone().date() \
            else local.strftime("%Y-%m-%d %H:%M")
        what = "call" if self.is_call else f"change to {self.title}"
        return f"You have an unsaved {what} from {when}."


def drafts_root() -> Path:
    """Where drafts are kept (one folder per user and database below it)."""
    override = os.environ.get(ENV_DRAFTS_DIR)
    if override:
        return Path(override)
    from deskapp.settings import data_dir  # no Qt there; it owns the data directory

    return data_dir() / "drafts"


class DraftStore:
    """Draft files for one user on one database."""

    def __init__(self, scope: str, root: Path | None = None) -> None:
        """Args: scope: user and database, e.g. "alice@postgresql://db/desk" (hashed)."""
        digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
        self.folder = (root or drafts_root()) / digest

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def save(self, draft: Draft) -> None:
        """Write ``draft`` in one step (a crash mid-write leaves the previous one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"key": draft.key, "title": draft.title, "incident_id": draft.incident_id,
                "saved_at": draft.saved_at.isoformat(), "fields": draft.fields}
        fd, temporary = tempfile.mkstemp(prefix=".draft-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
            os.replace(temporary, self._path(draft.key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> Draft | None:
        """The draft with this key; None if there is none (or it cannot be read)."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Draft(key=str(data["key"]), title=str(data["title"]),
                         saved_at=datetime.fromisoformat(data["saved_at"]),
                         fields=dict(data["fields"]),
                         incident_id=(int(data["incident_id"])
                                      if data.get("incident_id") is not None else None))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Draft %s cannot be read (%s); ignored", path, exc)
            return None

    def all(self) -> list[Draft]:
        """Every draft, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [self.load(p.stem) for p in self.folder.glob("*.json")]
        return sorted((d for d in found if d is not None), key=lambda d: d.saved_at)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


# --- reading and writing a form's widgets ------------------------------------------------

def _fields_of(form: QWidget) -> list[QWidget]:
    """The form's own editable widgets with Designer names, in a stable order."""
    chosen: list[QWidget] = []
    for widget in form.findChildren(QWidget):
        name = widget.objectName()
        if not name or name.startswith("qt_"):
            continue
        parent = widget.parentWidget()
        if isinstance(widget, QLineEdit) and isinstance(parent, QComboBox | QAbstractSpinBox):
            continue  # the combo's or spin box's own line edit
        if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit | QComboBox | QCheckBox):
            chosen.append(widget)
    return chosen


def capture(form: QWidget) -> dict[str, FieldValue]:
    """What the form's fields hold now, by object name."""
    values: dict[str, FieldValue] = {}
    for widget in _fields_of(form):
        name = widget.objectName()
        if isinstance(widget, LookupEdit):
            values[name] = {"id": widget.item_id, "text": widget.text()}
        elif isinstance(widget, QLineEdit):
            if not widget.isReadOnly():
                values[name] = widget.text()
        elif isinstance(widget, QPlainTextEdit | QTextEdit):
            if not widget.isReadOnly():
                values[name] = widget.toPlainText()
        elif isinstance(widget, QComboBox):
            values[name] = widget.currentText()
        elif isinstance(widget, QCheckBox):
            values[name] = widget.isChecked()
    return values


def restore(form: QWidget, values: dict[str, FieldValue]) -> None:
    """Put ``values`` (from :func:`capture`) back into the form's fields, in form order.

    Order matters: a category before its subcategory, a group before its assignee.
    """
    for widget in _fields_of(form):
        name = widget.objectName()
        if name not in values:
            continue
        value = values[name]
        if isinstance(widget, LookupEdit) and isinstance(value, dict):
            item_id, text = value.get("id"), str(value.get("text") or "")
            if isinstance(item_id, int) and widget.item_id != item_id:
                widget.set_item_id(item_id)
            if widget.item_id is None and text and widget.text() != text:
                widget.setText(text)  # not listed (now): the agent chooses again
        elif isinstance(widget, QLineEdit) and isinstance(value, str):
            if widget.text() != value:
                widget.setText(value)
                widget.textEdited.emit(value)  # as if typed: the form reacts as to typing
        elif isinstance(widget, QPlainTextEdit | QTextEdit) and isinstance(value, str):
            if widget.toPlainText() != value:
                widget.setPlainText(value)
        elif isinstance(widget, QComboBox) and isinstance(value, str):
            row = widget.findText(value)
            if row >= 0:
                widget.setCurrentIndex(row)
        elif isinstance(widget, QCheckBox) and isinstance(value, bool):
            widget.setChecked(value)


def _change_signal(widget: QWidget) -> SignalInstance | None:
    if isinstance(widget, QLineEdit):
        return widget.textChanged
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        return widget.textChanged
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    return None


class DraftForm(Protocol):
    """What a form offers the keeper (the call form and the incident form do)."""

    @property
    def dirty(self) -> bool: ...


class DraftKeeper(QObject):
    """Keeps one open form's draft up to date; a child of the form.

    Signals:
        written(): the draft was written (or deleted, the form holding nothing unsaved).
    """

    written = Signal()

    def __init__(self, form: QWidget, store: DraftStore, key: str, title: Callable[[], str],
                 *, incident_id: int | None = None, delay_ms: int = DRAFT_DELAY_MS) -> None:
        super().__init__(form)
        self.setObjectName("draftKeeper")
        self._form = form
        self._store = store
        self._key = key
        self._title = title
        self._incident_id = incident_id
        self._paused = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.write)
        for widget in _fields_of(form):
            signal = _change_signal(widget)
            if signal is not None:
                signal.connect(self._changed)

    @property
    def key(self) -> str:
        return self._key

    @property
    def pending(self) -> bool:
        """A change waits to be written."""
        return self._timer.isActive()

    def _changed(self, *_args: object) -> None:
        if not self._paused:
            self._timer.start()

    def write(self) -> None:
        """Write the draft now if the form holds unsaved work, else delete it."""
        self._timer.stop()
        dirty = bool(getattr(self._form, "dirty", False))
        try:
            if dirty:
                self._store.save(Draft(key=self._key, title=self._title(),
                                       saved_at=datetime.now(UTC), fields=capture(self._form),
                                       incident_id=self._incident_id))
            else:
                self._store.delete(self._key)
        except OSError as exc:
            log.warning("Could not write the draft %s: %s", self._key, exc)
        self.written.emit()

    def forget(self) -> None:
        """The form was saved or its work discarded: no draft (until the next change)."""
        self._timer.stop()
        self._store.delete(self._key)

    def stop(self) -> None:
        """Stop watching (the form closes); what is on disk stays."""
        self._paused = True
        self._timer.stop()

    def restore(self, draft: Draft) -> None:
        """Put ``draft`` into the form; it is written again at the next pause."""
        restore(self._form, draft.fields)
        self._timer.start()


async def ask_about(parent: QWidget, draft: Draft) -> bool | None:
    """Ask whether to restore ``draft``: True restore, False discard, None decide later."""
    box = QuestionBox(QMessageBox.Icon.Question, "Unsaved work", draft.question(),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("draftQuestion")
    restore_button = box.addButton("&Restore", QMessageBox.ButtonRole.AcceptRole)
    discard_button = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
    later_button = box.addButton("&Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore_button)
    box.setEscapeButton(later_button)
    box.setInformativeText("Restore puts the text back into the form; Discard deletes it.")
    answer: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()

    def finished(_result: int) -> None:
        if not answer.done():
            clicked = box.clickedButton()
            answer.set_result(True if clicked is restore_button
                              else False if clicked is discard_button else None)

    box.finished.connect(finished)
    box.open()
    try:
        return await answer
    finally:
        with contextlib.suppress(RuntimeError):
            box.finished.disconnect(finished)
            box.hide()
            box.deleteLater()
