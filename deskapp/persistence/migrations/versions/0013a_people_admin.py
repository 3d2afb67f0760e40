"""People administration: inactive assignment groups, and versions for admins' edits.

assignment_groups.active lets an admin retire a group without deleting it (incidents and
rules point at it); users.version and assignment_groups.version let two admins edit the same
person or group without one silently overwriting the other (a stale edit is refused).

Revision ID: 0013a
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013a"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): other tables point at both with foreign keys on,
    # and adding a column with a constant default needs no copy on either database.
    op.add_column("assignment_groups", sa.Column("active", sa.Boolean(), nullable=False,
                                                 server_default=sa.true()))
    op.add_column("assignment_groups", sa.Column("version", sa.Integer(), nullable=False,
                                                 server_default="1"))
    op.add_column("users", sa.Column("version", sa.Integer(), nullable=False,
                                     server_default="1"))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place.
    op.drop_column("users", "version")
    op.drop_column("assignment_groups", "version")
    op.drop_column("assignment_groups", "active")
