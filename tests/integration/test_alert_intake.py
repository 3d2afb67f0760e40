"""Monitoring intake: real Alertmanager payloads posted over HTTP to the listener, on SQLite
and PostgreSQL; the mapping's rules; the period report's channel counts."""

from __future__ import annotations

import copy
import http.client
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date
from typing import Any

import pytest
from pypdf import PdfReader

from deskapp.domain.enums import ActivityKind, Channel, ResolutionCode, Role, State
from deskapp.domain.errors import ConfigurationError, ConflictError, PermissionDeniedError
from deskapp.domain.people import Caller, Group
from deskapp.intake.alert_listener import AlertListener
from deskapp.persistence.database import Database
from deskapp.reports.period_pdf import period_pdf
from deskapp.services.audit import AuditService
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.intake.alert_rules import (
    ALERT_RULE_ADDED,
    ALERT_RULE_REMOVED,
    ALERT_RULES_IMPORTED,
    ALERT_RULES_SAVED,
    DEFAULT_RULES,
    AlertRule,
    AlertRuleService,
    parse_matchers,
)
from deskapp.services.intake.alerts import MONITORING_USERNAME, AlertIntakeService
from deskapp.services.report_data import PeriodFilters, ReportService
from tests.conftest import FakeClock, add_user, table_count

SECRET = "s3cret-token-for-tests"

# What Alertmanager 0.27 posts to a webhook receiver (captured, then trimmed to one alert).
FIRING: dict[str, Any] = {
    "receiver": "deskapp",
    "status": "firing",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "HighRequestLatency", "instance": "web-1:9100",
                   "job": "shop", "severity": "critical", "team": "web"},
        "annotations": {"summary": "Shop checkout latency above 2 s on web-1",
                        "description": "p99 latency of /checkout has been 3.2 s for 10 minutes.",
                        "runbook_url": "https://wiki.example.com/runbooks/latency"},
        "startsAt": "2026-03-02T08:55:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1",
        "fingerprint": "4f3a1c2b9d8e7f60",
    }],
    "groupLabels": {"alertname": "HighRequestLatency"},
    "commonLabels": {"alertname": "HighRequestLatency", "instance": "web-1:9100",
                     "job": "shop", "severity": "critical", "team": "web"},
    "commonAnnotations": {"summary": "Shop checkout latency above 2 s on web-1"},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": "{}:{alertname=\"HighRequestLatency\"}",
    "truncatedAlerts": 0,
}


