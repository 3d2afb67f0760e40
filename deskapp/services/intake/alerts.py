"""Monitoring alerts become incidents: Prometheus Alertmanager webhook notifications.

One incident per alert fingerprint while it fires. A repeat notification adds a work note;
a resolved alert adds a note and, if the mapping says so, resolves the incident. A new
firing after the incident was resolved opens a new incident. Each notification is one
transaction, retried when a concurrent delivery of the same alert wins a race.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from deskapp.domain.enums import Channel, Role, State
from deskapp.domain.errors import ConflictError, NotFoundError, ValidationError
from deskapp.domain.incident import MAX_DESCRIPTION, MAX_SHORT_DESCRIPTION, Incident
from deskapp.domain.people import Caller, User
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.incidents import utc_now
from deskapp.services.intake.alert_rules import (
    AlertLink,
    AlertLinkTakenError,
    AlertUnitOfWork,
    AlertUnitOfWorkFactory,
    first_match,
    fit_to_matrix,
)
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock

MONITORING_USERNAME = "monitoring"
"""The system account that records alert incidents (created on first use)."""
MONITORING_CALLER = "Monitoring (Alertmanager)"
"""The caller of alert incidents: nobody phoned, the monitoring system reported it."""
MAX_ALERTS = 1000
"""More alerts than this in one notification is not Alertmanager talking."""
_ATTEMPTS = 5


class AlertFormatError(ValidationError):
    """The notification is not Alertmanager's webhook JSON; the message says where."""


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or "alert"

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True)
class AlertNotification:
    """An Alertmanager webhook notification (payload version 4)."""

    receiver: str
    status: str
    alerts: tuple[Alert, ...]
    group_key: str
    common_labels: Mapping[str, str]
    external_url: str


def _fail(where: str, what: str) -> AlertFormatError:
    return AlertFormatError(f"Not an Alertmanager notification: {where} {what}.")


