"""External references: where an imported incident came from, unique so re-imports skip it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column and a unique index, not a unique constraint: both databases add
    # them in place, where a constraint would make SQLite copy the whole incidents table.
    op.add_column("incidents", sa.Column("external_ref", sa.String(length=80), nullable=True))
    op.create_index(op.f("ix_incidents_external_ref"), "incidents", ["external_ref"],
                    unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_external_ref"), table_name="incidents")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("external_ref")
