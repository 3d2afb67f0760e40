"""``deskapp intake email`` end to end: the command against a private Dovecot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring

from deskapp.cli import main
from deskapp.intake.imap_mailbox import ENV_PASSWORD, KEYRING_SERVICE
from deskapp.persistence.database import Database
from tests.conftest import table_count
from tests.support.dovecot import (
    PASSWORD,
    USER,
    DovecotServer,
    dovecot_for_tests,
)


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[DovecotServer]:
    yield from dovecot_for_tests()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotServer:
    dovecot_server.empty()
    return dovecot_server


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in memory, holding what the test puts in it."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def message(subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada@example.com>"
    mail["To"] = "servicedesk@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("Please help.")
    return mail.as_bytes()


def command(server: DovecotServer, database_url: str, *extra: str) -> list[str]:
    return ["--database-url", database_url, "intake", "email", "--host", server.host,
            "--port", str(server.port), "--mailbox-user", USER,
            "--cafile", str(server.cafile), *extra]


def test_once_takes_the_mail_in_with_the_password_from_the_environment(
        dovecot: DovecotServer, database: Database, database_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ENV_PASSWORD, PASSWORD)
    dovecot.deliver(message("Phone line dead"))

    assert main(command(dovecot, database_url, "--once")) == 0

    out = capsys.readouterr().out
    assert "created INC0000001" in out and "Dealt with 1 message from" in out
    assert table_count(database, "incidents") == 1
    assert dovecot.unseen_count() == 0


def test_the_password_comes_from_the_keyring_when_the_environment_has_none(
        dovecot: DovecotServer, database: Database, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    store = MemoryKeyring()
    store.set_password(KEYRING_SERVICE, f"{USER}@{dovecot.host}", PASSWORD)
    previous = keyring.get_keyring()
    keyring.set_keyring(store)
    try:
        dovecot.deliver(message("Desk phone shows no dial tone"))
        assert main(command(dovecot, database_url, "--once")) == 0
    finally:
        keyring.set_keyring(previous)
    assert table_count(database, "incidents") == 1


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.usefixtures("no_keyring")
@pytest.mark.parametrize(("extra", "env", "expected"), [
    ((), {}, "No password for the mailbox desk@127.0.0.1"),
    ((), {ENV_PASSWORD: "wrong"}, "refused the login of desk"),
    (("--impact", "9"), {ENV_PASSWORD: PASSWORD}, "There is no impact 9"),
    (("--folder", "Nowhere"), {ENV_PASSWORD: PASSWORD}, "There is no folder Nowhere"),
], ids=["no-password", "wrong-password", "bad-impact", "no-such-folder"])
def test_bad_settings_fail_with_one_readable_line(
        dovecot: DovecotServer, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], env: dict[str, str],
        expected: str) -> None:
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    dovecot.deliver(message("Never taken in"))

    assert main(command(dovecot, database_url, "--once", *extra)) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("deskapp: error: ") and expected in err[-1]
    assert dovecot.unseen_count() == 1


def test_a_missing_host_is_refused_before_anything_else(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKAPP_IMAP_HOST", raising=False)
    assert main(["intake", "email", "--mailbox-user", "desk"]) == 1
    assert "Say which IMAP server to poll" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_it_runs_until_stopped_by_a_signal_and_stops_cleanly(
        dovecot: DovecotServer, database: Database, database_url: str,
        stop: signal.Signals) -> None:
    env = {**os.environ, ENV_PASSWORD: PASSWORD, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "deskapp", *command(dovecot, database_url, "--interval", "1")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        dovecot.deliver(message("Scanner offline"))
        deadline = time.monotonic() + 60
        while dovecot.unseen_count() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        assert dovecot.unseen_count() == 0
        # Still running, and still taking mail in.
        dovecot.deliver(message("Scanner offline again"))
        while dovecot.unseen_count() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "created INC0000001" in out and "created INC0000002" in out
    assert out.rstrip().endswith("Email intake stopped.")
    assert f"{signal.Signals(stop).name} received" in err
    assert table_count(database, "incidents") == 2
