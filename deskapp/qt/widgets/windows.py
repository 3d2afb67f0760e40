"""Window handling shared by the forms."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

NO_STACKING = frozenset({"offscreen", "minimal"})
"""Platforms without a window stack: raising a window there only earns a warning."""


def bring_to_front(window: QWidget) -> None:
    """Show ``window`` above the others and give it the keyboard (it was open already)."""
    window.show()
    if not window.isActiveWindow() and QGuiApplication.platformName() not in NO_STACKING:
        window.raise_()
    window.activateWindow()
