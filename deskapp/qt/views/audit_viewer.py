"""The audit viewer (admins): the newest rows of the trail, filtered, and "Verify chain"."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from deskapp.domain.audit import AuditEntry
from deskapp.domain.errors import DeskappError
from deskapp.qt.models.audit_model import AuditColumn, AuditModel
from deskapp.qt.runner import DbRunner
from deskapp.services import assignment_rules, audit, caller_admin
from deskapp.services.audit import AuditService
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
        self.actor.setPlaceholderText("username")
        bar.addWidget(_label("&Who:", self.actor))
        bar.addWidget(self.actor)
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
        self.resize(900, 520)

    def _reload(self) -> None:
        self._runner.spawn(self.load(), name="audit-load")

    def _verify(self) -> None:
        self._runner.spawn(self.verify(), name="audit-verify")

    async def load(self) -> None:
        """Show the newest rows that match the filters."""
        action = self.action.currentData() or None
        actor = self.actor.text().strip() or None
        try:
            rows = await self._runner.db(self._latest, action, actor)
        except DeskappError as exc:
            self.status.setText(str(exc))
            return
        self.model.set_rows(rows)
        self.status.setText(f"{len(rows):,} rows, newest first"
                            + (f" (the newest {PAGE:,})" if len(rows) == PAGE else "") + ".")

    def _latest(self, action: str | None, actor: str | None) -> list[AuditEntry]:
        return self._service.latest(PAGE, action=action, actor=actor)

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
