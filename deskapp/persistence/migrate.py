"""Bring a database to the current schema with the Alembic migrations shipped in the package."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from deskapp.persistence.tables import Base, include_name

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision shipped."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", *, backup: bool = True) -> Path | None:
    """Migrate to ``revision``; a SQLite file is copied aside first. Returns the backup path."""
    current = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if current == target:
        return None
    backup_path = None
    if backup and current is not None and engine.dialect.name == "sqlite":
        backup_path = backup_sqlite(engine, current)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return backup_path


def backup_sqlite(engine: Engine, revision: str) -> Path:
    """Copy the database file (checkpointed) beside itself before a migration."""
    database = engine.url.database
    assert database is not None
    source = Path(database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = source.with_name(f"{source.stem}.before-{revision}.{stamp}{source.suffix}.bak")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy2(source, target)
    return target


def schema_differences(engine: Engine) -> list[object]:
    """What the models and the migrated database disagree on (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True})
        return list(compare_metadata(context, Base.metadata))
