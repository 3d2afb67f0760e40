"""The sidebar's queue list model, under Qt's own model tester."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from deskapp.qt.models.queue_list_model import SAVED_HEADER, QueueListModel
from deskapp.qt.roles import ItemRole
from deskapp.services.queues import (
    BUILT_IN_QUEUES,
    FilterConditions,
    QueueKind,
    QueueView,
    search_queue,
)

SAVED = QueueView("saved:4", "Network P1s", "A filter you saved", QueueKind.SAVED,
                  FilterConditions(priorities=(1,)), 4)


def titles(model: QueueListModel) -> list[str]:
    return [str(model.index(r).data()) for r in range(model.rowCount())]


def test_queues_counts_and_a_search_come_and_go(qtmodeltester: ModelTester) -> None:
    model = QueueListModel()
    qtmodeltester.check(model)
    model.set_queues([*BUILT_IN_QUEUES, SAVED])
    assert titles(model)[-2:] == [SAVED_HEADER, "Network P1s"]
    heading = model.index(len(BUILT_IN_QUEUES))
    assert heading.data(ItemRole.QUEUE) is None
    assert not heading.flags() & Qt.ItemFlag.ItemIsSelectable

    model.set_counts({"built_in:all_open": 1234, "saved:4": 1})
    all_open = model.index(model.row_of("built_in:all_open") or 0)
    assert all_open.data(ItemRole.COUNT) == 1234
    assert all_open.data(Qt.ItemDataRole.AccessibleTextRole) == "All open, 1,234 incidents"
    assert "(1 incident)" in model.index(model.rowCount() - 1).data(Qt.ItemDataRole.ToolTipRole)

    model.set_search(search_queue("vpn"))
    assert titles(model)[0] == "Search: vpn" and model.row_of("search") == 0
    assert model.row_of("built_in:all_open") == 3
    model.set_search(search_queue("vpn drops"))
    assert titles(model)[0] == "Search: vpn drops"
    assert model.count_of("built_in:all_open") == 1234  # other counts stay
    model.set_search(None)
    assert model.search is None and titles(model)[0] == "My open incidents"
    assert model.queue_at(99) is None and model.row_of("saved:99") is None
