"""Core schema: people, catalogue, priorities and the matrix, incidents, activity.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 23:52:00.908087
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import deskapp.persistence.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('name_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('email_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('phone_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callers'))
    )
    with op.batch_alter_table('callers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callers_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_callers_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_callers_phone_key'), ['phone_key'], unique=False)

    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], name=op.f('fk_categories_parent_id_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('parent_id', 'name', name=op.f('uq_categories_parent_id_name'))
    )
    op.create_table('counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('priorities',
    sa.Column('rank', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('colour', sa.String(length=16), nullable=False),
    sa.Column('response_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_minutes', sa.Integer(), nullable=False),
    sa.Column('business_hours', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('rank', name=op.f('pk_priorities'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('name', name=op.f('uq_services_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('away', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('assignment_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=op.f('fk_assignment_groups_lead_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_assignment_groups_name'))
    )
    op.create_table('matrix_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('impact_levels', sa.JSON(), nullable=False),
    sa.Column('urgency_levels', sa.JSON(), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_matrix_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matrix_versions'))
    )
    op.create_table('group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['assignment_groups.id'], name=op.f('fk_group_members_group_id_assignment_groups')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_members_user_id_users')),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_members'))
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_members_user_id'), ['user_id'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('short_description', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('subcategory_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('impact', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('hold_reason', sa.String(length=32), nullable=True),
    sa.Column('assignment_group_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('resolution_code', sa.String(length=32), nullable=True),
    sa.Column('resolution_notes', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('is_major', sa.Boolean(), nullable=False),
    sa.Column('opened_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution_due_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sla_paused_since', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_paused_seconds', sa.Integer(), nullable=False),
    sa.Column('response_breached', sa.Boolean(), nullable=False),
    sa.Column('resolution_breached', sa.Boolean(), nullable=False),
    sa.Column('reassignment_count', sa.Integer(), nullable=False),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_incidents_assignee_id_users')),
    sa.ForeignKeyConstraint(['assignment_group_id'], ['assignment_groups.id'], name=op.f('fk_incidents_assignment_group_id_assignment_groups')),
    sa.ForeignKeyConstraint(['caller_id'], ['callers.id'], name=op.f('fk_incidents_caller_id_callers')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_incidents_category_id_categories')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_incidents_opened_by_id_users')),
    sa.ForeignKeyConstraint(['parent_id'], ['incidents.id'], name=op.f('fk_incidents_parent_id_incidents')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_incidents_service_id_services')),
    sa.ForeignKeyConstraint(['subcategory_id'], ['categories.id'], name=op.f('fk_incidents_subcategory_id_categories')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_incidents_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('number', name=op.f('uq_incidents_number'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_assignee_id_state', ['assignee_id', 'state'], unique=False)
        batch_op.create_index('ix_incidents_assignment_group_id_state', ['assignment_group_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_caller_id'), ['caller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_resolved_at'), ['resolved_at'], unique=False)
        batch_op.create_index('ix_incidents_state_opened_at', ['state', 'opened_at'], unique=False)
        batch_op.create_index('ix_incidents_state_resolution_due_at', ['state', 'resolution_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_updated_at'), ['updated_at'], unique=False)

    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('call_started_at', deskapp.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('call_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_activity_actor_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_activity_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index('ix_activity_incident_id_id', ['incident_id', 'id'], unique=False)
    _seed_reference_data()


def _seed_reference_data() -> None:
    """The incident counter and ITIL's default 3x3 matrix with its five priorities."""
    from datetime import UTC, datetime

    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "incident", "value": 0}])
    priorities = sa.table(
        "priorities", sa.column("rank", sa.Integer), sa.column("code", sa.String),
        sa.column("name", sa.String), sa.column("colour", sa.String),
        sa.column("response_minutes", sa.Integer), sa.column("resolution_minutes", sa.Integer),
        sa.column("business_hours", sa.Boolean),
    )
    op.bulk_insert(priorities, [
        {"rank": rank, "code": f"P{rank}", "name": name, "colour": colour,
         "response_minutes": response, "resolution_minutes": resolution,
         "business_hours": False}
        for rank, name, colour, response, resolution in (
            (1, "Critical", "#d32f2f", 15, 240),
            (2, "High", "#f57c00", 30, 480),
            (3, "Moderate", "#fbc02d", 120, 1440),
            (4, "Low", "#388e3c", 480, 4320),
            (5, "Planning", "#1976d2", 1440, 10080),
        )
    ])
    versions = sa.table(
        "matrix_versions", sa.column("created_at", deskapp.persistence.types.UTCDateTime()),
        sa.column("created_by_id", sa.Integer), sa.column("impact_levels", sa.JSON),
        sa.column("urgency_levels", sa.JSON), sa.column("cells", sa.JSON),
    )
    levels = [[1, "High"], [2, "Medium"], [3, "Low"]]
    op.bulk_insert(versions, [{
        "created_at": datetime.now(UTC), "created_by_id": None,
        "impact_levels": levels, "urgency_levels": levels,
        "cells": [[1, 1, 1], [1, 2, 2], [1, 3, 3], [2, 1, 2], [2, 2, 3], [2, 3, 4],
                  [3, 1, 3], [3, 2, 4], [3, 3, 5]],
    }])


def downgrade() -> None:
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_incident_id_id')

    op.drop_table('activity')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_updated_at'))
        batch_op.drop_index('ix_incidents_state_resolution_due_at')
        batch_op.drop_index('ix_incidents_state_opened_at')
        batch_op.drop_index(batch_op.f('ix_incidents_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_incidents_priority'))
        batch_op.drop_index(batch_op.f('ix_incidents_parent_id'))
        batch_op.drop_index(batch_op.f('ix_incidents_opened_at'))
        batch_op.drop_index(batch_op.f('ix_incidents_caller_id'))
        batch_op.drop_index('ix_incidents_assignment_group_id_state')
        batch_op.drop_index('ix_incidents_assignee_id_state')

    op.drop_table('incidents')
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_members_user_id'))

    op.drop_table('group_members')
    op.drop_table('matrix_versions')
    op.drop_table('assignment_groups')
    op.drop_table('users')
    op.drop_table('services')
    op.drop_table('priorities')
    op.drop_table('counters')
    op.drop_table('categories')
    with op.batch_alter_table('callers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callers_phone_key'))
        batch_op.drop_index(batch_op.f('ix_callers_name_key'))
        batch_op.drop_index(batch_op.f('ix_callers_email_key'))

    op.drop_table('callers')
