"""The priority matrix editor: its models, the cell delegate, levels, targets, save preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLineEdit, QSpinBox, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.domain.priority import default_matrix
from deskapp.persistence.database import Database
from deskapp.qt.models.matrix_model import EMPTY_TEXT, MatrixModel
from deskapp.qt.models.priority_definitions_model import (
    DefinitionColumn,
    PriorityDefinitionsModel,
)
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.matrix_editor import MatrixEditor, PreviewDialog, saved_message
from deskapp.qt.widgets.questions import Button, QuestionBox
from deskapp.services.changes import Change
from deskapp.services.matrix_admin import MatrixAdminService, SaveResult
from tests.conftest import FakeClock, add_user
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
OUTPUT = Path(__file__).resolve().parent.parent / "output"


def test_matrix_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = MatrixModel()
    model.load(default_matrix())
    qtmodeltester.check(model, force_py=True)
    assert model.add_level(H, "Very low") and model.add_level(V, "Minor")
    assert model.move_level(V, 0, 2) and model.move_level(H, 3, 0)
    assert model.remove_level(H, 1)
    qtmodeltester.check(model, force_py=True)


def test_definitions_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = PriorityDefinitionsModel()
    model.load(default_matrix().priorities)
    qtmodeltester.check(model, force_py=True)


def test_levels_from_two_to_five_and_empty_cells() -> None:
    model = MatrixModel()
    model.load(default_matrix())
    assert model.remove_level(V, 2) and model.remove_level(H, 2)
    assert not model.remove_level(V, 0), "2x2 is the smallest"
    for n in range(3):
        assert model.add_level(V, f"I{n}") and model.add_level(H, f"U{n}")
    assert (model.rowCount(), model.columnCount()) == (5, 5)
    assert not model.add_level(V, "Sixth")
    assert model.index(4, 4).data() == EMPTY_TEXT
    assert len(model.empty_cells()) == 25 - 4
    assert model.setHeaderData(0, V, "Enterprise")
    assert model.headerData(0, V) == "Enterprise"
    # The moved level keeps its number and its cells.
    assert model.index(0, 0).data(Qt.ItemDataRole.EditRole) == 1
    assert model.move_level(V, 0, 1)
    assert model.headerData(1, V) == "Enterprise"
    assert model.index(1, 0).data(Qt.ItemDataRole.EditRole) == 1


def test_targets_are_edited_in_minutes() -> None:
    model = PriorityDefinitionsModel()
    model.load(default_matrix().priorities)
    response = model.index(0, DefinitionColumn.RESPONSE)
    assert model.setData(response, 30)
    assert response.data() == "30 min"
    assert not model.setData(response, 0)
    clock = model.index(2, DefinitionColumn.CLOCK)
    assert model.setData(clock, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert clock.data() == "Business hours" and model.priorities[2].business_hours
    assert not model.setData(model.index(1, DefinitionColumn.COLOUR), "not a colour")


@pytest.fixture
def editor(qtbot: QtBot, database: Database, admin: User, runner: DbRunner, run: Await,
           clock: FakeClock, incidents: int) -> tuple[MatrixEditor, list[Change]]:
    changes: list[Change] = []
    widget = MatrixEditor(MatrixAdminService(database.uow_factory, admin.id, clock), runner,
                          on_change=changes.append)
    qtbot.addWidget(widget)
    widget.resize(900, 560)
    widget.show()
    run(widget.load())
    return widget, changes


def choose(qtbot: QtBot, editor: MatrixEditor, index: QModelIndex, rank: int) -> None:
    """Double-click the cell and pick the priority from the delegate's combo box."""
    view = editor.ui.matrixView
    view.setCurrentIndex(index)
    view.edit(index)
    combo = view.findChild(QComboBox, "priorityChoice")
    assert combo is not None
    combo.setCurrentIndex(combo.findData(rank))
    combo.activated.emit(combo.currentIndex())
    view.commitData(combo)
    view.closeEditor(combo, editor.delegate.EndEditHint.NoHint)
    qtbot.waitUntil(lambda: index.data(Qt.ItemDataRole.EditRole) == rank)


