"""A private Dovecot IMAP server on loopback for the email intake tests.

Each server has its own config file, self-signed certificate, static test user and maildir in
a temporary directory, and its own ports on 127.0.0.1; nothing system-wide is read or changed
(no /etc/dovecot, no port 143 or 993). Dovecot comes from Debian's dovecot-imapd package.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from deskapp.intake.imap_mailbox import ImapSettings
from tests.support.databases import in_ci

USER = "desk"
PASSWORD = "intake-test-secret"


def dovecot_binary() -> str | None:
    """The dovecot executable, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class DovecotServer:
    """A running private Dovecot: where it listens and how to reach its one mailbox."""

    host: str
    port: int
    starttls_port: int
    cafile: Path
    log: Path

    def settings(self, *, starttls: bool = False, folder: str = "INBOX") -> ImapSettings:
        """Intake settings for this server's mailbox."""
        return ImapSettings(host=self.host, user=USER,
                            port=self.starttls_port if starttls else self.port,
                            folder=folder, starttls=starttls, cafile=self.cafile, timeout=10)

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in IMAP connection of our own, with INBOX selected."""
        context = ssl.create_default_context(cafile=str(self.cafile))
        imap = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=10)
        try:
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            yield imap
        finally:
            imap.logout()

    def deliver(self, raw: bytes) -> None:
        """Put a message into INBOX with IMAP APPEND, unseen, as a mail server would."""
        with self.client() as imap:
            status, data = imap.append("INBOX", None, None, raw)
            assert status == "OK", data

    def unseen_count(self) -> int:
        """How many messages of INBOX are still unseen."""
        with self.client() as imap:
            status, data = imap.uid("SEARCH", "UNSEEN")
            assert status == "OK", data
            return len((data[0] or b"").split())

    def empty(self) -> None:
        """Remove every message from INBOX, so that each test starts with none."""
        with self.client() as imap:
            status, data = imap.uid("SEARCH", "ALL")
            assert status == "OK", data
            uids = (data[0] or b"").split()
            if uids:
                imap.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", r"(\Deleted)")
                imap.expunge()

    def message_count(self) -> int:
        """How many messages INBOX holds (seen or not)."""
        with self.client() as imap:
            status, data = imap.uid("SEARCH", "ALL")
            assert status == "OK", data
            return len((data[0] or b"").split())


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


def _accounts(home: Path) -> tuple[str, int, int]:
    """Who runs what: Dovecot refuses to open mail as root, so root hands the maildir to
    nobody; anyone else runs every process as themselves."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        return "", nobody.pw_uid, nobody.pw_gid
    me = pwd.getpwuid(os.geteuid())
    internal = (f"default_internal_user = {me.pw_name}\n"
                f"default_login_user = {me.pw_name}\n")
    return internal, me.pw_uid, me.pw_gid


@contextmanager
def running_dovecot() -> Iterator[DovecotServer]:
    """Start a private Dovecot, yield it when it answers, stop it and remove its files."""
    binary = dovecot_binary()
    if binary is None:
        raise FileNotFoundError("dovecot is not installed (apt-get install dovecot-imapd)")
    # Not pytest's tmp_path: its directories are private to root, and the mail processes
    # run as nobody when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="deskapp-dovecot-"))
    try:
        for name in ("base", "state", "home"):
            (root / name).mkdir()
        root.chmod(0o755)
        cert, key = _make_certificate(root)
        internal, uid, gid = _accounts(root / "home")
        port, starttls_port = _free_port(), _free_port()
        log = root / "dovecot.log"
        config = root / "dovecot.conf"
        config.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root / 'base'}
state_dir = {root / 'state'}
instance_name = deskapp-test-{root.name}
log_path = {log}
info_log_path = {log}
{internal}ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
mail_location = maildir:~/Maildir
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root / 'home'}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        process = subprocess.Popen([binary, "-F", "-c", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            server = DovecotServer("127.0.0.1", port, starttls_port, cert, log)
            _wait_until_listening(process, port, log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode() if process.stderr else ""
            text = log.read_text() if log.exists() else ""
            raise RuntimeError(f"dovecot exited at start ({process.returncode}): {errors}{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on 127.0.0.1:{port} within 15 s")


def dovecot_for_tests() -> Iterator[DovecotServer]:
    """A private Dovecot for a test module (the body of its ``dovecot_server`` fixture).

    Where Dovecot is missing the module is skipped; on CI that is a failure.
    """
    if dovecot_binary() is None:
        if in_ci():
            pytest.fail("CI must test the email intake against Dovecot: install "
                        "dovecot-imapd (.ci/run does)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    with running_dovecot() as server:
        yield server
