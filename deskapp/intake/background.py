"""The email intake in a thread of its own, for the GUI ("Run the email intake in this window").

It is the same poll as ``deskapp intake email`` (EmailIntakeService over an ImapMailbox, as
the system user 'email-intake'); only the loop differs: it tells its caller how each poll
went, so the window can show it, instead of printing. Network and database work both happen
in this thread, never in the GUI's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from deskapp.domain.errors import DeskappError
from deskapp.intake.imap_mailbox import (
    KEYRING_SERVICE,
    ImapMailbox,
    ImapSettings,
    mailbox_password,
)
from deskapp.services.intake.email_intake import EmailIntakeService, ensure_intake_user
from deskapp.services.intake.email_ports import Outcome
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.user_settings import EmailIntakeSettings, PasswordStoreError

log = logging.getLogger("deskapp.intake.email")

JOIN_SECONDS = 10.0
"""How long stop waits for the message in hand (a silent server times out on its own)."""


@dataclass(frozen=True)
class PollStatus:
    """How the last poll went.

    Attributes:
        checked_at: When it ended (local time of the clock given).
        new: Incidents it opened.
        comments: Caller comments it added.
        error: One line on what went wrong; empty when it worked.
    """

    checked_at: datetime
    new: int = 0
    comments: int = 0
    error: str = ""

    def text(self) -> str:
        """One line for the status bar."""
        at = self.checked_at.strftime("%H:%M")
        if self.error:
            return f"Email intake: {self.error} (at {at}; trying again)"
        counts = f"{self.new} new"
        if self.comments:
            counts += f", {self.comments} repl{'y' if self.comments == 1 else 'ies'}"
        return f"Email intake: last checked {at}, {counts}"


def imap_settings(settings: EmailIntakeSettings, cafile: Path | None = None) -> ImapSettings:
    """The CLI's mailbox settings from the Settings dialog's."""
    return ImapSettings(host=settings.host.strip(), user=settings.user.strip(),
                        port=settings.port, folder=settings.folder.strip() or "INBOX",
                        starttls=settings.starttls, cafile=cafile)


def keyring_account(settings: EmailIntakeSettings) -> str:
    """The keyring account the mailbox password is kept under (shared with the CLI)."""
    return f"{settings.user.strip()}@{settings.host.strip()}"


def stored_mailbox_password(settings: EmailIntakeSettings) -> str | None:
    """The mailbox password in the keyring, or None."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_account(settings))
    except KeyringError as exc:
        log.warning("The system keyring cannot be read: %s", exc)
        return None


def store_mailbox_password(settings: EmailIntakeSettings, password: str) -> None:
    """Keep the mailbox password in the system keyring.

    Raises:
        PasswordStoreError: there is no usable keyring.
    """
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_account(settings), password)
    except KeyringError as exc:
        raise PasswordStoreError(
            f"The system keyring cannot keep the mailbox password: {exc}") from exc


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class BackgroundEmailIntake:
    """Polls the mailbox every interval in a daemon thread until stop.

    Args:
        uow_factory: Opens units of work (its own sessions, in this thread).
        settings: The mailbox and the interval.
        on_status: Called in the intake's thread after every poll; must not block.
        clock: The time shown as "last checked".
        stamp_clock: "Now" for what the intake writes (the database's clock: the server's
            on PostgreSQL); by default the service's own.
        cafile: A CA bundle to trust instead of the system's (a private CA, tests).
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, settings: EmailIntakeSettings,
                 on_status: Callable[[PollStatus], None], *, clock: Clock | None = None,
                 stamp_clock: Clock | None = None, cafile: Path | None = None) -> None:
        self._uow = uow_factory
        self._settings = settings
        self._imap = imap_settings(settings, cafile)
        self._on_status = on_status
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._stamp_clock = stamp_clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="email intake", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = JOIN_SECONDS) -> bool:
        """Finish the message in hand and end; True if the thread ended within ``wait``."""
        self._stopping.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait)
        return not self._thread.is_alive()

    def _run(self) -> None:
        mailbox: ImapMailbox | None = None
        service: EmailIntakeService | None = None
        try:
            while not self._stopping.is_set():
                try:
                    if service is None:
                        actor = ensure_intake_user(self._uow)
                        service = (EmailIntakeService(self._uow, actor.id)
                                   if self._stamp_clock is None else
                                   EmailIntakeService(self._uow, actor.id, self._stamp_clock))
                        service.check()
                    if mailbox is None:
                        mailbox = ImapMailbox(self._imap, mailbox_password(self._imap))
                    results = service.poll(mailbox, self._stopping.is_set)
                    status = PollStatus(
                        self._clock(),
                        new=sum(r.outcome == Outcome.CREATED for r in results),
                        comments=sum(r.outcome == Outcome.COMMENTED for r in results))
                except DeskappError as exc:
                    # Outages, a refused login, a missing password: shown, retried later.
                    log.warning("email intake: %s", exc)
                    status = PollStatus(self._clock(), error=_one_line(exc))
                    if mailbox is not None:
                        mailbox.close()
                    mailbox = None
                except Exception as exc:
                    log.exception("email intake: unexpected error")
                    status = PollStatus(self._clock(), error=_one_line(exc))
                    if mailbox is not None:
                        mailbox.close()
                    mailbox = None
                    service = None
                self._on_status(status)
                self._stopping.wait(self._settings.interval)
        finally:
            if mailbox is not None:
                mailbox.close()
            log.info("email intake in the window stopped")
