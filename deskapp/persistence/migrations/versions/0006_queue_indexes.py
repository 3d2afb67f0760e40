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
OPEN_SORT_COLUMNS = ("number", "opened_at", "updated_at", "priority", "state",
                     "short_description", "resolution_due_at")


def upgrade() -> None:
    op.create_index("ix_incidents_assignment_group_id_opened_at", "incidents",
                    ["assignment_group_id", "opened_at"])
    op.create_index("ix_incidents_category_id", "incidents", ["category_id"])
    op.create_index("ix_incidents_subcategory_id", "incidents", ["subcategory_id"])
    # "Open on the same service" while a call is typed.
    op.create_index("ix_incidents_service_id_state", "incidents", ["service_id", "state"])
    for name in OPEN_SORT_COLUMNS:
        op.create_index(f"ix_incidents_open_{name}", "incidents", [name],
                        sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_incidents_open_sla", "incidents",
                    ["state", "priority", "resolution_due_at", "resolution_breached",
                     "is_major"], sqlite_where=OPEN, postgresql_where=OPEN)
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_incidents_open_sla", "incidents")
    for name in reversed(OPEN_SORT_COLUMNS):
        op.drop_index(f"ix_incidents_open_{name}", "incidents")
    op.drop_index("ix_incidents_service_id_state", "incidents")
    op.drop_index("ix_incidents_subcategory_id", "incidents")
    op.drop_index("ix_incidents_category_id", "incidents")
    op.drop_index("ix_incidents_assignment_group_id_opened_at", "incidents")
