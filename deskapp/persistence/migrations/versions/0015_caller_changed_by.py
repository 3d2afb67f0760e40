"""Callers remember who changed them last, and when.

callers gains ``updated_at`` and ``updated_by_id`` (set by every versioned change: an edit of
the details, a deactivation, a merge), so that a stale edit is refused naming who changed the
caller meanwhile, as a stale incident save names who saved it. Both nullable: callers created
before (and by the call form or the intake) have not been changed by anyone yet.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.persistence.column_grants import grant_update_like
from deskapp.persistence.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FK = "fk_callers_updated_by_id_users"


def upgrade() -> None:
    # Plain ALTER TABLE, as 0013b: SQLite cannot copy callers while incidents refer to it.
    op.add_column("callers", sa.Column("updated_at", UTCDateTime(timezone=True),
                                       nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE callers ADD COLUMN updated_by_id INTEGER "
                   f"CONSTRAINT {FK} REFERENCES users (id)")
    else:
        op.add_column("callers", sa.Column("updated_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "callers", "users", ["updated_by_id"], ["id"])
        grant_update_like(op.get_bind(), "callers", "name_key", ["updated_at", "updated_by_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "callers", type_="foreignkey")
    op.drop_column("callers", "updated_by_id")
    op.drop_column("callers", "updated_at")
