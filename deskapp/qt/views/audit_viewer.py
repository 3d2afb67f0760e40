"""The audit viewer (admins): the newest rows of the trail, filtered, and "Verify chain"."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.errors import DeskappError
from deskapp.qt.models.audit_model import AuditColumn, AuditModel
from deskapp.qt.runner import DbRunner
from deskapp.services import assignment_rules, audit, caller_admin
from deskapp.services.audit import AuditRow, AuditService
from deskapp.services.intake import alert_rules, caller_review

ACTIONS = ["", audit.SIGN_IN, audit.SIGN_IN_FAILED, audit.ACCOUNT_LOCKED,
           audit.PASSWORD_CHANGED, audit.PASSWORD_RESET, audit.USER_CREATED,
           audit.INCIDENT_CREATED, audit.INCIDENT_UPDATED, audit.INCIDENT_NOTE,
           audit.CALLER_CREATED, caller_admin.CALLER_EDITED, caller_admin.CALLER_DEACTIVATED,
           caller_admin.CALLER_REACTIVATED, caller_admin.CALLERS_MERGED, audit.MATRIX_SAVED,
           audit.USER_UPDATED, audit.USER_GROUPS_SET, audit.USER_DEACTIVATED,
           audit.USER_REACTIVATED, audit.GROUP_CREATED, audit.GROUP_UPDATED,
           audit.GROUP_MEMBERS_SET, audit.GROUP_DEACTIVATED, audit.GROUP_REACTIVATED,
           audit.CATALOG_ADDED, audit.CATALOG_CHANGED, audit.CATALOG_DEACTIVATED,
           audit.CATALOG_REACTIVATED, caller_review.CALLER_REVIEWED, audit.IMPORTED,
           assignment_rules.RULE_ADDED, assignment_rules.RULE_CHANGED,
           assignment_rules.RULE_ENABLED, assignment_rules.RULE_DISABLED,
           assignment_rules.RULE_MOVED, assignment_rules.RULE_DELETED,
           alert_rules.ALERT_RULES_SAVED, alert_rules.ALERT_RULE_ADDED,
           alert_rules.ALERT_RULE_REMOVED, alert_rules.ALERT_RULES_IMPORTED,
           "change"]
PAGE = 500


NO_DATE = QDate(2000, 1, 1)
"""The date edits' "no limit" value, shown as "any"."""


def _date_edit(parent: QWidget, name: str, tip: str) -> QDateEdit:
    edit = QDateEdit(parent)
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText("any")  # shown at the minimum: no limit
    edit.setDate(NO_DATE)
    edit.setToolTip(tip + ' ("any": no limit)')
    return edit


def _day_start(day: QDate, *, after: bool = False) -> datetime | None:
    """The local midnight that starts ``day`` (or ends it, ``after``), None for no limit."""
    if day == NO_DATE or not day.isValid():
        return None
    start = datetime(day.year(), day.month(), day.day()).astimezone()
    return start + timedelta(days=1) if after else start


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text, buddy.parentWidget())
    label.setBuddy(buddy)
    return label


class AuditViewer(QWidget):
    """A window of its own; loads with ``load()`` (a coroutine run by the runner)."""

    def __init__(self, service: AuditService, runner: DbRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("auditViewer")
        self.setWindowTitle("Audit trail")
        self._service = service
        self._runner = runner
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        layout.addLayout(bar)
        self.action = QComboBox(self)
        self.action.setObjectName("actionFilter")
        for action in ACTIONS:
            self.action.addItem(action.replace("_", " ") if action else "Every action", action)
        bar.addWidget(_label("&Action:", self.action))
        bar.addWidget(self.action)
        self.actor = QLineEdit(self)
        self.actor.setObjectName("actorFilter")
        self.actor.setPlaceholderText("username or name")
        self.actor.setToolTip("Part of a username or a person's name, in any case")
        self.actor.setClearButtonEnabled(True)
        bar.addWidget(_label("&Who:", self.actor))
        bar.addWidget(self.actor)
        self.since = _date_edit(self, "sinceFilter", "The first day shown")
        bar.addWidget(_label("&From:", self.since))
        bar.addWidget(self.since)
        self.until = _date_edit(self, "untilFilter", "The last day shown")
        bar.addWidget(_label("&To:", self.until))
        bar.addWidget(self.until)
        self.reload_button = QPushButton("&Show", self)
        self.reload_button.setObjectName("showButton")
        bar.addWidget(self.reload_button)
        bar.addStretch(1)
        self.verify_button = QPushButton("&Verify chain", self)
        self.verify_button.setObjectName("verifyButton")
        bar.addWidget(self.verify_button)
        self.model = AuditModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        for column in (AuditColumn.ID, AuditColumn.AT, AuditColumn.ACTOR, AuditColumn.ACTION,
                       AuditColumn.WHAT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AuditColumn.DETAILS, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self.status = QLabel("", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.reload_button.clicked.connect(self._reload)
        self.actor.returnPressed.connect(self._reload)
        self.verify_button.clicked.connect(self._verify)
        self.resize(1100, 560)

    def _reload(self) -> None:
        self._runner.spawn(self.load(), name="audit-load")

    def _verify(self) -> None:
        self._runner.spawn(self.verify(), name="audit-verify")

    async def load(self) -> None:
        """Show the newest rows that match the filters."""
        action = self.action.currentData() or None
        actor = self.actor.text().strip() or None
        since = _day_start(self.since.date())
        until = _day_start(self.until.date(), after=True)
        if since is not None and until is not None and until <= since:
            self.status.setText("The From day is after the To day: no row can match.")
            self.model.set_rows([])
            return
        try:
            rows = await self._runner.db(self._page, action, actor, since, until)
        except DeskappError as exc:
            self.status.setText(str(exc))
            return
        self.model.set_rows(rows)
        text = (f"{len(rows):,} row{'' if len(rows) == 1 else 's'}, newest first"
                + (f" (the newest {PAGE:,})" if len(rows) == PAGE else "") + ".")
        if not rows and actor:
            text += (f" Nobody whose username or name contains '{actor}' did anything "
                     "that matches.")
        self.status.setText(text)

    def _page(self, action: str | None, actor: str | None, since: datetime | None,
              until: datetime | None) -> list[AuditRow]:
        return self._service.page(PAGE, action=action, who=actor, since=since, until=until)

    async def verify(self) -> None:
        """Check every link of the chain and say what was found."""
        self.verify_button.setEnabled(False)
        try:
            result = await self._runner.db(self._service.verify)
        except DeskappError as exc:
            self.status.setText(str(exc))
            return
        finally:
            self.verify_button.setEnabled(True)
        if result.broken is None:
            self.status.setText(f"The chain holds: {result.rows:,} rows verified.")
            self.status.setStyleSheet("")
        else:
            self.status.setText(f"The chain is broken at row {result.broken.entry_id}: "
                                f"{result.broken.reason}.")
            self.status.setStyleSheet("color: #b00020;")
