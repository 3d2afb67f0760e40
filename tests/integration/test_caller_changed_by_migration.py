"""Migration 0015: callers gain updated_at and updated_by_id, over a 0014 database with
callers and incidents in it, on both databases; a stale edit then names who changed it."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text

from deskapp.domain.enums import Role
from deskapp.domain.errors import ConflictError
from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, CallerPageQuery
from tests.conftest import FakeClock, add_user
from tests.integration.test_caller_admin_migration import _seed_0012
from tests.integration.test_caller_sort_migration import granted_on_upgrade


def test_0015_adds_who_changed_a_caller_keeping_callers(empty_url: str,
                                                           backend: str) -> None:
    _seed_0012(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0014", backup=False)
        migrate.upgrade(engine, "0015", backup=False)
        columns = {c["name"] for c in inspect(engine).get_columns("callers")}
        assert {"updated_at", "updated_by_id"} <= columns
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT name, version, updated_at, updated_by_id FROM callers ORDER BY id"
            )).all()
        assert [tuple(r) for r in rows] == [("Ola", 1, None, None), ("Ola N", 1, None, None)]
        if migrate.head_revision() == "0015":
            assert migrate.schema_differences(engine) == []
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
        assert migrate.current_revision(engine) == "0014"
        columns = {c["name"] for c in inspect(engine).get_columns("callers")}
        assert not {"updated_at", "updated_by_id"} & columns
        migrate.upgrade(engine, "0015", backup=False)
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        clock = FakeClock()
        with db.uow_factory() as uow:
            admin_id = uow.users.by_username("ann").id
        agnes = add_user(db, "agnes", Role.AGENT)
        row = CallerAdminService(db.uow_factory, admin_id).page(CallerPageQuery()).rows[0]
        CallerAdminService(db.uow_factory, agnes.id, clock).edit(
            row.id, row.version, CallerEdit("Ola", "ola@example.com", "555 0101"))
        with pytest.raises(ConflictError, match="changed by Agnes at 2026-03-02 09:00:00 UTC"):
            CallerAdminService(db.uow_factory, admin_id).edit(row.id, row.version,
                                                              CallerEdit("Ola Nordmann"))
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite has no roles
def test_upgrading_a_shared_desk_gives_its_roles_the_new_columns(empty_url: str) -> None:
    """Agents write callers.updated_by_id on their own logins: after an upgrade that adds
    it, their group role may, without ``admin install-roles`` being run again."""
    from deskapp.persistence.pg_roles import PgRoles, role_name

    prefix = f"dt{uuid.uuid4().hex[:8]}_"
    agent = role_name(prefix, Role.AGENT)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, backup=False)
        PgRoles(engine).install(prefix)
        try:
            config = migrate.alembic_config()
            with engine.begin() as connection:  # the columns, and their privileges, go
                config.attributes["connection"] = connection
                command.downgrade(config, "0014")
            migrate.upgrade(engine, backup=False)
            with engine.connect() as connection:
                allowed = connection.execute(text(
                    "SELECT has_column_privilege(:role, 'callers', 'updated_by_id', 'UPDATE')"
                ), {"role": agent}).scalar_one()
            assert allowed is True
        finally:
            dropped = PgRoles(engine).uninstall(prefix)
            assert agent in dropped
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite has no roles
def test_0015_itself_lets_roles_that_write_name_keys_write_who_changed(empty_url: str) -> None:
    assert granted_on_upgrade(empty_url, "0014", "0015",
                              ["updated_at", "updated_by_id"]) == [True, True]
