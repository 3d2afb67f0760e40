"""Alembic environment: runs on the connection that deskapp.persistence.migrate hands over."""

from __future__ import annotations

from alembic import context

from deskapp.persistence.tables import include_name, with_postgresql_options

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=with_postgresql_options(),
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
