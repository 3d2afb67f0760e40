"""Team > Assignment rules: the model under the model tester, the window and its dialog, on
both databases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.domain.enums import AssignmentMethod, Role
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.assignment_rules_editor import (
    CONFLICT_TEXT,
    AssignmentRulesEditor,
    RuleDialog,
)
from deskapp.qt.views.assignment_rules_model import AssignmentRulesModel, RulesColumn
from deskapp.qt.views.team_menu import TeamMenu
from deskapp.services.assignment_rules import AssignmentRuleService
from deskapp.services.catalog import CatalogService
from deskapp.services.intake.alert_rules import AlertRuleService
from tests.conftest import add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
OUTPUT = Path(__file__).resolve().parent.parent / "output"


@dataclass(frozen=True)
class Desk:
    lead: User
    desk: Group
    network: Group
    hardware: int
    printers: int
    email: int


@pytest.fixture
def desk(database: Database) -> Desk:
    """Lena leads the Service Desk; Network is someone else's; a small catalogue."""
    lead = add_user(database, "lena", Role.LEAD)
    with database.uow_factory(write=True) as uow:
        desk = uow.groups.add(Group(0, "Service Desk", lead_id=lead.id), [lead.id])
        network = uow.groups.add(Group(0, "Network"), [])
        hardware = uow.catalog.add_category("Hardware")
        printers = uow.catalog.add_category("Printer", hardware)
        email = uow.catalog.add_service("Email")
        uow.catalog.add_service("VPN")
        uow.commit()
    return Desk(lead, desk, network, hardware, printers, email)


def _editor(qtbot: QtBot, database: Database, user: User, runner: DbRunner, run: Await, *,
            can_edit: bool = True) -> AssignmentRulesEditor:
    widget = AssignmentRulesEditor(AssignmentRuleService(database.uow_factory, user.id),
                                   CatalogService(database.uow_factory), runner,
                                   can_edit=can_edit)
    qtbot.addWidget(widget)
    widget.show()
    run(widget.load())
    return widget


def _fill(dialog: RuleDialog, name: str, category: int | None, service: int | None,
          group: int, method: AssignmentMethod) -> None:
    dialog.name_edit.setText(name)
    for combo, value in ((dialog.category_combo, category), (dialog.service_combo, service),
                         (dialog.group_combo, group), (dialog.method_combo, method.value)):
        found = combo.findData(value)
        assert found >= 0, value
        combo.setCurrentIndex(found)


