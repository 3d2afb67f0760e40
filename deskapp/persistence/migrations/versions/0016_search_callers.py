"""Search finds incidents by their caller: the index gains the caller's name and email.

An agent whose caller calls back types the caller's name; the index held only the number,
descriptions and notes. ``incident_search`` gains a ``caller`` column (the name, then the
email's local part spelled as words, as search.caller_text_sql), filled in from each incident's caller;
renames, merges and changes of an incident's caller keep it current from here on
(persistence/search.py).

SQLite cannot add a column to an FTS5 table: a new one is built from the old (its notes
copied, not gathered from the timeline again), swapped in under the old name and merged into
one segment. PostgreSQL's generated tsvector cannot change its expression before version 17:
the document (and its GIN index) is dropped, the column added and filled, the document added
back over all five columns and indexed. Downgrading restores the four-column shape of 0002.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
_INDEX = "ix_incident_search_document"
_LOCAL_PART = {"sqlite": "substr(c.email, 1, instr(c.email || '@', '@') - 1)",
               "postgresql": "substr(c.email, 1, strpos(c.email || '@', '@') - 1)"}


def _caller(dialect: str) -> str:
    """search.caller_text_sql when this revision was written: the name and the email's
    local part, spelled as words."""
    return f"c.name || ' ' || replace({_LOCAL_PART[dialect]}, '.', ' ')"


def _sqlite_rebuild(with_caller: bool) -> None:
    columns = "number, short_description, description, notes"
    new_columns = f"{columns}, caller" if with_caller else columns
    op.execute(f"CREATE VIRTUAL TABLE incident_search_new USING fts5({new_columns}, "
               f"{_TOKENIZE})")
    if with_caller:
        # Walks the index once, finding each incident and its caller by primary key.
        op.execute(
            f"INSERT INTO incident_search_new (rowid, {new_columns}) "
            "SELECT s.rowid, s.number, s.short_description, s.description, s.notes, "
            f"COALESCE({_caller('sqlite')}, '') FROM incident_search AS s "
            "LEFT JOIN incidents AS i ON i.id = s.rowid "
            "LEFT JOIN callers AS c ON c.id = i.caller_id")
    else:
        op.execute(f"INSERT INTO incident_search_new (rowid, {columns}) "
                   f"SELECT rowid, {columns} FROM incident_search")
    op.execute("DROP TABLE incident_search")
    op.execute("ALTER TABLE incident_search_new RENAME TO incident_search")
    # One b-tree rather than the segments a bulk insert leaves: what queries read fastest.
    op.execute("INSERT INTO incident_search (incident_search) VALUES ('optimize')")


def _postgres_document(columns: str) -> None:
    words = " || ' ' || ".join(columns.split(", "))
    op.execute("ALTER TABLE incident_search ADD COLUMN document tsvector "
               f"GENERATED ALWAYS AS (to_tsvector('simple', {words})) STORED")
    op.execute(f"CREATE INDEX {_INDEX} ON incident_search USING gin (document)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(with_caller=True)
        return
    # Dropped first, so that filling the new column neither recomputes nor re-indexes it.
    op.execute("ALTER TABLE incident_search DROP COLUMN document")
    op.execute("ALTER TABLE incident_search ADD COLUMN caller TEXT NOT NULL DEFAULT ''")
    op.execute(f"UPDATE incident_search AS s SET caller = {_caller('postgresql')} "
               "FROM incidents AS i JOIN callers AS c ON c.id = i.caller_id "
               "WHERE i.id = s.incident_id")
    _postgres_document("number, short_description, description, notes, caller")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(with_caller=False)
        return
    op.execute("ALTER TABLE incident_search DROP COLUMN document")
    op.execute("ALTER TABLE incident_search DROP COLUMN caller")
    _postgres_document("number, short_description, description, notes")