def _strings(value: Any, where: str, *, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _fail(where, "must be an object whose values are strings")
    return dict(value)


def _string(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(f"{where}{key}", "must be a string")
    return value


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    text = _string(data, key, where)
    if not text:
        return None
    try:
        # Go writes nanoseconds; Python reads at most microseconds.
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", text))
    except ValueError:
        raise _fail(f"{where}{key}", f"'{text[:40]}' is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise _fail(f"{where}{key}", "has no time zone")
    # Go's zero time means "not set" (an alert still firing has no end).
    return None if parsed.year <= 1 else parsed.astimezone(UTC)


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable fingerprint of a label set, for alerts that arrive without one."""
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_notification(body: bytes | str) -> AlertNotification:
    """Read and check an Alertmanager webhook body.

    Raises:
        AlertFormatError: the body is not JSON, or not the webhook's schema; the message
            names the field at fault.
    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AlertFormatError(f"The body is not JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise _fail("the body", "must be a JSON object")
    version = data.get("version", "4")
    if version != "4":
        raise _fail("version", f"is {version!r}; only version \"4\" is understood")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise _fail("alerts", "must be a list")
    if len(alerts) > MAX_ALERTS:
        raise _fail("alerts", f"holds {len(alerts)}; at most {MAX_ALERTS} are accepted")
    parsed = []
    for i, item in enumerate(alerts):
        where = f"alerts[{i}]."
        if not isinstance(item, dict):
            raise _fail(f"alerts[{i}]", "must be an object")
        status = item.get("status")
        if status not in ("firing", "resolved"):
            raise _fail(f"{where}status", "must be \"firing\" or \"resolved\"")
        labels = _strings(item.get("labels"), f"{where}labels", required=True)
        if not labels:
            raise _fail(f"{where}labels", "must not be empty")
        fingerprint = _string(item, "fingerprint", where).strip()[:200]
        parsed.append(Alert(
            status=status, labels=labels,
            annotations=_strings(item.get("annotations"), f"{where}annotations"),
            starts_at=_time(item, "startsAt", where), ends_at=_time(item, "endsAt", where),
            generator_url=_string(item, "generatorURL", where),
            fingerprint=fingerprint or label_fingerprint(labels),
        ))
    return AlertNotification(
        receiver=_string(data, "receiver", ""), status=_string(data, "status", ""),
        alerts=tuple(parsed), group_key=_string(data, "groupKey", ""),
        common_labels=_strings(data.get("commonLabels"), "commonLabels"),
        external_url=_string(data, "externalURL", ""),
    )


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _labels_text(labels: Mapping[str, str], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in skip)


def short_description(alert: Alert) -> str:
    """The summary annotation, else the alert's name and its telling labels."""
    summary = alert.annotations.get("summary", "").strip()
    if summary:
        return _clip(" ".join(summary.split()), MAX_SHORT_DESCRIPTION)
    rest = _labels_text(alert.labels, ("alertname",))
    return _clip(f"{alert.name}: {rest}" if rest else alert.name, MAX_SHORT_DESCRIPTION)


def description(alert: Alert, previous: str | None = None) -> str:
    """The description annotation, then the labels, times and where the alert comes from."""
    parts = []
    text = alert.annotations.get("description", "").strip()
    if text:
        parts.append(text)
    parts.append("Labels:\n" + "\n".join(f"  {k}={v}" for k, v in sorted(alert.labels.items())))
    others = {k: v for k, v in alert.annotations.items() if k not in ("summary", "description")}
    if others:
        parts.append("Annotations:\n" + "\n".join(f"  {k}={v}"
                                                   for k, v in sorted(others.items())))
    facts = []
    if alert.starts_at is not None:
        facts.append(f"Firing since: {alert.starts_at:%Y-%m-%d %H:%M:%S} UTC")
    if alert.generator_url:
        facts.append(f"Source: {alert.generator_url}")
    facts.append(f"Fingerprint: {alert.fingerprint}")
    if previous:
        facts.append(f"The same alert was recorded before as {previous}.")
    parts.append("\n".join(facts))
    return _clip("\n\n".join(parts), MAX_DESCRIPTION)


class Outcome(StrEnum):
    """What a notification did with one alert."""

    CREATED = "created"
    NOTED = "noted"
    RESOLVED = "resolved"
    IGNORED = "ignored"


@dataclass(frozen=True)
class AlertOutcome:
    """One alert's fate."""

    fingerprint: str
    alertname: str
    outcome: Outcome
    number: str | None


@dataclass(frozen=True)
class IntakeResult:
    """What one notification did, and the change for views to refresh on."""

    outcomes: tuple[AlertOutcome, ...]
    change: Change

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def summary(self) -> str:
        """One line, such as ``2 alerts: 1 incident created (INC0000012), 1 note added``."""
        parts = []
        for outcome, words in ((Outcome.CREATED, "incident{s} created"),
                               (Outcome.NOTED, "note{s} added"),
                               (Outcome.RESOLVED, "incident{s} resolved"),
                               (Outcome.IGNORED, "ignored")):
            chosen = [o for o in self.outcomes if o.outcome == outcome]
            if chosen:
                numbers = sorted({o.number for o in chosen if o.number})
                text = f"{len(chosen)} {words.format(s='' if len(chosen) == 1 else 's')}"
                parts.append(text + (f" ({', '.join(numbers)})" if numbers else ""))
        n = len(self.outcomes)
        return f"{n} alert{'' if n == 1 else 's'}: " + (", ".join(parts) or "nothing to do")

    def as_json(self) -> dict[str, Any]:
        return {"alerts": [{"fingerprint": o.fingerprint, "alertname": o.alertname,
                            "outcome": o.outcome.value, "incident": o.number}
                           for o in self.outcomes],
                "summary": self.summary()}


class AlertIntakeService:
    """Records Alertmanager notifications as incidents, acting as the monitoring account."""

    def __init__(self, uow_factory: AlertUnitOfWorkFactory, clock: Clock = utc_now) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._actor: User | None = None
        self._caller_id: int | None = None

    def receive(self, notification: AlertNotification) -> IntakeResult:
        """Apply every alert of the notification, all in one transaction.

        Raises:
            DeskappError: the database refused or is unavailable; nothing was written, and
                the sender may deliver the notification again.
        """
        actor, caller_id = self._identity()
        for attempt in range(_ATTEMPTS):
            try:
                return self._receive(notification, actor, caller_id)
            except (AlertLinkTakenError, ConflictError):
                # A concurrent delivery of the same alert committed first: read it again.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def receive_body(self, body: bytes | str) -> IntakeResult:
        """Parse a webhook body (AlertFormatError if it is not one) and apply it."""
        return self.receive(parse_notification(body))

    def _receive(self, notification: AlertNotification, actor: User,
                 caller_id: int) -> IntakeResult:
        now = self._clock()
        outcomes: list[AlertOutcome] = []
        touched: set[int] = set()
        kinds: set[ChangeKind] = set()
        with self._uow(write=True) as uow:
            # No actor on the catch-all audit row: the intake may run on a person's
            # PostgreSQL login, whose audit rows may name only that person (pg_roles).
            require(uow.users.get(actor.id), Permission.LOG)
            rules = uow.alerts.rules().rules
            for alert in notification.alerts:
                outcome, incident = self._apply(uow, alert, rules, actor.id, caller_id, now)
                number = incident.number if incident is not None else None
                outcomes.append(AlertOutcome(alert.fingerprint, alert.name, outcome, number))
                if incident is not None and incident.id is not None:
                    touched.add(incident.id)
                    kinds.add(ChangeKind.ACTIVITY)
                    if outcome == Outcome.CREATED:
                        kinds.add(ChangeKind.CREATED)
                    elif outcome == Outcome.RESOLVED:
                        kinds.add(ChangeKind.STATE)
            uow.commit()
        return IntakeResult(tuple(outcomes), Change(frozenset(touched), frozenset(kinds),
                                                    actor.id))

    def _apply(self, uow: AlertUnitOfWork, alert: Alert, rules: Any, actor_id: int,
               caller_id: int, now: datetime) -> tuple[Outcome, Incident | None]:
        link = uow.alerts.open_link(alert.fingerprint)
        incident = uow.incidents.get(link.incident_id) if link is not None else None
        previous: str | None = None
        if link is not None and incident is not None and not incident.state.is_open:
            # Someone resolved or closed the incident while the alert was on: that episode
            # is over, and a firing now is news.
            previous = incident.number
            link.closed_at = now
            if not alert.firing and incident.state != State.CLOSED and \
                    link.status == "firing":
                incident.add_work_note(self._resolved_note(alert, now), actor_id, now)
                uow.incidents.append_activity(incident)
                link.status = "resolved"
                link.last_seen = now
                uow.alerts.save_link(link)
                return Outcome.NOTED, incident
            uow.alerts.save_link(link)
            link = incident = None
        if link is None or incident is None:
            if not alert.firing:
                return Outcome.IGNORED, None
            return Outcome.CREATED, self._open(uow, alert, rules, actor_id, caller_id, now,
                                               previous)
        link.notifications += 1
        link.last_seen = now
        if alert.firing:
            if link.status == "firing":
                note = (f"Alertmanager: {alert.name} is still firing (notification "
                        f"{link.notifications}{self._since(alert)}).")
            else:
                note = f"Alertmanager: {alert.name} is firing again{self._since(alert)}."
            link.status = "firing"
            incident.add_work_note(note, actor_id, now)
            uow.incidents.append_activity(incident)
            uow.alerts.save_link(link)
            return Outcome.NOTED, incident
        # Resolved.
        link.status = "resolved"
        rule = first_match(rules, alert.labels)
        note = self._resolved_note(alert, now)
        if not rule.auto_resolve:
            incident.add_work_note(note + " The mapping leaves the incident open for a person "
                                   "to resolve.", actor_id, now)
            uow.incidents.append_activity(incident)
            uow.alerts.save_link(link)
            return Outcome.NOTED, incident
        version = incident.version
        incident.add_work_note(note, actor_id, now)
        incident.transition(State.RESOLVED, actor_id, now, resolution_code=rule.resolution_code,
                            resolution_notes=f"Resolved automatically: the monitoring alert "
                            f"{alert.name} cleared{self._at(alert.ends_at)} (rule "
                            f"\"{rule.name}\").")
        incident.version = uow.incidents.save(incident, version)
        link.closed_at = now
        uow.alerts.save_link(link)
        return Outcome.RESOLVED, incident

    def _open(self, uow: AlertUnitOfWork, alert: Alert, rules: Any, actor_id: int,
              caller_id: int, now: datetime, previous: str | None) -> Incident:
        if previous is None:
            last = uow.alerts.latest_link(alert.fingerprint)
            previous = uow.incidents.get(last.incident_id).number if last is not None else None
        rule = first_match(rules, alert.labels)
        matrix = uow.matrix.current()
        impact, urgency = fit_to_matrix(rule.impact, rule.urgency, matrix)
        service_id = rule.service_id if rule.service_id is not None and \
            uow.catalog.service_exists(rule.service_id) else None
        incident = Incident.open(
            caller_id=caller_id, channel=Channel.MONITORING,
            short_description=short_description(alert),
            description=description(alert, previous), impact=impact, urgency=urgency,
            matrix=matrix, opened_at=now, opened_by_id=actor_id, service_id=service_id,
            assignment_group_id=rule.group_id,
        )
        uow.incidents.add(incident)
        assert incident.id is not None
        uow.alerts.add_link(AlertLink(alert.fingerprint, incident.id, alert.name[:120],
                                      "firing", 1, now, now))
        return incident

    @staticmethod
    def _at(moment: datetime | None) -> str:
        return f" at {moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else ""

    def _since(self, alert: Alert) -> str:
        return f", since {alert.starts_at:%Y-%m-%d %H:%M:%S} UTC" if alert.starts_at else ""

    def _resolved_note(self, alert: Alert, now: datetime) -> str:
        return f"Alertmanager: {alert.name} resolved{self._at(alert.ends_at or now)}."

    def _identity(self) -> tuple[User, int]:
        """The monitoring account and caller, created on first use."""
        if self._actor is not None and self._caller_id is not None:
            return self._actor, self._caller_id
        for _ in range(_ATTEMPTS):
            try:
                with self._uow(write=True) as uow:
                    try:
                        actor = uow.users.by_username(MONITORING_USERNAME)
                    except NotFoundError:
                        actor = uow.users.add(User(0, MONITORING_USERNAME, "Monitoring",
                                                   "", Role.AGENT))
                    found = uow.bulk.callers_by_name([MONITORING_CALLER])
                    caller_id = found.get(MONITORING_CALLER)
                    if caller_id is None:
                        caller_id = uow.callers.add(Caller(0, MONITORING_CALLER)).id
                    uow.commit()
                self._actor, self._caller_id = actor, caller_id
                return actor, caller_id
            except ValidationError:
                continue  # another process created the account at the same moment
        raise ValidationError("Could not create the monitoring account.")

    def links(self, incident_id: int) -> list[AlertLink]:
        """The alert links of an incident, oldest first."""
        with self._uow() as uow:
            return uow.alerts.links_for_incident(incident_id)
