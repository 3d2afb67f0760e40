"""Groups and people in natural order: assignment_groups.sort_key and users.sort_key.

The queue sorted by Assignment group or Assigned to compared the names as plain text:
descending started at "Group 9" although "Group 80" exists, and "Resolver 99" came above
"Resolver 234". ``sort_key`` is ``natural_sort_key(name)``, as callers have had since 0014
(case folded, every run of digits padded with zeros), whose plain byte order is the order
people read names in. ``ix_assignment_groups_sort_key_id`` and ``ix_users_sort_key_id``
keep the open queue's walk name by name (incident_repository._open_by_name) reading the
names in index order.

The keys are computed in Python, a few thousand rows per statement. On PostgreSQL the column
compares bytes (collation "C"), and every role that may write a name may write its sort key
too, so that renames keep working without running ``admin install-roles`` again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.domain.text import natural_sort_key
from deskapp.persistence.column_grants import grant_update_like

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

LENGTH = 600
"""tables.SORT_KEY_LENGTH when this revision was written."""
BATCH = 5000
TABLES = (("assignment_groups", "name"), ("users", "full_name"))
"""Each table given a sort key, with the column it is made from."""


def _index(table: str) -> str:
    return f"ix_{table}_sort_key_id"


def _backfill(connection: sa.Connection, table: str, name: str) -> None:
    postgres = connection.dialect.name == "postgresql"
    last = 0
    while True:
        rows = connection.execute(sa.text(
            f"SELECT id, {name} FROM {table} WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": BATCH}).all()
        if not rows:
            return
        keys = [natural_sort_key(value)[:LENGTH] for _, value in rows]
        if postgres:
            # One statement per batch: the ids and keys travel as two arrays.
            connection.execute(sa.text(
                f"UPDATE {table} SET sort_key = data.key FROM unnest("
                "CAST(:ids AS integer[]), CAST(:keys AS text[])) AS data(id, key) "
                f"WHERE {table}.id = data.id"),
                {"ids": [row_id for row_id, _ in rows], "keys": keys})
        else:
            connection.execute(sa.text(f"UPDATE {table} SET sort_key = :key WHERE id = :id"),
                               [{"id": row_id, "key": key}
                                for (row_id, _), key in zip(rows, keys, strict=True)])
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    for table, name in TABLES:
        if connection.dialect.name == "postgresql":
            op.add_column(table, sa.Column("sort_key", sa.String(LENGTH, collation="C"),
                                           nullable=True))
            _backfill(connection, table, name)
            op.alter_column(table, "sort_key", nullable=False)
            grant_update_like(connection, table, name, ["sort_key"])
        else:
            # As 0014: a plain ALTER TABLE (incidents refer to both tables), so a NOT NULL
            # column needs a default; every write sets the key (repositories.user_keys,
            # group_keys), the default only fills the new column.
            op.add_column(table, sa.Column("sort_key", sa.String(LENGTH), nullable=False,
                                           server_default=""))
            _backfill(connection, table, name)
        op.create_index(_index(table), table, ["sort_key", "id"])
    if connection.dialect.name == "sqlite":
        # The planner chooses the name walk only with statistics on the new indexes.
        op.execute("ANALYZE assignment_groups")
        op.execute("ANALYZE users")


def downgrade() -> None:
    for table, _ in reversed(TABLES):
        op.drop_index(_index(table), table)
        op.drop_column(table, "sort_key")  # SQLite 3.35+ drops a column in place
