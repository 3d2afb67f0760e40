"""The base of the small list-backed tables: counts, headers, resets, stale indexes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from deskapp.qt.models.rows_table_model import AnyIndex, RowsTableModel


class _Words(RowsTableModel[str]):
    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        word = self._row(index)
        if word is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        return word if index.column() == 0 else str(len(word))


def test_rows_counts_and_headers(qtmodeltester: ModelTester) -> None:
    model = _Words(["Word", "Length"], row_numbers=True)
    model.set_rows(["alpha", "be", "gamma"])
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (3, 2)
    assert model.rowCount(model.index(0, 0)) == 0  # flat: no children
    assert model.data(model.index(1, 1)) == "2"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Length"
    assert model.headerData(2, Qt.Orientation.Vertical) == "3"
    assert model.headerData(5, Qt.Orientation.Horizontal) is None
    assert model.rows == ["alpha", "be", "gamma"]
    assert model.row_at(3) is None and model.row_at(-1) is None


def test_without_row_numbers_the_vertical_header_is_empty() -> None:
    model = _Words(["Word", "Length"])
    model.set_rows(["x"])
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_set_rows_is_one_reset_and_old_indexes_read_nothing(qtbot: QtBot) -> None:
    model = _Words(["Word", "Length"])
    model.set_rows(["one", "two", "three"])
    stale = model.index(2, 0)
    with qtbot.waitSignal(model.modelReset, timeout=1000):
        model.set_rows(["only"])
    assert model.rowCount() == 1
    assert model.data(stale) is None  # row 2 is gone: no IndexError
    assert model.data(QModelIndex()) is None
