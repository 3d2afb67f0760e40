"""Caller administration: callers can be deactivated, merged into another, and versioned.

callers gains ``active`` (an inactive caller is not offered by the call form's look-up but
keeps its incidents), ``merged_into_id`` (the caller a duplicate was merged into; email from
its address is filed under that caller) and ``version`` (an edit states the version it read,
so that two people editing one caller never overwrite each other silently).

Revision ID: 0013b
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013b"
down_revision = "0013c"
branch_labels = None
depends_on = None

FK = "fk_callers_merged_into_id_callers"


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy: SQLite cannot drop callers while incidents refer
    # to it with foreign keys on; columns with a default (or nullable) need no copy.
    op.add_column("callers", sa.Column("active", sa.Boolean(), nullable=False,
                                       server_default=sa.true()))
    op.add_column("callers", sa.Column("version", sa.Integer(), nullable=False,
                                       server_default=sa.text("1")))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE callers ADD COLUMN merged_into_id INTEGER "
                   f"CONSTRAINT {FK} REFERENCES callers (id)")
    else:
        op.add_column("callers", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "callers", "callers", ["merged_into_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "callers", type_="foreignkey")
    # SQLite 3.35+ drops a column in place (no copy of callers).
    op.drop_column("callers", "merged_into_id")
    op.drop_column("callers", "version")
    op.drop_column("callers", "active")
