"""Data > Callers to review…: callers the email intake made from unknown senders.

A table (name, email, first incident) and "Mark reviewed", which takes the flag off through
:class:`CallerReviewService` (agents, leads and admins may; others see the list read-only).
Admins also get "Merge into existing caller…" (deskapp.qt.views.callers_admin): the sender
was someone the desk knew under another address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.people import User
from deskapp.domain.text import counted
from deskapp.qt import theme
from deskapp.qt.formatting import plain_tooltip
from deskapp.qt.runner import DbRunner, describe_error
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.widgets.windows import bring_to_front
from deskapp.services.incidents import utc_now
from deskapp.services.intake.caller_review import CallerReviewService, CallerToReview
from deskapp.services.ports import Clock, UnitOfWorkFactory

if TYPE_CHECKING:
    from deskapp.services.caller_admin import CallerAdminService

HEADERS = ("Name", "Email", "First incident")
AnyIndex = QModelIndex | QPersistentModelIndex


class CallersReviewModel(QAbstractTableModel):
    """The callers to review, one row each; read-only."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CallerToReview] = []

    def set_rows(self, rows: list[CallerToReview]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> CallerToReview:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.name
            if column == 1:
                return row.email
            if column == 2:
                if not row.first_incident:
                    return "—"
                return f"{row.first_incident} {row.first_subject}"
        if role == Qt.ItemDataRole.ToolTipRole and column == 2 and row.first_subject:
            return plain_tooltip(row.first_subject)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(HEADERS)):
            return HEADERS[section]
        return None


class CallersReviewDialog(QDialog):
    """Lists the flagged callers; "Mark reviewed" clears the selected ones' flag."""

    def __init__(self, service: CallerReviewService, runner: DbRunner,
                 parent: QWidget | None = None, *,
                 admin: CallerAdminService | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callersReviewDialog")
        self._admin = admin
        self._may_merge = False
        self.setWindowTitle("Callers to review")
        self.resize(640, 360)
        self._service = service
        self._runner = runner
        self._may_review = False
        self.loaded = False
        self.model = CallersReviewModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        intro = QLabel("The email intake made these callers from senders it did not know. "
                       "Check that each is a real person you do not already know under another "
                       "address, then mark it reviewed.")
        intro.setWordWrap(True)
        self.statusLabel = QLabel()
        self.statusLabel.setObjectName("reviewStatus")
        self.statusLabel.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.markButton = QPushButton("&Mark reviewed")
        self.markButton.setObjectName("markReviewedButton")
        self.markButton.setEnabled(False)
        buttons.addButton(self.markButton, QDialogButtonBox.ButtonRole.ActionRole)
        self.mergeButton = QPushButton("Merge into e&xisting caller…")
        self.mergeButton.setObjectName("mergeIntoExistingButton")
        self.mergeButton.setEnabled(False)
        self.mergeButton.setVisible(admin is not None)
        buttons.addButton(self.mergeButton, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.statusLabel)
        layout.addWidget(buttons)
        self.markButton.clicked.connect(self.mark_selected)
        self.mergeButton.clicked.connect(self.merge_selected)
        self.table.selectionModel().selectionChanged.connect(self._update_enabled)
        self.model.modelReset.connect(self._update_enabled)

    def reload(self) -> None:
        """Read the list again (in the runner)."""
        self._runner.spawn(self._load(), name="callers to review")

    async def _load(self, message: str = "") -> None:
        try:
            self._may_review = await self._runner.db(self._service.may_review)
            if self._admin is not None:
                self._may_merge = await self._runner.db(self._admin.may_administer)
            rows = await self._runner.db(self._service.callers_to_review)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self._show(describe_error(exc), error=True)
            return
        self.model.set_rows(rows)
        self.loaded = True
        if not message:
            message = (f"{counted(len(rows), 'caller')} to review." if rows
                       else "No callers to review.")
            if rows and not self._may_review:
                message += " You may look at them; agents mark them reviewed."
        self._show(message)

    def selected_rows(self) -> list[CallerToReview]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(row) for row in rows]

    def mark_selected(self) -> None:
        """Clear the flag of the selected callers, then show the list as it is now."""
        chosen = self.selected_rows()
        if chosen:
            self.markButton.setEnabled(False)
            self._runner.spawn(self._mark(chosen), name="mark callers reviewed")

    async def _mark(self, chosen: list[CallerToReview]) -> None:
        cleared = 0
        try:
            for caller in chosen:
                cleared += await self._runner.db(self._service.mark_reviewed, caller.caller_id)
        except Exception as exc:  # the reason is what the user needs, whatever it is
            self._show(describe_error(exc), error=True)
            self._update_enabled()
            return
        message = f"Marked {counted(cleared, 'caller')} reviewed."
        if cleared < len(chosen):
            message += f" {len(chosen) - cleared} had been marked by someone else already."
        self.loaded = False
        await self._load(message)

    def _show(self, message: str, *, error: bool = False) -> None:
        self.statusLabel.setText(message)
        self.statusLabel.setStyleSheet(theme.text_style(theme.colours().error) if error else "")

    def _update_enabled(self) -> None:
        self.markButton.setEnabled(self._may_review
                                   and self.table.selectionModel().hasSelection())
        self.mergeButton.setEnabled(self._may_merge and len(self.selected_rows()) == 1)

    def merge_selected(self) -> None:
        """Pick the existing caller the selected one is, and merge it into that caller."""
        chosen = self.selected_rows()
        if self._admin is None or len(chosen) != 1 or not self._may_merge:
            return
        # Loaded on first use, to keep the app's start short.
        from deskapp.qt.views.callers_admin import merge_into_existing

        def merged(_result: object) -> None:
            # The list read again keeps saying what the merge did.
            self.loaded = False
            self._runner.spawn(self._load(self.statusLabel.text()), name="callers to review")
        merge_into_existing(self._admin, self._runner, self, chosen[0].caller_id, merged,
                            lambda text, error: self._show(text, error=error))


