"""The audit trail's rows for the audit viewer, newest first."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, Qt

from deskapp.qt.formatting import format_timestamp, plain_tooltip
from deskapp.qt.models.rows_table_model import AnyIndex, RowsTableModel
from deskapp.qt.roles import ItemRole
from deskapp.services.audit import AuditRow


class AuditColumn(IntEnum):
    ID = 0
    AT = 1
    ACTOR = 2
    ACTION = 3
    WHAT = 4
    DETAILS = 5


_TITLES = {AuditColumn.ID: "#", AuditColumn.AT: "When", AuditColumn.ACTOR: "Who",
           AuditColumn.ACTION: "Action", AuditColumn.WHAT: "Record",
           AuditColumn.DETAILS: "Details"}


def _one_line(text: str, limit: int = 300) -> str:
    """Details on one line: control characters shown as spaces, long text cut."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


class AuditModel(RowsTableModel[AuditRow]):
    """Rows of the audit trail (plain data, loaded by the viewer).

    Record and Details read as words, ids as names (the service resolved them). Roles:
    DisplayRole, ToolTipRole (the details in words, then as stored: the raw JSON, and the
    row's hash), ItemRole.ROW (the AuditRow), ItemRole.ID (its id).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__([_TITLES[c] for c in AuditColumn], parent)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        shown = self._row(index)
        if shown is None:
            return None
        row = shown.entry
        column = AuditColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column == AuditColumn.ID:
                return str(row.id)
            if column == AuditColumn.AT:
                return format_timestamp(row.at)
            if column == AuditColumn.ACTOR:
                return row.actor or "(system)"
            if column == AuditColumn.ACTION:
                return row.action.replace("_", " ")
            if column == AuditColumn.WHAT:
                return _one_line(shown.record)
            return _one_line(shown.details)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{_one_line(shown.details, 2000)}\n\nAs stored: "
                                 f"{_one_line(row.details, 2000)}\nsha256 {row.hash}")
        if role == ItemRole.ROW:
            return shown
        if role == ItemRole.ID:
            return row.id
        return None
