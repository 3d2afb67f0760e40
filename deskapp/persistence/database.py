"""Opening a database: engine, migrations, and the unit-of-work factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.persistence import live, migrate
from deskapp.persistence.engine import make_engine, parse_url, writer
from deskapp.persistence.pg_roles import PgRoles
from deskapp.persistence.server_clock import ServerClock, local_utc_now
from deskapp.persistence.unit_of_work import SqlUnitOfWorkFactory
from deskapp.services.ports import ChangeFeed, Clock

log = logging.getLogger(__name__)


@dataclass
class Database:
    """An open database and what the services need from it.

    Attributes:
        clock: "Now" for the services on this desk: on PostgreSQL the server's clock (a
            ServerClock: every desktop sharing the desk stamps times by one clock), on
            SQLite this host's.
    """

    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    backup: Path | None = None
    clock: Clock = field(default=local_utc_now)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_name(self) -> str:
        """The URL without any password, for title bars and status lines."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def logins(self) -> PgRoles | None:
        """PostgreSQL's logins and group roles; None on SQLite (local accounts)."""
        return PgRoles(self.engine) if self.dialect == "postgresql" else None

    def open_change_feed(self) -> ChangeFeed:
        """A feed of changes committed to this database, on a connection of its own."""
        return live.open_change_feed(self.engine)

    def close(self) -> None:
        if isinstance(self.clock, ServerClock):
            self.clock.close()
        if self.dialect == "sqlite":
            # SQLite's advice for long-lived connections: refresh the planner's statistics
            # where the session's queries showed they are stale (cheap when they are not).
            try:
                # A write transaction from the start: optimize may write (ANALYZE), and a
                # read turning into a write fails at once when another process wrote since.
                with writer(self.engine).connect() as connection:
                    connection.exec_driver_sql("PRAGMA optimize")
            except DBAPIError:
                log.warning("PRAGMA optimize failed", exc_info=True)
        self.engine.dispose()


def open_database(url: str, *, upgrade: bool = True, must_exist: bool = False) -> Database:
    """Connect, check the server answers, and (by default) migrate to the current schema.

    Args:
        url: the database URL.
        upgrade: migrate to the current schema first.
        must_exist: refuse a SQLite file that is not there yet, rather than create it (for
            commands that only read: a mistyped path must not become a new, empty desk).
    """
    if must_exist:
        parsed = parse_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and \
                not Path(parsed.database).expanduser().is_file():
            raise DatabaseUnavailableError(f"There is no database at {parsed.database}.")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        backup = migrate.upgrade(engine) if upgrade else None
        clock: Clock = local_utc_now
        if engine.dialect.name == "postgresql":
            server = ServerClock(engine)
            server.measure()
            clock = server
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailableError(
            f"Cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}"
        ) from None
    return Database(engine, SqlUnitOfWorkFactory(engine), backup, clock)
