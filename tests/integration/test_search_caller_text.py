"""What the search index holds of a caller is the same text on every path.

Live writes (a logged call, a rename, a merge, a change of caller) compute it in SQL with
search.caller_text_sql; bulk imports compute it in Python with search.caller_text. Two
spellings of one rule: they must agree on every name and email, run through each database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from deskapp.persistence import search
from deskapp.persistence.database import Database

CALLERS = [
    ("Ola Nordmann", "ola.nordmann@example.com"),
    ("Ola Nordmann", ""),  # no email
    ("Ola Nordmann", "ola.nordmann"),  # no "@": all of it is the local part
    ("Ola Nordmann", "ola@nordmann@example.com"),  # several "@": up to the first
    ("Ola Nordmann", "a.b@c.d@e.f"),
    ("Ola Nordmann", "@example.com"),  # nothing before the "@"
    ("Ola Nordmann", "ola.@"),  # nothing after it
    ("Ola Nordmann", "..ola...nordmann.@example.com"),  # dots in a row, at the ends
    ("O. J. Nordmann-Berg", "o.j.nordmann-berg@example.com"),  # dots in the name too
    ("Zoë Åsen Müller", "zoë.åsen@exämple.no"),  # accents, in the name and the email
    ("Renée Œuvre", "re\u0301nee.oeuvre@example.fr"),  # a combining accent
    ("Ĳsbrand Ñúñez", "ñ.ú@ß@é.example"),  # accents and several "@"
    ("Grinning 😀 Caller", "😀.x@y.example"),  # beyond the Basic Multilingual Plane
    ("  Spaced  Out ", " spaced.out @example.com"),  # spaces are kept as they are
    ("", ""),
]


def _in_sql(database: Database, name: str, email: str) -> str:
    sql = search.caller_text_sql(database.dialect, "c")
    with database.engine.connect() as connection:
        return str(connection.execute(
            text(f"SELECT {sql} FROM (SELECT CAST(:name AS VARCHAR(200)) AS name, "
                 "CAST(:email AS VARCHAR(200)) AS email) AS c"),
            {"name": name, "email": email}).scalar_one())


@pytest.mark.parametrize(("name", "email"), CALLERS)
def test_the_python_and_the_sql_caller_text_agree(database: Database, name: str,
                                                  email: str) -> None:
    assert search.caller_text(name, email) == _in_sql(database, name, email)


def test_the_caller_text_is_the_name_and_the_email_s_local_part_as_words(
        database: Database) -> None:
    for text_of in (search.caller_text, lambda n, e: _in_sql(database, n, e)):
        assert text_of("Ola Nordmann", "ola.nordmann@example.com") == \
            "Ola Nordmann ola nordmann"
        assert text_of("Ola", "o.n@x@y.example") == "Ola o n"
        assert text_of("Ola", "o.n") == "Ola o n"
        assert text_of("Ola", "") == "Ola "
