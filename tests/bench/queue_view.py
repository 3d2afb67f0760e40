"""The table both Qt variants of the queue benchmark paint into, set up the same way.

The clocks stop when the view has painted the rows: at the end of the first paint Qt itself
schedules once the rows are in the model (after a reset it repaints the viewport), so
nothing is painted twice and the paint is the one a user would see.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QCoreApplication, QEventLoop, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

VIEW_WIDTH = 1440
VIEW_HEIGHT = 800

COLUMN_WIDTHS = (100, 130, 0, 170, 100, 190, 150, 130, 120, 130)
"""Widths of the ten queue columns (0: stretches), about what the main window gives them."""
STRETCH_COLUMN = 2


class ClockedTableView(QTableView):
    """A QTableView that tells when it has finished painting its rows."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0
        """How many times the viewport has been painted."""
        self._listeners: list[Callable[[float], None]] = []

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self.paints += 1
        ended = time.perf_counter()
        for listener in list(self._listeners):
            listener(ended)

    def add_paint_listener(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(perf_counter())`` at the end of every paint from now on."""
        self._listeners.append(listener)

    def remove_paint_listener(self, listener: Callable[[float], None]) -> None:
        self._listeners.remove(listener)

    def wait_painted(self, after: int, timeout_s: float = 10.0) -> float:
        """Process events until the view has painted more than ``after`` times.

        Returns:
            ``time.perf_counter()`` at the end of that paint.
        """
        ended: list[float] = []
        listener = ended.append
        self.add_paint_listener(listener)
        try:
            deadline = time.monotonic() + timeout_s
            while self.paints <= after:
                if time.monotonic() > deadline:
                    raise RuntimeError("the view did not paint")
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        finally:
            self.remove_paint_listener(listener)
        return ended[0] if ended else time.perf_counter()


def make_view() -> ClockedTableView:
    """A shown, exposed table of the benchmark's size with fixed row heights."""
    view = ClockedTableView()
    view.resize(VIEW_WIDTH, VIEW_HEIGHT)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    rows = view.verticalHeader()
    # As in the main window: fixed heights let the view place rows without asking for sizes.
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + 10)
    view.show()
    wait_exposed(view)
    return view


def wait_exposed(view: QTableView, timeout_s: float = 5.0) -> None:
    """Process events until the view's window can be painted."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        handle = view.windowHandle()
        if handle is not None and handle.isExposed():
            return
    raise RuntimeError("the benchmark's table was never exposed")


def show_model(view: QTableView, model: QAbstractItemModel,
               columns: tuple[int, ...] | None = None) -> None:
    """Put ``model`` in the view and size its columns like the queue's.

    Args:
        view: the benchmark's table.
        model: the model to show.
        columns: which model columns to show, in order; None shows them all as they are.
    """
    view.setModel(model)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    shown = columns if columns is not None else tuple(range(model.columnCount()))
    for logical in range(model.columnCount()):
        view.setColumnHidden(logical, logical not in shown)
    for visual, logical in enumerate(shown):
        header.moveSection(header.visualIndex(logical), visual)
        width = COLUMN_WIDTHS[visual] if visual < len(COLUMN_WIDTHS) else 100
        if width:
            header.resizeSection(logical, width)
    stretch = shown[STRETCH_COLUMN] if len(shown) > STRETCH_COLUMN else None
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


def paint(view: QTableView) -> None:
    """Paint the visible rows now, synchronously."""
    view.viewport().repaint()