def test_edit_preview_and_recompute(qtbot: QtBot, editor: tuple[MatrixEditor, list[Change]],
                                    runner: DbRunner, database: Database) -> None:
    widget, changes = editor
    assert widget.can_edit and widget.model.rowCount() == 3
    # Medium x Medium: P3 -> P2.
    choose(qtbot, widget, widget.model.index(1, 1), 2)
    assert widget.model.index(1, 1).data() == "P2 - High"

    with database.engine.connect() as connection:
        direct = connection.execute(text(
            "SELECT count(*) FROM incidents WHERE impact = 2 AND urgency = 2 "
            "AND state IN ('new', 'in_progress', 'on_hold')")).scalar_one()
    assert direct > 0
    task = runner.spawn(widget.save())
    qtbot.waitUntil(lambda: widget.findChild(PreviewDialog) is not None
                    and widget.findChild(PreviewDialog).isVisible())
    dialog = widget.findChild(PreviewDialog)
    assert dialog is not None
    table = dialog.table
    assert table.rowCount() == 1
    assert [table.item(0, c).text() for c in range(3)] == ["P3 - Moderate", "P2 - High",
                                                           str(direct)]
    OUTPUT.mkdir(exist_ok=True)
    dialog.grab().save(str(OUTPUT / "matrix_preview.png"))
    dialog.recompute.setChecked(True)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    qtbot.waitUntil(task.done, timeout=15_000)
    result = task.result()
    assert isinstance(result, SaveResult)
    assert result.recomputed == direct
    assert len(changes) == 1 and len(changes[0].incident_ids) == direct
    qtbot.waitUntil(lambda: widget.ui.historyList.count() == 2)
    assert widget.ui.historyList.item(0).text().startswith("Version 2")
    # The save's message stays (the reload does not replace it).
    assert widget.ui.statusLabel.text() == (
        f"Saved as version 2, now in force; {direct} open incidents recomputed.")
    widget.grab().save(str(OUTPUT / "matrix_saved_message.png"))


def test_the_saved_message_counts_in_the_singular_too() -> None:
    change = Change(frozenset({7}), frozenset(), 1)
    assert saved_message(SaveResult(4, 1, change)) == (
        "Saved as version 4, now in force; 1 open incident recomputed.")
    assert saved_message(SaveResult(4, 0, change)) == "Saved as version 4, now in force."


def test_empty_cells_block_saving(qtbot: QtBot, editor: tuple[MatrixEditor, list[Change]],
                                  run: Await) -> None:
    widget, _ = editor
    widget.ui.addUrgencyButton.click()
    assert widget.model.columnCount() == 4
    assert "Empty:" in widget.ui.emptyLabel.text()
    assert "Urgency 4" in widget.ui.emptyLabel.text()
    assert run(widget.save()) is None
    assert "these are empty" in widget.ui.statusLabel.text()
    OUTPUT.mkdir(exist_ok=True)
    widget.ui.matrixView.setCurrentIndex(widget.model.index(0, 0))
    widget.grab().save(str(OUTPUT / "matrix_editor.png"))


def test_json_round_trip_and_broken_file(editor: tuple[MatrixEditor, list[Change]],
                                         tmp_path: Path) -> None:
    widget, _ = editor
    path = tmp_path / "matrix.json"
    assert widget.export_to(path)
    widget.model.setData(widget.model.index(0, 0), 5)
    assert widget.import_from(path)
    assert widget.model.index(0, 0).data(Qt.ItemDataRole.EditRole) == 1
    path.write_text('{"format": "deskapp-priority-matrix", "format_version": 1,', "utf-8")
    assert not widget.import_from(path)
    assert "not valid JSON" in widget.ui.statusLabel.text()


def test_agents_see_it_read_only(qtbot: QtBot, database: Database, runner: DbRunner,
                                 run: Await, admin: User) -> None:
    agent = add_user(database, "ann", Role.AGENT)
    widget = MatrixEditor(MatrixAdminService(database.uow_factory, agent.id), runner)
    qtbot.addWidget(widget)
    run(widget.load())
    assert not widget.can_edit
    assert not widget.ui.saveButton.isEnabled()
    index = widget.model.index(0, 0)
    assert not widget.model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert not widget.model.setData(index, 5)
    assert "read-only" in widget.ui.statusLabel.text()


def test_a_code_typed_twice_is_refused_on_save(
        qtbot: QtBot, editor: tuple[MatrixEditor, list[Change]], run: Await) -> None:
    widget, _ = editor
    widget.ui.tabs.setCurrentWidget(widget.ui.prioritiesTab)
    view = widget.ui.definitionsView
    index = widget.definitions.index(1, DefinitionColumn.CODE)
    view.setCurrentIndex(index)
    view.edit(index)
    line = view.viewport().findChild(QLineEdit)
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, "P1")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: index.data() == "P1")  # the delegate commits queued
    assert run(widget.save()) is None, "refused before the preview is asked"
    assert widget.findChild(PreviewDialog) is None
    status = widget.ui.statusLabel.text()
    assert 'Priorities 1 (Critical) and 2 (High) have the same code, "P1"' in status
    assert widget.ui.historyList.count() == 1
    OUTPUT.mkdir(exist_ok=True)
    widget.grab().save(str(OUTPUT / "matrix_duplicate_code.png"))


def _answer(qtbot: QtBot, parent: QWidget, button: Button) -> str:
    """Answer the open question box (an answered one may linger until deleteLater)."""
    def open_box() -> QuestionBox | None:
        return next((b for b in parent.findChildren(QuestionBox) if b.isVisible()), None)

    qtbot.waitUntil(lambda: open_box() is not None)
    box = open_box()
    assert box is not None
    text = box.text()
    box.button(button).click()
    return text


