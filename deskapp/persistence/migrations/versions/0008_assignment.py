"""Escalation on incidents, and the assignment rules that route new incidents to groups.

incidents gains escalation ("functional", "hierarchical" or NULL), escalated_at and
escalated_to_id (whom a hierarchical escalation flags), with a small partial index of the
escalated open incidents. assignment_rules holds the routing rules, off when created.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.persistence.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN_ESCALATED = sa.text("state IN ('new', 'in_progress', 'on_hold') AND escalation IS NOT NULL")


def upgrade() -> None:
    # Nullable columns added in place: a batch operation would make SQLite copy the whole
    # incidents table (a million rows) to add one foreign key.
    op.add_column("incidents", sa.Column("escalation", sa.String(length=16), nullable=True))
    op.add_column("incidents", sa.Column("escalated_at", UTCDateTime(timezone=True),
                                         nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE incidents ADD COLUMN escalated_to_id INTEGER "
                   "CONSTRAINT fk_incidents_escalated_to_id_users REFERENCES users (id)")
    else:
        op.add_column("incidents", sa.Column("escalated_to_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_incidents_escalated_to_id_users"), "incidents",
                              "users", ["escalated_to_id"], ["id"])
    op.create_index("ix_incidents_open_escalated", "incidents",
                    ["assignment_group_id", "opened_at"], sqlite_where=OPEN_ESCALATED,
                    postgresql_where=OPEN_ESCALATED)
    op.create_table(
        "assignment_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("last_assignee_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["assignment_groups.id"],
                                name=op.f("fk_assignment_rules_group_id_assignment_groups")),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"],
                                name=op.f("fk_assignment_rules_category_id_categories")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_assignment_rules_service_id_services")),
        sa.ForeignKeyConstraint(["last_assignee_id"], ["users.id"],
                                name=op.f("fk_assignment_rules_last_assignee_id_users")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_assignment_rules_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_assignment_rules_name")),
    )
    op.create_index(op.f("ix_assignment_rules_group_id"), "assignment_rules", ["group_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_assignment_rules_group_id"), table_name="assignment_rules")
    op.drop_table("assignment_rules")
    op.drop_index("ix_incidents_open_escalated", "incidents")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_incidents_escalated_to_id_users"), "incidents",
                           type_="foreignkey")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("escalated_to_id")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalation")
