"""Migration 0018: the audit trail's (actor_id, id) and (at, id) indexes, over a 0017
database with a trail, on both databases; down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from deskapp.persistence import migrate
from deskapp.persistence.engine import make_engine

INDEXES = {"ix_audit_log_actor_id_id": ["actor_id", "id"], "ix_audit_log_at_id": ["at", "id"]}


def _indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_log")
            if i["name"] is not None}


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0018_indexes_the_trail_by_actor_and_time_and_goes_down_again(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0017", backup=False)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO audit_log (id, at, actor_id, actor, action, entity, entity_id, "
                "details, prev_hash, hash) VALUES (:id, :at, :actor_id, '', 'change', '', '', "
                "'{}', '', '')"),
                [{"id": n, "at": f"2026-03-0{1 + n % 9} 09:00:00", "actor_id": n % 3 or None}
                 for n in range(1, 50)])
        assert not set(INDEXES) & set(_indexes(engine))
        migrate.upgrade(engine, "0018", backup=False)
        assert {name: _indexes(engine)[name] for name in INDEXES} == INDEXES
        if migrate.head_revision() == "0018":
            assert migrate.schema_differences(engine) == []

        _downgrade(engine, "0017")
        assert migrate.current_revision(engine) == "0017"
        assert not set(INDEXES) & set(_indexes(engine))
        migrate.upgrade(engine, backup=False)
        assert {name: _indexes(engine)[name] for name in INDEXES} == INDEXES
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 49
    finally:
        engine.dispose()
