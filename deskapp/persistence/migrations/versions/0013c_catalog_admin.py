"""Catalogue administration: deactivation, versions, configuration items.

categories and services gain active (deactivated rather than deleted: incidents keep pointing
at them) and version (an admin's stale edit is refused); services gain a description.
configuration_items holds the configuration items (a class, an optional service), and
incidents gains configuration_item_id (nullable, indexed).

Revision ID: 0013c
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013c"
down_revision = "0013a"
branch_labels = None
depends_on = None


def _active_and_version(table: str) -> None:
    # Plain ALTER TABLE with server defaults: no copy of the table, rows present stay active.
    op.add_column(table, sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    op.add_column(table, sa.Column("version", sa.Integer(), nullable=False,
                                   server_default=sa.text("1")))


def upgrade() -> None:
    _active_and_version("categories")
    op.add_column("services", sa.Column("description", sa.String(length=400), nullable=False,
                                        server_default=sa.text("''")))
    _active_and_version("services")
    op.create_table(
        "configuration_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("ci_class", sa.String(length=24), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=400), nullable=False,
                  server_default=sa.text("''")),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"],
                                name=op.f("fk_configuration_items_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configuration_items")),
        sa.UniqueConstraint("name", name=op.f("uq_configuration_items_name")),
    )
    op.create_index(op.f("ix_configuration_items_service_id"), "configuration_items",
                    ["service_id"])
    # A nullable column added in place: a batch operation would make SQLite copy the whole
    # incidents table (a million rows) to add one foreign key.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE incidents ADD COLUMN configuration_item_id INTEGER "
                   "CONSTRAINT fk_incidents_configuration_item_id_configuration_items "
                   "REFERENCES configuration_items (id)")
    else:
        op.add_column("incidents", sa.Column("configuration_item_id", sa.Integer(),
                                             nullable=True))
        op.create_foreign_key(op.f("fk_incidents_configuration_item_id_configuration_items"),
                              "incidents", "configuration_items",
                              ["configuration_item_id"], ["id"])
    op.create_index(op.f("ix_incidents_configuration_item_id"), "incidents",
                    ["configuration_item_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_configuration_item_id"), table_name="incidents")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_incidents_configuration_item_id_configuration_items"),
                           "incidents", type_="foreignkey")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("configuration_item_id")
    op.drop_index(op.f("ix_configuration_items_service_id"), table_name="configuration_items")
    op.drop_table("configuration_items")
    for table in ("services", "categories"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
            batch_op.drop_column("active")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("description")
