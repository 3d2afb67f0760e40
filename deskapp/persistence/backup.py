"""Backing up and restoring a SQLite desk while it may be in use.

A backup goes through SQLite's online backup API in one step: it reads one consistent
snapshot (in WAL mode writers carry on meanwhile), writes it to a temporary file beside the
target, checks it, and renames it into place, so a failed backup leaves no half-written file.

A restore is careful because it replaces everything:
- the source is first copied into a staging file, which must be a SQLite database that passes
  ``PRAGMA integrity_check`` and holds a Deskapp schema at a revision this version knows
  (an older one is migrated on the staging copy);
- it refuses while any other connection has the database open: leaving WAL mode needs the
  only connection, which is how SQLite itself tells;
- the current database is copied aside (``desk.before-restore.<time>.db.bak``) before it is
  overwritten, through the backup API again, in one transaction: a crash half-way leaves the
  old database, never a mixture.

PostgreSQL has its own tools (pg_dump, pg_restore); the commands say so instead of guessing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deskapp.domain.errors import ConfigurationError, DatabaseUnavailableError, DeskappError
from deskapp.persistence.engine import parse_url
from deskapp.persistence.migrate import MIGRATIONS, head_revision

SQLITE_HEADER = b"SQLite format 3\x00"
POSTGRES_BACKUP_HINT = (
    "back up PostgreSQL with pg_dump and restore it with pg_restore "
    "(see \"Backups\" in README.md)")
_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*"([^"]+)"', re.MULTILINE)


class BackupError(DeskappError):
    """A backup or restore that cannot be done; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    """A finished backup."""

    path: Path
    size: int
    revision: str | None
    incidents: int
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore."""

    database: Path
    previous: Path | None
    """Where the database as it was before the restore was copied (None if there was none)."""
    revision: str
    upgraded_from: str | None
    """The backup's revision when it had to be migrated to the current schema."""
    incidents: int


