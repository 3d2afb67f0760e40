"""Email intake: the messages read from the mailbox, their attachments, callers to review.

email_messages holds one row per message the intake has dealt with, keyed by its Message-ID
(unique), so that a message read twice (after a crash between the commit and marking it
seen on the server) never makes a second incident. email_attachments keeps each attachment's
bytes with the incident. callers gains needs_review: a caller created from an unknown sender.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deskapp.persistence.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy: SQLite cannot drop callers while incidents refer
    # to it with foreign keys on, and adding a column with a default needs no copy.
    op.add_column("callers", sa.Column("needs_review", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_email_messages_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_messages_message_id")),
    )
    op.create_index(op.f("ix_email_messages_incident_id"), "email_messages", ["incident_id"])
    op.create_table(
        "email_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("email_message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_email_attachments_incident_id_incidents")),
        sa.ForeignKeyConstraint(["email_message_id"], ["email_messages.id"],
                                name=op.f("fk_email_attachments_email_message_id_email_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_attachments")),
    )
    op.create_index(op.f("ix_email_attachments_incident_id"), "email_attachments",
                    ["incident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_email_attachments_incident_id"), table_name="email_attachments")
    op.drop_table("email_attachments")
    op.drop_index(op.f("ix_email_messages_incident_id"), table_name="email_messages")
    op.drop_table("email_messages")
    op.drop_column("callers", "needs_review")  # SQLite 3.35+ drops a column in place
