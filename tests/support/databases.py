"""Test databases: a migrated SQLite template copied per test, and a private PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from deskapp.domain.priority import DEFAULT_PRIORITIES
from deskapp.persistence.engine import make_engine, parse_url

if TYPE_CHECKING:
    from deskapp.persistence.database import Database

POSTGRES_ENV = "DESKAPP_TEST_POSTGRES_URL"

# Everything a test may write; reference data (priorities, the first matrix) is restored.
_VOLATILE = ("activity", "incident_search", "incidents", "group_members", "assignment_groups",
             "callers", "categories", "services", "configuration_items", "saved_filters",
             "review_actions", "reviews", "business_holidays", "assignment_rules",
             "email_attachments", "email_messages",
             "alert_links", "alert_rules", "user_credentials",
             "deskapp_settings")


def postgres_admin_url() -> str | None:
    """The server tests may create databases on, or None when not configured."""
    return os.environ.get(POSTGRES_ENV) or None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def make_sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file to copy for each test (migrating per test would be slow)."""
    from deskapp.persistence.migrate import upgrade

    path = directory / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, backup=False)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def copy_sqlite(template: Path, directory: Path) -> str:
    target = directory / f"deskapp-{uuid.uuid4().hex[:8]}.db"
    shutil.copy2(template, target)
    return f"sqlite:///{target}"


@contextmanager
def private_postgres_database(admin_url: str) -> Iterator[str]:
    """Create a database of our own on the server, migrated; drop it afterwards."""
    from deskapp.persistence.migrate import upgrade

    url = parse_url(admin_url)
    name = f"deskapp_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    own_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(own_url)
        upgrade(engine, backup=False)
        engine.dispose()
        yield own_url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_roles(admin_url: str, names: list[str]) -> None:
    """Drop these cluster-wide roles (a test's own, by their run-unique names) if they exist."""
    engine = create_engine(parse_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


@contextmanager
def database_with_roles(admin_url: str, prefix: str,
                        logins: Sequence[str]) -> Iterator[tuple[str, Database]]:
    """A private database with Deskapp's role set installed under ``prefix``, as (url, open
    database). Afterwards the database is dropped, then the roles, which are cluster-wide:
    the group roles of ``prefix`` and the ``logins`` the test made (only ours, by their
    run-unique names)."""
    from deskapp.domain.enums import Role
    from deskapp.persistence.database import open_database
    from deskapp.persistence.pg_roles import PgRoles, role_name

    try:
        with private_postgres_database(admin_url) as url:
            database = open_database(url)
            try:
                assert PgRoles(database.engine).install(prefix) == prefix
                yield url, database
            finally:
                database.close()
    finally:
        drop_roles(admin_url, [*logins, *(role_name(prefix, r) for r in Role)])


def reset_postgres(engine: Engine) -> None:
    """Empty what tests write, keeping the migrated schema and reference data."""
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(_VOLATILE)} RESTART IDENTITY"))
        # The audit trail refuses TRUNCATE by trigger; the owner may lift it for a reset.
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("TRUNCATE audit_log"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
        connection.execute(text("UPDATE counters SET value = 0 WHERE name = 'incident'"))
        connection.execute(text("DELETE FROM counters WHERE name = 'alert_rules'"))
        restore_alert_rules(connection)
        connection.execute(text("DELETE FROM matrix_versions WHERE id > 1"))
        connection.execute(text("UPDATE matrix_versions SET created_by_id = NULL"))
        # Users are referenced by the matrix versions, which stay: DELETE, not TRUNCATE.
        connection.execute(text("DELETE FROM users"))
        connection.execute(text("ALTER SEQUENCE users_id_seq RESTART"))
        connection.execute(text("SELECT setval('matrix_versions_id_seq', 1)"))
        # The matrix editor rewrites the priority definitions and the business hours.
        for p in DEFAULT_PRIORITIES:
            connection.execute(text(
                "UPDATE priorities SET code = :code, name = :name, colour = :colour, "
                "response_minutes = :response, resolution_minutes = :resolution, "
                "business_hours = false WHERE rank = :rank"),
                {"code": p.code, "name": p.name, "colour": p.colour, "rank": p.rank,
                 "response": p.response_minutes, "resolution": p.resolution_minutes})
        connection.execute(text(
            "UPDATE business_calendars SET working_days = '[0, 1, 2, 3, 4]', "
            "opens_minute = 480, closes_minute = 1020, time_zone = 'UTC'"))


def restore_alert_rules(connection: Connection) -> None:
    """Put back the alert mapping migration 0010 seeds (the test of 0010 checks they agree)."""
    from deskapp.persistence.tables import AlertRuleRecord
    from deskapp.services.intake.alert_rules import DEFAULT_RULES

    connection.execute(insert(AlertRuleRecord), [
        {"position": n, "name": r.name, "matchers": [[m.label, m.op.value, m.value]
                                                     for m in r.matchers],
         "impact": r.impact, "urgency": r.urgency, "auto_resolve": r.auto_resolve,
         "resolution_code": r.resolution_code.value}
        for n, r in enumerate(DEFAULT_RULES, 1)])


def database_name(url: str) -> str:
    return make_url(url).database or ""


@contextmanager
def private_empty_postgres_database(admin_url: str) -> Iterator[str]:
    """A database of our own with no schema, dropped afterwards."""
    url = parse_url(admin_url)
    name = f"deskapp_empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
