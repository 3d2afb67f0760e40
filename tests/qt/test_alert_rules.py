"""Admin > Alert mappings: the rules model under the model tester, the editor window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import Role
from deskapp.domain.people import Group, User
from deskapp.domain.priority import default_matrix
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.alert_rules_editor import AlertRulesEditor
from deskapp.qt.views.alert_rules_model import NONE_TEXT, AlertRulesModel, RuleColumn
from deskapp.services.intake.alert_rules import (
    DEFAULT_RULES,
    AlertRuleService,
    Choice,
    RuleEditorData,
    RuleSet,
    parse_matchers,
)
from tests.conftest import add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
OUTPUT = Path(__file__).resolve().parent.parent / "output"
EDIT = Qt.ItemDataRole.EditRole


def editor_data(can_edit: bool = True) -> RuleEditorData:
    matrix = default_matrix()
    return RuleEditorData(
        rules=RuleSet(DEFAULT_RULES, 4),
        services=(Choice(7, "Online shop"), Choice(8, "Payroll")),
        groups=(Choice(3, "Web Operations"),),
        impact_levels=tuple(Choice(lvl.value, lvl.name) for lvl in matrix.impact_levels),
        urgency_levels=tuple(Choice(lvl.value, lvl.name) for lvl in matrix.urgency_levels),
        can_edit=can_edit, matrix=matrix)


def test_the_rules_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = AlertRulesModel()
    model.load(editor_data())
    qtmodeltester.check(model, force_py=True)
    assert model.add_rule(0) == 0 and model.move_rule(0, 1) and model.move_rule(3, -1)
    assert model.remove_rule(1)
    qtmodeltester.check(model, force_py=True)


def test_editing_cells_checks_what_is_typed(qtbot: QtBot) -> None:
    model = AlertRulesModel()
    model.load(editor_data())
    problems: list[str] = []
    model.problem.connect(problems.append)
    row = model.index(0, 0).row()
    cell = lambda column: model.index(row, column)  # noqa: E731
    assert model.setData(cell(RuleColumn.MATCH), 'team=web, severity=~"crit.*"')
    assert model.rules[0].matchers == parse_matchers('team="web", severity=~"crit.*"')
    assert not model.setData(cell(RuleColumn.MATCH), "severity=~(")
    assert "is not a regular expression" in problems[-1]
    assert model.setData(cell(RuleColumn.SERVICE), 8)
    assert cell(RuleColumn.SERVICE).data() == "Payroll"
    assert not model.setData(cell(RuleColumn.SERVICE), 99)
    assert model.setData(cell(RuleColumn.SERVICE), None)
    assert cell(RuleColumn.SERVICE).data() == NONE_TEXT
    assert model.setData(cell(RuleColumn.URGENCY), 3)
    # Impact 1 x urgency 3 in ITIL's matrix: the priority follows, coloured.
    assert cell(RuleColumn.PRIORITY).data() == default_matrix().priority_for(1, 3).label
    assert cell(RuleColumn.PRIORITY).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert not model.setData(cell(RuleColumn.PRIORITY), "P1")
    assert model.setData(cell(RuleColumn.AUTO_RESOLVE), Qt.CheckState.Unchecked.value,
                         Qt.ItemDataRole.CheckStateRole)
    assert not model.rules[0].auto_resolve and model.dirty


def test_read_only_for_those_who_may_not_edit() -> None:
    model = AlertRulesModel()
    model.load(editor_data(can_edit=False))
    assert not model.flags(model.index(0, RuleColumn.NAME)) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(model.index(0, RuleColumn.NAME), "Mine")
    assert model.add_rule() == -1 and not model.remove_rule(0)


@pytest.fixture
def editor(qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
           run: Await) -> AlertRulesEditor:
    with database.uow_factory(write=True) as uow:
        uow.groups.add(Group(0, "Web Operations"))
        uow.catalog.add_service("Online shop")
        uow.commit()
    widget = AlertRulesEditor(AlertRuleService(database.uow_factory, admin.id), runner)
    qtbot.addWidget(widget)
    run(widget.load())
    return widget


def test_the_editor_saves_and_refuses_a_stale_save(
        qtbot: QtBot, editor: AlertRulesEditor, database: Database, admin: User,
        run: Await) -> None:
    assert editor.model.rowCount() == len(DEFAULT_RULES)
    assert not editor.save_button.isEnabled()
    editor.table.selectRow(0)
    editor.add_button.click()
    assert editor.model.rowCount() == len(DEFAULT_RULES) + 1
    qtbot.keyClick(editor.table.focusWidget() or editor.table, Qt.Key.Key_Escape)
    model = editor.model
    assert model.setData(model.index(1, RuleColumn.NAME), "Shop alerts")
    assert model.setData(model.index(1, RuleColumn.MATCH), "service=shop")
    # The group comes from a list, as a user picks it.
    group_cell = model.index(1, RuleColumn.GROUP)
    editor.table.setCurrentIndex(group_cell)
    editor.table.edit(group_cell)
    combo = editor.table.findChild(QComboBox, "ruleChoice")
    assert combo is not None
    assert [combo.itemText(i) for i in range(combo.count())] == [NONE_TEXT, "Web Operations"]
    combo.setCurrentIndex(1)
    editor.table.commitData(combo)
    editor.table.closeEditor(combo, editor.table.itemDelegate().EndEditHint.NoHint)
    assert group_cell.data() == "Web Operations"
    editor.table.selectRow(1)
    editor.up_button.click()
    assert model.index(0, RuleColumn.NAME).data() == "Shop alerts"
    OUTPUT.mkdir(exist_ok=True)
    editor.show()
    editor.grab().save(str(OUTPUT / "alert-rules-editor.png"))
    # Someone else saves meanwhile (the command line, another desk).
    other = AlertRuleService(database.uow_factory, admin.id)
    other.remove(3)
    assert run(editor.save()) is None
    assert "Someone else saved the alert mappings" in editor.status.text()
    run(editor.load())
    assert editor.model.rowCount() == len(DEFAULT_RULES) - 1
    assert editor.model.setData(editor.model.index(0, RuleColumn.NAME), "Critical only")
    saved = run(editor.save())
    assert saved is not None and editor.status.text() == f"Saved {len(saved.rules)} rules."
    assert other.rules().rules[0].name == "Critical only"
    assert not editor.save_button.isEnabled()


def test_agents_see_the_mapping_read_only(qtbot: QtBot, database: Database, runner: DbRunner,
                                          run: Await) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    widget = AlertRulesEditor(AlertRuleService(database.uow_factory, agent.id), runner)
    qtbot.addWidget(widget)
    run(widget.load())
    assert widget.model.rowCount() == len(DEFAULT_RULES)
    assert not widget.add_button.isEnabled() and not widget.save_button.isEnabled()
    assert "Only admins and team leads" in widget.status.text()
    assert not widget.model.flags(widget.model.index(0, RuleColumn.MATCH)) \
        & Qt.ItemFlag.ItemIsEditable


def test_the_admin_menu_opens_the_alert_mappings(
        qtbot: QtBot, database: Database, admin: User, runner: DbRunner,
        window_settings: QSettings) -> None:
    from deskapp import app
    from deskapp.qt.views.admin_menu import AdminMenu

    window = app.build_main_window(database, admin, runner, window_settings=window_settings)
    qtbot.addWidget(window)
    menu = window.findChild(AdminMenu)
    assert menu is not None
    assert menu.alert_rules_action.text() == "&Alert mappings…"
    menu.alert_rules_action.trigger()
    editor = menu.alert_rules_editor
    assert editor is not None
    qtbot.waitUntil(lambda: editor.model.rowCount() == len(DEFAULT_RULES))
    assert editor.model.index(0, RuleColumn.NAME).data() == "Critical alerts"
    editor.close()
