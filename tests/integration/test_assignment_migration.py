"""Migration 0008: escalation columns and assignment rules, over a database with incidents."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.incidents import IncidentService
from deskapp.services.queries import QueueFilter, QueueQuery


def _seed_0007(url: str, backend: str) -> None:
    """One user, caller and open incident, written as a 0007 database holds them."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0007", backup=False)
        now = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
        stamp = now.replace(tzinfo=None) if backend == "sqlite" else now
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, full_name, email, role, active, away) "
                "VALUES ('ann', 'Ann', 'ann@example.com', 'admin', true, false)"))
            connection.execute(text(
                "INSERT INTO callers (name, email, phone, department, location, vip, "
                "name_key, email_key, phone_key) "
                "VALUES ('Ola', '', '', '', '', false, 'ola', '', '')"))
            connection.execute(text(
                "INSERT INTO incidents (number, caller_id, channel, short_description, "
                "description, impact, urgency, priority, state, resolution_notes, is_major, "
                "opened_at, response_due_at, resolution_due_at, sla_paused_seconds, "
                "response_breached, resolution_breached, reassignment_count, reopen_count, "
                "updated_at, version) VALUES ('INC0000001', (SELECT id FROM callers), "
                "'phone', 'Scanner offline', '', 2, 2, 3, 'new', '', false, :t, :t, :t, 0, "
                "false, false, 0, 0, :t, 1)"), {"t": stamp})
            connection.execute(text("UPDATE counters SET value = 1"))
    finally:
        engine.dispose()


def test_0008_adds_escalation_and_rules_keeping_incidents(empty_url: str,
                                                          backend: str) -> None:
    _seed_0007(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0008", backup=False)
        columns = {c["name"] for c in inspect(engine).get_columns("incidents")}
        assert {"escalation", "escalated_at", "escalated_to_id"} <= columns
        assert "assignment_rules" in inspect(engine).get_table_names()
        indexes = {i["name"] for i in inspect(engine).get_indexes("incidents")}
        assert "ix_incidents_open_escalated" in indexes
        if migrate.head_revision() == "0008":
            assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        with db.uow_factory() as uow:
            actor = uow.users.by_username("ann").id
        service = IncidentService(db.uow_factory, actor)
        incident = service.get_by_number("INC0000001")
        assert (incident.escalation, incident.escalated_to_id, incident.version) == (None, None,
                                                                                    1)
        [row] = service.list_queue(QueueQuery(QueueFilter.open_incidents()))
        assert row.escalation is None
        assert service.list_queue(QueueQuery(QueueFilter(escalated_only=True))) == []
    finally:
        db.close()


def test_0008_steps_down_and_up_again(empty_url: str, backend: str) -> None:
    from alembic import command

    _seed_0007(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0008", backup=False)
        with engine.begin() as connection:
            connection.execute(text(
                "UPDATE incidents SET escalation = 'hierarchical', escalated_to_id = "
                "(SELECT id FROM users)"))
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
        assert migrate.current_revision(engine) == "0007"
        columns = {c["name"] for c in inspect(engine).get_columns("incidents")}
        assert not {"escalation", "escalated_at", "escalated_to_id"} & columns
        assert "assignment_rules" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT number FROM incidents")).scalar_one() == \
                "INC0000001"
        migrate.upgrade(engine, "0008", backup=False)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT escalation FROM incidents")).scalar_one() \
                is None
    finally:
        engine.dispose()
