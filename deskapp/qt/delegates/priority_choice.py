"""Edits a matrix cell with a combo box of the priorities, each with its colour."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from deskapp.domain.priority import PriorityDefinition
from deskapp.qt.theme import text_on

Index = QModelIndex | QPersistentModelIndex


def colour_icon(colour: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class PriorityChoiceDelegate(QStyledItemDelegate):
    """A combo box of ``priorities()`` (asked each time: the definitions may be edited)."""

    def __init__(self, priorities: Callable[[], Sequence[PriorityDefinition]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._priorities = priorities

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """The cell in its priority's colour, selected or not; selection is a frame.

        The style's selection highlight would hide the colour, the very thing the matrix
        shows (the selected cell would look like another priority).
        """
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        rect = option.rect
        painter.save()
        try:
            if isinstance(background, QColor):
                painter.fillRect(rect, background)
            if isinstance(foreground, QColor):
                painter.setPen(foreground)
            painter.drawText(rect.adjusted(4, 2, -4, -2),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             str(index.data() or ""))
            if option.state & QStyle.StateFlag.State_Selected:
                frame = text_on(background) if isinstance(background, QColor) \
                    else option.palette.text().color()
                pen = QPen(frame, 3)
                painter.setPen(pen)
                painter.drawRect(rect.adjusted(1, 1, -2, -2))
        finally:
            painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: Index) -> QWidget:
        combo = QComboBox(parent)
        combo.setObjectName("priorityChoice")
        for p in self._priorities():
            combo.addItem(colour_icon(p.colour), p.label, p.rank)
        # A choice is a choice: commit it at once rather than when the focus leaves.
        combo.activated.connect(lambda _row: self.commitData.emit(combo))
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        row = editor.findData(index.data(Qt.ItemDataRole.EditRole))
        editor.setCurrentIndex(max(row, 0))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
