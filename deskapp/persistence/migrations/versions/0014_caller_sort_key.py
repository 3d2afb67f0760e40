"""Callers in natural order: callers.sort_key, filled in from the names, and its index.

The callers administration listed callers by ``name_key``, plain text order: "Caller 10"
before "Caller 2". ``sort_key`` is ``natural_sort_key(name)`` (case folded, every run of
digits padded with zeros), whose plain byte order is the order people read names in;
``ix_callers_sort_key_id`` serves the keyset pages by (sort_key, id).

The keys are computed in Python, a few thousand callers per statement. On PostgreSQL the
column compares bytes (collation "C", like the look-up keys), and every role that may write
a caller's name key may write its sort key too, so agents' edits keep working without
running ``admin install-roles`` again.

Revision ID: 0014
Revises: 0013b
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.domain.text import natural_sort_key
from deskapp.persistence.column_grants import grant_update_like

revision = "0014"
down_revision = "0013b"
branch_labels = None
depends_on = None

LENGTH = 600
"""tables.SORT_KEY_LENGTH when this revision was written."""
INDEX = "ix_callers_sort_key_id"
BATCH = 5000


def _backfill(connection: sa.Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    last = 0
    while True:
        rows = connection.execute(sa.text(
            "SELECT id, name FROM callers WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": BATCH}).all()
        if not rows:
            return
        keys = [natural_sort_key(name)[:LENGTH] for _, name in rows]
        if postgres:
            # One statement per batch: the ids and keys travel as two arrays.
            connection.execute(sa.text(
                "UPDATE callers SET sort_key = data.key FROM unnest("
                "CAST(:ids AS integer[]), CAST(:keys AS text[])) AS data(id, key) "
                "WHERE callers.id = data.id"),
                {"ids": [caller_id for caller_id, _ in rows], "keys": keys})
        else:
            # sqlite3's executemany runs in-process: no round trips to save.
            connection.execute(sa.text("UPDATE callers SET sort_key = :key WHERE id = :id"),
                               [{"id": caller_id, "key": key}
                                for (caller_id, _), key in zip(rows, keys, strict=True)])
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.add_column("callers", sa.Column("sort_key", sa.String(LENGTH, collation="C"),
                                           nullable=True))
        _backfill(connection)
        op.alter_column("callers", "sort_key", nullable=False)
        grant_update_like(connection, "callers", "name_key", ["sort_key"])
    else:
        # SQLite adds a NOT NULL column only with a default (a plain ALTER TABLE: callers
        # cannot be copied while incidents refer to it with foreign keys on); every write
        # sets the key (repositories.caller_keys), the default only fills the new column.
        op.add_column("callers", sa.Column("sort_key", sa.String(LENGTH), nullable=False,
                                           server_default=""))
        _backfill(connection)
    op.create_index(INDEX, "callers", ["sort_key", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, "callers")
    op.drop_column("callers", "sort_key")  # SQLite 3.35+ drops a column in place