def resolved(payload: dict[str, Any]) -> dict[str, Any]:
    """The same notification once the alert cleared, as Alertmanager sends it."""
    out = copy.deepcopy(payload)
    out["status"] = "resolved"
    for alert in out["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-03-02T09:20:00Z"
    return out


def with_alert(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out["alerts"][0].update(changes)
    return out


class Posted:
    """An HTTP answer: status and JSON body."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.json: dict[str, Any] = json.loads(body) if body else {}


def post(listener: AlertListener, body: bytes | dict[str, Any], *,
         headers: dict[str, str] | None = None, secret: str | None = SECRET) -> Posted:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if secret is not None and "Authorization" not in sent and "X-Deskapp-Token" not in sent:
        sent["Authorization"] = f"Bearer {secret}"
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=30)
    try:
        connection.request("POST", "/", body=data, headers=sent)
        answer = connection.getresponse()
        return Posted(answer.status, answer.read())
    finally:
        connection.close()


@pytest.fixture
def intake(database: Database, clock: FakeClock) -> AlertIntakeService:
    return AlertIntakeService(database.uow_factory, clock)


@pytest.fixture
def listener(intake: AlertIntakeService) -> Iterator[AlertListener]:
    """The listener on a free loopback port, served from a thread."""
    server = AlertListener(("127.0.0.1", 0), intake, SECRET, max_body=64 * 1024)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def rules(database: Database, admin: Any) -> AlertRuleService:
    return AlertRuleService(database.uow_factory, admin.id)


@pytest.fixture
def incidents(database: Database, admin: Any, clock: FakeClock) -> IncidentService:
    return IncidentService(database.uow_factory, admin.id, clock)


def setup_mapping(database: Database, rules: AlertRuleService, *,
                  auto_resolve: bool = True) -> tuple[int, int]:
    """A web team's group and service, and a rule sending critical web alerts to them."""
    with database.uow_factory(write=True) as uow:
        group_id = uow.groups.add(Group(0, "Web Operations")).id
        service_id = uow.catalog.add_service("Online shop")
        uow.commit()
    current = rules.rules()
    rules.save([AlertRule("Web critical", parse_matchers('team="web", severity=~"crit.*"'),
                          impact=1, urgency=2, service_id=service_id, group_id=group_id,
                          auto_resolve=auto_resolve,
                          resolution_code=ResolutionCode.SOLVED_PERMANENTLY),
                *current.rules], current.revision)
    return group_id, service_id


def notes(incidents: IncidentService, incident_id: int) -> list[str]:
    return [a.body or "" for a in incidents.activity(incident_id)
            if a.kind == ActivityKind.WORK_NOTE]


def test_a_firing_alert_becomes_an_incident_prioritised_by_the_mapping(
        database: Database, listener: AlertListener, rules: AlertRuleService,
        incidents: IncidentService) -> None:
    group_id, service_id = setup_mapping(database, rules)
    answer = post(listener, FIRING)
    assert answer.status == 200, answer.json
    [outcome] = answer.json["alerts"]
    assert outcome["outcome"] == "created" and outcome["fingerprint"] == "4f3a1c2b9d8e7f60"
    incident = incidents.get_by_number(outcome["incident"])
    with database.uow_factory() as uow:
        matrix = uow.matrix.current()
        monitoring = uow.users.by_username(MONITORING_USERNAME)
    assert incident.channel == Channel.MONITORING
    assert (incident.impact, incident.urgency) == (1, 2)
    assert incident.priority == matrix.priority_for(1, 2).rank
    assert (incident.service_id, incident.assignment_group_id) == (service_id, group_id)
    assert incident.short_description == "Shop checkout latency above 2 s on web-1"
    assert incident.description.startswith("p99 latency of /checkout has been 3.2 s")
    for part in ("instance=web-1:9100", "runbook_url=https://wiki.example.com/runbooks/latency",
                 "Source: http://prometheus:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1",
                 "Firing since: 2026-03-02 08:55:00 UTC", "Fingerprint: 4f3a1c2b9d8e7f60"):
        assert part in incident.description
    assert incident.opened_by_id == monitoring.id and incident.caller_name.startswith("Monitor")
    assert listener.stored == 1


def test_without_a_summary_the_alertname_and_labels_describe_it(
        listener: AlertListener, incidents: IncidentService, database: Database) -> None:
    alert = copy.deepcopy(FIRING["alerts"][0])
    alert["annotations"] = {}
    alert["labels"]["severity"] = "warning"
    answer = post(listener, {**FIRING, "alerts": [alert]})
    incident = incidents.get_by_number(answer.json["alerts"][0]["incident"])
    assert incident.short_description == ("HighRequestLatency: instance=web-1:9100, job=shop, "
                                          "severity=warning, team=web")
    # The seeded mapping: warnings are impact 2, urgency 2.
    with database.uow_factory() as uow:
        assert incident.priority == uow.matrix.current().priority_for(2, 2).rank


def test_a_repeat_adds_a_note_not_an_incident(
        database: Database, listener: AlertListener, incidents: IncidentService,
        clock: FakeClock) -> None:
    first = post(listener, FIRING).json["alerts"][0]
    clock.advance(hours=4)
    second = post(listener, FIRING)
    assert second.status == 200
    assert second.json["alerts"][0]["outcome"] == "noted"
    assert second.json["alerts"][0]["incident"] == first["incident"]
    assert table_count(database, "incidents") == 1
    incident = incidents.get_by_number(first["incident"])
    assert notes(incidents, incident.id) == [
        "Alertmanager: HighRequestLatency is still firing (notification 2, since "
        "2026-03-02 08:55:00 UTC)."]
    assert incident.state == State.NEW


def test_a_resolved_alert_resolves_the_incident_when_the_mapping_says_so(
        database: Database, listener: AlertListener, rules: AlertRuleService,
        incidents: IncidentService, clock: FakeClock) -> None:
    setup_mapping(database, rules, auto_resolve=True)
    number = post(listener, FIRING).json["alerts"][0]["incident"]
    clock.advance(minutes=25)
    answer = post(listener, resolved(FIRING))
    assert answer.status == 200 and answer.json["alerts"][0]["outcome"] == "resolved"
    incident = incidents.get_by_number(number)
    assert incident.state == State.RESOLVED
    assert incident.resolution_code == ResolutionCode.SOLVED_PERMANENTLY
    assert "HighRequestLatency cleared at 2026-03-02 09:20:00 UTC" in incident.resolution_notes
    assert notes(incidents, incident.id) == [
        "Alertmanager: HighRequestLatency resolved at 2026-03-02 09:20:00 UTC."]
    # A resolved notification again (Alertmanager may repeat it) changes nothing.
    assert post(listener, resolved(FIRING)).json["alerts"][0]["outcome"] == "ignored"
    # The alert fires again: a new incident, naming the old one.
    clock.advance(hours=1)
    again = post(listener, FIRING).json["alerts"][0]
    assert again["outcome"] == "created" and again["incident"] != number
    assert f"recorded before as {number}" in incidents.get_by_number(again["incident"]).description
    assert table_count(database, "incidents") == 2


def test_without_auto_resolve_a_resolved_alert_only_adds_a_note(
        database: Database, listener: AlertListener, rules: AlertRuleService,
        incidents: IncidentService, clock: FakeClock) -> None:
    setup_mapping(database, rules, auto_resolve=False)
    number = post(listener, FIRING).json["alerts"][0]["incident"]
    answer = post(listener, resolved(FIRING))
    assert answer.json["alerts"][0]["outcome"] == "noted"
    incident = incidents.get_by_number(number)
    assert incident.state == State.NEW
    # Flapping: it fires again while the incident is still open - a note, not an incident.
    clock.advance(minutes=5)
    assert post(listener, FIRING).json["alerts"][0] == {
        "fingerprint": "4f3a1c2b9d8e7f60", "alertname": "HighRequestLatency",
        "outcome": "noted", "incident": number}
    assert table_count(database, "incidents") == 1
    assert notes(incidents, incident.id) == [
        "Alertmanager: HighRequestLatency resolved at 2026-03-02 09:20:00 UTC. The mapping "
        "leaves the incident open for a person to resolve.",
        "Alertmanager: HighRequestLatency is firing again, since 2026-03-02 08:55:00 UTC."]


def test_an_incident_an_agent_resolved_is_not_reused(
        database: Database, listener: AlertListener, incidents: IncidentService) -> None:
    number = post(listener, FIRING).json["alerts"][0]["incident"]
    incident = incidents.get_by_number(number)
    incidents.transition(incident.id, incident.version, State.RESOLVED,
                         resolution_code=ResolutionCode.SOLVED_WORKAROUND,
                         resolution_notes="Restarted web-1")
    again = post(listener, FIRING).json["alerts"][0]
    assert again["outcome"] == "created" and again["incident"] != number
    assert incidents.get_by_number(number).state == State.RESOLVED


def test_one_notification_with_several_alerts(
        database: Database, listener: AlertListener, incidents: IncidentService) -> None:
    second = copy.deepcopy(FIRING["alerts"][0])
    second["labels"]["instance"] = "web-2:9100"
    del second["fingerprint"]  # a hand-made payload: the labels make the fingerprint
    payload = {**FIRING, "alerts": [FIRING["alerts"][0], second]}
    answer = post(listener, payload)
    assert [a["outcome"] for a in answer.json["alerts"]] == ["created", "created"]
    assert answer.json["summary"].startswith("2 alerts: 2 incidents created (INC")
    # The derived fingerprint is stable: the same alert again is a repeat.
    assert [a["outcome"] for a in post(listener, payload).json["alerts"]] == ["noted", "noted"]
    assert table_count(database, "incidents") == 2


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"version": "4", "alerts": [', "The body is not JSON"),
    (b"\xff\xfe not text", "The body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (json.dumps({**FIRING, "version": "3"}).encode(), "only version \"4\" is understood"),
    (json.dumps({**FIRING, "alerts": {"a": 1}}).encode(), "alerts must be a list"),
    (json.dumps(with_alert(FIRING, status="burning")).encode(),
     "alerts[0].status must be \"firing\" or \"resolved\""),
    (json.dumps(with_alert(FIRING, labels={"alertname": 5})).encode(),
     "alerts[0].labels must be an object whose values are strings"),
    (json.dumps(with_alert(FIRING, startsAt="yesterday")).encode(),
     "alerts[0].startsAt 'yesterday' is not an RFC 3339 time"),
])
def test_malformed_notifications_get_400_with_the_reason_and_change_nothing(
        database: Database, listener: AlertListener, body: bytes, reason: str) -> None:
    answer = post(listener, body)
    assert answer.status == 400
    assert reason in answer.json["error"]
    assert table_count(database, "incidents") == 0
    assert table_count(database, "alert_links") == 0


def test_a_bad_alert_among_good_ones_stores_none_of_them(
        database: Database, listener: AlertListener) -> None:
    bad = copy.deepcopy(FIRING["alerts"][0])
    bad["endsAt"] = 17
    answer = post(listener, {**FIRING, "alerts": [FIRING["alerts"][0], bad]})
    assert answer.status == 400 and "alerts[1].endsAt must be a string" in answer.json["error"]
    assert table_count(database, "incidents") == 0


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ({"Authorization": "Bearer wrong"}, 403),
    ({"X-Deskapp-Token": SECRET + "x"}, 403),
])
def test_a_missing_or_wrong_secret_is_refused(
        database: Database, listener: AlertListener, headers: dict[str, str],
        status: int) -> None:
    answer = post(listener, FIRING, headers=headers, secret=None)
    assert answer.status == status
    assert "secret" in answer.json["error"]
    assert table_count(database, "incidents") == 0


