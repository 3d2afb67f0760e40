"""Database-level health checks: SQLite's integrity check, unique numbers, the counter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Health:
    """What the database says about itself."""

    integrity: tuple[str, ...]
    """``PRAGMA integrity_check``'s lines (``("ok",)`` when sound); empty on PostgreSQL."""
    incidents: int
    duplicate_numbers: tuple[str, ...]
    counter: int
    """The incident number counter's value."""

    @property
    def intact(self) -> bool:
        return self.integrity in ((), ("ok",))


def check(engine: Engine) -> Health:
    """Run the checks (on SQLite the integrity check reads the whole file)."""
    with engine.connect() as connection:
        integrity: tuple[str, ...] = ()
        if engine.dialect.name == "sqlite":
            integrity = tuple(str(row[0]) for row in
                              connection.exec_driver_sql("PRAGMA integrity_check"))
        incidents = int(connection.execute(text("SELECT count(*) FROM incidents")).scalar_one())
        duplicates = tuple(str(row[0]) for row in connection.execute(text(
            "SELECT number FROM incidents GROUP BY number HAVING count(*) > 1")))
        counter = int(connection.execute(text(
            "SELECT value FROM counters WHERE name = 'incident'")).scalar_one())
    return Health(integrity, incidents, duplicates, counter)
