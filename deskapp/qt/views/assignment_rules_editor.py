"""Team > Assignment rules: which group (and agent) new incidents of a category or service go to.

The window comes from ui/assignment_rules_editor.ui (compiled by ``make ui``): one table over
AssignmentRulesModel, in the order the rules are tried, with buttons to add,
edit, remove, reorder and switch rules on and off. Every button calls AssignmentRuleService
off the GUI thread and then reloads, so the table always shows what is stored; a rule that
someone changed meanwhile is never overwritten (the service's versions), and the window says
so and offers Reload. Those who may not manage rules see the list read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.assignment import MAX_RULE_NAME, AssignmentRule
from deskapp.domain.enums import AssignmentMethod
from deskapp.domain.errors import (
    ConflictError,
    DeskappError,
    PermissionDeniedError,
    ValidationError,
)
from deskapp.qt.formatting import natural_key
from deskapp.qt.generated.assignment_rules_editor_ui import Ui_AssignmentRulesEditor
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.assignment_rules_model import (
    NONE_TEXT,
    AssignmentRulesModel,
    RulesColumn,
)
from deskapp.qt.views.catalog_pickers import INACTIVE
from deskapp.services.assignment_rules import AssignmentRuleService, RuleView
from deskapp.services.catalog import CatalogService, FormCatalog

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #b91c1c;"
CONFLICT_TEXT = ("Someone else changed or removed this rule after you loaded the list; "
                 "nothing was changed. Reload to see theirs, then try again.")


def permission_text(exc: PermissionDeniedError) -> str:
    """A permission error as this window shows it."""
    return f"Not allowed: {exc} Nothing was changed."


def category_choices(catalog: FormCatalog, keep: int | None = None) -> list[tuple[int, str]]:
    """Active categories by name, each followed by its active subcategories as
    "Category / Sub"; ``keep`` (what the rule names) is offered even if inactive."""
    out: list[tuple[int, str]] = []
    kept = next((c for c in catalog.categories if c.id == keep), None)
    keep_top = kept.parent_id if kept is not None and kept.parent_id is not None else keep
    for top in sorted(catalog.top_categories(keep_top), key=lambda c: natural_key(c.name)):
        out.append((top.id, top.name + ("" if top.active else INACTIVE)))
        subs = catalog.subcategories(top.id, keep)
        out.extend((s.id, f"{top.name} / {s.name}" + ("" if s.active else INACTIVE))
                   for s in sorted(subs, key=lambda c: natural_key(c.name)))
    return out


class RuleDialog(QDialog):
    """Add or edit one rule: name, category, service, group and method.

    OK hands the rule to ``submit`` (the service call, off the GUI thread); the dialog stays
    open with the service's message inline when it refuses (validation, permission, a stale
    version) and closes once the rule is stored.

    Signals:
        saved(object): the stored AssignmentRule.
    """

    saved = Signal(object)

    def __init__(self, catalog: FormCatalog, rule: AssignmentRule | None,
                 submit: Callable[[AssignmentRule], Awaitable[AssignmentRule]],
                 runner: DbRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assignmentRuleDialog")
        self.setWindowTitle("New assignment rule" if rule is None else
                            f"Edit rule '{rule.name}'")
        self._rule = rule
        self._submit = submit
        self._runner = runner
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("ruleName")
        self.name_edit.setMaxLength(MAX_RULE_NAME + 20)  # longer is refused with a message
        self.name_edit.setPlaceholderText("e.g. Printers to the Service Desk")
        form.addRow("&Name:", self.name_edit)
        # New choices come from active rows; what the rule names stays offered.
        self.category_combo = self._combo("ruleCategory", [
            (None, NONE_TEXT), *category_choices(catalog, rule.category_id if rule else None)])
        form.addRow("&Category:", self.category_combo)
        services = sorted(catalog.active_services(rule.service_id if rule else None),
                          key=lambda s: natural_key(s.name))
        self.service_combo = self._combo("ruleService", [
            (None, NONE_TEXT),
            *((s.id, s.name + ("" if s.active else INACTIVE)) for s in services)])
        form.addRow("&Service:", self.service_combo)
        # Inactive groups get no new rules; a rule of one keeps showing its group.
        groups = sorted((g for g in catalog.groups
                         if g.active or (rule is not None and g.id == rule.group_id)),
                        key=lambda g: natural_key(g.name))
        self.group_combo = self._combo("ruleGroup", [(g.id, g.name) for g in groups])
        form.addRow("&Group:", self.group_combo)
        self.method_combo = self._combo("ruleMethod", [(m.value, m.label.capitalize())
                                                       for m in AssignmentMethod])
        self.method_combo.setToolTip("Group only: the incident waits in the group's queue. "
                                     "Round robin: agents in turn. Least loaded: the agent "
                                     "with the least open work, weighted by priority. "
                                     "Agents marked away are skipped.")
        form.addRow("&Method:", self.method_combo)
        layout.addLayout(form)
        hint = QLabel("A rule needs a category, a service or both; a category matches its "
                      "subcategories too. New rules start switched off.", self)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("ruleError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Add rule" if rule is None else "&Save")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name_edit.textEdited.connect(lambda _text: self.error_label.hide())
        if rule is not None:
            self.name_edit.setText(rule.name)
            self._select(self.category_combo, rule.category_id)
            self._select(self.service_combo, rule.service_id)
            self._select(self.group_combo, rule.group_id)
            self._select(self.method_combo, rule.method.value)
        self.resize(460, self.sizeHint().height())

    def _combo(self, name: str, items: list[tuple[object, str]]) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        for value, text in items:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(lambda _i: self.error_label.hide())
        return combo

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        found = combo.findData(value)
        if found >= 0:
            combo.setCurrentIndex(found)

    def rule(self) -> AssignmentRule:
        """The rule as the fields say (id and version of the rule edited; 0 when new)."""
        base = self._rule or AssignmentRule(0, "", 0)
        return AssignmentRule(
            base.id, self.name_edit.text(), self.group_combo.currentData() or 0,
            AssignmentMethod(self.method_combo.currentData()),
            self.category_combo.currentData(), self.service_combo.currentData(),
            base.enabled, base.position, base.last_assignee_id, base.version)

    def accept(self) -> None:
        # The service decides; the dialog closes when it has stored the rule.
        self._runner.spawn(self.submit(), name="assignment rule save")

    async def submit(self) -> AssignmentRule | None:
        """Store the rule through the service; None (and a message here) if refused."""
        if self.group_combo.currentData() is None:
            self.show_error("Choose the group the incidents go to.")
            return None
        self.ok_button.setEnabled(False)
        try:
            stored = await self._submit(self.rule())
        except ValidationError as exc:
            self.show_error(str(exc))
            focus = {"name": self.name_edit, "category_id": self.category_combo}
            widget = focus.get(exc.field or "")
            if widget is not None:
                widget.setFocus()
            return None
        except ConflictError:
            self.show_error(CONFLICT_TEXT)
            return None
        except PermissionDeniedError as exc:
            self.show_error(permission_text(exc))
            return None
        except Exception as exc:
            log.warning("Storing an assignment rule failed", exc_info=exc)
            self.show_error(describe_error(exc))
            return None
        finally:
            self.ok_button.setEnabled(True)
        self.saved.emit(stored)
        super().accept()
        return stored

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()


class AssignmentRulesEditor(QWidget):
    """The assignment rules window.

    Args:
        service: the rules service, acting as the signed-in user.
        catalog: categories, services and groups for the rule dialog.
        runner: runs the service calls off the GUI thread.
        can_edit: whether the user may manage rules at all (agents may not); the service
            still checks every change, and leads only reach their own groups' rules.
    """

    def __init__(self, service: AssignmentRuleService, catalog: CatalogService,
                 runner: DbRunner, *, can_edit: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._service = service
        self._catalog_service = catalog
        self._runner = runner
        self._can_edit = can_edit
        self._catalog: FormCatalog | None = None
        self.dialog: RuleDialog | None = None
        self.model = AssignmentRulesModel(self)
        self._ui = Ui_AssignmentRulesEditor()
        self._ui.setupUi(self)  # type: ignore[no-untyped-call]
        ui = self._ui
        self.table = ui.assignmentRulesTable
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.doubleClicked.connect(lambda _index: self._edit())
        self.add_button = ui.addAssignmentRule
        self.edit_button = ui.editAssignmentRule
        self.remove_button = ui.removeAssignmentRule
        self.up_button = ui.moveAssignmentRuleUp
        self.down_button = ui.moveAssignmentRuleDown
        self.enable_button = ui.toggleAssignmentRule
        self.reload_button = ui.reloadAssignmentRules
        self.status = ui.statusLabel
        for button, slot in ((self.add_button, self._add), (self.edit_button, self._edit),
                             (self.remove_button, self._remove),
                             (self.up_button, lambda: self._move(-1)),
                             (self.down_button, lambda: self._move(1)),
                             (self.enable_button, self._toggle),
                             (self.reload_button, self._reload)):
            button.clicked.connect(slot)
        self.setObjectName("assignmentRulesEditor")
        self.model.enable_requested.connect(self._on_enable_requested)
        self.model.modelReset.connect(self._update_buttons)
        self.table.selectionModel().selectionChanged.connect(
            lambda _selected, _deselected: self._update_buttons())
        self.resize(900, 420)
        self._update_buttons()

    # --- loading ---------------------------------------------------------------------------

    async def load(self, select_id: int | None = None) -> None:
        """Read the rules and the dialog's choices afresh; select ``select_id`` (or keep the
        selected rule) afterwards."""
        if select_id is None:
            row = self._row()
            select_id = self.model.rule_at(row).rule.id if row >= 0 else None
        try:
            rules = await self._runner.db(self._service.rules)
            self._catalog = await self._runner.db(self._catalog_service.form_catalog)
        except DeskappError as exc:
            self._show_problem(describe_error(exc))
            return
        self.model.load(rules, self._can_edit)
        self.table.resizeColumnsToContents()
        if select_id is not None and self.model.row_of(select_id) >= 0:
            self.table.selectRow(self.model.row_of(select_id))
        on = sum(1 for r in rules if r.rule.enabled)
        text = f"{len(rules)} rule{'s' if len(rules) != 1 else ''}, {on} switched on."
        if not self._can_edit:
            text += " Only team leads (for their groups), managers and admins change them."
        self._show(text)

    def _reload(self) -> None:
        self._runner.spawn(self.load(), name="assignment rules load")

    # --- changes ---------------------------------------------------------------------------

    async def _change(self, call: Callable[[], object], done: str,
                      select_id: int | None = None) -> bool:
        """Run one service call; reload on success, say why on failure."""
        try:
            await self._runner.db(call)
        except ConflictError:
            self._show_problem(CONFLICT_TEXT)
            return False
        except PermissionDeniedError as exc:
            self._show_problem(permission_text(exc))
            return False
        except Exception as exc:
            self._show_problem(describe_error(exc))
            return False
        await self.load(select_id)
        self._show(done)
        return True

    async def set_enabled(self, row: int, enabled: bool) -> bool:
        """Switch the rule on ``row`` on or off."""
        rule = self.model.rule_at(row).rule
        return await self._change(
            lambda: self._service.set_enabled(rule.id, rule.version, enabled),
            f"Rule '{rule.name}' switched {'on' if enabled else 'off'}.", rule.id)

    async def move_rule(self, row: int, delta: int) -> bool:
        """Exchange the rule on ``row`` with its neighbour above (-1) or below (+1)."""
        target = row + delta
        if not (0 <= row < self.model.rowCount() and 0 <= target < self.model.rowCount()):
            return False
        rule = self.model.rule_at(row).rule
        other = self.model.rule_at(target).rule
        return await self._change(
            lambda: self._service.swap(rule.id, rule.version, other.id, other.version),
            f"Rule '{rule.name}' moved {'up' if delta < 0 else 'down'}.", rule.id)

    async def delete_rule(self, row: int) -> bool:
        """Remove the rule on ``row``."""
        rule = self.model.rule_at(row).rule
        return await self._change(lambda: self._service.delete(rule.id, rule.version),
                                  f"Rule '{rule.name}' removed.")

    def open_dialog(self, row: int | None = None) -> RuleDialog | None:
        """The add dialog (``row`` None) or the edit dialog of the rule on ``row``."""
        if self._catalog is None:
            self._show_problem("The rules are still loading.")
            return None
        rule = None if row is None else self.model.rule_at(row).rule

        async def submit(changed: AssignmentRule) -> AssignmentRule:
            if rule is None:
                return await self._runner.db(
                    self._service.add, changed.name, changed.group_id, changed.method,
                    changed.category_id, changed.service_id)
            return await self._runner.db(self._service.save, changed)

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.close()
        dialog = RuleDialog(self._catalog, rule, submit, self._runner, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._on_saved)
        dialog.finished.connect(lambda _result: self._forget(dialog))
        self.dialog = dialog
        # open(), not exec(): a nested event loop would stall the coroutines.
        dialog.open()
        return dialog

    def _forget(self, dialog: RuleDialog) -> None:
        # The dialog deletes itself on close; no reference may outlive it.
        if self.dialog is dialog:
            self.dialog = None

    def _on_saved(self, rule: AssignmentRule) -> None:
        self._runner.spawn(self._after_save(rule), name="assignment rules load")

    async def _after_save(self, rule: AssignmentRule) -> None:
        await self.load(rule.id)
        self._show(f"Rule '{rule.name}' saved" + ("." if rule.enabled else
                                                  " (switched off until you switch it on)."))

    # --- buttons ---------------------------------------------------------------------------

    def _row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _add(self) -> None:
        self.open_dialog()

    def _edit(self) -> None:
        row = self._row()
        if self._can_edit and row >= 0:
            self.open_dialog(row)

    def _remove(self) -> None:
        row = self._row()
        if row >= 0:
            self._runner.spawn(self.delete_rule(row), name="assignment rule delete")

    def _move(self, delta: int) -> None:
        row = self._row()
        if row >= 0:
            self._runner.spawn(self.move_rule(row, delta), name="assignment rule move")

    def _toggle(self) -> None:
        row = self._row()
        if row >= 0:
            enabled = not self.model.rule_at(row).rule.enabled
            self._runner.spawn(self.set_enabled(row, enabled), name="assignment rule switch")

    def _on_enable_requested(self, row: int, enabled: bool) -> None:
        self._runner.spawn(self.set_enabled(row, enabled), name="assignment rule switch")

    def _update_buttons(self) -> None:
        row = self._row()
        editable = self._can_edit
        chosen = editable and row >= 0
        self.add_button.setEnabled(editable)
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
        self.up_button.setEnabled(chosen and row > 0)
        self.down_button.setEnabled(chosen and row < self.model.rowCount() - 1)
        self.enable_button.setEnabled(chosen)
        on = row >= 0 and self.model.rule_at(row).rule.enabled
        self.enable_button.setText("Switch o&ff" if on else "Switch &on")

    def _show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE)

    def _show(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")


__all__ = ["AssignmentRulesEditor", "RuleDialog", "RuleView", "RulesColumn"]
