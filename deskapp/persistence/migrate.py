"""Bring a database to the current schema with the Alembic migrations shipped in the package."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from deskapp.persistence.tables import include_name, with_postgresql_options

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and Mako under it) is imported only when a migration runs: a database already at
# the current schema is told so by one query, and the app starts 16 MiB lighter.

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*"([^"]+)"', re.MULTILINE)


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config  # lazily: see the note at the top

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision shipped: the one no other revision builds on.

    Read from the migration files' own ``revision``/``down_revision`` lines, without
    loading Alembic (tests/integration/test_migrations.py checks it agrees with Alembic).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (revision := _REVISION.search(source)) is not None:
            revisions.add(revision.group(1))
        if (down := _DOWN.search(source)) is not None:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"The migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head", *, backup: bool = True) -> Path | None:
    """Migrate to ``revision``; a SQLite file is copied aside first. Returns the backup path."""
    current = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if current == target:
        return None
    backup_path = None
    if backup and current is not None and engine.dialect.name == "sqlite":
        backup_path = backup_sqlite(engine, current)
    from alembic import command  # lazily: see the note at the top

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if engine.dialect.name == "postgresql":
        _refresh_roles(engine)
    return backup_path


def _refresh_roles(engine: Engine) -> None:
    """Give a shared desk's group roles the privileges of the schema just migrated to.

    GRANTs name tables and columns: a column a migration adds (or re-creates) is out of
    every group role's reach until the role set is installed again, so an agent's next edit
    would fail. Installing is idempotent and follows the permission table; a desk without
    roles (one login, or tests) is left as it is.
    """
    from deskapp.persistence.pg_roles import PgRoles

    roles = PgRoles(engine)
    if roles.installed():
        roles.install()


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
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True})
        return list(compare_metadata(context, with_postgresql_options()))
