"""Migrations: from an empty database, from the previous revision, and agreeing with the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.incidents import IncidentService
from deskapp.services.setup import ensure_admin


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert migrate.current_revision(engine) is None
        assert migrate.upgrade(engine) is None  # nothing to back up in an empty database
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.schema_differences(engine) == []
        with engine.connect() as connection:
            priorities = connection.execute(text("SELECT count(*) FROM priorities")).scalar()
            counter = connection.execute(text("SELECT value FROM counters")).scalar()
        assert (priorities, counter) == (5, 0)
    finally:
        engine.dispose()


def test_upgrade_from_previous_revision_keeps_data_and_indexes_it(
    empty_url: str, backend: str
) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0001")
        now = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, full_name, email, role, active, away) "
                "VALUES ('ann', 'Ann', 'ann@example.com', 'agent', true, false)"))
            connection.execute(text(
                "INSERT INTO callers (name, email, phone, department, location, vip, "
                "name_key, email_key, phone_key) "
                "VALUES ('Ola', '', '', '', '', false, 'ola', '', '')"))
            stamp = now.replace(tzinfo=None) if backend == "sqlite" else now
            connection.execute(text(
                "INSERT INTO incidents (number, caller_id, channel, short_description, "
                "description, impact, urgency, priority, state, resolution_notes, is_major, "
                "opened_at, response_due_at, resolution_due_at, sla_paused_seconds, "
                "response_breached, resolution_breached, reassignment_count, reopen_count, "
                "updated_at, version) VALUES ('INC0000001', (SELECT id FROM callers), 'phone', "
                "'Scanner offline', "
                "'', 2, 2, 3, 'new', '', false, :t, :t, :t, 0, false, false, 0, 0, :t, 1)"),
                {"t": stamp})
            connection.execute(text(
                "INSERT INTO activity (incident_id, kind, at, actor_id, body) "
                "VALUES ((SELECT id FROM incidents), 'work_note', :t, (SELECT id FROM users), "
                "'toner smudge')"), {"t": stamp})
            connection.execute(text("UPDATE counters SET value = 1"))
        backup = migrate.upgrade(engine)
        if backend == "sqlite":
            assert backup is not None and backup.exists()
            assert "before-0001" in backup.name
        else:
            assert backup is None
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    database = open_database(empty_url)
    try:
        admin = ensure_admin(database.uow_factory)
        service = IncidentService(database.uow_factory, admin.id)
        assert [r.number for r in service.search("toner")] == ["INC0000001"]
        assert [r.number for r in service.search("scanner")] == ["INC0000001"]
    finally:
        database.close()


def test_opening_an_old_database_migrates_it(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0001")
    engine.dispose()
    database = open_database(empty_url)
    try:
        assert migrate.current_revision(database.engine) == migrate.head_revision()
    finally:
        database.close()


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert migrate.head_revision() == alembic_head


def test_every_revision_upgrades_from_the_one_before_and_back(empty_url: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert revisions[0] == "0001" and revisions[-1] == migrate.head_revision()
    engine = make_engine(empty_url)
    try:
        for revision in revisions:
            migrate.upgrade(engine, revision, backup=False)
            assert migrate.current_revision(engine) == revision
        assert migrate.schema_differences(engine) == []
        # The newest revisions step down and up again cleanly.
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revisions[-4])
        assert migrate.current_revision(engine) == revisions[-4]
        migrate.upgrade(engine, backup=False)
        assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
