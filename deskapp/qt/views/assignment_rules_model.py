"""Assignment rules as a read-mostly table: one row per rule, in the order they are tried."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.rows_table_model import AnyIndex as Index
from deskapp.qt.models.rows_table_model import RowsTableModel
from deskapp.services.assignment_rules import RuleView

NONE_TEXT = "—"


class RulesColumn(IntEnum):
    ENABLED = 0
    NAME = 1
    CATEGORY = 2
    SERVICE = 3
    GROUP = 4
    METHOD = 5


_HEADERS = ("On", "Name", "Category", "Service", "Group", "Method")


class AssignmentRulesModel(RowsTableModel[RuleView]):
    """The rules as the service lists them; every change goes through the service.

    The model never changes a rule itself: ticking the "On" box asks for it with
    ``enable_requested`` and the editor reloads the rules once the service has stored it, so
    what is shown is always what is stored.

    Signals:
        enable_requested(int, bool): the row whose box was ticked or cleared, and the new state.
    """

    enable_requested = Signal(int, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_HEADERS, parent, row_numbers=True)
        self.editable = False

    def load(self, rules: list[RuleView], editable: bool) -> None:
        """Show these rules (in order); ``editable`` makes the boxes tickable."""
        with self._resetting():
            self._rows = list(rules)
            self.editable = editable

    def rule_at(self, row: int) -> RuleView:
        """The rule shown on ``row``."""
        return self._rows[row]

    @property
    def rules(self) -> tuple[RuleView, ...]:
        return tuple(self._rows)

    def row_of(self, rule_id: int) -> int:
        """The row showing the rule with this id; -1 if none does."""
        return next((i for i, r in enumerate(self._rows) if r.rule.id == rule_id), -1)

    # --- Qt's model interface ------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        view = self._row(index)
        if view is None:
            return None
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
            return plain_tooltip(view.summary)
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
        if wanted != self._rows[index.row()].rule.enabled:
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
