"""Indexes for the audit viewer's Who and From/To filters.

The trail grows with every write transaction (each commit appends at least one row), and the
viewer shows it newest first, a page at a time, filtered by who acted and by day. Only the
primary key and ``action`` were indexed, so a filter matching few or old rows walked the
whole trail backwards: on 500,000 rows, a day with no rows took 57-127 ms and a person with
a few old rows 169-231 ms. ``(actor_id, id)`` reads one person's rows newest first;
``(at, id)`` turns a day into a range of ids (rows are stamped under the chain lock, so
``at`` follows ``id``), which the primary key then reads newest first.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEXES = {"ix_audit_log_actor_id_id": ["actor_id", "id"], "ix_audit_log_at_id": ["at", "id"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_log", columns)
    op.execute("ANALYZE audit_log")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "audit_log")