def test_closing_with_unsaved_changes_asks_first(
        qtbot: QtBot, editor: tuple[MatrixEditor, list[Change]], run: Await,
        runner: DbRunner) -> None:
    widget, _ = editor
    widget.ui.commentEdit.setText("just a thought")
    widget.close()  # a "Why" alone is nothing to save: closes, and is gone when reopened
    assert not widget.isVisible()
    widget.show()
    run(widget.load())
    assert widget.ui.commentEdit.text() == ""

    choose(qtbot, widget, widget.model.index(1, 1), 2)
    widget.ui.commentEdit.setText("Medium/medium up to P2")
    assert widget.has_unsaved_changes()
    widget.close()
    assert "not saved yet" in _answer(qtbot, widget, Button.Cancel)
    assert widget.isVisible() and widget.model.index(1, 1).data() == "P2 - High"
    # Opened again from the menu meanwhile: the edits stay.
    run(widget.load())
    assert widget.model.index(1, 1).data() == "P2 - High"
    assert widget.ui.commentEdit.text() == "Medium/medium up to P2"
    OUTPUT.mkdir(exist_ok=True)
    widget.close()
    qtbot.waitUntil(lambda: any(b.isVisible() for b in widget.findChildren(QuestionBox)))
    widget.grab().save(str(OUTPUT / "matrix_unsaved_question.png"))
    next(b for b in widget.findChildren(QuestionBox) if b.isVisible()).grab().save(
        str(OUTPUT / "matrix_unsaved_box.png"))
    _answer(qtbot, widget, Button.Discard)
    qtbot.waitUntil(lambda: not widget.isVisible())
    widget.show()
    run(widget.load())
    assert widget.model.index(1, 1).data() == "P3 - Moderate"
    assert widget.ui.commentEdit.text() == ""
    assert widget.ui.historyList.count() == 1

    # Save: the preview is asked, the version saved, then the window closes.
    widget.ui.timeZoneEdit.setText("Europe/Oslo")
    widget.ui.commentEdit.setText("Oslo hours")
    widget.close()
    _answer(qtbot, widget, Button.Save)
    qtbot.waitUntil(lambda: widget.findChild(PreviewDialog) is not None
                    and widget.findChild(PreviewDialog).isVisible())
    dialog = widget.findChild(PreviewDialog)
    assert dialog is not None
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: not widget.isVisible(), timeout=15_000)
    assert widget.ui.historyList.count() == 2
    assert "Oslo hours" in widget.ui.historyList.item(0).text()
    assert widget.ui.commentEdit.text() == "" and not widget.has_unsaved_changes()


def _edit_target(qtbot: QtBot, widget: MatrixEditor, row: int,
                 column: DefinitionColumn) -> QSpinBox:
    widget.ui.tabs.setCurrentWidget(widget.ui.prioritiesTab)
    view = widget.ui.definitionsView
    index = widget.definitions.index(row, column)
    view.setCurrentIndex(index)
    view.edit(index)
    # A closed editor may linger (deleteLater) next to the new one.
    box = next((b for b in view.viewport().findChildren(QSpinBox, "targetMinutes")
                if b.isVisible()), None)
    assert box is not None
    box.selectAll()
    return box


def test_a_bad_target_is_refused_with_a_message(
        qtbot: QtBot, editor: tuple[MatrixEditor, list[Change]]) -> None:
    widget, _ = editor
    response = widget.definitions.index(1, DefinitionColumn.RESPONSE)
    box = _edit_target(qtbot, widget, 1, DefinitionColumn.RESPONSE)
    assert (box.minimum(), box.maximum()) == (1, 365 * 24 * 60)
    qtbot.keyClicks(box, "-")
    assert "cannot be negative" in widget.ui.statusLabel.text()
    box.selectAll()
    qtbot.keyClicks(box, "0")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert "0 is not a target: enter from 1 minute to 525600 minutes" in (
        widget.ui.statusLabel.text())
    assert box.isVisible(), "the box stays open with what was typed"
    OUTPUT.mkdir(exist_ok=True)
    widget.grab().save(str(OUTPUT / "matrix_target_refused.png"))
    box.selectAll()
    qtbot.keyClicks(box, "45")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: response.data() == "45 min")
    # A response longer than the resolution (8 h) is refused by the model, and said so.
    box = _edit_target(qtbot, widget, 1, DefinitionColumn.RESPONSE)
    qtbot.keyClicks(box, "600")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "must not be shorter than the response target" in
                    widget.ui.statusLabel.text())
    assert response.data() == "45 min"
    assert "P2 keeps 45 min to respond and 8 h to resolve" in widget.ui.statusLabel.text()
    widget.grab().save(str(OUTPUT / "matrix_target_order.png"))


def test_targets_are_checked_by_the_domain_on_save() -> None:
    model = PriorityDefinitionsModel()
    model.load(default_matrix().priorities)
    messages: list[str] = []
    model.refused.connect(messages.append)
    assert not model.setData(model.index(2, DefinitionColumn.RESOLUTION), 60)
    assert "P3: the resolution target (60 min) must not be shorter" in messages[-1]
    assert not model.setData(model.index(2, DefinitionColumn.RESPONSE), -30)
    assert "not -30" in messages[-1]
