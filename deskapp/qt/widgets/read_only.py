"""Read-only text fields that look read-only, not like boxes that ignore typing."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
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
    if read_only and field.findChild(_Repainter) is None:
        field.installEventFilter(_Repainter(field))


def _paint(field: QWidget) -> None:
    # A text edit paints its text on its viewport, which keeps a palette of its own.
    parts = (field, field.viewport()) if isinstance(field, QAbstractScrollArea) else (field,)
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


class _Repainter(QObject):
    """Takes the new window colour when the theme changes (light, dark)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange and isinstance(watched, QWidget):
            _paint(watched)
        return False
