"""Business hours for SLA targets, and priority definitions kept with each matrix version.

The desk's calendar (working days, opening window, time zone) is one row of
business_calendars, seeded Monday to Friday 08:00-17:00 UTC; its public holidays are rows of
business_holidays. matrix_versions gains the priority definitions and the calendar saved
with each version (None on the versions before), and a comment ("Restored from version 3").

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    calendars = op.create_table(
        "business_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.JSON(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
    )
    op.create_table(
        "business_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["business_calendars.id"],
                                name=op.f("fk_business_holidays_calendar_id_business_calendars")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_holidays")),
        sa.UniqueConstraint("calendar_id", "day",
                            name=op.f("uq_business_holidays_calendar_id_day")),
    )
    with op.batch_alter_table("matrix_versions") as batch_op:
        batch_op.add_column(sa.Column("priorities", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("calendar", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("comment", sa.String(length=200), nullable=True))
    # The seeded calendar changes nothing by itself: every seeded priority runs 24x7.
    op.bulk_insert(calendars, [{"id": 1, "working_days": [0, 1, 2, 3, 4],
                                "opens_minute": 8 * 60, "closes_minute": 17 * 60,
                                "time_zone": "UTC"}])
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id above leaves the sequence behind.
        op.execute("SELECT setval('business_calendars_id_seq', 1)")


def downgrade() -> None:
    with op.batch_alter_table("matrix_versions") as batch_op:
        batch_op.drop_column("comment")
        batch_op.drop_column("calendar")
        batch_op.drop_column("priorities")
    op.drop_table("business_holidays")
    op.drop_table("business_calendars")
