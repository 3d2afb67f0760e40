"""The partial indexes carry their PostgreSQL condition once asked for, and only then."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

from deskapp.persistence import tables


def _index(name: str) -> object:
    return next(i for i in tables.IncidentRecord.__table__.indexes if i.name == name)


def test_importing_the_tables_does_not_load_postgresqls_dialect() -> None:
    code = ("import sys, deskapp.persistence.tables; "
            "print('sqlalchemy.dialects.postgresql' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_with_postgresql_options_gives_every_partial_index_its_condition() -> None:
    metadata = tables.with_postgresql_options()
    tables.with_postgresql_options()  # twice: idempotent
    incidents = metadata.tables["incidents"]
    partial = [i for i in incidents.indexes if i.dialect_kwargs.get("sqlite_where") is not None]
    assert len(partial) == len(tables.OPEN_SORT_COLUMNS) + 5
    for index in partial:
        ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        assert " WHERE " in ddl, ddl
    major = str(CreateIndex(_index("ix_incidents_major_opened_at"))  # type: ignore[arg-type]
                .compile(dialect=postgresql.dialect()))
    assert major.endswith("WHERE is_major IS true")
    assert str(CreateIndex(_index("ix_incidents_major_opened_at"))  # type: ignore[arg-type]
               .compile(dialect=sqlite.dialect())).endswith("WHERE is_major IS 1")