def test_the_secret_may_come_in_its_own_header(
        database: Database, listener: AlertListener) -> None:
    assert post(listener, FIRING, headers={"X-Deskapp-Token": SECRET},
                secret=None).status == 200
    assert table_count(database, "incidents") == 1


def test_an_oversize_body_gets_413_unread(database: Database, listener: AlertListener) -> None:
    big = with_alert(FIRING, annotations={"description": "x" * (70 * 1024)})
    answer = post(listener, big)
    assert answer.status == 413
    assert "at most 65,536" in answer.json["error"]
    assert table_count(database, "incidents") == 0


def test_a_body_without_length_gets_411(listener: AlertListener) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=30)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Authorization", f"Bearer {SECRET}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(b"0\r\n\r\n")
        assert connection.getresponse().status == 411
    finally:
        connection.close()


def test_concurrent_deliveries_of_one_alert_make_one_incident(
        database: Database, listener: AlertListener, incidents: IncidentService) -> None:
    body = json.dumps(FIRING).encode()
    answers: list[Posted] = []
    start = threading.Barrier(6)

    def deliver() -> None:
        start.wait()
        answers.append(post(listener, body))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status for a in answers) == [200] * 6
    outcomes = sorted(a.json["alerts"][0]["outcome"] for a in answers)
    assert outcomes == ["created"] + ["noted"] * 5
    assert table_count(database, "incidents") == 1
    number = answers[0].json["alerts"][0]["incident"]
    assert {a.json["alerts"][0]["incident"] for a in answers} == {number}
    assert len(notes(incidents, incidents.get_by_number(number).id)) == 5


