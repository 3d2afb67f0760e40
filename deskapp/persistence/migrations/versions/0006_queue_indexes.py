"""Indexes for queues at a million incidents: partial indexes over the open incidents.

One partial index per sortable column of the open queue, a covering one for the SLA and
major-incident counts, and indexes for category, service and group-history filters. Then ANALYZE:
without statistics SQLite's planner does not pick the partial indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('new', 'in_progress', 'on_hold')")
OPEN_UNASSIGNED = sa.text("state IN ('new', 'in_progress', 'on_hold') AND assignee_id IS NULL")
OPEN_SORT_COLUMNS = ("number", "opened_at", "updated_at", "priority", "state",
                     "short_description", "resolution_due_at")


def upgrade() -> None:
    op.create_index("ix_incidents_assignment_group_id_opened_at", "incidents",
                    ["assignment_group_id", "opened_at"])
    op.create_index("ix_incidents_category_id_opened_at", "incidents",
                    ["category_id", "opened_at"])
    op.create_index("ix_incidents_subcategory_id_opened_at", "incidents",
                    ["subcategory_id", "opened_at"])
    # "Open on the same service" while a call is typed.
    op.create_index("ix_incidents_service_id_state", "incidents", ["service_id", "state"])
    for name in OPEN_SORT_COLUMNS:
        op.create_index(f"ix_incidents_open_{name}", "incidents", [name],
                        sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_incidents_open_sla", "incidents",
                    ["state", "priority", "resolution_due_at", "resolution_breached",
                     "is_major"], sqlite_where=OPEN, postgresql_where=OPEN)
    # SQLAlchemy writes is_major.is_(True) as "IS 1" on SQLite and "IS true" on PostgreSQL;
    # the index's condition must read the same for the planner to use it.
    op.create_index("ix_incidents_major_opened_at", "incidents", ["opened_at"],
                    sqlite_where=sa.text("is_major IS 1"),
                    postgresql_where=sa.text("is_major IS true"))
    op.create_index("ix_incidents_open_unassigned", "incidents",
                    ["assignment_group_id", "opened_at"], sqlite_where=OPEN_UNASSIGNED,
                    postgresql_where=OPEN_UNASSIGNED)
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_incidents_open_unassigned", "incidents")
    op.drop_index("ix_incidents_major_opened_at", "incidents")
    op.drop_index("ix_incidents_open_sla", "incidents")
    for name in reversed(OPEN_SORT_COLUMNS):
        op.drop_index(f"ix_incidents_open_{name}", "incidents")
    op.drop_index("ix_incidents_service_id_state", "incidents")
    op.drop_index("ix_incidents_subcategory_id_opened_at", "incidents")
    op.drop_index("ix_incidents_category_id_opened_at", "incidents")
    op.drop_index("ix_incidents_assignment_group_id_opened_at", "incidents")