def _ok(qtbot: QtBot, dialog: RuleDialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_the_rules_model_passes_the_model_tester(
        qtmodeltester: ModelTester, database: Database, admin: User, desk: Desk) -> None:
    service = AssignmentRuleService(database.uow_factory, admin.id)
    service.add("Printers", desk.desk.id, AssignmentMethod.ROUND_ROBIN, desk.printers)
    service.add("Mail", desk.network.id, AssignmentMethod.GROUP_ONLY, None, desk.email)
    model = AssignmentRulesModel()
    model.load(service.rules(), editable=True)
    qtmodeltester.check(model, force_py=True)
    assert model.index(0, RulesColumn.CATEGORY).data() == "Hardware / Printer"
    assert model.index(1, RulesColumn.SERVICE).data() == "Email"
    assert model.index(0, RulesColumn.METHOD).data() == "Round robin"
    assert model.index(0, RulesColumn.ENABLED).data(Qt.ItemDataRole.CheckStateRole) == \
        Qt.CheckState.Unchecked
    requested: list[tuple[int, bool]] = []
    model.enable_requested.connect(lambda row, on: requested.append((row, on)))
    model.setData(model.index(1, RulesColumn.ENABLED), Qt.CheckState.Checked.value,
                  Qt.ItemDataRole.CheckStateRole)
    assert requested == [(1, True)]
    model.load(service.rules(), editable=False)
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.setData(model.index(0, 0), Qt.CheckState.Checked.value,
                             Qt.ItemDataRole.CheckStateRole)


def test_add_enable_move_and_delete_through_the_window(
        qtbot: QtBot, database: Database, admin: User, desk: Desk, runner: DbRunner,
        run: Await) -> None:
    editor = _editor(qtbot, database, admin, runner, run)
    stored = AssignmentRuleService(database.uow_factory, admin.id)
    assert editor.model.rowCount() == 0 and editor.add_button.isEnabled()
    assert not editor.remove_button.isEnabled()

    # Add: the service's own messages show inline and the dialog stays open.
    editor.add_button.click()
    dialog = editor.dialog
    assert dialog is not None and dialog.isVisible()
    _fill(dialog, "", desk.printers, None, desk.desk.id, AssignmentMethod.ROUND_ROBIN)
    _ok(qtbot, dialog)
    qtbot.waitUntil(dialog.error_label.isVisible)
    assert dialog.error_label.text() == "Give the rule a name."
    _fill(dialog, "Printers to the desk", None, None, desk.desk.id,
          AssignmentMethod.ROUND_ROBIN)
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: "category, a service or both" in dialog.error_label.text())
    assert dialog.isVisible()
    _fill(dialog, "Printers to the desk", desk.printers, None, desk.desk.id,
          AssignmentMethod.ROUND_ROBIN)
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: editor.model.rowCount() == 1)
    assert editor.dialog is None  # closed (and deleted) once stored
    [view] = stored.rules()
    assert (view.rule.name, view.rule.category_id, view.rule.method, view.rule.enabled) == \
        ("Printers to the desk", desk.printers, AssignmentMethod.ROUND_ROBIN, False)
    # A second rule; names are unique (the service says so, inline).
    editor.add_button.click()
    dialog = editor.dialog
    assert dialog is not None
    _fill(dialog, "printers to the DESK", None, desk.email, desk.network.id,
          AssignmentMethod.LEAST_LOADED)
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: "There is a rule named" in dialog.error_label.text())
    OUTPUT.mkdir(exist_ok=True)
    dialog.grab().save(str(OUTPUT / "assignment-rule-dialog.png"))
    _fill(dialog, "Mail to network", None, desk.email, desk.network.id,
          AssignmentMethod.LEAST_LOADED)
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: editor.model.rowCount() == 2)

    # Enable by ticking the box: stored, then shown.
    box = editor.model.index(1, RulesColumn.ENABLED)
    editor.model.setData(box, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    qtbot.waitUntil(lambda: box.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked)
    assert [v.rule.enabled for v in stored.rules()] == [False, True]
    assert "switched on" in editor.status.text()

    # Move the second rule up: it is tried first now.
    editor.table.selectRow(1)
    assert editor.up_button.isEnabled() and not editor.down_button.isEnabled()
    assert editor.enable_button.text() == "Switch o&ff"
    editor.up_button.click()
    qtbot.waitUntil(lambda: editor.model.index(0, RulesColumn.NAME).data() == "Mail to network")
    assert [v.rule.name for v in stored.rules()] == ["Mail to network", "Printers to the desk"]
    assert editor.table.selectionModel().selectedRows()[0].row() == 0  # it stays selected

    # Edit through the dialog: the method changes, the rule keeps its place and its switch.
    editor.table.selectRow(1)
    editor.edit_button.click()
    dialog = editor.dialog
    assert dialog is not None and dialog.name_edit.text() == "Printers to the desk"
    assert dialog.category_combo.currentText() == "Hardware / Printer"
    _fill(dialog, "Printers to the desk", desk.printers, None, desk.desk.id,
          AssignmentMethod.LEAST_LOADED)
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: editor.model.index(1, RulesColumn.METHOD).data() == "Least loaded")

    OUTPUT.mkdir(exist_ok=True)
    editor.grab().save(str(OUTPUT / "assignment-rules-editor.png"))

    # Delete the first.
    editor.table.selectRow(0)
    editor.remove_button.click()
    qtbot.waitUntil(lambda: editor.model.rowCount() == 1)
    assert [v.rule.name for v in stored.rules()] == ["Printers to the desk"]


