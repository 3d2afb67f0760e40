"""Paints the priority cell as a coloured badge with the priority's code, then its name."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from deskapp.qt.roles import ItemRole
from deskapp.qt.theme import text_on

_GAP = 6


class PriorityDelegate(QStyledItemDelegate):
    """"P1" on the priority's colour (in black or white, by contrast), then "Critical" in the
    normal text colour.

    Colour alone would not do (colour-blind users, greyscale printouts): the code is always
    written on the badge.
    """

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        colour = index.data(ItemRole.PRIORITY_COLOUR)
        text = str(index.data() or "")
        if not isinstance(colour, QColor) or " - " not in text:
            super().paint(painter, option, index)
            return
        code, name = text.split(" - ", 1)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = QIcon()  # the badge replaces the model's dot
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        widget = opt.widget
        if widget is not None:
            widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter,
                                       widget)
        metrics = opt.fontMetrics
        rect = opt.rect.adjusted(4, 0, -4, 0)
        height = metrics.height()
        badge = QRectF(rect.left(), rect.center().y() - height / 2 + 0.5,
                       metrics.horizontalAdvance(code) + 10, height)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(colour.darker(120))
            painter.setBrush(colour)
            painter.drawRoundedRect(badge, 3, 3)
            painter.setPen(text_on(colour))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, code)
            painter.setPen(opt.palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
            name_rect = rect.adjusted(int(badge.width()) + _GAP, 0, 0, 0)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(name, Qt.TextElideMode.ElideRight,
                                                name_rect.width()))
        finally:
            painter.restore()
