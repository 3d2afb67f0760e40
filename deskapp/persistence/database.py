"""Opening a database: engine, migrations, and the unit-of-work factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from deskapp.domain.errors import DatabaseUnavailableError
from deskapp.persistence import migrate
from deskapp.persistence.engine import make_engine
from deskapp.persistence.unit_of_work import SqlUnitOfWorkFactory


@dataclass
class Database:
    """An open database and what the services need from it."""

    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    backup: Path | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_name(self) -> str:
        """The URL without any password, for title bars and status lines."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, upgrade: bool = True) -> Database:
    """Connect, check the server answers, and (by default) migrate to the current schema."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        backup = migrate.upgrade(engine) if upgrade else None
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailableError(
            f"Cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}"
        ) from None
    return Database(engine, SqlUnitOfWorkFactory(engine), backup)
