"""A line edit that completes from a list or from the database as the agent types.

The same widget serves the caller look-up (the database answers, 100,000 callers and more)
and the catalogue pickers (a short list held in memory): type, the matches pop up, Down and
Enter choose one, or Tab takes the only (or exactly named) match. Nothing is chosen by
accident: until an item is chosen, ``item`` is None and the form says so next to the field.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFocusEvent, QFont, QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.qt.widgets.read_only import show_read_only

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex

LOOKUP_DELAY_MS = 120
"""Wait this long after the last keystroke before asking the database: a fast typist's
next key comes sooner, so one query serves a burst of keys."""


@dataclass(frozen=True)
class LookupItem:
    """One choice: what the field shows once chosen, and what the popup says about it."""

    id: int
    text: str
    detail: str = ""
    mark: str = ""
    """A short prefix in the popup, such as "★ " for a VIP."""
    payload: Any = None
    """The DTO behind the item (a CallerView, a CategoryView...)."""
    create: bool = False
    """The "create a new one" row offered after the matches."""

    @property
    def display(self) -> str:
        if self.create:
            return self.text
        return f"{self.mark}{self.text}" + (f"  —  {self.detail}" if self.detail else "")


class LookupModel(QAbstractListModel):
    """The current matches of a LookupEdit.

    Roles: DisplayRole (mark, text and detail), EditRole (the text the field takes),
    ToolTipRole, FontRole (italic for the "create" row), ItemRole.ID, ItemRole.ROW (the
    LookupItem).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[LookupItem] = []
        self._italic = QFont()
        self._italic.setItalic(True)

    @property
    def items(self) -> list[LookupItem]:
        return list(self._items)

    def item(self, row: int) -> LookupItem:
        return self._items[row]

    def set_items(self, items: Sequence[LookupItem]) -> None:
        """Show these matches instead of the current ones."""
        self.beginResetModel()
        try:
            self._items = list(items)
        finally:
            self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.display
        if role == Qt.ItemDataRole.EditRole:
            return item.text if not item.create else item.payload
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(item.detail) or None
        if role == Qt.ItemDataRole.FontRole and item.create:
            return self._italic
        if role == ItemRole.ID:
            return item.id
        if role == ItemRole.ROW:
            return item
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


AsyncLookup = Callable[[str], Awaitable[list[LookupItem]]]
"""Finds the items matching what was typed (e.g. by asking the database)."""


def match_locally(items: Sequence[LookupItem], text: str) -> list[LookupItem]:
    """Items whose text holds every typed word at the start of one of its words.

    Items starting with what was typed come first; the list order is kept otherwise.
    """
    typed = text.casefold().split()
    if not typed:
        return list(items)

    def starts(item: LookupItem) -> bool:
        words = [w.strip("()[],.-/&") for w in item.text.casefold().split()]
        return all(any(w.startswith(t) for w in words) or t in item.text.casefold()
                   for t in typed)

    found = [i for i in items if starts(i)]
    key = text.casefold().strip()
    return sorted(found, key=lambda i: not i.text.casefold().startswith(key))


