"""Admin > Alert mappings: the rules that turn monitoring alerts into incident fields.

One table over AlertRulesModel (double-click to edit; impact, urgency, service and group
from lists), buttons to add, remove and reorder rules, and Save, which refuses to overwrite
a mapping someone else saved meanwhile. Users who may not edit see it read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import ConflictError, DeskappError
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.alert_rules_model import CHOICE_COLUMNS, AlertRulesModel, RuleColumn
from deskapp.services.intake.alert_rules import AlertRuleService, RuleSet

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex


class ChoiceDelegate(QStyledItemDelegate):
    """A list of the model's choices for impact, urgency, service and group cells."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: Index) -> QWidget:
        model = index.model()
        if index.column() not in CHOICE_COLUMNS or not isinstance(model, AlertRulesModel):
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.setObjectName("ruleChoice")
        for value, text in model.choices(index.column()):
            combo.addItem(text, value)
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QComboBox):
            found = editor.findData(index.data(Qt.ItemDataRole.EditRole))
            editor.setCurrentIndex(max(found, 0))
            return
        super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
            return
        super().setModelData(editor, model, index)


class AlertRulesEditor(QWidget):
    """The alert mapping editor window."""

    def __init__(self, service: AlertRuleService, runner: DbRunner, *,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("alertRulesEditor")
        self.setWindowTitle("Alert mappings")
        self._service = service
        self._runner = runner
        self.model = AlertRulesModel(self)
        layout = QVBoxLayout(self)
        intro = QLabel("Monitoring alerts get the fields of the first rule whose matchers "
                       "all hold for the alert's labels (severity, service, team, "
                       "alertname...). A resolved alert resolves its incident when "
                       "Auto-resolve is ticked.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableView(self)
        self.table.setObjectName("alertRulesTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(ChoiceDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_button = self._button("&Add rule", "addRule", self._add, buttons)
        self.remove_button = self._button("&Remove", "removeRule", self._remove, buttons)
        self.up_button = self._button("Move &up", "moveRuleUp", lambda: self._move(-1), buttons)
        self.down_button = self._button("Move &down", "moveRuleDown", lambda: self._move(1),
                                        buttons)
        buttons.addStretch(1)
        self.reload_button = self._button("Re&load", "reloadRules", self._reload, buttons)
        self.save_button = self._button("&Save", "saveRules", self._save_clicked, buttons)
        layout.addLayout(buttons)
        self.status = QLabel("", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.model.problem.connect(self._show_problem)
        self.model.edited.connect(self._update_buttons)
        self.model.edited.connect(lambda: self._show("Unsaved changes: Save stores them."))
        self.model.modelReset.connect(self._update_buttons)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.resize(1100, 420)
        self._update_buttons()

    def _button(self, text: str, name: str, slot: Callable[[], object],
                layout: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    # --- loading and saving -------------------------------------------------------------

    async def load(self) -> None:
        """Read the mapping, the matrix levels, services and groups afresh."""
        try:
            data = await self._runner.db(self._service.load)
        except DeskappError as exc:
            self._show_problem(describe_error(exc))
            return
        self.model.load(data)
        self.table.resizeColumnsToContents()
        self._show(f"{len(data.rules.rules)} rules." if data.can_edit else
                   f"{len(data.rules.rules)} rules. Only admins and team leads change them.")

    async def save(self) -> RuleSet | None:
        """Store the rules as shown; a mapping someone saved meanwhile is not overwritten."""
        try:
            saved = await self._runner.db(self._service.save, self.model.rules,
                                          self.model.revision)
        except ConflictError:
            self._show_problem("Someone else saved the alert mappings after you opened them; "
                               "Reload to see theirs (your edits here are then lost).")
            return None
        except DeskappError as exc:
            self._show_problem(describe_error(exc))
            return None
        self.model.saved(saved.revision)
        self._show(f"Saved {len(saved.rules)} rules.")
        self._update_buttons()
        return saved

    def _save_clicked(self) -> None:
        self._runner.spawn(self.save(), name="alert-rules-save")

    def _reload(self) -> None:
        self._runner.spawn(self.load(), name="alert-rules-load")

    # --- rows ------------------------------------------------------------------------------

    def _row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _add(self) -> None:
        row = self._row()
        added = self.model.add_rule(None if row < 0 else row + 1)
        if added >= 0:
            self.table.selectRow(added)
            self.table.edit(self.model.index(added, RuleColumn.NAME))

    def _remove(self) -> None:
        row = self._row()
        if self.model.remove_rule(row) and self.model.rowCount():
            self.table.selectRow(min(row, self.model.rowCount() - 1))

    def _move(self, delta: int) -> None:
        row = self._row()
        if self.model.move_rule(row, delta):
            self.table.selectRow(row + delta)

    def _update_buttons(self) -> None:
        editable = self.model.editable
        row = self._row()
        self.add_button.setEnabled(editable)
        self.remove_button.setEnabled(editable and row >= 0)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < self.model.rowCount() - 1)
        self.save_button.setEnabled(editable and self.model.dirty)

    def _show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b91c1c;")

    def _show(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")
