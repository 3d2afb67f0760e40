"""Assignment rules as a read-mostly table: one row per rule, in the order they are tried."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from deskapp.services.assignment_rules import RuleView

Index = QModelIndex | QPersistentModelIndex
NONE_TEXT = "—"


class RulesColumn(IntEnum):
    ENABLED = 0
    NAME = 1
    CATEGORY = 2
    SERVICE = 3
    GROUP = 4
    METHOD = 5


_HEADERS = ("On", "Name", "Category", "Service", "Group", "Method")


class AssignmentRulesModel(QAbstractTableModel):
    """The rules as the service lists them; every change goes through the service.

    The model never changes a rule itself: ticking the "On" box asks for it with
    ``enable_requested`` and the editor reloads the rules once the service has stored it, so
    what is shown is always what is stored.

    Signals:
        enable_requested(int, bool): the row whose box was ticked or cleared, and the new state.
    """

    enable_requested = Signal(int, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rules: list[RuleView] = []
        self.editable = False

    def load(self, rules: list[RuleView], editable: bool) -> None:
        """Show these rules (in order); ``editable`` makes the boxes tickable."""
        self.beginResetModel()
        try:
            self._rules = list(rules)
            self.editable = editable
        finally:
            self.endResetModel()

    def rule_at(self, row: int) -> RuleView:
        """The rule shown on ``row``."""
        return self._rules[row]

    @property
    def rules(self) -> tuple[RuleView, ...]:
        return tuple(self._rules)

    def row_of(self, rule_id: int) -> int:
        """The row showing the rule with this id; -1 if none does."""
        return next((i for i, r in enumerate(self._rules) if r.rule.id == rule_id), -1)

    # --- Qt's model interface ------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rules)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(RulesColumn)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        view = self._rules[index.row()]
        rule = view.rule
        column = RulesColumn(index.column())
        if column == RulesColumn.ENABLED:
            if role == Qt.ItemDataRole.CheckStateRole:
                return Qt.CheckState.Checked if rule.enabled else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Switched on: new incidents follow it" if rule.enabled else \
                    "Switched off: new incidents ignore it"
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return view.summary
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return {
            RulesColumn.NAME: rule.name,
            RulesColumn.CATEGORY: view.category_name or NONE_TEXT,
            RulesColumn.SERVICE: view.service_name or NONE_TEXT,
            RulesColumn.GROUP: view.group_name,
            RulesColumn.METHOD: rule.method.label.capitalize(),
        }[column]

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (not index.isValid() or not self.editable
                or index.column() != RulesColumn.ENABLED
                or role != Qt.ItemDataRole.CheckStateRole):
            return False
        wanted = Qt.CheckState(value) == Qt.CheckState.Checked
        if wanted != self._rules[index.row()].rule.enabled:
            self.enable_requested.emit(index.row(), wanted)
        # Nothing changes here: the box follows the stored rule after the reload.
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.editable and index.column() == RulesColumn.ENABLED:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section] if 0 <= section < len(_HEADERS) else None
        return str(section + 1)
