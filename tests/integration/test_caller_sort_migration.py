"""Migration 0014: callers gain sort_key, filled in from their names in batches, and its index,
over a 0013b database with callers in it, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, inspect, text

from deskapp.domain.text import natural_sort_key
from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerPageQuery
from deskapp.services.setup import ensure_admin

COUNT = 12_001
"""More than two of the migration's batches (5,000), and one over."""


def _seed_0013b(engine: Engine) -> None:
    migrate.upgrade(engine, "0013b", backup=False)
    # Inserted from the highest number down, so that ids run against the natural order.
    rows = [{"name": f"Caller {n}", "key": f"caller {n}"} for n in range(COUNT, 0, -1)]
    rows.append({"name": "  Ødegård 7b ", "key": "ødegård 7b"})
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO callers (name, email, phone, department, location, vip, name_key, "
            "email_key, phone_key, needs_review) VALUES (:name, '', '', '', '', false, :key, "
            "'', '', false)"), rows)


def test_0014_fills_sort_key_for_every_caller_and_indexes_it(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        _seed_0013b(engine)
        migrate.upgrade(engine, "0014", backup=False)
        column = next(c for c in inspect(engine).get_columns("callers")
                      if c["name"] == "sort_key")
        assert column["nullable"] is False
        indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("callers")}
        assert indexes["ix_callers_sort_key_id"] == ["sort_key", "id"]
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT name, sort_key FROM callers")).all()
        assert len(stored) == COUNT + 1
        assert [name for name, key in stored if key != natural_sort_key(name)] == []
        assert dict(stored)["  Ødegård 7b "] == "odegard 00000000000000000007b"
        if migrate.head_revision() == "0014":
            assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        admin = CallerAdminService(db.uow_factory, ensure_admin(db.uow_factory).id)
        first = admin.page(CallerPageQuery(limit=100))
        assert [r.name for r in first.rows] == [f"Caller {n}" for n in range(1, 101)]
        second = admin.page(CallerPageQuery(after=first.next_after, limit=100))
        assert second.rows[0].name == "Caller 101"
    finally:
        db.close()


def granted_on_upgrade(url: str, before: str, after: str, columns: list[str]) -> list[bool]:
    """Whether a role that may update callers' names at ``before`` may update each of
    ``columns`` once the desk is upgraded to ``after`` (no role set installed)."""
    role = f"dt{uuid.uuid4().hex[:8]}_editor"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, before, backup=False)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            connection.execute(text(f'GRANT UPDATE (name, name_key) ON callers TO "{role}"'))
        try:
            migrate.upgrade(engine, after, backup=False)
            with engine.connect() as connection:
                return [bool(connection.execute(text(
                    "SELECT has_column_privilege(:role, 'callers', :column, 'UPDATE')"),
                    {"role": role, "column": column}).scalar_one()) for column in columns]
        finally:
            with engine.begin() as connection:
                connection.execute(text(f'DROP OWNED BY "{role}"'))
                connection.execute(text(f'DROP ROLE "{role}"'))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite has no roles
def test_0014_lets_roles_that_write_name_keys_write_sort_keys(empty_url: str) -> None:
    """Agents edit callers' names on their own logins: an upgraded desk keeps letting them
    without ``admin install-roles`` being run again."""
    assert granted_on_upgrade(empty_url, "0013b", "0014", ["sort_key"]) == [True]
