"""Migration 0017: assignment groups and people gain sort_key, filled in from their names in
batches, and its index, over a 0016 database, on both databases; down and up again."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from deskapp.domain.enums import Role
from deskapp.domain.text import natural_sort_key
from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey, cursor_after

PEOPLE = 5_001
"""More than one of the migration's batches (5,000), and one over."""
GROUPS = 120
TABLES = {"assignment_groups": "name", "users": "full_name"}


def _seed_0016(engine: Engine) -> None:
    migrate.upgrade(engine, "0016", backup=False)
    # Inserted from the highest number down, so that ids run against the natural order.
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (username, full_name, email, role, active, away) "
            "VALUES (:username, :name, '', :role, true, false)"),
            [{"username": f"r{n}", "name": f"Resolver {n}",
              "role": Role.ADMIN.value if n == PEOPLE else Role.AGENT.value}
             for n in range(PEOPLE, 0, -1)])
        connection.execute(text(
            "INSERT INTO users (username, full_name, email, role, active, away) "
            "VALUES ('odd', '  Ødegård 7b ', '', 'agent', true, false)"))
        connection.execute(text(
            "INSERT INTO assignment_groups (name, description) VALUES (:name, '')"),
            [{"name": f"Group {n}"} for n in range(GROUPS, 0, -1)])


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0017_fills_sort_keys_indexes_them_and_goes_down_again(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        _seed_0016(engine)
        migrate.upgrade(engine, "0017", backup=False)
        for table, name in TABLES.items():
            column = next(c for c in inspect(engine).get_columns(table)
                          if c["name"] == "sort_key")
            assert column["nullable"] is False
            indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes(table)}
            assert indexes[f"ix_{table}_sort_key_id"] == ["sort_key", "id"]
            with engine.connect() as connection:
                stored = connection.execute(text(f"SELECT {name}, sort_key FROM {table}")).all()
            assert len(stored) == (GROUPS if table == "assignment_groups" else PEOPLE + 1)
            assert [value for value, key in stored if key != natural_sort_key(value)] == []
        assert dict(stored)["  Ødegård 7b "] == "odegard 00000000000000000007b"
        if migrate.head_revision() == "0017":
            assert migrate.schema_differences(engine) == []

        _downgrade(engine, "0016")
        assert migrate.current_revision(engine) == "0016"
        for table in TABLES:
            assert "sort_key" not in {c["name"] for c in inspect(engine).get_columns(table)}
            assert f"ix_{table}_sort_key_id" not in {
                i["name"] for i in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()

    db = open_database(empty_url)  # up to the head again
    try:
        with db.uow_factory() as uow:
            admin = uow.users.by_username(f"r{PEOPLE}").id
            groups = {g.name: g.id for g in uow.groups.all()}
            people = {u.full_name: u.id for u in uow.users.all()}
        names = ("Group 9", "Group 80", "Group 100")
        with db.uow_factory(write=True) as uow:
            for person in ("Resolver 99", "Resolver 100", "Resolver 234"):
                uow.people.set_user_groups(people[person], [groups[g] for g in names])
            uow.commit()
        service = IncidentService(db.uow_factory, admin)
        caller = service.add_caller("Ola", "", "")
        for group in names:
            for person in ("Resolver 99", "Resolver 100", "Resolver 234"):
                service.log_call(LogCallRequest(caller.id, f"{group} {person}", 2, 2,
                                                assignment_group_id=groups[group],
                                                assignee_id=people[person]))
        for sort, expected in ((SortKey.GROUP, ["Group 100", "Group 80", "Group 9"]),
                               (SortKey.ASSIGNEE,
                                ["Resolver 234", "Resolver 100", "Resolver 99"])):
            first = service.list_queue(QueueQuery(QueueFilter(), sort=sort, descending=True,
                                                  limit=4))
            rest = service.list_queue(QueueQuery(QueueFilter(), sort=sort, descending=True,
                                                 after=cursor_after(first[-1], sort)))
            shown = [(r.group_name if sort == SortKey.GROUP else r.assignee_name)
                     for r in first + rest]
            assert list(dict.fromkeys(shown)) == expected
    finally:
        db.close()


def _granted_on_upgrade(url: str) -> list[bool]:
    """Whether a role that may update groups' and people's names at 0016 may update their
    sort keys once the desk is upgraded to 0017 (no role set installed)."""
    role = f"dt{uuid.uuid4().hex[:8]}_renamer"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0016", backup=False)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            for table, name in TABLES.items():
                connection.execute(text(f'GRANT UPDATE ({name}) ON {table} TO "{role}"'))
        try:
            migrate.upgrade(engine, "0017", backup=False)
            with engine.connect() as connection:
                return [bool(connection.execute(text(
                    "SELECT has_column_privilege(:role, :table, 'sort_key', 'UPDATE')"),
                    {"role": role, "table": table}).scalar_one()) for table in TABLES]
        finally:
            with engine.begin() as connection:
                connection.execute(text(f'DROP OWNED BY "{role}"'))
                connection.execute(text(f'DROP ROLE "{role}"'))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite has no roles
def test_0017_lets_roles_that_write_names_write_sort_keys(empty_url: str) -> None:
    """Renaming on one's own login keeps working on an upgraded shared desk without
    ``admin install-roles`` being run again."""
    assert _granted_on_upgrade(empty_url) == [True, True]
