"""Monitoring intake: the alert mapping and the links from alert fingerprints to incidents.

alert_rules holds the mapping from alert labels to impact, urgency, service, assignment
group and automatic resolution, first matching rule by position; it is seeded with the
defaults of services.intake.alert_rules.DEFAULT_RULES (critical -> 1/1, warning -> 2/2,
everything else -> 3/3). alert_links records which incident an alert's notifications go to;
the unique open_key allows one open link per fingerprint.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.persistence.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must keep doing what it did when the code moves on.
SEED_RULES = [
    {"id": 1, "position": 1, "name": "Critical alerts",
     "matchers": [["severity", "=~", "critical|page"]], "impact": 1, "urgency": 1,
     "auto_resolve": True, "resolution_code": "solved_remotely"},
    {"id": 2, "position": 2, "name": "Warnings",
     "matchers": [["severity", "=~", "warning|major"]], "impact": 2, "urgency": 2,
     "auto_resolve": True, "resolution_code": "solved_remotely"},
    {"id": 3, "position": 3, "name": "Everything else", "matchers": [], "impact": 3,
     "urgency": 3, "auto_resolve": True, "resolution_code": "solved_remotely"},
]


def upgrade() -> None:
    rules = op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("assignment_group_id", sa.Integer(), nullable=True),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        sa.Column("resolution_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_alert_rules_service_id_services")),
        sa.ForeignKeyConstraint(["assignment_group_id"], ["assignment_groups.id"],
                                name=op.f("fk_alert_rules_assignment_group_id_assignment_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_table(
        "alert_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("open_key", sa.String(length=200), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("alertname", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_alert_links_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_links")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alert_links_open_key")),
    )
    op.create_index("ix_alert_links_fingerprint", "alert_links", ["fingerprint"])
    op.create_index(op.f("ix_alert_links_incident_id"), "alert_links", ["incident_id"])
    op.bulk_insert(rules, SEED_RULES)
    if op.get_bind().dialect.name == "postgresql":
        # The explicit ids above leave the sequence behind.
        op.execute("SELECT setval('alert_rules_id_seq', 3)")


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_links_incident_id"), table_name="alert_links")
    op.drop_index("ix_alert_links_fingerprint", table_name="alert_links")
    op.drop_table("alert_links")
    op.drop_table("alert_rules")
