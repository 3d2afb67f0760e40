"""Full-text search over number, descriptions and notes: FTS5 on SQLite, tsvector on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # remove_diacritics lets "cafe" find "café"; the rowid is the incident id.
        op.execute(
            "CREATE VIRTUAL TABLE incident_search USING fts5("
            "number, short_description, description, notes, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO incident_search (rowid, number, short_description, description, notes) "
            "SELECT i.id, i.number, i.short_description, i.description, "
            "COALESCE((SELECT group_concat(a.body, ' ') FROM activity a "
            "WHERE a.incident_id = i.id AND a.kind IN ('work_note', 'comment', 'call') "
            "AND a.body IS NOT NULL), '') FROM incidents i"
        )
    else:
        op.execute(
            "CREATE TABLE incident_search ("
            "incident_id INTEGER PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE, "
            "number TEXT NOT NULL, short_description TEXT NOT NULL, "
            "description TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '', "
            "document tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
            "number || ' ' || short_description || ' ' || description || ' ' || notes)) STORED)"
        )
        op.execute("CREATE INDEX ix_incident_search_document ON incident_search "
                   "USING gin (document)")
        op.execute(
            "INSERT INTO incident_search (incident_id, number, short_description, description, "
            "notes) SELECT i.id, i.number, i.short_description, i.description, "
            "COALESCE((SELECT string_agg(a.body, ' ') FROM activity a "
            "WHERE a.incident_id = i.id AND a.kind IN ('work_note', 'comment', 'call') "
            "AND a.body IS NOT NULL), '') FROM incidents i"
        )


def downgrade() -> None:
    op.execute("DROP TABLE incident_search")
