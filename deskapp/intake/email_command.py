"""``deskapp intake email``: poll the mailbox until stopped, turning mail into incidents."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from deskapp.domain.errors import ConfigurationError, DatabaseUnavailableError
from deskapp.domain.text import counted
from deskapp.intake.imap_mailbox import (
    ENV_FOLDER,
    ENV_HOST,
    ENV_PASSWORD,
    ENV_PORT,
    ENV_USER,
    KEYRING_SERVICE,
    ImapMailbox,
    ImapSettings,
    MailboxUnavailableError,
    mailbox_password,
)
from deskapp.services.incidents import utc_now
from deskapp.services.intake.email_intake import EmailIntakeService, IntakeResult
from deskapp.services.ports import Clock, UnitOfWorkFactory

log = logging.getLogger("deskapp.intake.email")

DEFAULT_INTERVAL = 60.0


def add_email_parser(channels: Any) -> None:
    """Declare ``intake email`` and its options on the ``intake`` subcommands."""
    email = channels.add_parser(
        "email", help="poll a mailbox over IMAP with TLS; new mail becomes incidents, "
        "replies naming an incident become caller comments",
        description="Poll a mailbox over IMAP with TLS until stopped (Ctrl+C or SIGTERM). "
        f"The password comes from ${ENV_PASSWORD}, else the system keyring (service "
        f"'{KEYRING_SERVICE}', account user@host). Incidents are logged by the system user "
        "'email-intake' unless --user names another.")
    email.add_argument("--host", default=os.environ.get(ENV_HOST),
                       help=f"the IMAP server (${ENV_HOST})")
    email.add_argument("--port", type=_port, default=_env_port(),
                       help=f"its port (${ENV_PORT}; default 993, or 143 with --starttls)")
    email.add_argument("--mailbox-user", dest="mailbox_user", default=os.environ.get(ENV_USER),
                       metavar="LOGIN", help=f"the mailbox's login name (${ENV_USER})")
    email.add_argument("--folder", default=os.environ.get(ENV_FOLDER) or "INBOX",
                       help=f"the folder new mail arrives in (${ENV_FOLDER}; default INBOX)")
    email.add_argument("--starttls", action="store_true",
                       help="connect in plain text and upgrade with STARTTLS (default: TLS "
                       "from the start)")
    email.add_argument("--cafile", type=Path, metavar="FILE",
                       help="trust this CA certificate bundle instead of the system's")
    email.add_argument("--interval", type=_seconds, default=DEFAULT_INTERVAL, metavar="SECONDS",
                       help=f"time between polls (default {DEFAULT_INTERVAL:.0f})")
    email.add_argument("--once", action="store_true",
                       help="poll once and exit (for cron or a first test)")
    email.add_argument("--impact", type=int, metavar="N",
                       help="impact of new incidents (default: the matrix's middle level)")
    email.add_argument("--urgency", type=int, metavar="N",
                       help="urgency of new incidents (default: the matrix's middle level)")


def _env_port() -> int | None:
    value = os.environ.get(ENV_PORT)
    if not value:
        return None
    try:
        return _port(value)
    except argparse.ArgumentTypeError:
        return None  # reported when the option is checked below


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def imap_settings(args: argparse.Namespace) -> ImapSettings:
    """The mailbox settings from the options; ConfigurationError names what is missing."""
    if os.environ.get(ENV_PORT) and args.port is None:
        raise ConfigurationError(f"${ENV_PORT} is not a port number: {os.environ[ENV_PORT]}")
    if not args.host:
        raise ConfigurationError(f"Say which IMAP server to poll: --host or ${ENV_HOST}.")
    if not args.mailbox_user:
        raise ConfigurationError(
            f"Say which mailbox to log in to: --mailbox-user or ${ENV_USER}.")
    if args.cafile is not None and not args.cafile.is_file():
        raise ConfigurationError(f"There is no CA file {args.cafile}.")
    return ImapSettings(host=args.host, user=args.mailbox_user, port=args.port,
                        folder=args.folder, starttls=args.starttls, cafile=args.cafile)


class IntakeLoop:
    """Polls until asked to stop; the mailbox reconnects after the server breaks off.

    Args:
        service: Takes each message in.
        mailbox: The mailbox, connected on first use.
        interval: Seconds between polls.
        report: Called with each message's result.
    """

    def __init__(self, service: EmailIntakeService, mailbox: ImapMailbox, interval: float,
                 report: Callable[[IntakeResult], None]) -> None:
        self._service = service
        self._mailbox = mailbox
        self._interval = interval
        self._report = report
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Finish the message in hand, then return from run."""
        self.stopping.set()

    def poll_once(self) -> int:
        """One poll; returns how many messages were dealt with."""
        return len(self._service.poll(self._mailbox, self.stopping.is_set, self._report))

    def run(self) -> None:
        """Poll every interval until stop; outages are logged and retried, not fatal."""
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except (MailboxUnavailableError, DatabaseUnavailableError) as exc:
                log.warning("%s; trying again in %.0f s", exc, self._interval)
                self._mailbox.close()
            self.stopping.wait(self._interval)


@contextmanager
def _stop_on_signals(loop: IntakeLoop) -> Iterator[None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping after the message in hand",
                 signal.Signals(signum).name)
        loop.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_email_intake(uow_factory: UnitOfWorkFactory, actor_id: int,
                     args: argparse.Namespace, settings: ImapSettings, *,
                     clock: Clock = utc_now) -> int:
    """Run the intake as the command line asked, stamping times by ``clock``; returns the
    exit code."""
    password = mailbox_password(settings)
    service = EmailIntakeService(uow_factory, actor_id, clock, impact=args.impact,
                                 urgency=args.urgency)
    service.check()

    def report(result: IntakeResult) -> None:
        print(str(result), flush=True)

    with ImapMailbox(settings, password) as mailbox:  # a bad login fails here, at once
        loop = IntakeLoop(service, mailbox, args.interval, report)
        if args.once:
            count = loop.poll_once()
            print(f"Dealt with {counted(count, 'message')} from {settings.display_name}.")
            return 0
        print(f"Polling {settings.display_name} every {args.interval:.0f} s; "
              "Ctrl+C or SIGTERM stops.", flush=True)
        with _stop_on_signals(loop):
            loop.run()
    print("Email intake stopped.", flush=True)
    return 0


def configure_logging() -> None:
    """Warnings and the intake's progress to stderr, unless logging is set up already."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
