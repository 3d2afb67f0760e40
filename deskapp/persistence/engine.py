"""Engines for SQLite (WAL, foreign keys, explicit BEGIN) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from deskapp.domain.errors import ConfigurationError

BUSY_TIMEOUT_MS = 10_000
WRITE_OPTION = "deskapp_write"


def parse_url(raw: str) -> URL:
    """Parse a database URL, accepting plain ``postgresql://`` for psycopg 3."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigurationError(
            f"'{raw}' is not a database URL; use sqlite:///path/to/file.db or "
            "postgresql://user@host:port/database."
        ) from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigurationError(
            f"Deskapp works with SQLite or PostgreSQL, not '{url.drivername}'."
        )
    if url.drivername == "postgresql+psycopg" and not url.database:
        # Without one, libpq picks a default (the login's name, or "postgres"): a desk would
        # be installed in the server's maintenance database.
        raise ConfigurationError("A PostgreSQL URL must name the database, e.g. "
                                 "postgresql://user@host:port/servicedesk.")
    if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise ConfigurationError("A SQLite database must be a file, e.g. sqlite:///desk.db.")
    return url


def make_engine(raw_url: str | URL, *, pool_size: int = 4) -> Engine:
    """An engine set up the way Deskapp needs it."""
    url = parse_url(raw_url) if isinstance(raw_url, str) else raw_url
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return create_engine(
            url, pool_size=pool_size, max_overflow=2, pool_pre_ping=True, hide_parameters=True,
            connect_args={"connect_timeout": 5, "application_name": "deskapp"},
        )
    except NoSuchModuleError:
        raise ConfigurationError(f"No database driver for '{url.drivername}'.") from None


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None hands transactions to us: Python 3.11's sqlite3 would otherwise
    # BEGIN lazily (DEFERRED) and a reader could not later become a writer without deadlock.
    # hide_parameters: SQL logging (and error text) must never show a password hash.
    engine = create_engine(url, connect_args={"isolation_level": None, "timeout": BUSY_TIMEOUT_MS
                                              / 1000, "check_same_thread": False},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the lock at BEGIN, so it waits in busy_timeout
        # instead of failing with "database is locked" when it first writes.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine and pool, whose transactions are writes."""
    return engine.execution_options(**{WRITE_OPTION: True})