def test_a_stale_change_shows_the_conflict_and_reload_shows_theirs(
        qtbot: QtBot, database: Database, admin: User, desk: Desk, runner: DbRunner,
        run: Await) -> None:
    stored = AssignmentRuleService(database.uow_factory, admin.id)
    rule = stored.add("Mail", desk.desk.id, AssignmentMethod.GROUP_ONLY, None, desk.email)
    editor = _editor(qtbot, database, admin, runner, run)
    # Someone else, on another connection, switches it on meanwhile.
    AssignmentRuleService(database.uow_factory, admin.id).set_enabled(rule.id, rule.version,
                                                                      True)
    assert not run(editor.delete_rule(0))
    assert editor.status.text() == CONFLICT_TEXT
    assert len(stored.rules()) == 1  # not removed
    # The dialog refuses a stale save too, inline.
    editor.table.selectRow(0)
    editor.edit_button.click()
    dialog = editor.dialog
    assert dialog is not None
    dialog.name_edit.setText("Mail, renamed")
    _ok(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.error_label.text() == CONFLICT_TEXT)
    assert stored.rules()[0].rule.name == "Mail"
    dialog.reject()
    assert editor.dialog is None
    editor.reload_button.click()
    qtbot.waitUntil(lambda: editor.model.index(0, RulesColumn.ENABLED).data(
        Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked)
    assert run(editor.delete_rule(0)) and stored.rules() == []


def test_agents_see_the_rules_read_only_and_leads_only_change_their_groups(
        qtbot: QtBot, database: Database, admin: User, desk: Desk, runner: DbRunner,
        run: Await) -> None:
    stored = AssignmentRuleService(database.uow_factory, admin.id)
    stored.add("Mail", desk.network.id, AssignmentMethod.GROUP_ONLY, None, desk.email)
    agent = add_user(database, "agnes", Role.AGENT)
    editor = _editor(qtbot, database, agent, runner, run, can_edit=False)
    assert editor.model.rowCount() == 1
    editor.table.selectRow(0)
    for button in (editor.add_button, editor.edit_button, editor.remove_button,
                   editor.up_button, editor.down_button, editor.enable_button):
        assert not button.isEnabled(), button.objectName()
    assert "Only team leads" in editor.status.text()
    assert not editor.model.flags(editor.model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    editor.close()
    # Lena leads the Service Desk, not Network: the service refuses, the window says why.
    lead_editor = _editor(qtbot, database, desk.lead, runner, run)
    assert not run(lead_editor.set_enabled(0, True))
    assert lead_editor.status.text().startswith("Not allowed:")
    assert "may not change the assignment rules of Network" in lead_editor.status.text()
    assert not stored.rules()[0].rule.enabled


def test_the_team_menu_opens_the_rules_window(
        qtbot: QtBot, database: Database, admin: User, desk: Desk, runner: DbRunner,
        window_settings: QSettings) -> None:
    from deskapp import app

    AssignmentRuleService(database.uow_factory, admin.id).add(
        "Printers", desk.desk.id, AssignmentMethod.ROUND_ROBIN, desk.printers)
    window = app.build_main_window(database, admin, runner, window_settings=window_settings)
    qtbot.addWidget(window)
    menu = window.findChild(TeamMenu)
    assert menu is not None
    assert menu.rules_action.text() == "Assignment &rules…"
    assert menu.rules_action in menu.menu.actions()
    menu.rules_action.trigger()
    editor = menu.rules_editor
    assert editor is not None and editor.isVisible()
    qtbot.waitUntil(lambda: editor.model.rowCount() == 1)
    assert editor.model.index(0, RulesColumn.GROUP).data() == "Service Desk"
    editor.close()


def test_the_dialog_and_the_alert_mapping_list_names_in_natural_order(
        qtbot: QtBot, database: Database, admin: User, desk: Desk, runner: DbRunner,
        run: Await) -> None:
    """"Group 2" before "Group 19" and "Subcategory 69" before "Subcategory 302", as in the
    ServiceNow log's names (they listed by code point: "Group 19, Group 2, Group 20")."""
    with database.uow_factory(write=True) as uow:
        for name in ("Group 20", "Group 2 — Network", "Group 19", "group 3"):
            uow.groups.add(Group(0, name), [])
        top = uow.catalog.add_category("Category 7")
        for name in ("Subcategory 302", "Subcategory 69", "subcategory 7"):
            uow.catalog.add_category(name, top)
        for name in ("Svc 10", "Svc 9"):
            uow.catalog.add_service(name)
        uow.commit()
    editor = _editor(qtbot, database, admin, runner, run)
    editor.add_button.click()
    dialog = editor.dialog
    assert dialog is not None

    def texts(combo: QComboBox) -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    groups = texts(dialog.group_combo)
    assert [g for g in groups if g.lower().startswith("group")] == [
        "Group 2 — Network", "group 3", "Group 19", "Group 20"]
    categories = texts(dialog.category_combo)
    assert [c for c in categories if c.startswith("Category 7 /")] == [
        "Category 7 / subcategory 7", "Category 7 / Subcategory 69",
        "Category 7 / Subcategory 302"]
    services = texts(dialog.service_combo)
    assert services.index("Svc 9") < services.index("Svc 10")
    dialog.grab().save(str(OUTPUT / "assignment-rule-dialog-natural.png"))
    dialog.reject()

    # The call and incident forms pick from the same catalogue, in the same order.
    catalog = CatalogService(database.uow_factory).form_catalog()
    assert [g.name for g in catalog.groups if g.name.lower().startswith("group")] == [
        "Group 2 — Network", "group 3", "Group 19", "Group 20"]
    # Admin > Alert mappings offers groups and services the same way.
    data = AlertRuleService(database.uow_factory, admin.id).load()
    assert [g.name for g in data.groups if g.name.lower().startswith("group")] == [
        "Group 2 — Network", "group 3", "Group 19", "Group 20"]
    labels = [s.name for s in data.services]
    assert labels.index("Svc 9") < labels.index("Svc 10")
