"""Tooltips show people's data as typed: Qt must never take a name for markup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument

from deskapp.domain.assignment import AssignmentRule
from deskapp.domain.audit import GENESIS, AuditEntry
from deskapp.domain.enums import AssignmentMethod, Role
from deskapp.domain.priority import default_matrix
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.activity_model import ActivityModel
from deskapp.qt.models.audit_model import AuditModel
from deskapp.qt.models.conflict_model import ConflictModel
from deskapp.qt.models.incident_list_model import IncidentListModel
from deskapp.qt.models.incident_table_model import IncidentTableModel
from deskapp.qt.models.matrix_model import MatrixModel
from deskapp.qt.models.people_models import GroupsModel, UsersModel
from deskapp.qt.models.queue_list_model import QueueListModel
from deskapp.qt.models.workload_model import WorkloadModel
from deskapp.qt.views.alert_rules_model import AlertRulesModel
from deskapp.qt.views.assignment_rules_model import AssignmentRulesModel
from deskapp.qt.views.callers_review import CallersReviewModel
from deskapp.qt.widgets.lookup import LookupItem, LookupModel
from deskapp.services.assignment_rules import RuleView
from deskapp.services.audit import AuditRow
from deskapp.services.dto import ActivityView
from deskapp.services.intake.caller_review import CallerToReview
from deskapp.services.merge import FieldConflict
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow
from deskapp.services.queues import FilterConditions, QueueKind, QueueView
from deskapp.services.workload_dto import AgentLoad, GroupLoad, Workload
from tests.qt.test_alert_rules import editor_data
from tests.qt.test_formatting import ROW
from tests.qt.test_queue_refresh import FakeQueue, NoRunnerNeeded

MARKUP = "<b>Zed</b> & <i>"
"""User data that Qt would render as "Zed & " (bold, then italic) if it took it for HTML."""

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def shown(tip: str) -> str:
    """What a tooltip shows: Qt renders it as HTML when it looks like HTML, else as is."""
    if not GuiQt.mightBeRichText(tip):
        return tip
    document = QTextDocument()
    document.setHtml(tip)
    return document.toPlainText()


@pytest.mark.parametrize("text", [
    MARKUP, "a < b & c", "a <b & c", "&lt;b&gt; is how you write <b>", "x\ny", "two  spaces",
    "<!DOCTYPE html>", "tab\there", "Zoë 'quoted' \"double\"",
])
def test_plain_tooltip_shows_the_text_as_typed(text: str) -> None:
    tip = plain_tooltip(text)
    assert shown(tip) == text


def test_an_empty_tooltip_stays_empty() -> None:
    assert plain_tooltip("") == ""


# --- every model whose tooltips carry people's data --------------------------------------

def _audit() -> QAbstractItemModel:
    model = AuditModel()
    model.set_rows([AuditRow(AuditEntry(1, AT, 1, MARKUP, "incident_created", "incident",
                                        "7", f'{{"note":"{MARKUP}"}}', GENESIS, "a" * 64),
                             "INC0000007", f"note: {MARKUP}")])
    return model


def _workload() -> QAbstractItemModel:
    agent = AgentLoad(3, 4, MARKUP, by_priority={1: 1}, open=1)
    away = AgentLoad(3, 5, MARKUP, away=True, member=False)
    pile = AgentLoad(3, None, "")
    group = GroupLoad(3, MARKUP, MARKUP, (agent, away), pile, AgentLoad(3, None, "", open=1))
    model = WorkloadModel()
    model.set_workload(Workload((1, 2), (group,), AT))
    return model


def _assignment_rules() -> QAbstractItemModel:
    rule = AssignmentRule(1, MARKUP, 3, AssignmentMethod.ROUND_ROBIN, 5, 6, True)
    model = AssignmentRulesModel()
    model.load([RuleView(rule, MARKUP, MARKUP, MARKUP)], editable=True)
    return model


def _alert_rules() -> QAbstractItemModel:
    data = editor_data()
    rules = tuple(replace(r, name=MARKUP) for r in data.rules.rules)
    model = AlertRulesModel()
    model.load(replace(data, rules=replace(data.rules, rules=rules)))
    return model


def _activity() -> QAbstractItemModel:
    model = ActivityModel(lambda view: view.body or "")
    model.set_activity([ActivityView(1, "work_note", AT, MARKUP, None, None, None, MARKUP,
                                     None, None)])
    return model


def _conflict() -> QAbstractItemModel:
    return ConflictModel([FieldConflict("short_description", "before", MARKUP, MARKUP)],
                         lambda _field, value: str(value))


def _incident_list() -> QAbstractItemModel:
    model = IncidentListModel()
    model.set_rows([replace(ROW, short_description=MARKUP, caller_name=MARKUP,
                            group_name=MARKUP)])
    return model


def _incident_table() -> QAbstractItemModel:
    model = IncidentTableModel(FakeQueue([]), NoRunnerNeeded())  # type: ignore[arg-type]
    model._replace([replace(ROW, short_description=MARKUP, caller_name=MARKUP,
                            assignee_name=MARKUP, group_name=MARKUP)], 100)
    return model


def _matrix() -> QAbstractItemModel:
    model = MatrixModel()
    model.load(default_matrix())
    assert model.setHeaderData(0, Qt.Orientation.Horizontal, MARKUP)
    return model


def _users() -> QAbstractItemModel:
    model = UsersModel(clock=lambda: AT)
    model.set_rows([UserAdminRow(1, "zed", MARKUP, "zed@example.com", Role.AGENT, True, False,
                                 0, (1,), (MARKUP,))])
    return model


def _groups() -> QAbstractItemModel:
    model = GroupsModel()
    model.set_rows([GroupAdminRow(1, MARKUP, MARKUP, 1, MARKUP, True, 1, (1,), 2)])
    return model


def _queues() -> QAbstractItemModel:
    model = QueueListModel()
    model.set_queues([QueueView("saved:4", MARKUP, MARKUP, QueueKind.SAVED,
                                FilterConditions(), 4)])
    model.set_counts({"saved:4": 2})
    return model


def _callers_review() -> QAbstractItemModel:
    model = CallersReviewModel()
    model.set_rows([CallerToReview(1, MARKUP, "zed@example.com", "INC0000001", MARKUP)])
    return model


def _lookup() -> QAbstractItemModel:
    model = LookupModel()
    model.set_items([LookupItem(1, MARKUP, detail=MARKUP)])
    return model


MODELS: dict[str, Callable[[], QAbstractItemModel]] = {
    "audit": _audit, "workload": _workload, "assignment rules": _assignment_rules,
    "activity": _activity, "conflict": _conflict, "incident list": _incident_list,
    "incident table": _incident_table, "matrix": _matrix, "users": _users,
    "groups": _groups, "queues": _queues, "callers to review": _callers_review,
    "lookup": _lookup,
}


def _tooltips(model: QAbstractItemModel) -> Iterator[str]:
    def columns(parent: QModelIndex) -> int:
        return 1 if isinstance(model, QAbstractListModel) else model.columnCount(parent)

    def walk(parent: QModelIndex) -> Iterator[str]:
        for row in range(model.rowCount(parent)):
            for column in range(columns(parent)):
                index = model.index(row, column, parent)
                tip = index.data(Qt.ItemDataRole.ToolTipRole)
                if tip:
                    yield tip
                yield from walk(index)
    yield from walk(QModelIndex())
    for orientation in Qt.Orientation.Horizontal, Qt.Orientation.Vertical:
        count = columns(QModelIndex()) if orientation == Qt.Orientation.Horizontal \
            else model.rowCount()
        for section in range(count):
            tip = model.headerData(section, orientation, Qt.ItemDataRole.ToolTipRole)
            if tip:
                yield tip


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_model_tooltips_show_names_as_typed(make: Callable[[], QAbstractItemModel]) -> None:
    tips = [shown(tip) for tip in _tooltips(make())]
    assert any(MARKUP in tip for tip in tips), tips  # the data is in some tooltip...
    for tip in tips:  # ...and wherever it is, it shows whole, tags and all
        assert "Zed" not in tip or MARKUP in tip, tip


def test_the_alert_rules_tooltips_never_render_a_rule_name_as_markup() -> None:
    tips = [shown(tip) for tip in _tooltips(_alert_rules())]
    assert tips  # the matchers column explains itself
    assert not any("Zed" in tip for tip in tips)
