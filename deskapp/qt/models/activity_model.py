"""An incident's timeline for the detail form: newest first, with names rather than ids."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from deskapp.domain.enums import ActivityKind
from deskapp.qt import theme
from deskapp.qt.formatting import format_timestamp, plain_tooltip
from deskapp.qt.roles import ItemRole
from deskapp.services.dto import ActivityView

AnyIndex = QModelIndex | QPersistentModelIndex

KIND_TITLES = {
    ActivityKind.CREATED: "Logged",
    ActivityKind.FIELD_CHANGE: "Changed",
    ActivityKind.STATE_CHANGE: "State",
    ActivityKind.ASSIGNMENT: "Assignment",
    ActivityKind.WORK_NOTE: "Work note (internal)",
    ActivityKind.COMMENT: "Comment to the caller",
    ActivityKind.CALL: "Call",
}
# Light enough to read black text on; notes stand out from the field changes around them.
KIND_BACKGROUNDS = {
    ActivityKind.WORK_NOTE: QColor("#fff8e1"),
    ActivityKind.COMMENT: QColor("#e3f2fd"),
    ActivityKind.CALL: QColor("#e8f5e9"),
}


def _background(kind: ActivityKind) -> QColor | None:
    """The tint of an entry in the theme in force (the palette's text reads on it)."""
    colours = theme.colours()
    tints = {ActivityKind.WORK_NOTE: colours.work_note, ActivityKind.COMMENT: colours.comment,
             ActivityKind.CALL: colours.call}
    return tints.get(kind)


class ActivityFilter:
    """Which kinds of entry the timeline shows."""

    ALL: frozenset[ActivityKind] = frozenset(ActivityKind)
    NOTES: frozenset[ActivityKind] = frozenset({ActivityKind.WORK_NOTE, ActivityKind.COMMENT,
                                                ActivityKind.CALL})
    CHANGES: frozenset[ActivityKind] = frozenset({ActivityKind.CREATED,
                                                  ActivityKind.FIELD_CHANGE,
                                                  ActivityKind.STATE_CHANGE,
                                                  ActivityKind.ASSIGNMENT})


@dataclass(frozen=True)
class TimelineEntry:
    """One entry as the timeline shows it."""

    view: ActivityView
    kind: ActivityKind
    title: str
    body: str


Describe = Callable[[ActivityView], str]
"""Words for what an entry did ("Priority: P3 - Moderate → P2 - High")."""


class ActivityModel(QAbstractListModel):
    """The timeline, newest first; what each entry says is worked out when it is set.

    Roles: DisplayRole (when, who, what, then the text), ToolTipRole, BackgroundRole (notes,
    comments and calls tinted by kind), ItemRole.ID (the entry's id), ItemRole.ROW (the
    ActivityView).
    """

    def __init__(self, describe: Describe, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._describe = describe
        self._all: list[TimelineEntry] = []
        self._shown: list[TimelineEntry] = []
        self._kinds = ActivityFilter.ALL

    def set_activity(self, views: Iterable[ActivityView]) -> None:
        """Show these entries (given oldest first, as stored)."""
        self._all = [self._entry(v) for v in reversed(list(views))]
        self._refilter()

    def set_kinds(self, kinds: frozenset[ActivityKind]) -> None:
        """Show only entries of these kinds."""
        self._kinds = kinds
        self._refilter()

    def _refilter(self) -> None:
        self.beginResetModel()
        try:
            self._shown = [e for e in self._all if e.kind in self._kinds]
        finally:
            self.endResetModel()

    def _entry(self, view: ActivityView) -> TimelineEntry:
        kind = ActivityKind(view.kind)
        who = view.actor_name or "System"
        title = f"{format_timestamp(view.at)} · {who} · {KIND_TITLES[kind]}"
        return TimelineEntry(view, kind, title, self._describe(view))

    @property
    def entries(self) -> Sequence[TimelineEntry]:
        return list(self._shown)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        entry = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{entry.title}\n{entry.body}" if entry.body else entry.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(entry.title)
        if role == Qt.ItemDataRole.BackgroundRole:
            return _background(entry.kind)
        if role == ItemRole.ID:
            return entry.view.id
        if role == ItemRole.ROW:
            return entry.view
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
