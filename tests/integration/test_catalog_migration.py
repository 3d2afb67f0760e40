"""Migration 0013c: catalogue administration, over a 0012 database with a catalogue in use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import inspect, text

from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.catalog_admin import CatalogAdminService, CatalogAdminUnitOfWorkFactory
from deskapp.services.incidents import IncidentService, LogCallRequest


def _seed_0012(url: str, backend: str) -> None:
    """An admin, a caller, a category with a subcategory, a service, and an incident of
    them, written as a 0012 database holds them."""
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
                "name_key, email_key, phone_key) "
                "VALUES ('Ola', '', '', '', '', false, 'ola', '', '')"))
            connection.execute(text("INSERT INTO categories (name) VALUES ('Hardware')"))
            connection.execute(text(
                "INSERT INTO categories (name, parent_id) "
                "VALUES ('Printers', (SELECT id FROM categories WHERE name = 'Hardware'))"))
            connection.execute(text("INSERT INTO services (name) VALUES ('Printing')"))
            connection.execute(text(
                "INSERT INTO incidents (number, caller_id, channel, short_description, "
                "description, category_id, subcategory_id, service_id, impact, urgency, "
                "priority, state, resolution_notes, is_major, "
                "opened_at, response_due_at, resolution_due_at, sla_paused_seconds, "
                "response_breached, resolution_breached, reassignment_count, reopen_count, "
                "updated_at, version) VALUES ('INC0000001', (SELECT id FROM callers), "
                "'phone', 'Printer jammed', '', "
                "(SELECT id FROM categories WHERE name = 'Hardware'), "
                "(SELECT id FROM categories WHERE name = 'Printers'), "
                "(SELECT id FROM services), 2, 2, 3, 'new', '', false, :t, :t, :t, 0, "
                "false, false, 0, 0, :t, 1)"), {"t": stamp})
            connection.execute(text("UPDATE counters SET value = 1"))
    finally:
        engine.dispose()


def test_0013c_adds_deactivation_versions_and_configuration_items(empty_url: str,
                                                                  backend: str) -> None:
    _seed_0012(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0013c", backup=False)
        inspector = inspect(engine)
        assert {"active", "version"} <= {c["name"] for c in inspector.get_columns("categories")}
        assert {"active", "version", "description"} <= {
            c["name"] for c in inspector.get_columns("services")}
        assert "configuration_item_id" in {c["name"] for c in inspector.get_columns("incidents")}
        assert "ix_incidents_configuration_item_id" in {
            i["name"] for i in inspector.get_indexes("incidents")}
        with engine.connect() as connection:
            categories = connection.execute(text(
                "SELECT name, active, version FROM categories ORDER BY id")).all()
            services = connection.execute(text(
                "SELECT name, active, version, description FROM services")).all()
            ci = connection.execute(text(
                "SELECT configuration_item_id FROM incidents")).scalar_one()
        assert [(n, bool(a), v) for n, a, v in categories] == [
            ("Hardware", True, 1), ("Printers", True, 1)]
        assert [(n, bool(a), v, d) for n, a, v, d in services] == [("Printing", True, 1, "")]
        assert ci is None
        if migrate.head_revision() == "0013c":
            assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        with db.uow_factory() as uow:
            actor = uow.users.by_username("ann").id
        admin = CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, db.uow_factory), actor)
        data = admin.load()
        assert [(c.name, c.incident_count) for c in data.categories] == [
            ("Hardware", 1), ("Printers", 1)]
        [printing] = data.services
        assert printing.incident_count == 1
        printer = admin.add_configuration_item("prt-floor2", "other", printing.id)
        incidents = IncidentService(db.uow_factory, actor)
        with db.uow_factory() as uow:
            caller_id = uow.incidents.get_by_number("INC0000001").caller_id
        detail, _ = incidents.log_call(LogCallRequest(
            caller_id, "Printer jammed again", 2, 2, service_id=printing.id,
            configuration_item_id=printer.id))
        assert detail.configuration_item_id == printer.id
        admin.set_category_active(data.categories[0].id, data.categories[0].version, False)
        assert not any(c.active for c in admin.load().categories)
    finally:
        db.close()