def sqlite_path(url: str, what: str) -> Path:
    """The file behind a SQLite URL; PostgreSQL gets one line pointing at its own tools."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigurationError(f"deskapp db {what} works on SQLite files; "
                                 f"{POSTGRES_BACKUP_HINT}.")
    assert parsed.database is not None
    return Path(parsed.database).expanduser().resolve()


def known_revisions() -> dict[str, str | None]:
    """Every schema revision shipped, with the one it builds on."""
    known: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (revision := _REVISION.search(source)) is not None:
            down = _DOWN.search(source)
            known[revision.group(1)] = down.group(1) if down else None
    return known


def backup(url: str, target: Path) -> BackupResult:
    """Copy the SQLite database at ``url`` to ``target`` (replaced whole, or not at all).

    Raises:
        ConfigurationError: the database is PostgreSQL.
        BackupError: there is no database, or the copy failed its check.
    """
    started = time.perf_counter()
    source = sqlite_path(url, "backup")
    target = target.expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    if target == source:
        raise BackupError("The backup must go to another file than the database itself.")
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to write the backup in.")
    with _staging(target) as staged:
        live = _connect(source, timeout=10.0)
        try:
            copy = sqlite3.connect(staged, isolation_level=None)
            try:
                # pages=-1: the whole database in one step, from one read snapshot; a
                # step-wise copy would start again every time another process commits.
                live.backup(copy, pages=-1)
                # A self-contained file: no -wal or -shm beside it to lose on the way.
                copy.execute("PRAGMA journal_mode=DELETE")
                _require_intact(copy, "The copy")
                revision = _revision(copy)
                incidents = _incident_count(copy)
            finally:
                copy.close()
        except sqlite3.Error as exc:
            raise BackupError(f"The backup failed: {exc}") from None
        finally:
            live.close()
        _fsync(staged)
        os.replace(staged, target)
    return BackupResult(target, target.stat().st_size, revision, incidents,
                        time.perf_counter() - started)


def restore(url: str, source: Path) -> RestoreResult:
    """Replace the SQLite database at ``url`` with the backup ``source``.

    Raises:
        ConfigurationError: the database is PostgreSQL.
        BackupError: the source is not a sound Deskapp database this version can read,
            or the database is open elsewhere. Nothing was changed.
    """
    database = sqlite_path(url, "restore")
    source = source.expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"There is no file {source} to restore from.")
    if source == database:
        raise BackupError("That file is the database itself; name a backup to restore from.")
    with source.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{source} is not a SQLite database.")
    database.parent.mkdir(parents=True, exist_ok=True)
    with _staging(database) as staged:
        try:
            revision, upgraded_from, incidents = _stage(source, staged)
        except sqlite3.Error as exc:
            raise BackupError(f"{source} cannot be read as a Deskapp database: {exc}") \
                from None
        if not database.exists():
            _fsync(staged)
            os.replace(staged, database)
            return RestoreResult(database, None, revision, upgraded_from, incidents)
        previous = _aside(database)
        live = _connect(database, timeout=0.0)
        try:
            _require_sole_user(live, database)
            try:
                aside = sqlite3.connect(previous, isolation_level=None)
                try:
                    live.backup(aside, pages=-1)
                    aside.execute("PRAGMA journal_mode=DELETE")
                finally:
                    aside.close()
                restored = sqlite3.connect(staged, isolation_level=None)
                try:
                    # One transaction on the live file: a crash leaves the old database.
                    restored.backup(live, pages=-1)
                finally:
                    restored.close()
                live.execute("PRAGMA journal_mode=WAL")
                _require_intact(live, "The restored database")
            except sqlite3.Error as exc:
                raise BackupError(f"The restore failed: {exc}; the database was left as it "
                                  f"was (a copy is at {previous})") from None
        finally:
            live.close()
    return RestoreResult(database, previous, revision, upgraded_from, incidents)


def _stage(source: Path, staged: str) -> tuple[str, str | None, int]:
    """Copy ``source`` into ``staged``, check it and bring it to the current schema."""
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(staged, isolation_level=None)
        try:
            reader.backup(copy, pages=-1)
        finally:
            copy.close()
    finally:
        reader.close()
    copy = sqlite3.connect(staged, isolation_level=None)
    try:
        _require_intact(copy, str(source))
        revision = _revision(copy)
    finally:
        copy.close()
    known = known_revisions()
    head = head_revision()
    if revision is None:
        raise BackupError(f"{source} is a SQLite database but not a Deskapp one "
                          "(it has no schema revision).")
    if revision not in known:
        raise BackupError(f"{source} is at schema revision {revision}, which this version of "
                          f"Deskapp does not know (its newest is {head}); restore it with the "
                          "Deskapp that made it.")
    upgraded_from = None
    if revision != head:
        from deskapp.persistence.engine import make_engine
        from deskapp.persistence.migrate import upgrade

        engine = make_engine(f"sqlite:///{staged}")
        try:
            upgrade(engine, backup=False)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        upgraded_from, revision = revision, head
    copy = sqlite3.connect(staged, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode=DELETE")
        incidents = _incident_count(copy)
    finally:
        copy.close()
    return revision, upgraded_from, incidents


def _connect(path: Path, *, timeout: float) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=timeout)
        connection.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except sqlite3.Error as exc:
        raise DatabaseUnavailableError(f"Cannot open the database {path}: {exc}") from None
    return connection


def _require_sole_user(live: sqlite3.Connection, path: Path) -> None:
    """Refuse unless no other connection has the database open.

    Leaving WAL mode needs every other connection closed: SQLite answers "database is
    locked" otherwise. Then the rollback journal holds the other desks off while the restore
    writes (they wait in their busy timeout, and see the restored data afterwards).
    """
    try:
        live.execute("PRAGMA journal_mode=DELETE").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(f"{path} is in use (Deskapp or another program has it open); "
                              "close every window using it, then restore.") from None
        raise BackupError(f"Cannot restore over {path}: {exc}") from None


def _require_intact(connection: sqlite3.Connection, what: str) -> None:
    # A damaged file's report can quote damaged bytes: read it leniently, never fail on it.
    factory = connection.text_factory
    connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    except UnicodeDecodeError:
        # SQLite's own error message quoted the damage (a garbled name in the schema).
        problems = ["the file is damaged beyond reading its schema"]
    finally:
        connection.text_factory = factory
    if problems != ["ok"]:
        raise BackupError(f"{what} failed SQLite's integrity check: {problems[0]}"
                          + (f" (and {len(problems) - 1} more problems)"
                             if len(problems) > 1 else ""))


def _revision(connection: sqlite3.Connection) -> str | None:
    has = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                             "name = 'alembic_version'").fetchone()
    if has is None:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _incident_count(connection: sqlite3.Connection) -> int:
    try:
        return int(connection.execute("SELECT count(*) FROM incidents").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _aside(database: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return database.with_name(f"{database.stem}.before-restore.{stamp}{database.suffix}.bak")


@contextlib.contextmanager
def _staging(beside: Path) -> Iterator[str]:
    """A temporary file name beside ``beside`` (same file system: renames are atomic)."""
    staged = beside.with_name(f".{beside.name}.{os.getpid()}.partial")
    try:
        yield str(staged)
    finally:
        for leftover in (staged, Path(f"{staged}-journal"), Path(f"{staged}-wal"),
                         Path(f"{staged}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _fsync(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
