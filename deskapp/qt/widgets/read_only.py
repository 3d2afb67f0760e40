"""Read-only text fields that look read-only, not like boxes that ignore typing."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TextField = QLineEdit | QPlainTextEdit | QTextEdit

_CLEAR_BUTTON = "deskappClearButton"
"""Whether a line edit offered a clear button before it was made read-only."""
_READ_ONLY_LOOK = "deskappReadOnlyLook"


def set_read_only(field: TextField, read_only: bool) -> None:
    """Make ``field`` read-only (or editable again) and look it: see ``show_read_only``."""
    field.setReadOnly(read_only)
    show_read_only(field, read_only)


def show_read_only(field: TextField, read_only: bool) -> None:
    """Give a field the look of what it is: read-only, or editable.

    A read-only field loses its clear button and takes the window's background, as the
    disabled choices beside it do, while its text keeps its colour and can still be selected
    and copied (a disabled field could not). Editable again, it gets both back.
    """
    if isinstance(field, QLineEdit):
        if read_only and field.isClearButtonEnabled():
            field.setProperty(_CLEAR_BUTTON, True)
            field.setClearButtonEnabled(False)
        elif not read_only and field.property(_CLEAR_BUTTON):
            field.setProperty(_CLEAR_BUTTON, False)
            field.setClearButtonEnabled(True)
    if bool(field.property(_READ_ONLY_LOOK)) == read_only:
        return
    field.setProperty(_READ_ONLY_LOOK, read_only)
    _paint(field)
    if read_only and field.findChild(_Keeper) is None:
        field.installEventFilter(_Keeper(field))
    if read_only:
        _watch_the_theme(field)


def _parts(field: QWidget) -> tuple[QWidget, ...]:
    # A text edit paints its text on its viewport, which keeps a palette of its own.
    return (field, field.viewport()) if isinstance(field, QAbstractScrollArea) else (field,)


def _looks_read_only(field: QWidget) -> bool:
    role = QPalette.ColorRole
    return all(part.palette().color(group, role.Base) == part.palette().color(group, role.Window)
               for part in _parts(field)
               for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive))


def _paint(field: QWidget) -> None:
    parts = _parts(field)
    if not field.property(_READ_ONLY_LOOK):
        for part in parts:
            part.setPalette(QPalette())  # nothing of its own: the application's palette again
        return
    palette = QPalette(QApplication.palette(field))
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive,
                  QPalette.ColorGroup.Disabled):
        palette.setBrush(group, QPalette.ColorRole.Base,
                         palette.brush(group, QPalette.ColorRole.Window))
    for part in parts:
        part.setPalette(palette)


class _Keeper(QObject):
    """Puts a read-only field's look back when something else replaced its palette.

    A style sheet set on a window again (the theme adapts the forms' sheets to dark and
    back) repolishes every field in it and gives each the application's palette: the
    input fields' background, the look of a field one can type in.
    """

    _EVENTS = frozenset({QEvent.Type.PaletteChange, QEvent.Type.StyleChange,
                         QEvent.Type.Polish, QEvent.Type.FocusIn, QEvent.Type.Show})

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, QWidget) or not watched.property(_READ_ONLY_LOOK):
            return False
        if event.type() == QEvent.Type.ApplicationPaletteChange or (
                event.type() in self._EVENTS and not _looks_read_only(watched)):
            _paint(watched)  # a new theme (a field that is a window), or a palette lost
        return False


class _ThemeWatcher(QObject):
    """Gives a window's read-only fields the new window colour when the theme changes.

    Qt tells only the windows of a new application palette, and a field with a palette of
    its own keeps it: without this, read-only fields would keep the old theme's colours.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange and \
                isinstance(watched, QWidget):
            for widget in watched.findChildren(QWidget):
                if widget.property(_READ_ONLY_LOOK):
                    _paint(widget)
        return False


def _watch_the_theme(field: QWidget) -> None:
    window = field.window()
    if window is not field and window.findChild(
            _ThemeWatcher, options=Qt.FindChildOption.FindDirectChildrenOnly) is None:
        window.installEventFilter(_ThemeWatcher(window))
