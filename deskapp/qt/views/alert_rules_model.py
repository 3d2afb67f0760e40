"""The alert mapping as an editable table: one row per rule, first match wins."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import PriorityMatrix
from deskapp.qt.models.matrix_model import text_colour
from deskapp.qt.models.rows_table_model import AnyIndex as Index
from deskapp.qt.models.rows_table_model import RowsTableModel
from deskapp.services.intake.alert_rules import (
    AlertRule,
    Choice,
    RuleEditorData,
    format_matchers,
    parse_matchers,
)

NONE_TEXT = "—"


class RuleColumn(IntEnum):
    NAME = 0
    MATCH = 1
    IMPACT = 2
    URGENCY = 3
    PRIORITY = 4
    SERVICE = 5
    GROUP = 6
    AUTO_RESOLVE = 7


_HEADERS = ("Name", "Matches labels", "Impact", "Urgency", "Priority", "Service",
            "Assignment group", "Auto-resolve")
CHOICE_COLUMNS = (RuleColumn.IMPACT, RuleColumn.URGENCY, RuleColumn.SERVICE, RuleColumn.GROUP)


class AlertRulesModel(RowsTableModel[AlertRule]):
    """The rules in order; EditRole of the choice columns is an id (None: no service/group).

    Signals:
        problem(str): an edit was refused, with the reason a user can read.
        edited(): the rules differ from what was loaded or last saved.
    """

    problem = Signal(str)
    edited = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(_HEADERS, parent, row_numbers=True)
        self._choices: dict[RuleColumn, tuple[Choice, ...]] = {c: () for c in CHOICE_COLUMNS}
        self._matrix: PriorityMatrix | None = None
        self.revision = 0
        self.editable = True
        self.dirty = False

    def load(self, data: RuleEditorData) -> None:
        """Show the mapping as stored."""
        with self._resetting():
            self._rows = list(data.rules.rules)
            self.revision = data.rules.revision
            self._matrix = data.matrix
            self._choices = {RuleColumn.IMPACT: data.impact_levels,
                             RuleColumn.URGENCY: data.urgency_levels,
                             RuleColumn.SERVICE: data.services, RuleColumn.GROUP: data.groups}
            self.editable = data.can_edit
            self.dirty = False

    @property
    def rules(self) -> tuple[AlertRule, ...]:
        return tuple(self._rows)

    def choices(self, column: int) -> list[tuple[int | None, str]]:
        """What a choice column's editor offers: (id, name); services and groups start
        with "none"."""
        col = RuleColumn(column)
        offered: list[tuple[int | None, str]] = [(c.id, self._choice_text(col, c))
                                                 for c in self._choices[col]]
        if col in (RuleColumn.SERVICE, RuleColumn.GROUP):
            offered.insert(0, (None, NONE_TEXT))
        return offered

    @staticmethod
    def _choice_text(column: RuleColumn, choice: Choice) -> str:
        if column in (RuleColumn.IMPACT, RuleColumn.URGENCY):
            return f"{choice.id} - {choice.name}"
        return choice.name

    def _name(self, column: RuleColumn, value: int | None) -> str:
        if value is None:
            return NONE_TEXT
        for choice in self._choices[column]:
            if choice.id == value:
                return self._choice_text(column, choice)
        return f"{value} (missing)"

    # --- Qt's model interface ------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        rule = self._row(index)
        if rule is None:
            return None
        column = RuleColumn(index.column())
        if role == Qt.ItemDataRole.CheckStateRole and column == RuleColumn.AUTO_RESOLVE:
            return Qt.CheckState.Checked if rule.auto_resolve else Qt.CheckState.Unchecked
        if column == RuleColumn.PRIORITY and role in (Qt.ItemDataRole.BackgroundRole,
                                                      Qt.ItemDataRole.ForegroundRole):
            definition = self._priority(rule)
            if definition is None:
                return None
            colour = QColor(definition.colour)
            return colour if role == Qt.ItemDataRole.BackgroundRole else text_colour(colour)
        if role == Qt.ItemDataRole.ToolTipRole and column == RuleColumn.MATCH:
            return ('Comma-separated: label="value", label!="value", label=~"regex", '
                    'label!~"regex". Empty matches every alert.')
        if role == Qt.ItemDataRole.EditRole:
            return {
                RuleColumn.NAME: rule.name, RuleColumn.MATCH: format_matchers(rule.matchers),
                RuleColumn.IMPACT: rule.impact, RuleColumn.URGENCY: rule.urgency,
                RuleColumn.PRIORITY: self._priority_text(rule),
                RuleColumn.SERVICE: rule.service_id, RuleColumn.GROUP: rule.group_id,
                RuleColumn.AUTO_RESOLVE: rule.auto_resolve,
            }[column]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == RuleColumn.AUTO_RESOLVE:
                return "Yes" if rule.auto_resolve else "No"
            return {
                RuleColumn.NAME: rule.name,
                RuleColumn.MATCH: format_matchers(rule.matchers) or "(every alert)",
                RuleColumn.IMPACT: self._name(RuleColumn.IMPACT, rule.impact),
                RuleColumn.URGENCY: self._name(RuleColumn.URGENCY, rule.urgency),
                RuleColumn.PRIORITY: self._priority_text(rule),
                RuleColumn.SERVICE: self._name(RuleColumn.SERVICE, rule.service_id),
                RuleColumn.GROUP: self._name(RuleColumn.GROUP, rule.group_id),
            }[column]
        return None

    def _priority(self, rule: AlertRule) -> Any:
        if self._matrix is None or (rule.impact, rule.urgency) not in self._matrix.cells:
            return None
        return self._matrix.priority_for(rule.impact, rule.urgency)

    def _priority_text(self, rule: AlertRule) -> str:
        definition = self._priority(rule)
        return definition.label if definition is not None else "Not in the matrix"

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or not self.editable:
            return False
        column = RuleColumn(index.column())
        rule = self._rows[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and column == RuleColumn.AUTO_RESOLVE:
            new = replace(rule, auto_resolve=Qt.CheckState(value) == Qt.CheckState.Checked)
        elif role != Qt.ItemDataRole.EditRole or column == RuleColumn.PRIORITY:
            return False
        elif column == RuleColumn.NAME:
            text = str(value).strip()
            if not text or len(text) > 120:
                self.problem.emit("A rule needs a name of 1 to 120 characters.")
                return False
            new = replace(rule, name=text)
        elif column == RuleColumn.MATCH:
            try:
                new = replace(rule, matchers=parse_matchers(str(value)))
            except ValidationError as exc:
                self.problem.emit(str(exc))
                return False
        elif column == RuleColumn.AUTO_RESOLVE:
            new = replace(rule, auto_resolve=bool(value))
        else:
            allowed = {choice_id for choice_id, _ in self.choices(column)}
            if value not in allowed:
                self.problem.emit(f"{_HEADERS[column]}: '{value}' is not one of the choices.")
                return False
            new = {RuleColumn.IMPACT: lambda: replace(rule, impact=int(value)),
                   RuleColumn.URGENCY: lambda: replace(rule, urgency=int(value)),
                   RuleColumn.SERVICE: lambda: replace(rule, service_id=value),
                   RuleColumn.GROUP: lambda: replace(rule, group_id=value)}[column]()
        if new == rule:
            return True
        self._rows[index.row()] = new
        self.dataChanged.emit(self.index(index.row(), 0),
                              self.index(index.row(), len(RuleColumn) - 1))
        self._touch()
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self.editable or index.column() == RuleColumn.PRIORITY:
            return flags
        if index.column() == RuleColumn.AUTO_RESOLVE:
            return flags | Qt.ItemFlag.ItemIsUserCheckable
        return flags | Qt.ItemFlag.ItemIsEditable

    # --- rows ------------------------------------------------------------------------------

    def add_rule(self, row: int | None = None) -> int:
        """Insert a catch-all rule (lowest levels) at ``row`` (default last); returns its row."""
        if not self.editable:
            return -1
        impacts = [c.id for c in self._choices[RuleColumn.IMPACT]] or [3]
        urgencies = [c.id for c in self._choices[RuleColumn.URGENCY]] or [3]
        row = len(self._rows) if row is None else max(0, min(row, len(self._rows)))
        self.beginInsertRows(QModelIndex(), row, row)
        try:
            self._rows.insert(row, AlertRule("New rule", (), max(impacts), max(urgencies)))
        finally:
            self.endInsertRows()
        self._touch()
        return row

    def remove_rule(self, row: int) -> bool:
        if not self.editable or not 0 <= row < len(self._rows):
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        try:
            del self._rows[row]
        finally:
            self.endRemoveRows()
        self._touch()
        return True

    def move_rule(self, row: int, delta: int) -> bool:
        """Move a rule up (-1) or down (+1): earlier rules win."""
        target = row + delta
        if not self.editable or not (0 <= row < len(self._rows)
                                     and 0 <= target < len(self._rows)) or delta == 0:
            return False
        # Qt's destination is the row the item goes before, counted before the move.
        destination = target + 1 if delta > 0 else target
        if not self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination):
            return False
        try:
            self._rows.insert(target, self._rows.pop(row))
        finally:
            self.endMoveRows()
        self._touch()
        return True

    def saved(self, revision: int) -> None:
        """The rules as shown are now stored at ``revision``."""
        self.revision = revision
        self.dirty = False

    def _touch(self) -> None:
        self.dirty = True
        self.edited.emit()