class CallersReviewMenu(QObject):
    """Data > Callers to review…; a child of the window (``findChild``)."""

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory, runner: DbRunner,
                 user: User, clock: Clock = utc_now) -> None:
        super().__init__(window)
        self.setObjectName("callersReviewMenu")
        self._clock = clock
        self._window = window
        self._service = CallerReviewService(uow_factory, user.id)
        self._uow_factory = uow_factory
        self._user = user
        self._runner = runner
        self.dialog: CallersReviewDialog | None = None
        self.action = QAction("Callers to &review…", window)
        self.action.setObjectName("actionCallersToReview")
        self.action.setStatusTip("Callers the email intake made from unknown senders")
        self.action.triggered.connect(self.open_dialog)
        menu = window.findChild(QMenu, "dataMenu")
        if isinstance(menu, QMenu):
            menu.addSeparator()
            menu.addAction(self.action)
        else:
            window.addAction(self.action)

    def open_dialog(self) -> CallersReviewDialog:
        """Show the dialog (one at a time), reading the list afresh."""
        if self.dialog is None:
            # The merge's service loads with the dialog, not at the app's start.
            from deskapp.services.caller_admin import CallerAdminService

            admin = CallerAdminService(self._uow_factory, self._user.id, self._clock)
            self.dialog = CallersReviewDialog(self._service, self._runner, self._window,
                                              admin=admin)
            theme.follow(self.dialog)
        self.dialog.reload()
        self.dialog.show()
        bring_to_front(self.dialog)
        return self.dialog


def install_callers_review(window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                           runner: DbRunner, user: User,
                           clock: Clock = utc_now) -> CallersReviewMenu:
    """Add Data > Callers to review… to ``window`` (after the Data menu is installed)."""
    return CallersReviewMenu(window, uow_factory=uow_factory, runner=runner, user=user,
                             clock=clock)
