""""Test connection": can this URL be opened, and what answers? Blocking; run it off the GUI."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from deskapp.domain.errors import ConfigurationError
from deskapp.persistence.engine import make_engine, parse_url


class ConnectionFailedError(Exception):
    """The database could not be reached; the message is one line, as the server said it."""


def one_line(exc: BaseException) -> str:
    """The first line of what went wrong, without SQLAlchemy's wrapping."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def check_connection(url: str) -> str:
    """Connect to ``url``, ask the server who it is, and disconnect.

    A SQLite file is not created: a file that does not exist yet is reported as new.

    Returns:
        One line for the user, e.g. "Connected: PostgreSQL 15.4".

    Raises:
        ConnectionFailedError: with the server's (or driver's) message in one line.
    """
    try:
        parsed = parse_url(url)
    except ConfigurationError as exc:
        raise ConnectionFailedError(str(exc)) from exc
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        path = Path(parsed.database).expanduser()
        if not path.exists():
            folder = path.parent
            while not folder.exists():
                folder = folder.parent
            if not folder.is_dir():
                raise ConnectionFailedError(f"{folder} is not a folder.")
            return f"{path} does not exist yet; Deskapp will create it."
    engine = make_engine(parsed, pool_size=1)
    try:
        with engine.connect() as connection:
            if parsed.get_backend_name() == "sqlite":
                version = connection.execute(text("select sqlite_version()")).scalar_one()
                return f"Opened the file: SQLite {version}."
            version = connection.execute(text("show server_version")).scalar_one()
            return f"Connected: PostgreSQL {str(version).split()[0]}."
    except SQLAlchemyError as exc:
        raise ConnectionFailedError(one_line(exc)) from exc
    finally:
        engine.dispose()
