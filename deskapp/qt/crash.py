"""Unexpected errors: logged with their traceback, and shown in a dialog, never a silent exit.

A bug (an exception nobody handles) reaches ``CrashHandler`` from three places: Python's
``sys.excepthook`` (PySide6 hands it exceptions raised in slots and event handlers), the
asyncio loop's exception handler (qasync callbacks and tasks nobody awaited), and
``threading.excepthook`` (worker threads). Each is written to the log, and the user sees a
``CrashDialog`` that says what happened and where the log is, and may carry on or quit.
Environmental errors (a lost connection, a bad file) are not bugs: views show them where
they happen, and they never get here.

The dialog is opened with ``open()``, not ``exec()``: no nested event loop runs under qasync,
and a second error while it is up is logged without stacking more dialogs.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from deskapp.logging_setup import redact

log = logging.getLogger(__name__)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class CrashChoice(enum.Enum):
    """What the user chose in the crash dialog."""

    CONTINUE = "continue"
    QUIT = "quit"


def summarise(exc: BaseException) -> str:
    """One line: the exception's type and the first line of its message, no password."""
    lines = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)


def _where(tb: TracebackType | None) -> str:
    """The innermost frame of the traceback, as ``file:line in function``."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "an unknown place"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


class CrashDialog(QDialog):
    """Says that something went wrong, where, and where the log is; Continue or Quit.

    Signals (inherited): ``finished(int)``; ``choice`` tells which button ended it.
    """

    def __init__(self, summary: str, where: str, details: str, log_file: Path | None,
                 parent: QWidget | None = None) -> None:
        """Build the dialog; show it with ``open()``."""
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Deskapp: unexpected error")
        self.choice = CrashChoice.CONTINUE
        self.log_file = log_file

        layout = QVBoxLayout(self)
        heading = QLabel("<b>Deskapp ran into an error it did not expect.</b>", self)
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(32, 32))
        layout.addWidget(icon)
        layout.addWidget(heading)
        self.summary_label = QLabel(f"{summary}\n(at {where})", self)
        self.summary_label.setObjectName("crashSummary")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        if log_file is not None:
            where_logged = (f"The details were written to the log file<br><code>{log_file}</code>"
                            "<br>Please send it to your Deskapp administrator.")
        else:
            where_logged = "The log file could not be written; the details are below."
        self.log_label = QLabel(where_logged, self)
        self.log_label.setObjectName("crashLogLabel")
        self.log_label.setWordWrap(True)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.log_label)
        layout.addWidget(QLabel(
            "You can carry on, but save your work soon: the window that failed may not "
            "behave as it should.", self))
        self.details = QPlainTextEdit(details, self)
        self.details.setObjectName("crashDetails")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setMinimumSize(560, 160)
        layout.addWidget(self.details)

        buttons = QDialogButtonBox(self)
        self.continue_button = buttons.addButton("&Continue",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button = buttons.addButton("&Quit Deskapp",
                                             QDialogButtonBox.ButtonRole.DestructiveRole)
        self.copy_button = buttons.addButton("Copy &details",
                                             QDialogButtonBox.ButtonRole.ActionRole)
        self.open_log_button: QPushButton | None = None
        if log_file is not None:
            self.open_log_button = buttons.addButton("Open log &folder",
                                                     QDialogButtonBox.ButtonRole.ActionRole)
            self.open_log_button.clicked.connect(self._open_log_folder)
        self.continue_button.clicked.connect(self.accept)
        self.quit_button.clicked.connect(self._quit)
        self.copy_button.clicked.connect(self._copy)
        self.continue_button.setDefault(True)
        layout.addWidget(buttons)

    def _quit(self) -> None:
        self.choice = CrashChoice.QUIT
        self.reject()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(
            f"{self.summary_label.text()}\n\n{self.details.toPlainText()}")

    def _open_log_folder(self) -> None:
        if self.log_file is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_file.parent)))


class CrashHandler(QObject):
    """Catches unhandled exceptions, logs them and shows a ``CrashDialog``.

    Signals:
        crashed(str): an unexpected error was caught; the argument is its one-line summary.
        quit_requested(): the user chose to quit in the dialog.
    """

    crashed = Signal(str)
    quit_requested = Signal()
    _from_thread = Signal(str, str, str)

    def __init__(self, log_file: Path | None, parent: QObject | None = None,
                 on_quit: Callable[[], object] | None = None) -> None:
        """Nothing is caught until ``install()``.

        Args:
            log_file: shown in the dialog (None: the log could not be written).
            parent: the owner (the main window); the dialog is its child when a widget.
            on_quit: what "Quit Deskapp" does (default: close every window).
        """
        super().__init__(parent)
        self.log_file = log_file
        self.dialog: CrashDialog | None = None
        self._on_quit: Callable[[], object] = on_quit or QApplication.closeAllWindows
        self._previous_excepthook: Callable[..., Any] | None = None
        self._previous_threading_hook: Callable[..., Any] | None = None
        self._from_thread.connect(self._show, Qt.ConnectionType.QueuedConnection)

    # --- installing ---------------------------------------------------------------------

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Catch exceptions from slots, the asyncio ``loop`` (if given) and threads."""
        if self._previous_excepthook is None:
            self._previous_excepthook = sys.excepthook
            self._previous_threading_hook = threading.excepthook
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread
        if loop is not None:
            loop.set_exception_handler(self.handle_loop_exception)

    def uninstall(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Put the hooks back as they were before ``install()``."""
        if self._previous_excepthook is not None:
            sys.excepthook = self._previous_excepthook
            if self._previous_threading_hook is not None:
                threading.excepthook = self._previous_threading_hook
            self._previous_excepthook = None
        if loop is not None:
            loop.set_exception_handler(None)

    # --- the three ways in --------------------------------------------------------------

    def handle(self, exc_type: type[BaseException], exc: BaseException,
               tb: TracebackType | None) -> None:
        """``sys.excepthook``: log the exception and tell the user."""
        if issubclass(exc_type, KeyboardInterrupt) and self._previous_excepthook is not None:
            self._previous_excepthook(exc_type, exc, tb)
            return
        log.critical("Unexpected error", exc_info=(exc_type, exc, tb))
        self._report(exc, tb)

    def handle_loop_exception(self, _loop: asyncio.AbstractEventLoop,
                              context: dict[str, Any]) -> None:
        """The asyncio loop's exception handler (qasync callbacks, unawaited tasks)."""
        exc = context.get("exception")
        message = str(context.get("message", "Unexpected error in the event loop"))
        if not isinstance(exc, BaseException):
            log.error("Event loop: %s", message)
            return
        if isinstance(exc, asyncio.CancelledError):
            return
        log.critical("Unexpected error in the event loop: %s", message,
                     exc_info=(type(exc), exc, exc.__traceback__))
        self._report(exc, exc.__traceback__)

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        thread = args.thread.name if args.thread is not None else "a thread"
        log.critical("Unexpected error in %s", thread,
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        self._report(args.exc_value, args.exc_traceback)

    # --- telling the user ---------------------------------------------------------------

    def _report(self, exc: BaseException, tb: TracebackType | None) -> None:
        details = redact("".join(traceback.format_exception(type(exc), exc, tb)))
        summary, where = summarise(exc), _where(tb)
        if QThread.currentThread() is self.thread():
            self._show(summary, where, details)
        else:
            self._from_thread.emit(summary, where, details)

    def _show(self, summary: str, where: str, details: str) -> None:
        self.crashed.emit(summary)
        if self.dialog is not None:
            # One dialog at a time: a burst of errors is in the log, not a stack of windows.
            return
        parent = self.parent()
        self.dialog = CrashDialog(summary, where, details, self.log_file,
                                  parent if isinstance(parent, QWidget) else None)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.finished.connect(self._finished)
        self.dialog.open()

    def _finished(self, _result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and dialog.choice is CrashChoice.QUIT:
            log.info("The user quit after an unexpected error")
            self.quit_requested.emit()
            self._on_quit()
