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
_EMAIL_DOMAIN = re.compile(r"@\S*")
MAX_TERMS = 8


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased; punctuation never reaches the query syntax.

    An email address counts by its local part, which is all the index holds of one.
    """
    return [w.lower() for w in _WORD.findall(_EMAIL_DOMAIN.sub(" ", query))][:MAX_TERMS]


def _last_word_typed_on(query: str) -> bool:
    """Whether the last word may still be being typed: not when an email address ends the
    query (its local part, the last word searched, is whole: a domain follows it)."""
    last = query.split()[-1] if query.split() else ""
    return "@" not in last


def _fts5_query(words: list[str], prefix: bool) -> str:
    # Each word quoted (so AND/OR/NEAR are plain words), the last one as a prefix.
    quoted = [f'"{w}"' for w in words]
    if prefix:
        quoted[-1] += "*"
    return " ".join(quoted)


def _ts_query(words: list[str], prefix: bool) -> str:
    parts = [w.replace("'", "") for w in words]
    return " & ".join(f"'{p}'" for p in parts[:-1]) + (" & " if len(parts) > 1 else "") + \
        f"'{parts[-1]}'" + (":*" if prefix else "")


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
    prefix = _last_word_typed_on(query)
    return _fts5_query(words, prefix) if dialect == "sqlite" else _ts_query(words, prefix)


def caller_text_sql(dialect: str, table: str = "") -> str:
    """What the index holds of a caller, as SQL over the callers table (``table`` its alias).

    The name and the email's local part, spelled as words, so that "Ola", "nordmann" or
    "ola.nordmann" find the incidents Ola Nordmann called about (PostgreSQL's parser would
    keep "ola.nordmann" as one token, which a query's words never match). Not the domain:
    every caller of a company shares it, so each of its words would match nearly every
    incident, a search no index answers fast.
    """
    prefix = f"{table}." if table else ""
    email = f"{prefix}email"
    at = f"instr({email} || '@', '@')" if dialect == "sqlite" else f"strpos({email} || '@', '@')"
    return f"{prefix}name || ' ' || replace(substr({email}, 1, {at} - 1), '.', ' ')"


def caller_text(name: str, email: str) -> str:
    """caller_text_sql computed in Python, for rows written in bulk."""
    return f"{name} {email.partition('@')[0].replace('.', ' ')}"


def _id_column(session: Session) -> str:
    return "rowid" if _dialect(session) == "sqlite" else "incident_id"


def _held_still(session: Session) -> str:
    """The end of a read of a caller's row whose name goes into the index: on PostgreSQL a
    share lock, which waits for a rename that holds the row, then reads its committed name.

    Under READ COMMITTED a plain read sees the old name while a rename is uncommitted, and
    the rename's own index update (set_caller_of_incidents) cannot see the incident being
    written: the index would keep the old name for good. Holding the row also makes a
    rename that comes after wait for this incident to commit, so its update sees it.
    SQLite needs nothing: its write transaction keeps every other writer out.
    """
    return "" if _dialect(session) == "sqlite" else " FOR SHARE"


def index_new(session: Session, incident_id: int, number: str, short: str, desc: str,
              caller_id: int) -> None:
    """Add a new incident to the search index, with its caller's name and email."""
    session.execute(
        text(f"INSERT INTO incident_search ({_id_column(session)}, number, short_description, "
             "description, notes, caller) "
             f"SELECT :id, :number, :short, :desc, '', {caller_text_sql(_dialect(session))} "
             f"FROM callers WHERE id = :caller_id{_held_still(session)}"),
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
        text("UPDATE incident_search SET caller = "
             f"(SELECT {caller_text_sql(_dialect(session))} FROM callers "
             "WHERE id = (SELECT caller_id FROM incidents WHERE id = :id)"
             f"{_held_still(session)}) "
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
        text("UPDATE incident_search SET caller = "
             f"(SELECT {caller_text_sql(_dialect(session))} FROM callers "
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
