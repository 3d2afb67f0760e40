"""The rows of Admin > Users… and Admin > Groups…: plain data, loaded by the windows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.models.rows_table_model import AnyIndex, RowsTableModel
from deskapp.qt.roles import ItemRole
from deskapp.services.incidents import utc_now
from deskapp.services.people_dto import GroupAdminRow, UserAdminRow

Row = TypeVar("Row", UserAdminRow, GroupAdminRow)

INACTIVE_COLOUR = QColor("#6b7280")


class UserColumn(IntEnum):
    NAME = 0
    USERNAME = 1
    ROLE = 2
    GROUPS = 3
    STATUS = 4


class GroupColumn(IntEnum):
    NAME = 0
    DESCRIPTION = 1
    LEAD = 2
    MEMBERS = 3
    OPEN = 4
    STATUS = 5


def user_status(row: UserAdminRow, now: datetime) -> str:
    """Active / inactive, and what else an admin should see at a glance."""
    parts = ["Active" if row.active else "Inactive"]
    if row.active and row.away:
        parts.append("away")
    if row.locked(now):
        parts.append(f"locked until {row.locked_until:%H:%M} UTC")
    if row.must_change:
        parts.append("must choose a new password")
    return ", ".join(parts)


class _RowsModel(RowsTableModel[Row]):
    """A read-only table of frozen rows with an ``id`` and an ``active`` flag.

    Roles: DisplayRole, ForegroundRole (inactive rows greyed), ToolTipRole, ItemRole.ROW
    (the row), ItemRole.ID (its id), ItemRole.SORT_VALUE (counts; None for text columns,
    which sort naturally by their text).
    """

    def row_of(self, record_id: int) -> int:
        """The row number of the record with this id, or -1."""
        return next((i for i, r in enumerate(self._rows) if r.id == record_id), -1)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self._row(index)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._text(row, index.column()))
        if role == Qt.ItemDataRole.ForegroundRole and not row.active:
            return INACTIVE_COLOUR
        if role == ItemRole.ROW:
            return row
        if role == ItemRole.ID:
            return row.id
        if role == ItemRole.SORT_VALUE:
            return self._sort_value(row, index.column())
        return None

    def _text(self, row: Row, column: int) -> str:
        raise NotImplementedError

    def _sort_value(self, row: Row, column: int) -> int | None:
        """The number a column sorts by, or None to sort by the shown text."""
        return None


class UsersModel(_RowsModel[UserAdminRow]):
    """The desk's people, one row each (see _RowsModel for the roles)."""

    def __init__(self, parent: QObject | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(["Name", "Username", "Role", "Groups", "Status"], parent)
        self._clock = clock

    def _text(self, row: UserAdminRow, column: int) -> str:
        if column == UserColumn.NAME:
            return row.full_name
        if column == UserColumn.USERNAME:
            return row.username
        if column == UserColumn.ROLE:
            return row.role.value.capitalize()
        if column == UserColumn.GROUPS:
            return ", ".join(row.group_names)
        return user_status(row, self._clock())


class GroupsModel(_RowsModel[GroupAdminRow]):
    """The assignment groups, one row each (see _RowsModel for the roles)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(["Name", "Description", "Lead", "Members", "Open", "Status"], parent)

    def _text(self, row: GroupAdminRow, column: int) -> str:
        if column == GroupColumn.NAME:
            return row.name
        if column == GroupColumn.DESCRIPTION:
            return row.description
        if column == GroupColumn.LEAD:
            return row.lead_name
        if column == GroupColumn.MEMBERS:
            return str(row.member_count)
        if column == GroupColumn.OPEN:
            return f"{row.open_incidents:,}"
        return "Active" if row.active else "Inactive"

    def _sort_value(self, row: GroupAdminRow, column: int) -> int | None:
        if column == GroupColumn.MEMBERS:
            return row.member_count
        if column == GroupColumn.OPEN:
            return row.open_incidents
        return None