def test_no_secret_is_refused_off_loopback(intake: AlertIntakeService) -> None:
    with pytest.raises(ConfigurationError, match="without a shared secret"):
        AlertListener(("0.0.0.0", 0), intake, None)


# --- the mapping ------------------------------------------------------------------------


def test_the_migration_seeds_the_default_rules(rules: AlertRuleService) -> None:
    # On SQLite the template is the migration's own work; PostgreSQL's reset restores
    # DEFAULT_RULES, so this pins the migration's copy to the code's.
    assert [(r.name, r.matchers, r.impact, r.urgency, r.auto_resolve, r.resolution_code)
            for r in rules.rules().rules] == [
        (r.name, r.matchers, r.impact, r.urgency, r.auto_resolve, r.resolution_code)
        for r in DEFAULT_RULES]


def test_rules_apply_in_order_and_a_stale_save_is_refused(
        database: Database, rules: AlertRuleService, intake: AlertIntakeService,
        incidents: IncidentService) -> None:
    current = rules.rules()
    saved = rules.save([AlertRule("Database team", parse_matchers("team=db"), 1, 1),
                        *current.rules], current.revision)
    # A second editor who loaded the old revision cannot overwrite the first one's save.
    with pytest.raises(ConflictError):
        rules.save(current.rules, current.revision)
    alert = copy.deepcopy(FIRING["alerts"][0])
    alert["labels"] = {"alertname": "DiskFull", "team": "db", "severity": "warning"}
    result = intake.receive_body(json.dumps({**FIRING, "alerts": [alert]}))
    incident = incidents.get_by_number(result.outcomes[0].number or "")
    assert (incident.impact, incident.urgency) == (1, 1)  # not the warnings rule below it
    assert [r.name for r in rules.rules().rules] == [r.name for r in saved.rules]


