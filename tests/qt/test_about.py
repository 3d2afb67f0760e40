"""Help → About Deskapp: version, database without its password, licences from metadata."""

from __future__ import annotations

import email.message
import platform
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, qVersion
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu
from pytestqt.qtbot import QtBot

from deskapp import __version__, app
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.about_dialog import (
    HELP_MENU_NAME,
    AboutDialog,
    help_menu,
    install_about,
    licence_of,
)
from tests.qt.conftest import OFFSCREEN_NOISE

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

URL_WITH_PASSWORD = "postgresql+psycopg://alice:hunter2@db.example.com:5432/desk"


def _open_about(qtbot: QtBot, qapp: QApplication, action: QAction) -> AboutDialog:
    action.trigger()
    qtbot.waitUntil(lambda: any(isinstance(w, AboutDialog) and w.isVisible()
                                for w in qapp.topLevelWidgets()))
    return next(w for w in qapp.topLevelWidgets() if isinstance(w, AboutDialog))


def test_help_about_shows_version_database_and_platform(
        qtbot: QtBot, qapp: QApplication, tmp_path: Path) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    log_file = tmp_path / "deskapp.log"
    action = install_about(window, URL_WITH_PASSWORD, log_file)
    assert action in help_menu(window).actions()

    dialog = _open_about(qtbot, qapp, action)
    facts = dialog.facts.text()
    assert f"Deskapp {__version__}" in dialog.findChild(object, "aboutHeading").text()
    assert "Database: postgresql+psycopg://alice:***@db.example.com:5432/desk" in facts
    assert "hunter2" not in facts
    assert f"Python: {platform.python_version()}" in facts
    assert f"Qt: {qVersion()}" in facts
    assert f"Log file: {log_file}" in facts
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_licences_come_from_the_installed_metadata(qtbot: QtBot) -> None:
    dialog = AboutDialog("sqlite:///desk.db")
    qtbot.addWidget(dialog)
    rows = dialog.licence_rows()
    # The parts a desk must know the terms of: Qt's are the LGPL Deskapp relies on.
    assert rows["Qt"] == "LGPL-3.0-only"
    assert rows["PySide6 (Qt for Python)"] == "LGPL-3.0-only"
    assert rows["SQLAlchemy"] == metadata.metadata("SQLAlchemy")["License"]
    assert rows["ReportLab"].startswith("BSD")
    assert rows["qasync"] == metadata.metadata("qasync")["License-Expression"]
    versions = {dialog.licences.item(row, 0).text(): dialog.licences.item(row, 1).text()
                for row in range(dialog.licences.rowCount())}
    assert versions["SQLAlchemy"] == metadata.version("SQLAlchemy")
    assert versions["PySide6 (Qt for Python)"] == metadata.version("PySide6_Essentials")
    assert versions["Python"] == platform.python_version()
    assert all(licence and licence != "see its documentation" for licence in rows.values())


@pytest.mark.parametrize(("fields", "expected"), [
    ({"License-Expression": "MIT", "License": "whatever"}, "MIT"),
    ({"License": "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only"}, "LGPL-3.0-only"),
    ({"License": "Apache-2.0"}, "Apache-2.0"),
    ({"License": "Permission is hereby granted...\n" * 20,
      "Classifier": "License :: OSI Approved :: MIT License"}, "MIT"),
    ({}, "see its documentation"),
])
def test_licence_of_reads_the_shortest_statement(fields: dict[str, str], expected: str) -> None:
    meta = email.message.Message()
    for name, value in fields.items():
        meta[name] = value
    assert licence_of(meta, "something") == expected  # type: ignore[arg-type]


def test_the_main_window_has_help_about_once(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings) -> None:
    window = app.build_main_window(database, admin, runner, window_settings=window_settings,
                                   live_updates=False)
    qtbot.addWidget(window)
    menus = [m for m in window.menuBar().findChildren(QMenu) if m.objectName() == HELP_MENU_NAME]
    assert len(menus) == 1
    assert window.menuBar().actions()[-1].menu() is menus[0]  # Help comes last
    about = window.findChild(QAction, "aboutAction")
    assert about is not None
    assert about in menus[0].actions()
