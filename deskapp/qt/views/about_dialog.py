"""Help → About Deskapp: the version, the database in use, and what Deskapp is built from.

The components' versions and licences are read from the installed distributions' metadata
(``importlib.metadata``), which the installers bundle too, so the dialog tells the truth for
the build the user runs. Components that are not Python distributions (Python itself, Qt,
the report fonts) are listed with their known licences.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from deskapp import __version__
from deskapp.logging_setup import redact
from deskapp.resources import app_icon_path

HELP_MENU_NAME = "helpMenu"
"""The object name of the Help menu, so that other Help entries join the same menu."""


@dataclass(frozen=True)
class Component:
    """A part Deskapp bundles: its name, version and licence."""

    name: str
    version: str
    licence: str
    purpose: str


# The Python distributions Deskapp runs on: (distribution name, shown name, what it does).
DISTRIBUTIONS = (
    ("PySide6_Essentials", "PySide6 (Qt for Python)", "the windows"),
    ("shiboken6", "Shiboken6", "binds Qt to Python"),
    ("SQLAlchemy", "SQLAlchemy", "database access"),
    ("alembic", "Alembic", "schema migrations"),
    ("Mako", "Mako", "used by Alembic"),
    ("psycopg", "psycopg 3", "PostgreSQL driver"),
    ("qasync", "qasync", "asyncio on Qt's event loop"),
    ("reportlab", "ReportLab", "PDF reports"),
    ("openpyxl", "openpyxl", "Excel exports"),
    ("et_xmlfile", "et_xmlfile", "used by openpyxl"),
    ("platformdirs", "platformdirs", "where data and logs go"),
    ("typing_extensions", "typing_extensions", "used by SQLAlchemy"),
)

# Licences that metadata does not state as an SPDX id, by distribution.
_KNOWN_LICENCES = {"reportlab": "BSD-3-Clause"}
_FONTS = (
    Component("DejaVu Sans", "2.37", "Bitstream Vera / DejaVu (free)", "report fonts"),
    Component("WenQuanYi Micro Hei", "0.2.0", "Apache-2.0", "report fonts (CJK)"),
)


def _field(meta: metadata.PackageMetadata, name: str) -> str:
    values = meta.get_all(name) or []
    return str(values[0]).strip() if values else ""


def licence_of(meta: metadata.PackageMetadata, distribution: str) -> str:
    """The distribution's licence as metadata states it, shortest form first.

    License-Expression (an SPDX expression), else a one-line License field, else the
    trove classifier (ReportLab's, whose License field is prose, is known here). A dual
    licence offering the LGPL names the LGPL: that is the one Deskapp uses (PySide6 is
    "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only").
    """
    expression = _field(meta, "License-Expression")
    field = _field(meta, "License")
    # A long License field is usually the licence's whole text, not its name.
    short_field = field if field and "\n" not in field and len(field) <= 80 else ""
    text = expression or _KNOWN_LICENCES.get(distribution, "") or short_field
    if not text:
        classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
        text = classifiers[0].split("::")[-1].strip().removesuffix(" License") if classifiers \
            else "see its documentation"
    choices = [part.strip() for part in text.split(" OR ")]
    lgpl = [choice for choice in choices if choice.startswith("LGPL")]
    return lgpl[0] if len(choices) > 1 and lgpl else text


def components() -> list[Component]:
    """Python, Qt, the installed distributions Deskapp uses, and the report fonts."""
    found = [
        Component("Python", platform.python_version(), "PSF-2.0", "the interpreter"),
        Component("Qt", qVersion(), "LGPL-3.0-only", "the GUI toolkit"),
    ]
    for distribution, shown, purpose in DISTRIBUTIONS:
        try:
            meta = metadata.metadata(distribution)
        except metadata.PackageNotFoundError:
            continue
        found.append(Component(shown, meta["Version"], licence_of(meta, distribution),
                               purpose))
    found.extend(_FONTS)
    return found


class AboutDialog(QDialog):
    """Version, database, platform and the licences of the bundled parts."""

    def __init__(self, database_name: str, log_file: Path | None = None,
                 parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            database_name: the database in use, as a URL; any password is hidden.
            log_file: where the log is written, if anywhere.
            parent: the main window.
        """
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Deskapp")
        layout = QVBoxLayout(self)

        heading = QLabel(self)
        heading.setObjectName("aboutHeading")
        icon = QIcon(str(app_icon_path()))
        logo = QLabel(self)
        logo.setPixmap(icon.pixmap(64, 64))
        layout.addWidget(logo, alignment=Qt.AlignmentFlag.AlignHCenter)
        heading.setText(f"<h2>Deskapp {__version__}</h2>"
                        "A service desk for IT incident management (ITIL).")
        heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(heading)

        # The caller's display name already hides passwords; redact() is the second lock.
        shown_database = redact(database_name)
        facts = [
            ("Database", shown_database),
            ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
            ("Qt", f"{qVersion()}, PySide6 {PySide6.__version__}"),
            ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ]
        if log_file is not None:
            facts.append(("Log file", str(log_file)))
        if getattr(sys, "frozen", False):
            facts.append(("Installed in", str(Path(sys.executable).parent)))
        self.facts = QLabel(self)
        self.facts.setObjectName("aboutFacts")
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setText("\n".join(f"{name}: {value}" for name, value in facts))
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setWordWrap(True)
        layout.addWidget(self.facts)

        layout.addWidget(QLabel("<b>Built with</b> (versions and licences as installed):",
                                self))
        parts = components()
        self.licences = QTableWidget(len(parts), 4, self)
        self.licences.setObjectName("licenceTable")
        self.licences.setHorizontalHeaderLabels(["Component", "Version", "Licence", "For"])
        for row, part in enumerate(parts):
            for column, text in enumerate((part.name, part.version, part.licence,
                                           part.purpose)):
                self.licences.setItem(row, column, QTableWidgetItem(text))
        self.licences.verticalHeader().hide()
        self.licences.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.licences.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.licences.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.licences.setMinimumSize(620, 300)
        layout.addWidget(self.licences)
        layout.addWidget(QLabel(
            "Qt and PySide6 are used under the GNU LGPL version 3 as shared libraries that "
            "you may replace; their source is available from qt.io.", self))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def licence_rows(self) -> dict[str, str]:
        """Component name → licence, as the table shows them (for tests and support)."""
        rows = {}
        for row in range(self.licences.rowCount()):
            name, licence = self.licences.item(row, 0), self.licences.item(row, 2)
            if name is not None and licence is not None:
                rows[name.text()] = licence.text()
        return rows


def help_menu(window: QMainWindow) -> QMenu:
    """The window's Help menu (object name ``helpMenu``), created last in the bar if needed."""
    existing = window.menuBar().findChild(QMenu, HELP_MENU_NAME)
    if existing is not None:
        return existing
    menu = window.menuBar().addMenu("&Help")
    menu.setObjectName(HELP_MENU_NAME)
    return menu


def install_about(window: QMainWindow, database_name: str,
                  log_file: Path | None = None) -> QAction:
    """Add Help → About Deskapp… to ``window``; returns the action."""
    action = QAction("&About Deskapp…", window)
    action.setObjectName("aboutAction")
    action.setMenuRole(QAction.MenuRole.AboutRole)

    def show() -> None:
        dialog = AboutDialog(database_name, log_file, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    action.triggered.connect(show)
    help_menu(window).addAction(action)
    return action
