"""Help > Keyboard shortcuts lists every shortcut the main window really has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from deskapp.app import build_main_window
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.about_dialog import help_menu
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.settings_dialog import SettingsMenu
from deskapp.qt.views.shortcuts_dialog import (
    ShortcutsDialog,
    ShortcutsMenu,
    collect_shortcuts,
)
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

NATIVE = QKeySequence.SequenceFormat.NativeText


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the window's menus are the same on both databases


@pytest.fixture
def window(qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
           window_settings: QSettings, clock: FakeClock) -> Iterator[MainWindow]:
    main = build_main_window(database, admin, runner, window_settings=window_settings,
                             clock=clock, live_updates=False)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main


def open_with_f1(qtbot: QtBot, window: MainWindow) -> ShortcutsDialog:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    menu = window.findChild(ShortcutsMenu)
    assert menu is not None
    qtbot.waitUntil(lambda: menu.dialog is not None and menu.dialog.isVisible())
    assert menu.dialog is not None
    return menu.dialog


def test_every_action_with_a_shortcut_is_listed(qtbot: QtBot, window: MainWindow) -> None:
    dialog = open_with_f1(qtbot, window)
    rows = dialog.rows()
    listed = {(what, keys) for _section, what, keys in rows}
    actions = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(actions) >= 8
    for action in actions:
        text = action.text().replace("&", "").rstrip("…").strip()
        assert (text, action.shortcut().toString(NATIVE)) in listed, text
    sections = {what: section for section, what, _keys in rows}
    assert sections["Log call"] == "File" and sections["Refresh"] == "View"
    assert sections["Export"] == "Data" and sections["Settings"] == "File"
    assert sections["Keyboard shortcuts"] == "Help"
    # The window's QShortcuts that say what they do: Ctrl+1… and Esc in the search box.
    shortcuts = [s for s in window.findChildren(QShortcut) if s.whatsThis()]
    assert len(shortcuts) >= 9
    for shortcut in shortcuts:
        assert (shortcut.whatsThis(), shortcut.key().toString(NATIVE)) in listed
    assert ("Show All open", QKeySequence("Ctrl+3").toString(NATIVE)) in listed


def test_a_new_action_shows_up_without_touching_the_dialog(
        qtbot: QtBot, window: MainWindow) -> None:
    menu = window.menuBar().addMenu("&Tools")
    action = QAction("&Frobnicate…", window)
    action.setShortcut(QKeySequence("Ctrl+Alt+F"))
    menu.addAction(action)
    entries = collect_shortcuts(window)
    assert ("Tools", "Frobnicate", QKeySequence("Ctrl+Alt+F").toString(NATIVE)) in {
        (e.section, e.what, e.keys) for e in entries}
    # Menus come in menu-bar order; Help is last of the menus, the rest after it.
    order = list(dict.fromkeys(e.section for e in entries))
    assert order.index("File") < order.index("View") < order.index("Tools")
    assert order[-1] == "Other"


def test_help_and_settings_are_in_the_menus(window: MainWindow) -> None:
    help_ = help_menu(window)
    assert help_.objectName() == "helpMenu" and help_menu(window) is help_
    texts = [a.text() for a in help_.actions()]
    assert "&Keyboard shortcuts" in texts
    settings = window.findChild(SettingsMenu)
    assert settings is not None
    file_menu = window.findChild(QMenu, "menuFile")
    assert isinstance(file_menu, QMenu)
    actions = file_menu.actions()
    assert settings.action in actions
    assert actions.index(settings.action) < actions.index(window.action("actionQuit"))
    assert settings.action.shortcut() == QKeySequence("Ctrl+,")
