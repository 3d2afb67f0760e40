"""Help > Keyboard shortcuts (F1): every shortcut the main window has, read from the window.

The list is built from the actions and shortcuts registered on the window when the dialog
opens, so it cannot go stale: a new action with a shortcut shows up by itself. A QShortcut
(which has no text) is listed when it says what it does in its ``whatsThis``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from deskapp.qt import theme
from deskapp.qt.views.about_dialog import help_menu

OTHER = "Other"


@dataclass(frozen=True)
class ShortcutEntry:
    """One line of the list."""

    section: str
    """The menu the action is in ("File"), or "Other"."""
    what: str
    """What it does, without mnemonics and ellipses."""
    keys: str
    """The key sequences as this platform writes them, joined by ", "."""


def _clean(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("….").strip()


def _keys(sequences: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                     for s in sequences if not s.isEmpty())


def _menus_of(window: QMainWindow) -> dict[QAction, str]:
    """Each action's menu title, for the menus of the menu bar (submenus by their path)."""
    where: dict[QAction, str] = {}

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} > {_clean(sub.title())}")
            elif not action.isSeparator():
                where.setdefault(action, path)

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            walk(menu, _clean(menu.title()))
    return where


def collect_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """The window's keyboard shortcuts: its actions (in menus or not) and described QShortcuts.

    Sorted by menu in menu-bar order (others last), then as they appear.
    """
    menus = _menus_of(window)
    order = list(dict.fromkeys(menus.values()))
    entries: list[ShortcutEntry] = []
    seen: set[int] = set()
    actions = [*menus, *window.actions(), *window.findChildren(QAction)]
    for action in actions:
        if id(action) in seen:
            continue
        seen.add(id(action))
        if not action.isVisible():
            continue  # not for this user's role (permission_gate): its keys do nothing
        keys = _keys(action.shortcuts())
        text = _clean(action.text())
        if not keys or not text:
            continue
        entries.append(ShortcutEntry(menus.get(action, OTHER), text, keys))
    for shortcut in window.findChildren(QShortcut):
        keys = _keys(shortcut.keys())
        what = shortcut.whatsThis().strip()
        if keys and what and shortcut.isEnabled():
            entries.append(ShortcutEntry(OTHER, what, keys))

    def rank(entry: ShortcutEntry) -> int:
        return order.index(entry.section) if entry.section in order else len(order)

    return sorted(entries, key=rank)  # stable: within a section, the order found


class ShortcutsDialog(QDialog):
    """A two-column list, grouped by menu: what, and which keys."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        layout = QVBoxLayout(self)
        intro = QLabel("The keys of the main window. Forms list theirs on their buttons and "
                       "in their tooltips.", self)
        intro.setWordWrap(True)
        intro.setStyleSheet(theme.text_style(theme.colours().muted))
        layout.addWidget(intro)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("shortcutsTree")
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAccessibleName("Keyboard shortcuts")
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.entries = collect_shortcuts(window)
        self._fill()

    def _fill(self) -> None:
        section: str | None = None
        heading: QTreeWidgetItem | None = None
        for entry in self.entries:
            if entry.section != section or heading is None:
                section = entry.section
                heading = QTreeWidgetItem(self.tree, [section])
                heading.setFirstColumnSpanned(True)
                heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = heading.font(0)
                font.setBold(True)
                heading.setFont(0, font)
                heading.setExpanded(True)
            QTreeWidgetItem(heading, [entry.what, entry.keys])
        self.tree.expandAll()
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, action, keys) as the dialog lists them, for tests."""
        found = []
        for i in range(self.tree.topLevelItemCount()):
            heading = self.tree.topLevelItem(i)
            assert heading is not None
            for j in range(heading.childCount()):
                child = heading.child(j)
                assert child is not None
                found.append((heading.text(0), child.text(0), child.text(1)))
        return found


class ShortcutsMenu(QObject):
    """Help > Keyboard shortcuts (F1); a child of the window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsMenu")
        self._window = window
        self.dialog: ShortcutsDialog | None = None
        self.action = QAction("&Keyboard shortcuts", window)
        self.action.setObjectName("actionKeyboardShortcuts")
        self.action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.action.setStatusTip("List the keys of the main window")
        self.action.triggered.connect(self.open_dialog)
        help_menu(window).addAction(self.action)

    def open_dialog(self) -> ShortcutsDialog:
        """Show the list, built afresh from the window's actions."""
        if self.dialog is not None:
            self.dialog.close()
        dialog = ShortcutsDialog(self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._forget)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self) -> None:
        self.dialog = None


def install_shortcuts_menu(window: QMainWindow) -> ShortcutsMenu:
    """Add Help > Keyboard shortcuts (F1) to ``window``; install it after the other menus."""
    return ShortcutsMenu(window)
