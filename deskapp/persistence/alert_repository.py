"""The alert mapping and alert links in SQL (services.intake.alert_rules.AlertRepository)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deskapp.domain.enums import ResolutionCode
from deskapp.domain.errors import NotFoundError
from deskapp.persistence.tables import AlertLinkRecord, AlertRuleRecord, CounterRecord
from deskapp.services.intake.alert_rules import (
    AlertLink,
    AlertLinkTakenError,
    AlertRule,
    Matcher,
    MatchOp,
    RuleSet,
    stale_rules_error,
)

RULES_COUNTER = "alert_rules"
"""The counters row holding the mapping's revision (absent until the first save: 0)."""


def _rule(r: AlertRuleRecord) -> AlertRule:
    return AlertRule(
        r.name, tuple(Matcher(str(label), MatchOp(str(op)), str(value))
                      for label, op, value in r.matchers),
        r.impact, r.urgency, r.service_id, r.assignment_group_id, r.auto_resolve,
        ResolutionCode(r.resolution_code), r.id)


def _link(r: AlertLinkRecord) -> AlertLink:
    return AlertLink(r.fingerprint, r.incident_id, r.alertname, r.status, r.notifications,
                     r.first_seen, r.last_seen, r.closed_at, r.id)


class SqlAlertRepository:
    """AlertRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def rules(self) -> RuleSet:
        rows = self._session.execute(
            select(AlertRuleRecord).order_by(AlertRuleRecord.position, AlertRuleRecord.id)
        ).scalars()
        counter = self._session.get(CounterRecord, RULES_COUNTER)
        return RuleSet(tuple(_rule(r) for r in rows), counter.value if counter else 0)

    def replace_rules(self, rules: Sequence[AlertRule], expected_revision: int) -> int:
        # Lock the revision first, so that two saves from the same revision cannot both win.
        counter = self._session.execute(
            select(CounterRecord).where(CounterRecord.name == RULES_COUNTER).with_for_update()
        ).scalar_one_or_none()
        current = counter.value if counter else 0
        if current != expected_revision:
            raise stale_rules_error(current)
        if counter is None:
            counter = CounterRecord(name=RULES_COUNTER, value=0)
            self._session.add(counter)
        try:
            counter.value = current + 1
            self._session.flush()
        except IntegrityError:
            # Two first saves at once: the other inserted the counter row.
            raise stale_rules_error(current) from None
        self._session.execute(delete(AlertRuleRecord))
        self._session.add_all(
            AlertRuleRecord(position=n, name=r.name,
                            matchers=[[m.label, m.op.value, m.value] for m in r.matchers],
                            impact=r.impact, urgency=r.urgency, service_id=r.service_id,
                            assignment_group_id=r.group_id, auto_resolve=r.auto_resolve,
                            resolution_code=r.resolution_code.value)
            for n, r in enumerate(rules, 1))
        self._session.flush()
        return current + 1

    def open_link(self, fingerprint: str) -> AlertLink | None:
        record = self._session.execute(
            select(AlertLinkRecord).where(AlertLinkRecord.open_key == fingerprint)
            .with_for_update()
        ).scalar_one_or_none()
        return _link(record) if record is not None else None

    def add_link(self, link: AlertLink) -> None:
        record = AlertLinkRecord(
            fingerprint=link.fingerprint, open_key=None if link.closed_at else link.fingerprint,
            incident_id=link.incident_id, alertname=link.alertname, status=link.status,
            notifications=link.notifications, first_seen=link.first_seen,
            last_seen=link.last_seen, closed_at=link.closed_at)
        self._session.add(record)
        try:
            self._session.flush()
        except IntegrityError as exc:
            # The transaction is spoilt on PostgreSQL: the service starts it again.
            raise AlertLinkTakenError(
                f"Alert {link.fingerprint} was linked by another delivery.") from exc
        link.id = record.id

    def save_link(self, link: AlertLink) -> None:
        record = self._session.get(AlertLinkRecord, link.id)
        if record is None:
            raise NotFoundError(f"There is no alert link {link.id}.")
        record.status, record.notifications = link.status, link.notifications
        record.last_seen, record.closed_at = link.last_seen, link.closed_at
        if link.closed_at is not None:
            record.open_key = None
        self._session.flush()

    def latest_link(self, fingerprint: str) -> AlertLink | None:
        record = self._session.execute(
            select(AlertLinkRecord).where(AlertLinkRecord.fingerprint == fingerprint)
            .order_by(AlertLinkRecord.id.desc()).limit(1)).scalar_one_or_none()
        return _link(record) if record is not None else None

    def links_for_incident(self, incident_id: int) -> list[AlertLink]:
        rows = self._session.execute(
            select(AlertLinkRecord).where(AlertLinkRecord.incident_id == incident_id)
            .order_by(AlertLinkRecord.id)).scalars()
        return [_link(r) for r in rows]