def test_only_admins_and_leads_change_the_mapping(database: Database) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    service = AlertRuleService(database.uow_factory, agent.id)
    assert not service.load().can_edit
    with pytest.raises(PermissionDeniedError):
        service.remove(1)
    assert len(service.rules().rules) == len(DEFAULT_RULES)


def test_export_and_import_round_trip_by_names(
        database: Database, rules: AlertRuleService) -> None:
    setup_mapping(database, rules)
    exported = rules.export_json()
    data = json.loads(exported)
    assert data["alert_rules"][0]["service"] == "Online shop"
    assert data["alert_rules"][0]["match"] == 'team="web", severity=~"crit.*"'
    before = rules.rules().rules
    rules.save([], rules.rules().revision)
    assert rules.import_json(exported).rules == tuple(
        AlertRule(r.name, r.matchers, r.impact, r.urgency, r.service_id, r.group_id,
                  r.auto_resolve, r.resolution_code) for r in before)
    data["alert_rules"][0]["group"] = "Nobody"
    with pytest.raises(Exception, match="Rule 1: there is no assignment group named 'Nobody'"):
        rules.import_json(json.dumps(data))


def test_monitoring_incidents_show_in_the_period_report(
        database: Database, admin: Any, intake: AlertIntakeService,
        incidents: IncidentService, clock: FakeClock) -> None:
    intake.receive_body(json.dumps(FIRING))
    with database.uow_factory() as uow:
        caller = uow.callers.add(Caller(0, "Pat Caller"))
        uow.commit()
    incidents.log_call(LogCallRequest(caller.id, "Printer jam", 3, 3))
    report = ReportService(database.uow_factory, admin.id, clock, UTC).period_report(
        PeriodFilters(date(2026, 3, 2), date(2026, 3, 2)))
    counts = {c.key: (c.label, c.count) for c in report.figures.by_channel}
    assert counts == {"monitoring": ("Monitoring", 1), "phone": ("Phone", 1)}
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        period_pdf(report))).pages)
    assert "Monitoring" in text


def test_mapping_changes_are_audited_by_rule_name(database: Database, admin: Any,
                                                   rules: AlertRuleService) -> None:
    """Adding, changing, removing and importing rules name them and what changed (it used
    to leave only a generic 'change {"tables":["alert_rules","counters"]}' row)."""
    with database.uow_factory(write=True) as uow:
        network = uow.groups.add(Group(0, "Network"), []).id
        uow.commit()
    rules.add(AlertRule("Disk full", parse_matchers("alertname=DiskFull"), 2, 3,
                        group_id=network), position=1)
    current = rules.rules()
    first = current.rules[0]
    rules.save([replace(first, urgency=1), *current.rules[1:]], current.revision)
    rules.remove(1)
    rules.import_json(rules.export_json())  # the same mapping again: nothing changed
    rows = list(reversed(AuditService(database.uow_factory, admin.id).latest(limit=4)))
    assert [r.action for r in rows] == [ALERT_RULE_ADDED, ALERT_RULES_SAVED,
                                        ALERT_RULE_REMOVED, ALERT_RULES_IMPORTED]
    added, saved, removed, imported = (r.details_dict() for r in rows)
    assert added["name"] == "Disk full" and added["position"] == 1
    assert added["added"]["Disk full"]["group"] == "Network"
    assert added["added"]["Disk full"]["match"] == 'alertname="DiskFull"'
    assert saved == {"changed": {"Disk full": {"urgency": {"old": 3, "new": 1}}}}
    assert removed["name"] == "Disk full" and "Disk full" in removed["removed"]
    assert imported == {}
    assert not [r for r in AuditService(database.uow_factory, admin.id).latest()
                if r.action == "change" and r.actor_id == admin.id]
