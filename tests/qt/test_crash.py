"""Unexpected errors: logged (without passwords) and shown in a dialog, from slots, the
asyncio loop and threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from deskapp.logging_setup import configure_logging
from deskapp.qt.crash import CrashDialog, CrashHandler
from tests.qt.conftest import OFFSCREEN_NOISE, AttachedLoop

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

SECRET = "s3cr3t-pw"


class BrokenSlotError(RuntimeError):
    """What the test's slot raises."""


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The GUI's logging set-up, writing into tmp_path; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    target = configure_logging(tmp_path / "logs")
    assert target is not None
    yield target
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def window(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def quits() -> list[str]:
    """What the handler's "quit" did, in order."""
    return []


@pytest.fixture
def handler(window: QWidget, log_file: Path, quits: list[str]) -> Iterator[CrashHandler]:
    crash = CrashHandler(log_file, window, on_quit=lambda: quits.append("quit"))
    crash.install()
    yield crash
    crash.uninstall()
    if crash.dialog is not None:
        crash.dialog.close()


def _shown_dialog(qtbot: QtBot, handler: CrashHandler) -> CrashDialog:
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
    assert handler.dialog is not None
    return handler.dialog


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_what_happened_and_where_the_log_is(
        qtbot: QtBot, window: QWidget, handler: CrashHandler, log_file: Path,
        quits: list[str]) -> None:
    button = QPushButton("Break", window)

    def broken_slot() -> None:
        raise BrokenSlotError(f"lost postgresql://alice:{SECRET}@db.example.com/desk")

    button.clicked.connect(broken_slot)
    with qtbot.waitSignal(handler.crashed) as crashed:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    dialog = _shown_dialog(qtbot, handler)
    assert crashed.args is not None
    assert crashed.args[0].startswith("BrokenSlotError: lost postgresql://alice:***@")
    assert "broken_slot" in dialog.summary_label.text()
    assert str(log_file) in dialog.log_label.text()
    assert "BrokenSlotError" in dialog.details.toPlainText()
    for text in (dialog.summary_label.text(), dialog.details.toPlainText()):
        assert SECRET not in text
    for handler_ in logging.getLogger().handlers:
        handler_.flush()
    logged = log_file.read_text(encoding="utf-8")
    assert "Unexpected error" in logged
    assert "in broken_slot" in logged  # the traceback, with the failing function
    assert SECRET not in logged

    # Continue: the dialog goes, the application carries on, nothing quits.
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: handler.dialog is None)
    assert quits == []
    assert window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_quit_in_the_dialog_ends_the_application(
        qtbot: QtBot, window: QWidget, handler: CrashHandler, quits: list[str]) -> None:
    button = QPushButton("Break", window)
    button.clicked.connect(lambda: 1 // 0)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = _shown_dialog(qtbot, handler)
    assert "ZeroDivisionError" in dialog.summary_label.text()
    with qtbot.waitSignal(handler.quit_requested):
        qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton)
    assert quits == ["quit"]


@pytest.mark.qt_no_exception_capture
def test_a_second_error_while_the_dialog_is_up_is_logged_without_another_dialog(
        qtbot: QtBot, qapp: QApplication, window: QWidget, handler: CrashHandler,
        log_file: Path) -> None:
    button = QPushButton("Break", window)
    button.clicked.connect(lambda: 1 // 0)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    first = _shown_dialog(qtbot, handler)
    with qtbot.waitSignal(handler.crashed):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert handler.dialog is first
    assert [w for w in qapp.topLevelWidgets()
            if isinstance(w, CrashDialog) and w.isVisible()] == [first]
    for handler_ in logging.getLogger().handlers:
        handler_.flush()
    assert log_file.read_text(encoding="utf-8").count("ZeroDivisionError") >= 2


def test_an_exception_in_an_event_loop_callback_shows_the_dialog(
        qtbot: QtBot, qloop: AttachedLoop, window: QWidget, handler: CrashHandler) -> None:
    handler.install(qloop)
    try:
        def failing_callback() -> None:
            raise BrokenSlotError("from a qasync callback")

        with qtbot.waitSignal(handler.crashed) as crashed:
            qloop.call_soon(failing_callback)
        assert crashed.args == ["BrokenSlotError: from a qasync callback"]
        dialog = _shown_dialog(qtbot, handler)
        assert "failing_callback" in dialog.summary_label.text()
        qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    finally:
        handler.uninstall(qloop)


def test_an_exception_in_a_thread_shows_the_dialog_on_the_gui_thread(
        qtbot: QtBot, handler: CrashHandler) -> None:
    def work() -> None:
        raise BrokenSlotError("from a worker thread")

    with qtbot.waitSignal(handler.crashed) as crashed:
        thread = threading.Thread(target=work, name="worker")
        thread.start()
        thread.join()
    assert crashed.args == ["BrokenSlotError: from a worker thread"]
    dialog = _shown_dialog(qtbot, handler)
    assert dialog.thread() is QApplication.instance().thread()  # type: ignore[union-attr]
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)


def test_uninstall_puts_the_hooks_back(window: QWidget, log_file: Path) -> None:
    import sys

    before = sys.excepthook, threading.excepthook
    crash = CrashHandler(log_file, window)
    crash.install()
    assert sys.excepthook == crash.handle
    crash.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
