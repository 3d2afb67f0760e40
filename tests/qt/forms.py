"""Helpers for form tests: a keyboard that types where a real one would, a call-form catalogue."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.views.conflict_dialog import ConflictDialog

# The offscreen platform has no window manager: it cannot raise windows or grab the
# keyboard for a popup, and says so. Real platforms can; not ours to fix.
OFFSCREEN_FORM_NOISE = (
    r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard"
    r"|setParent\(\))"
)

SCREENSHOTS = Path(__file__).resolve().parents[1] / "output"


MARKUP_NAME = "Zoë <i>O'Brien</i> & Co"
"""A person's name that looks like markup: it must be shown as typed, tags and all."""


def add_markup_user(database: Database) -> User:
    """An administrator whose full name is ``MARKUP_NAME``."""
    with database.uow_factory(write=True) as uow:
        user = uow.users.add(User(0, "zoe", MARKUP_NAME, "zoe@example.com", Role.ADMIN))
        uow.commit()
    return user


def shown_text(label: QLabel) -> str:
    """What a label shows: its text as is, or as Qt renders it if it takes it for markup."""
    text = label.text()
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text))
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def looks_read_only(field: QLineEdit | QPlainTextEdit) -> bool:
    """Whether a text field is read-only and looks it: no clear button, and the window's
    background (as a disabled choice has) rather than an input field's."""
    # What is painted, not the palette: a text edit paints on its viewport.
    image = field.grab().toImage()
    inside = image.pixelColor(image.width() - 40, image.height() // 2)
    clear = isinstance(field, QLineEdit) and field.isClearButtonEnabled()
    return field.isReadOnly() and not clear and \
        inside == field.palette().color(QPalette.ColorRole.Window)


def key_target() -> QWidget:
    """Where a key pressed now goes: an open popup first (a completer's list), else focus."""
    target = QApplication.activePopupWidget() or QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    return target


class Keyboard:
    """Types as a user does: into whatever has the focus, never clicking anything."""

    def __init__(self, qtbot: QtBot) -> None:
        self._qtbot = qtbot
        self._window: QWidget | None = QApplication.activeWindow()

    def type(self, text: str) -> None:
        self._qtbot.keyClicks(key_target(), text)
        self._settle()

    def press(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
              times: int = 1) -> None:
        for _ in range(times):
            self._qtbot.keyClick(key_target(), key, modifier)
            self._settle()

    def _settle(self) -> None:
        """Let what a key set off settle before the next key, as between a person's keys.

        The offscreen platform also plays window manager here: it activates every popup it
        shows (a completer's list) and activates nothing when the popup closes, where a
        desktop leaves the form active all along. Give the activation back to the window
        the popup belonged to.
        """
        QApplication.processEvents()
        active = QApplication.activeWindow()
        if active is not None and active.isVisible():
            self._window = active
        elif self._window is not None and QApplication.activePopupWidget() is None:
            self._window.activateWindow()
            QApplication.processEvents()

    def ctrl(self, key: Qt.Key, *, shift: bool = False) -> None:
        modifier = Qt.KeyboardModifier.ControlModifier
        if shift:
            modifier |= Qt.KeyboardModifier.ShiftModifier
        self.press(key, modifier)

    def tab(self, times: int = 1) -> None:
        self.press(Qt.Key.Key_Tab, times=times)


class FakeElapsed:
    """A monotonic clock the test moves by hand, for the call timer."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def add_catalog(database: Database) -> dict[str, int]:
    """A small catalogue like the demo's: ids by name."""
    ids: dict[str, int] = {}
    with database.uow_factory(write=True) as uow:
        for top, subs in (("Software", ("Email", "Office applications")),
                          ("Hardware", ("Laptop", "Printer")), ("Network", ("VPN", "Wi-Fi"))):
            ids[top] = uow.catalog.add_category(top)
            for sub in subs:
                ids[f"{top}/{sub}"] = uow.catalog.add_category(sub, ids[top])
        for service in ("Email (Exchange Online)", "Remote access VPN", "Print service",
                        "Microsoft Teams"):
            ids[service] = uow.catalog.add_service(service)
        uow.commit()
    return ids


def screenshot(widget: QWidget, name: str) -> Path:
    """Save what ``widget`` shows now under tests/output/ (gitignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


def shown_conflict(qtbot: QtBot, form: QWidget) -> ConflictDialog:
    """The conflict dialog a save of ``form`` opened, once it shows."""
    qtbot.waitUntil(lambda: (dialog := form.findChild(ConflictDialog)) is not None
                    and dialog.isVisible(), timeout=10_000)
    dialog = form.findChild(ConflictDialog)
    assert dialog is not None
    return dialog
