"""Migration 0016: the search index gains each incident's caller, over a 0015 database with
callers, incidents and notes in it, on both databases; a downgrade restores the old shape."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from deskapp.persistence import migrate, search
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.incidents import IncidentService
from tests.integration.test_caller_admin_migration import _seed_0012


def _index_columns(engine: Engine) -> list[str]:
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            return [r[1] for r in connection.execute(text("PRAGMA table_info(incident_search)"))]
    return [c["name"] for c in inspect(engine).get_columns("incident_search")]


def _hits(engine: Engine, words: str) -> int:
    query = search.engine_query(engine.dialect.name, words)
    with engine.connect() as connection:
        return int(connection.execute(text(search.count_sql(engine.dialect.name)),
                                      {"q": query}).scalar_one())


def _seed_0015(url: str, backend: str) -> None:
    """_seed_0012's callers and incident, at 0015, with its index entry and a note in it."""
    _seed_0012(url, backend)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0015", backup=False)
        id_column = "rowid" if backend == "sqlite" else "incident_id"
        with engine.begin() as connection:
            connection.execute(text(
                f"INSERT INTO incident_search ({id_column}, number, short_description, "
                "description, notes) SELECT id, number, short_description, description, "
                "'Swapped the quokkacable' FROM incidents"))
    finally:
        engine.dispose()


def test_0016_indexes_each_incidents_caller_and_downgrades_to_the_old_index(
        empty_url: str, backend: str) -> None:
    _seed_0015(empty_url, backend)
    engine = make_engine(empty_url)
    try:
        assert _hits(engine, "ola") == 0
        migrate.upgrade(engine, "0016", backup=False)
        assert "caller" in _index_columns(engine)
        # The incident's caller is "Ola N" <ola@example.com>; its text and notes stay.
        for words in ("ola n", "ola@example.com", "scanner offline", "quokkacable",
                      "INC0000001"):
            assert _hits(engine, words) == 1, words
        assert _hits(engine, "ola nordmann") == 0
        if migrate.head_revision() == "0016":
            assert migrate.schema_differences(engine) == []
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0015")
        assert migrate.current_revision(engine) == "0015"
        assert set(_index_columns(engine)) == {
            "number", "short_description", "description", "notes",
            *(() if backend == "sqlite" else ("incident_id", "document"))}
        assert _hits(engine, "ola") == 0
        assert _hits(engine, "quokkacable") == _hits(engine, "scanner") == 1
        migrate.upgrade(engine, backup=False)
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        with db.uow_factory() as uow:
            admin_id = uow.users.by_username("ann").id
        service = IncidentService(db.uow_factory, admin_id)
        assert [r.number for r in service.search("Ola N")] == ["INC0000001"]
        assert [r.number for r in service.search("quokkacable")] == ["INC0000001"]
    finally:
        db.close()
