"""Reading Alertmanager notifications and label matchers (no database needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deskapp.domain.errors import ConfigurationError, ValidationError
from deskapp.domain.priority import default_matrix
from deskapp.intake.alert_listener import is_loopback, parse_address
from deskapp.services.intake.alert_rules import (
    DEFAULT_RULES,
    FALLBACK_RULE,
    Matcher,
    MatchOp,
    first_match,
    fit_to_matrix,
    format_matchers,
    parse_matchers,
)
from deskapp.services.intake.alerts import (
    AlertFormatError,
    description,
    label_fingerprint,
    parse_notification,
    short_description,
)
from tests.integration.test_alert_intake import FIRING


def test_a_real_notification_is_read_whole() -> None:
    notification = parse_notification(json.dumps(FIRING).encode())
    [alert] = notification.alerts
    assert notification.receiver == "deskapp" and notification.group_key.startswith("{}:")
    assert alert.firing and alert.name == "HighRequestLatency"
    # Go's nanoseconds are cut to microseconds; its zero time means "no end yet".
    assert alert.starts_at == datetime(2026, 3, 2, 8, 55, 0, 123456, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.fingerprint == "4f3a1c2b9d8e7f60"


def test_times_in_other_zones_become_utc() -> None:
    payload = json.loads(json.dumps(FIRING))
    payload["alerts"][0]["startsAt"] = "2026-03-02T10:55:00+02:00"
    assert parse_notification(json.dumps(payload)).alerts[0].starts_at == datetime(
        2026, 3, 2, 8, 55, tzinfo=UTC)
    payload["alerts"][0]["startsAt"] = "2026-03-02T10:55:00"
    with pytest.raises(AlertFormatError, match="startsAt has no time zone"):
        parse_notification(json.dumps(payload))


def test_a_derived_fingerprint_ignores_label_order() -> None:
    assert label_fingerprint({"a": "1", "b": "2"}) == label_fingerprint({"b": "2", "a": "1"})
    assert label_fingerprint({"a": "1"}) != label_fingerprint({"a": "2"})


def test_texts_are_clipped_to_what_an_incident_holds() -> None:
    payload = json.loads(json.dumps(FIRING))
    payload["alerts"][0]["annotations"] = {"summary": "x " * 200, "description": "y" * 5000}
    alert = parse_notification(json.dumps(payload)).alerts[0]
    assert len(short_description(alert)) == 160 and short_description(alert).endswith("…")
    assert len(description(alert)) == 4000


@pytest.mark.parametrize(("text", "labels", "hit"), [
    ('severity="critical"', {"severity": "critical"}, True),
    ("severity=critical", {"severity": "warning"}, False),
    ('severity!="info"', {}, True),
    ('team=~"db|storage"', {"team": "storage"}, True),
    ('team=~"db"', {"team": "dbx"}, False),  # the whole value, as in Alertmanager
    ('team!~"db.*"', {"team": "web"}, True),
    ('service=""', {}, True),  # a missing label is the empty string
])
def test_matchers_follow_alertmanager(text: str, labels: dict[str, str], hit: bool) -> None:
    [matcher] = parse_matchers(text)
    assert matcher.matches(labels) is hit
    assert parse_matchers(format_matchers([matcher])) == (matcher,)


def test_matchers_keep_commas_inside_quotes() -> None:
    assert parse_matchers('alertname=~"A,B", team=web') == (
        Matcher("alertname", MatchOp.REGEX, "A,B"), Matcher("team", MatchOp.EQUAL, "web"))
    with pytest.raises(ValidationError, match="is not a matcher"):
        parse_matchers("just words")


def test_the_first_matching_rule_wins_and_the_defaults_cover_everything() -> None:
    assert first_match(DEFAULT_RULES, {"severity": "page"}).name == "Critical alerts"
    assert first_match(DEFAULT_RULES, {"severity": "warning"}).name == "Warnings"
    assert first_match(DEFAULT_RULES, {"alertname": "X"}).name == "Everything else"
    assert first_match((), {"severity": "critical"}) is FALLBACK_RULE


def test_levels_outside_the_matrix_take_the_nearest() -> None:
    assert fit_to_matrix(5, 0, default_matrix()) == (3, 1)


def test_listen_addresses() -> None:
    assert parse_address("127.0.0.1:9095") == ("127.0.0.1", 9095)
    assert parse_address("[::1]:9095") == ("::1", 9095)
    assert parse_address(":9095") == ("127.0.0.1", 9095)
    with pytest.raises(ConfigurationError, match="not an address"):
        parse_address("localhost")
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("10.0.0.1")
