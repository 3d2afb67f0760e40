"""Paints a per-priority count as a pill in the priority's colour, the count written on it."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from deskapp.qt.roles import ItemRole
from deskapp.qt.theme import text_on

_MIN_WIDTH = 22
_ROW_SPACE = 8
"""Room above and below a pill, so pills of adjacent rows do not touch."""


class PriorityCountDelegate(QStyledItemDelegate):
    """A count of incidents of one priority: a coloured pill when there are any, else blank.

    The number is always written (colour alone would not do); zero cells stay empty so the
    eye finds the priorities an agent really holds.
    """

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        colour = index.data(ItemRole.PRIORITY_COLOUR)
        count = index.data(ItemRole.COUNT)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        if widget is not None:
            widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter,
                                       widget)
        if not isinstance(count, int) or count <= 0:
            return
        text = str(count)
        metrics = opt.fontMetrics
        height = metrics.height()
        width = max(_MIN_WIDTH, metrics.horizontalAdvance(text) + 12)
        rect = opt.rect
        pill = QRectF(rect.center().x() - width / 2 + 0.5, rect.center().y() - height / 2 + 0.5,
                      width, height)
        fill = colour if isinstance(colour, QColor) else QColor("#9ca3af")
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(fill.darker(120))
            painter.setBrush(fill)
            painter.drawRoundedRect(pill, height / 2, height / 2)
            painter.setPen(text_on(fill))
            painter.setFont(opt.font)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        finally:
            painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), _MIN_WIDTH + 8),
                     max(hint.height(), option.fontMetrics.height() + _ROW_SPACE))
