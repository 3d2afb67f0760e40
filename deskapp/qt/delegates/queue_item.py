"""Paints a sidebar queue: its title, and its count in a pill on the right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from deskapp.qt import theme
from deskapp.qt.roles import ItemRole

ATTENTION_KEYS = frozenset({"built_in:sla_attention"})
"""Queues whose count is a warning when it is not zero."""
_PAD = 8


class QueueItemDelegate(QStyledItemDelegate):
    """Title left, count right; the heading row in small muted capitals."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        queue = index.data(ItemRole.QUEUE)
        if queue is None:
            self._paint_heading(painter, option, str(index.data() or ""))
            return
        count = index.data(ItemRole.COUNT)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = "" if count is None else f"{count:,}"
        metrics = opt.fontMetrics
        pill_width = metrics.horizontalAdvance(text) + 12 if text else 0
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = opt.rect.adjusted(_PAD, 0, -_PAD, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        colour_role = QPalette.ColorRole.HighlightedText if selected else \
            QPalette.ColorRole.Text
        painter.save()
        try:
            painter.setPen(opt.palette.color(colour_role))
            title_rect = rect.adjusted(0, 0, -(pill_width + 6), 0)
            title = metrics.elidedText(str(index.data() or ""), Qt.TextElideMode.ElideRight,
                                       title_rect.width())
            painter.drawText(title_rect, Qt.AlignmentFlag.AlignVCenter, title)
            if text:
                height = metrics.height() + 2
                pill = QRect(rect.right() - pill_width, rect.center().y() - height // 2 + 1,
                             pill_width, height)
                warn = queue.key in ATTENTION_KEYS and count > 0
                colours = theme.colours()
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colours.attention if warn else colours.pill)
                painter.drawRoundedRect(pill, height / 2, height / 2)
                painter.setPen(colours.attention_text if warn else colours.pill_text)
                painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        finally:
            painter.restore()

    def _paint_heading(self, painter: QPainter, option: QStyleOptionViewItem,
                       text: str) -> None:
        painter.save()
        try:
            font = QFont(option.font)
            font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
            font.setBold(True)
            font.setCapitalization(QFont.Capitalization.AllUppercase)
            painter.setFont(font)
            painter.setPen(theme.colours().heading)
            rect = option.rect.adjusted(_PAD, 4, -_PAD, 0)
            painter.drawText(rect, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
                             text)
        finally:
            painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        height = option.fontMetrics.height()
        extra = 16 if index.data(ItemRole.QUEUE) is None else 10
        return QSize(180, height + extra)
