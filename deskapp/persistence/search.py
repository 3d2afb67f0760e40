"""Full-text search behind one interface: FTS5 on SQLite, tsvector with GIN on PostgreSQL.

The index holds, per incident, its number, descriptions, notes and its caller's name and
email (since 0016): whatever is written to an incident or a caller that the index holds is
written to the index in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Integer, TextualSelect, bindparam, column, text
from sqlalchemy.orm import Session

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased; punctuation never reaches the query syntax."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def _fts5_query(words: list[str]) -> str:
    # Each word quoted (so AND/OR/NEAR are plain words), the last one as a prefix.
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _ts_query(words: list[str]) -> str:
    parts = [w.replace("'", "") for w in words]
    return " & ".join(f"'{p}'" for p in parts[:-1]) + (" & " if len(parts) > 1 else "") + \
        f"'{parts[-1]}':*"


def matching_ids(dialect: str, query: str) -> TextualSelect | None:
    """A sub-select of the ids of matching incidents, or None when the query has no words."""
    q = engine_query(dialect, query)
    if q is None:
        return None
    if dialect == "sqlite":
        sql = "SELECT rowid AS id FROM incident_search WHERE incident_search MATCH :search_q"
    else:
        sql = ("SELECT incident_id AS id FROM incident_search "
               "WHERE document @@ to_tsquery('simple', :search_q)")
    return text(sql).bindparams(search_q=q).columns(column("id", Integer))


def newest_hits_sql(dialect: str) -> str:
    """Newest hits first, read straight off the index in id order."""
    if dialect == "sqlite":
        return ("SELECT rowid AS id FROM incident_search WHERE incident_search MATCH :q "
                "ORDER BY rowid DESC LIMIT :limit")
    return ("SELECT incident_id AS id FROM incident_search "
            "WHERE document @@ to_tsquery('simple', :q) ORDER BY incident_id DESC LIMIT :limit")


def hits_page_sql(dialect: str, *, descending: bool, after: bool) -> str:
    """One page of hits in id order, optionally after the id ``:after``; ``:q``, ``:limit``."""
    direction, compare = ("DESC", "<") if descending else ("ASC", ">")
    if dialect == "sqlite":
        keyset = f" AND rowid {compare} :after" if after else ""
        return ("SELECT rowid AS id FROM incident_search WHERE incident_search MATCH :q"
                f"{keyset} ORDER BY rowid {direction} LIMIT :limit")
    keyset = f" AND incident_id {compare} :after" if after else ""
    return ("SELECT incident_id AS id FROM incident_search "
            f"WHERE document @@ to_tsquery('simple', :q){keyset} "
            f"ORDER BY incident_id {direction} LIMIT :limit")


def count_sql(dialect: str) -> str:
    """How many incidents match ``:q``, counted in the index alone."""
    if dialect == "sqlite":
        return "SELECT count(*) FROM incident_search WHERE incident_search MATCH :q"
    return ("SELECT count(*) FROM incident_search "
            "WHERE document @@ to_tsquery('simple', :q)")


def is_hit_sql(dialect: str) -> str:
    """A row if incident ``:id`` matches ``:q``, none if not: one probe by its id."""
    if dialect == "sqlite":
        return ("SELECT 1 FROM incident_search WHERE incident_search MATCH :q "
                "AND rowid = :id")
    return ("SELECT 1 FROM incident_search "
            "WHERE document @@ to_tsquery('simple', :q) AND incident_id = :id")


def engine_query(dialect: str, query: str) -> str | None:
    """The query text in the dialect's syntax."""
    words = terms(query)
    if not words:
        return None
    return _fts5_query(words) if dialect == "sqlite" else _ts_query(words)


CALLER_TEXT = "name || ' ' || replace(replace(email, '@', ' '), '.', ' ')"
"""What the index holds of a caller (columns of callers): the name and the email address, so
that "Ola", "nordmann" or "ola@example" find the incidents Ola Nordmann called about. The
email is spelled as words: PostgreSQL's parser would keep "ola@example.com" (or a host name)
as one token, which the words of a query ("ola", "example", "com") never match."""


def caller_text(name: str, email: str) -> str:
    """CALLER_TEXT computed in Python, for rows written in bulk."""
    return f"{name} {email.replace('@', ' ').replace('.', ' ')}"


def _id_column(session: Session) -> str:
    return "rowid" if _dialect(session) == "sqlite" else "incident_id"


def index_new(session: Session, incident_id: int, number: str, short: str, desc: str,
              caller_id: int) -> None:
    """Add a new incident to the search index, with its caller's name and email."""
    session.execute(
        text(f"INSERT INTO incident_search ({_id_column(session)}, number, short_description, "
             "description, notes, caller) "
             f"SELECT :id, :number, :short, :desc, '', {CALLER_TEXT} FROM callers "
             "WHERE id = :caller_id"),
        {"id": incident_id, "number": number, "short": short, "desc": desc,
         "caller_id": caller_id},
    )


def reindex_text(session: Session, incident_id: int, short: str, desc: str) -> None:
    """Refresh the descriptions of an incident in the index."""
    session.execute(
        text(f"UPDATE incident_search SET short_description = :short, description = :desc "
             f"WHERE {_id_column(session)} = :id"),
        {"id": incident_id, "short": short, "desc": desc},
    )


def reindex_caller(session: Session, incident_id: int) -> None:
    """Give an incident's index entry the name and email of the caller it names now."""
    session.execute(
        text(f"UPDATE incident_search SET caller = (SELECT {CALLER_TEXT} FROM callers "
             "WHERE id = (SELECT caller_id FROM incidents WHERE id = :id)) "
             f"WHERE {_id_column(session)} = :id"),
        {"id": incident_id},
    )


def set_caller_of_incidents(session: Session, caller_ids: Sequence[int],
                            text_of: int) -> None:
    """Give every incident of ``caller_ids`` the name and email of caller ``text_of``.

    One statement however many incidents the callers have (a rename of a caller with
    thousands, or a merge moving them), in the caller's transaction; the incidents are found
    through their caller_id index.
    """
    if not caller_ids:
        return
    session.execute(
        text(f"UPDATE incident_search SET caller = (SELECT {CALLER_TEXT} FROM callers "
             f"WHERE id = :text_of) WHERE {_id_column(session)} IN "
             "(SELECT id FROM incidents WHERE caller_id IN :caller_ids)")
        .bindparams(bindparam("caller_ids", expanding=True)),
        {"text_of": text_of, "caller_ids": list(caller_ids)},
    )


def append_notes(session: Session, incident_id: int, notes: str) -> None:
    """Add note text to an incident's index entry."""
    session.execute(
        text(f"UPDATE incident_search SET notes = notes || ' ' || :notes "
             f"WHERE {_id_column(session)} = :id"),
        {"id": incident_id, "notes": notes},
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
