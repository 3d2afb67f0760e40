"""Paints the SLA cell: the time left or overdue, over a bar of the share left."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from deskapp.qt import theme
from deskapp.qt.formatting import SlaState
from deskapp.qt.roles import ItemRole

BAR_HEIGHT = 3
BAR_COLOURS = {
    SlaState.RUNNING: QColor("#2e7d32"),
    SlaState.AT_RISK: QColor("#d97706"),
    SlaState.OVERDUE: QColor("#c62828"),
    SlaState.PAUSED: QColor("#9ca3af"),
}


class SlaDelegate(QStyledItemDelegate):
    """The model's text and colours, plus a thin bar: how much of the target is left.

    A full green bar is a fresh incident; a short amber one is at risk; overdue shows a full
    red track. The text stays the model's, so copying and accessibility read the same.
    """

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        summary = index.data(ItemRole.SLA)
        if summary is None or summary.state not in BAR_COLOURS:
            return
        share = index.data(ItemRole.SLA_LEFT_SHARE)
        rect = option.rect
        track = QRectF(rect.left() + 4, rect.bottom() - BAR_HEIGHT - 1, rect.width() - 8,
                       BAR_HEIGHT)
        if track.width() <= 0:
            return
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QColor(0, 0, 0, 0))
            if summary.state == SlaState.OVERDUE:
                painter.setBrush(BAR_COLOURS[SlaState.OVERDUE])
                painter.drawRoundedRect(track, 1.5, 1.5)
                return
            painter.setBrush(theme.colours().sla_track)
            painter.drawRoundedRect(track, 1.5, 1.5)
            if isinstance(share, float) and share > 0:
                filled = QRectF(track)
                filled.setWidth(max(2.0, track.width() * share))
                painter.setBrush(BAR_COLOURS[summary.state])
                painter.drawRoundedRect(filled, 1.5, 1.5)
        finally:
            painter.restore()