class LookupEdit(QLineEdit):
    """A QLineEdit whose QCompleter offers matches from a list or an asynchronous look-up.

    Signals:
        chosen(object): an item was chosen (a LookupItem), or the choice was cleared by
            typing (None).
        create_requested(str): the agent chose the "create a new one" row; the argument is
            what they had typed.
        lookup_failed(str): an asynchronous look-up failed; the argument is a message.
        results_ready(): the popup's matches for the text now typed are in place.
    """

    chosen = Signal(object)
    create_requested = Signal(str)
    lookup_failed = Signal(str)
    results_ready = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = LookupModel(self)
        self._completer = QCompleter(self._model, self)
        # The matches are already what the agent means (the database matched name, email
        # or phone): the completer must not filter them again by the shown text.
        self._completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setMaxVisibleItems(12)
        self.setCompleter(self._completer)
        popup = self._completer.popup()
        if popup is not None:
            # The popup is a list to pick from, not a window to work in: the form keeps
            # the keyboard (a window manager that activated it would send the focus back
            # to this field when it closes, after Tab had already moved on).
            popup.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._completer.activated[QModelIndex].connect(self._on_activated)  # type: ignore[index]
        self._items: list[LookupItem] = []
        self._async: AsyncLookup | None = None
        self._create_label: str | None = None
        self._item: LookupItem | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LOOKUP_DELAY_MS)
        self._timer.timeout.connect(self._look_up)
        self.textEdited.connect(self._on_edited)
        self.setClearButtonEnabled(True)

    def setReadOnly(self, read_only: bool) -> None:
        """Read-only, and looking it: no clear button, no input field's background."""
        super().setReadOnly(read_only)
        show_read_only(self, read_only)
        self._offer_clear_button()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            self._offer_clear_button()

    def _offer_clear_button(self) -> None:
        # A greyed-out field (a saved call on screen to be read out) is no more to be
        # cleared than a read-only one: the button shows only on a field one can type in.
        self.setClearButtonEnabled(self.isEnabled() and not self.isReadOnly())

    # --- configuration ------------------------------------------------------------------

    def set_items(self, items: Sequence[LookupItem]) -> None:
        """Complete from this list, held in memory (the catalogue pickers)."""
        self._items = list(items)
        self._async = None
        self._timer.setInterval(0)
        if self._item is not None and self._item.id not in {i.id for i in self._items}:
            self.set_item(None)

    def set_lookup(self, lookup: AsyncLookup, *, create_label: str | None = None,
                   delay_ms: int = LOOKUP_DELAY_MS) -> None:
        """Complete from ``lookup`` (the database), a moment after the last keystroke.

        Args:
            lookup: returns the matches for what was typed.
            create_label: if given, a last row offers to create a new item, worded with
                this format string (``{}`` is replaced by what was typed).
            delay_ms: how long to wait after a keystroke.
        """
        self._async = lookup
        self._create_label = create_label
        self._timer.setInterval(delay_ms)

    @property
    def model(self) -> LookupModel:
        return self._model

    @property
    def popup_visible(self) -> bool:
        popup = self._completer.popup()
        return popup is not None and popup.isVisible()

    @property
    def item(self) -> LookupItem | None:
        """What the agent chose; None while the text is not (yet) a choice."""
        return self._item

    @property
    def item_id(self) -> int | None:
        return self._item.id if self._item is not None else None

    @property
    def looking_up(self) -> bool:
        return self._timer.isActive() or self._task is not None

    def set_item(self, item: LookupItem | None) -> None:
        """Choose ``item`` (None: clear the field) without the agent typing."""
        self._timer.stop()
        self._cancel()
        self._item = item
        self.setText(item.text if item is not None else "")
        self.setCursorPosition(0)
        self._hide_popup()
        self.chosen.emit(item)

    def set_item_id(self, item_id: int | None) -> None:
        """Choose the listed item with this id (None or unknown: clear the field)."""
        self.set_item(next((i for i in self._items if i.id == item_id), None))

    def choose_best(self) -> bool:
        """Take the match the typed text can only mean: an exact name, or the only match.

        Returns:
            Whether an item is chosen now.
        """
        if self._item is not None:
            return True
        text = self.text().strip()
        if not text:
            return False
        matches = [i for i in self._model.items if not i.create]
        if self._async is None:
            matches = match_locally(self._items, text)
        exact = [i for i in matches if i.text.casefold() == text.casefold()]
        if len(exact) == 1:
            self.set_item(exact[0])
        elif len(matches) == 1 and self._async is None:
            # A list held in memory is complete, so one match is the match; a database
            # look-up may still be on its way for what was typed last.
            self.set_item(matches[0])
        return self._item is not None

    # --- events -------------------------------------------------------------------------

    def _on_edited(self, _text: str) -> None:
        if self._item is not None:
            self._item = None
            self.chosen.emit(None)
        if self._async is None:
            self._look_up()  # a list in memory answers at once
            return
        # The matches of what was typed before must not pop up again (QLineEdit offers the
        # completer's rows on every key), nor be chosen by an Enter pressed too soon.
        self._model.set_items([])
        self._timer.start()

    def _look_up(self) -> None:
        text = self.text()
        if self._async is None:
            self._show(match_locally(self._items, text) if text.strip() else [])
            return
        self._cancel()
        if not text.strip():
            self._show([])
            return
        self._task = asyncio.get_running_loop().create_task(self._look_up_async(text))

    async def _look_up_async(self, text: str) -> None:
        assert self._async is not None
        try:
            items = await self._async(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("Look-up of %r failed", text, exc_info=exc)
            self.lookup_failed.emit(str(exc))
            return
        finally:
            if self._task is asyncio.current_task():
                self._task = None
        if text != self.text() or self._item is not None:
            return  # the agent typed on, or chose meanwhile: this answer is stale
        if self._create_label is not None:
            items = [*items, LookupItem(0, self._create_label.format(text.strip()),
                                        payload=text.strip(), create=True)]
        self._show(items)

    def _show(self, items: list[LookupItem]) -> None:
        self._model.set_items(items)
        if items and self.hasFocus():
            self._completer.complete()
        else:
            self._hide_popup()
        self.results_ready.emit()

    def _on_activated(self, index: QModelIndex) -> None:
        item = index.data(ItemRole.ROW)
        if not isinstance(item, LookupItem):
            return
        if item.create:
            # The completer has put what was typed back; the form takes it from here.
            self.setText(str(item.payload))
            self.create_requested.emit(str(item.payload))
            return
        self.set_item(item)

    def event(self, event: QEvent) -> bool:
        # Tab takes the match before Qt picks the next field: choosing a category enables
        # its subcategory field, which Tab must then reach.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            self._timer.stop()
            self.choose_best()
        return super().event(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        # Leaving the field (Tab) takes the match the text can only mean.
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self._timer.stop()
            self.choose_best()
        super().focusOutEvent(event)

    def _hide_popup(self) -> None:
        popup = self._completer.popup()
        if popup is not None:
            popup.hide()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def shutdown(self) -> None:
        """Stop looking up; the form is closing."""
        self._timer.stop()
        self._cancel()
