"""``deskapp intake alerts`` and ``deskapp intake alert-rules`` as a user runs them: a real
process, files and standard input, the listener stopped by a signal."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deskapp.domain.enums import Channel, State
from deskapp.persistence.database import Database
from deskapp.services.incidents import IncidentService
from tests.conftest import table_count
from tests.integration.test_alert_intake import FIRING, resolved


def run_cli(url: str, *args: str, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskapp", "--database-url", url, *args],
                          input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


def test_a_file_and_standard_input(database: Database, database_url: str,
                                   service: IncidentService, tmp_path: Path) -> None:
    firing = tmp_path / "firing.json"
    firing.write_text(json.dumps(FIRING), encoding="utf-8")
    result = run_cli(database_url, "intake", "alerts", str(firing))
    assert result.returncode == 0, result.stderr
    number = re.fullmatch(r"1 alert: 1 incident created \((INC\d+)\)\n", result.stdout)
    assert number is not None
    incident = service.get_by_number(number.group(1))
    assert incident.channel == Channel.MONITORING
    result = run_cli(database_url, "intake", "alerts", "-", stdin=json.dumps(resolved(FIRING)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"1 alert: 1 incident resolved ({incident.number})\n"
    assert service.get(incident.id).state == State.RESOLVED


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["-"], '{"alerts": "none"}', "Not an Alertmanager notification: alerts must be a list."),
    (["-"], "not json", "The body is not JSON"),
    (["missing.json"], None, "Cannot read missing.json: No such file or directory."),
    (["-", "--max-body", "10"], json.dumps(FIRING), "larger than 10 bytes"),
])
def test_bad_input_is_one_line_and_exit_1(database: Database, database_url: str,
                                          args: list[str], stdin: str | None,
                                          message: str) -> None:
    result = run_cli(database_url, "intake", "alerts", *args, stdin=stdin)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("deskapp: error: ")
    assert message in result.stderr
    assert table_count(database, "incidents") == 0


def test_a_file_and_listen_together_is_a_usage_error(database_url: str) -> None:
    result = run_cli(database_url, "intake", "alerts", "x.json", "--listen", "127.0.0.1:0")
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_no_secret_off_loopback_is_refused(database_url: str) -> None:
    result = run_cli(database_url, "intake", "alerts", "--listen", "0.0.0.0:0",
                     env={"DESKAPP_ALERTS_SECRET": ""})
    assert result.returncode == 1
    assert "Refusing to listen on 0.0.0.0 without a shared secret" in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_listener_serves_until_a_signal_stops_it(
        database: Database, database_url: str, tmp_path: Path, stop: signal.Signals) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "deskapp", "--database-url", database_url, "intake", "alerts",
         "--listen", "127.0.0.1:0", "--secret-file", str(secret_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.match(r"Listening on http://127\.0\.0\.1:(\d+)/ ", first)
        assert found, first + (process.stderr.read() if process.stderr else "")
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
        connection.request("POST", "/api/v2/alerts", body=json.dumps(FIRING),
                           headers={"Authorization": "Bearer from-a-file",
                                    "Content-Type": "application/json"})
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()
        connection.close()
        assert "1 alert: 1 incident created" in process.stdout.readline()
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == "Stopped; 1 notifications recorded.\n"
    assert err == ""
    assert table_count(database, "incidents") == 1


def test_alert_rules_list_add_remove_export_import(database: Database, database_url: str,
                                                  tmp_path: Path) -> None:
    with database.uow_factory(write=True) as uow:
        uow.catalog.add_service("Payroll")
        uow.commit()
    listed = run_cli(database_url, "intake", "alert-rules", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == (
        '1. Critical alerts: severity=~"critical|page" -> impact 1, urgency 1 (P1 - Critical); '
        "auto-resolve (solved_remotely)")
    added = run_cli(database_url, "intake", "alert-rules", "add", "--name", "Payroll down",
                    "--match", "service=payroll", "--match", 'severity!="info"',
                    "--impact", "2", "--urgency", "1", "--service", "payroll",
                    "--no-auto-resolve", "--position", "1")
    assert (added.returncode, added.stdout) == (0, "Added rule 1: Payroll down.\n"), added.stderr
    lines = run_cli(database_url, "intake", "alert-rules", "list").stdout.splitlines()
    assert lines[0] == ('1. Payroll down: service="payroll", severity!="info" -> impact 2, '
                        "urgency 1 (P2 - High); service Payroll; no auto-resolve")
    assert len(lines) == 4
    exported = tmp_path / "rules.json"
    assert run_cli(database_url, "intake", "alert-rules", "export",
                   str(exported)).returncode == 0
    assert run_cli(database_url, "intake", "alert-rules", "remove", "1").stdout == (
        "Removed rule 1: Payroll down.\n")
    bad = run_cli(database_url, "intake", "alert-rules", "remove", "9")
    assert bad.returncode == 1 and "There is no rule 9; the mapping has 3." in bad.stderr
    wrong = run_cli(database_url, "intake", "alert-rules", "add", "--name", "x", "--match",
                    "severity=~(", "--impact", "1", "--urgency", "1")
    assert wrong.returncode == 1 and "is not a regular expression" in wrong.stderr
    imported = run_cli(database_url, "intake", "alert-rules", "import", "-",
                       stdin=exported.read_text(encoding="utf-8"))
    assert imported.stdout == "Imported 4 alert rules.\n", imported.stderr
    assert run_cli(database_url, "intake", "alert-rules", "list").stdout.splitlines() == lines
