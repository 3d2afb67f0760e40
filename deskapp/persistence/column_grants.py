"""Column privileges for columns a migration adds, on shared (PostgreSQL) desks."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa


def grant_update_like(connection: sa.Connection, table: str, like: str,
                      columns: Sequence[str]) -> None:
    """Let every role that may update ``table.like`` update ``columns`` too.

    GRANTs name columns, so a column a migration adds is out of the group roles' reach until
    the role set is installed again (migrate.upgrade does that afterwards); granting here as
    well means a failure there cannot leave agents unable to write the new column.
    """
    grantees = connection.execute(sa.text(
        "SELECT DISTINCT grantee FROM information_schema.column_privileges "
        "WHERE table_schema = current_schema() AND table_name = :table "
        "AND column_name = :like AND privilege_type = 'UPDATE' "
        "AND grantee <> current_user"), {"table": table, "like": like}).scalars().all()
    quote = connection.dialect.identifier_preparer.quote
    for grantee in grantees:
        connection.execute(sa.text(
            f"GRANT UPDATE ({', '.join(quote(c) for c in columns)}) ON {quote(table)} "
            f"TO {quote(grantee)}"))
