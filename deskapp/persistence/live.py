"""Live change feeds: PostgreSQL LISTEN/NOTIFY, SQLite's data_version.

Writers note which incidents a transaction touched (``note_changed``); on PostgreSQL the unit
of work sends them as a notification that the server delivers at commit, to every desktop
listening. SQLite has no notifications, but ``PRAGMA data_version`` on a connection changes
whenever another connection commits: polling it costs microseconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from deskapp.domain.errors import DatabaseUnavailableError, LoginRefusedError
from deskapp.services.changes import ChangeNotice

if TYPE_CHECKING:
    import psycopg

CHANNEL = "deskapp_changes"
EVERYTHING = "*"
_CHANGED = "deskapp_changed_incidents"
_PAYLOAD_LIMIT = 7000
"""PostgreSQL refuses payloads of 8000 bytes or more; past this many digits, say "all"."""
SQLITE_POLL_SECONDS = 0.25


def note_changed(session: Session, incident_ids: Iterable[int] | None) -> None:
    """Remember that this transaction changed these incidents (None: too many to list)."""
    changed: set[int] | None = session.info.get(_CHANGED, set())
    if changed is None or incident_ids is None:
        session.info[_CHANGED] = None
    else:
        changed.update(incident_ids)
        session.info[_CHANGED] = changed


def announce(session: Session) -> None:
    """Queue the notification of what this transaction changed; sent only if it commits."""
    if _CHANGED not in session.info:
        return
    changed: set[int] | None = session.info.pop(_CHANGED)
    if session.get_bind().dialect.name != "postgresql":
        return
    payload = EVERYTHING if changed is None else ",".join(map(str, sorted(changed)))
    if len(payload) > _PAYLOAD_LIMIT:
        payload = EVERYTHING
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload})


def forget(session: Session) -> None:
    """Drop what a rolled-back transaction noted."""
    session.info.pop(_CHANGED, None)


def parse_payload(payloads: Iterable[str]) -> ChangeNotice:
    """One notice for a batch of notification payloads."""
    ids: set[int] = set()
    for payload in payloads:
        if payload == EVERYTHING:
            return ChangeNotice(everything=True)
        try:
            ids.update(int(part) for part in payload.split(",") if part)
        except ValueError:
            return ChangeNotice(everything=True)  # a newer version's payload: reload all
    return ChangeNotice(frozenset(ids))


def open_change_feed(engine: Engine) -> SqliteChangeFeed | PostgresChangeFeed:
    """A feed for this engine's database, connected."""
    if engine.dialect.name == "postgresql":
        return PostgresChangeFeed(engine)
    return SqliteChangeFeed(engine)


class SqliteChangeFeed:
    """ChangeFeed over ``PRAGMA data_version`` on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._version: int | None = None
        self.reconnect()

    def reconnect(self) -> None:
        self.close()
        try:
            self._connection = self._engine.connect()
            self._version = self._read()
        except DBAPIError as exc:
            self.close()
            raise DatabaseUnavailableError(f"The database is not available: {exc.orig}") \
                from exc

    def _read(self) -> int:
        assert self._connection is not None
        try:
            return int(self._connection.execute(text("PRAGMA data_version")).scalar_one())
        finally:
            # The read began a transaction; holding it would freeze the snapshot.
            self._connection.rollback()

    def wait(self, timeout: float) -> ChangeNotice | None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                version = self._read()
            except DBAPIError as exc:
                raise DatabaseUnavailableError(
                    f"The database is not available: {exc.orig}") from exc
            if version != self._version:
                self._version = version
                return ChangeNotice(everything=True)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(SQLITE_POLL_SECONDS, left))

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # already gone
                self._connection.close()
            self._connection = None


class PostgresChangeFeed:
    """ChangeFeed over LISTEN on a dedicated autocommit connection (not from the pool)."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: psycopg.Connection[Any] | None = None
        self.reconnect()

    @property
    def backend_pid(self) -> int | None:
        """The server process serving the feed (tests end it to simulate a lost link)."""
        return None if self._connection is None else self._connection.info.backend_pid

    def reconnect(self) -> None:
        import psycopg  # here, not at the top: a SQLite desk never loads the driver (11 MiB)

        self.close()
        try:
            connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3,
                                         application_name="deskapp live")
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            if login_refused(exc):
                raise LoginRefusedError(
                    "Your account has been deactivated by an administrator: the database "
                    f"refuses its login ({_last_line(exc)}).") from exc
            raise DatabaseUnavailableError(
                f"The database is not available: {_first_line(exc)}") from exc
        self._connection = connection

    def wait(self, timeout: float) -> ChangeNotice | None:
        import psycopg

        if self._connection is None:
            raise DatabaseUnavailableError("The database is not available: not connected.")
        try:
            # stop_after=1 returns on the first word; a burst arrives in the same packet anyway.
            payloads = [n.payload for n in
                        self._connection.notifies(timeout=timeout, stop_after=1)]
            if self._connection.closed or self._connection.broken:
                raise psycopg.OperationalError("the connection was closed")
        except psycopg.Error as exc:
            self.close()
            raise DatabaseUnavailableError(
                f"The database is not available: {_first_line(exc)}") from exc
        return parse_payload(payloads) if payloads else None

    def close(self) -> None:
        import psycopg

        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):  # already gone
                self._connection.close()
            self._connection = None


def login_refused(exc: BaseException) -> bool:
    """Whether a failed connect means the server refuses the login itself (NOLOGIN).

    A refused connection carries no SQLSTATE in psycopg (the server's FATAL message is in the
    text), so the server's words are checked as well as the code when there is one.
    """
    return getattr(exc, "sqlstate", None) == "28000" or \
        "is not permitted to log in" in str(exc)


def _last_line(exc: BaseException) -> str:
    # psycopg puts the server's FATAL message after the attempt's address.
    text = " ".join(str(exc).split())
    return text.rsplit("FATAL:", 1)[-1].strip() if "FATAL:" in text else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
