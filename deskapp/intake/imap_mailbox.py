"""The mailbox over IMAP with TLS (implicit TLS, or STARTTLS), for the email intake.

Messages are read with BODY.PEEK, which leaves them unseen; only mark_processed sets the
\\Seen flag, after the intake has committed what it made of the message.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from deskapp.domain.errors import ConfigurationError, DeskappError
from deskapp.services.intake.email_ports import MailboxMessage

ENV_HOST = "DESKAPP_IMAP_HOST"
ENV_PORT = "DESKAPP_IMAP_PORT"
ENV_USER = "DESKAPP_IMAP_USER"
ENV_FOLDER = "DESKAPP_IMAP_FOLDER"
ENV_PASSWORD = "DESKAPP_IMAP_PASSWORD"
KEYRING_SERVICE = "deskapp-imap"
"""Passwords in the system keyring are kept under this service, as user@host."""

IMPLICIT_TLS_PORT = 993
STARTTLS_PORT = 143
MAX_PER_POLL = 100
"""At most this many messages are read in one poll; the rest wait for the next."""


class MailboxUnavailableError(DeskappError):
    """The mail server cannot be reached, refused the login, or broke off."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the intake's mailbox is.

    Attributes:
        host: The IMAP server.
        user: The mailbox's login name.
        port: 993 with implicit TLS, 143 with STARTTLS, unless given.
        folder: The folder new mail arrives in.
        starttls: Upgrade a plain connection with STARTTLS instead of implicit TLS.
        cafile: A CA bundle to trust instead of the system's (a private CA, tests).
        timeout: Seconds before a silent server counts as gone.
    """

    host: str
    user: str
    port: int | None = None
    folder: str = "INBOX"
    starttls: bool = False
    cafile: Path | None = None
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return STARTTLS_PORT if self.starttls else IMPLICIT_TLS_PORT

    @property
    def display_name(self) -> str:
        return f"{self.user}@{self.host}:{self.effective_port}/{self.folder}"


def mailbox_password(settings: ImapSettings,
                     environ: Mapping[str, str] | None = None) -> str:
    """The mailbox password: $DESKAPP_IMAP_PASSWORD, else the system keyring.

    Raises ConfigurationError, saying how to store one, when neither has it.
    """
    environ = os.environ if environ is None else environ
    password = environ.get(ENV_PASSWORD)
    if password:
        return password
    account = f"{settings.user}@{settings.host}"
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            password = keyring.get_password(KEYRING_SERVICE, account)
        except KeyringError:
            password = None
    except ImportError:  # pragma: no cover - keyring is a dependency
        password = None
    if not password:
        raise ConfigurationError(
            f"No password for the mailbox {account}: set {ENV_PASSWORD}, or store it with "
            f"'keyring set {KEYRING_SERVICE} {account}'.")
    return password


class ImapMailbox:
    """Mailbox over one IMAP connection; use it as a context manager."""

    def __init__(self, settings: ImapSettings, password: str) -> None:
        self.settings = settings
        self._password = password
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:
        """Connect with TLS, log in and open the folder; MailboxUnavailableError if not."""
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.cafile) if s.cafile else None)
        try:
            if s.starttls:
                imap = imaplib.IMAP4(s.host, s.effective_port, timeout=s.timeout)
                imap.starttls(ssl_context=context)
            else:
                imap = imaplib.IMAP4_SSL(s.host, s.effective_port, ssl_context=context,
                                         timeout=s.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailableError(
                f"Cannot connect to {s.host}:{s.effective_port} with TLS: {_reason(exc)}"
            ) from exc
        try:
            imap.login(s.user, self._password)
        except (OSError, imaplib.IMAP4.error) as exc:
            _quietly_logout(imap)
            raise MailboxUnavailableError(
                f"The server {s.host} refused the login of {s.user}: {_reason(exc)}") from exc
        try:
            status, data = imap.select(_quoted(s.folder))
        except (OSError, imaplib.IMAP4.error) as exc:
            _quietly_logout(imap)
            raise MailboxUnavailableError(f"Cannot open {s.folder}: {_reason(exc)}") from exc
        if status != "OK":
            _quietly_logout(imap)
            raise MailboxUnavailableError(
                f"There is no folder {s.folder} on {s.host}: {_text(data)}")
        self._imap = imap

    def close(self) -> None:
        """Log out; safe to call twice or after the connection broke."""
        if self._imap is not None:
            _quietly_logout(self._imap)
            self._imap = None

    def unprocessed(self) -> list[MailboxMessage]:
        """The unseen messages of the folder, oldest first (at most MAX_PER_POLL)."""
        imap = self._connected()
        try:
            status, data = imap.uid("SEARCH", "UNSEEN")
            if status != "OK":
                raise MailboxUnavailableError(f"The server refused to search: {_text(data)}")
            uids = [uid.decode() for uid in (data[0] or b"").split()]
            messages = []
            for uid in sorted(uids, key=int)[:MAX_PER_POLL]:
                raw = self._fetch(imap, uid)
                if raw is not None:
                    messages.append(MailboxMessage(uid, raw))
            return messages
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxUnavailableError(f"The mail server broke off: {_reason(exc)}") from exc

    def mark_processed(self, uid: str) -> None:
        """Set the \\Seen flag of one message."""
        imap = self._connected()
        try:
            status, data = imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxUnavailableError(f"The mail server broke off: {_reason(exc)}") from exc
        if status != "OK":
            raise MailboxUnavailableError(f"Cannot mark message {uid} seen: {_text(data)}")

    def _connected(self) -> imaplib.IMAP4:
        if self._imap is None:
            self.connect()
        assert self._imap is not None
        return self._imap

    @staticmethod
    def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes | None:
        status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        if status != "OK":
            raise MailboxUnavailableError(f"Cannot read message {uid}: {_text(data)}")
        for item in data:
            # A literal comes as (b'1 (UID 1 BODY[] {53}', b'...raw...'); one UID was asked.
            if isinstance(item, tuple):
                return bytes(item[1])
        return None  # expunged meanwhile


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quietly_logout(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        imap.logout()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _text(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode("utf-8", "replace")
    return str(data)
