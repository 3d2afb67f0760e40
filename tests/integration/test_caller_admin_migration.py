"""Migration 0013b: callers gain active, merged_into_id and version, over a 0012 database
with callers and incidents in it, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerPageQuery, MergeRequest
from deskapp.services.incidents import IncidentService


def _seed_0012(url: str, backend: str) -> None:
    """An admin, two callers that are one person (one flagged for review), an incident."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0012", backup=False)
        now = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
        stamp = now.replace(tzinfo=None) if backend == "sqlite" else now
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, full_name, email, role, active, away) "
                "VALUES ('ann', 'Ann', 'ann@example.com', 'admin', true, false)"))
            connection.execute(text(
                "INSERT INTO callers (name, email, phone, department, location, vip, "
                "name_key, email_key, phone_key, needs_review) VALUES "
                "('Ola', 'ola@example.com', '', '', '', false, 'ola', 'ola@example.com', '', "
                "false), ('Ola N', 'ola@example.com', '', '', '', false, 'ola n', "
                "'ola@example.com', '', true)"))
            connection.execute(text(
                "INSERT INTO incidents (number, caller_id, channel, short_description, "
                "description, impact, urgency, priority, state, resolution_notes, is_major, "
                "opened_at, response_due_at, resolution_due_at, sla_paused_seconds, "
                "response_breached, resolution_breached, reassignment_count, reopen_count, "
                "updated_at, version) VALUES ('INC0000001', (SELECT max(id) FROM callers), "
                "'email', 'Scanner offline', '', 2, 2, 3, 'new', '', false, :t, :t, :t, 0, "
                "false, false, 0, 0, :t, 1)"), {"t": stamp})
            connection.execute(text("UPDATE counters SET value = 1"))
    finally:
        engine.dispose()


def test_0013b_adds_the_columns_keeping_callers_and_incidents(empty_url: str,
                                                              backend: str) -> None:
    _seed_0012(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0013b", backup=False)
        columns = {c["name"] for c in inspect(engine).get_columns("callers")}
        assert {"active", "merged_into_id", "version"} <= columns
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT active, merged_into_id, version FROM callers ORDER BY id")).all()
        assert [(bool(a), m, v) for a, m, v in rows] == [(True, None, 1), (True, None, 1)]
        if migrate.head_revision() == "0013b":
            assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        with db.uow_factory() as uow:
            actor = uow.users.by_username("ann").id
        admin = CallerAdminService(db.uow_factory, actor)
        rows = admin.page(CallerPageQuery()).rows
        assert [(r.name, r.incident_count, r.needs_review) for r in rows] == [
            ("Ola", 0, False), ("Ola N", 1, True)]
        result = admin.merge(MergeRequest(rows[0].id, (rows[1].id,),
                                          {r.id: r.version for r in rows}))
        assert result.incidents_moved == 1
        assert IncidentService(db.uow_factory, actor).lookup_callers("ola")[0].id == rows[0].id
    finally:
        db.close()
