"""`deskapp db backup` and `db restore`: consistent copies while in use, careful restores."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from deskapp.cli import main
from deskapp.persistence import migrate
from deskapp.persistence.database import open_database
from deskapp.persistence.engine import make_engine
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.setup import ensure_admin
from tests.support.databases import copy_sqlite

HEAD = migrate.head_revision()


def _log(url: str, count: int, tag: str) -> None:
    database = open_database(url, upgrade=False)
    try:
        service = IncidentService(database.uow_factory, ensure_admin(database.uow_factory).id)
        caller = service.add_caller(f"{tag} caller")
        for i in range(count):
            service.log_call(LogCallRequest(caller.id, f"{tag} {i}", 2, 2, call_seconds=30))
    finally:
        database.close()


def _facts(path: Path) -> tuple[int, int, int, list[str]]:
    """Incidents, their created entries, the number counter, and the integrity check."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        incidents = connection.execute("SELECT count(*) FROM incidents").fetchone()[0]
        created = connection.execute(
            "SELECT count(*) FROM activity WHERE kind = 'created'").fetchone()[0]
        counter = connection.execute(
            "SELECT value FROM counters WHERE name = 'incident'").fetchone()[0]
        check = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        return incidents, created, counter, check
    finally:
        connection.close()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(sqlite_template, tmp_path)


def _path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_backup_while_agents_write_is_a_consistent_snapshot(
        sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(sqlite_url, 20, "before")
    writing = threading.Thread(target=_log, args=(sqlite_url, 150, "during"))
    writing.start()
    backups = []
    try:
        for n in range(3):
            target = tmp_path / f"backup-{n}.db"
            assert main(["--database-url", sqlite_url, "db", "backup", str(target)]) == 0
            assert f"to {target}" in capsys.readouterr().out
            backups.append(target)
    finally:
        writing.join(timeout=120)
    assert not writing.is_alive()
    for target in backups:
        incidents, created, counter, check = _facts(target)
        assert check == ["ok"]
        # One snapshot: every incident has its activity, and the counter agrees with both.
        assert incidents == created == counter
        assert 20 <= incidents <= 170
        assert not Path(f"{target}-wal").exists()  # a single self-contained file
    assert _facts(_path(sqlite_url))[0] == 170
    assert not list(tmp_path.glob(".*.partial*"))


def test_restore_brings_back_the_backup_and_keeps_the_old_database_aside(
        sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(sqlite_url, 5, "kept")
    target = tmp_path / "monday.db"
    assert main(["--database-url", sqlite_url, "db", "backup", str(target)]) == 0
    _log(sqlite_url, 7, "later")
    capsys.readouterr()
    assert main(["--database-url", sqlite_url, "db", "restore", str(target)]) == 0
    out = capsys.readouterr().out
    assert "5 incidents" in out and f"revision {HEAD}" in out
    assert _facts(_path(sqlite_url))[:3] == (5, 5, 5)
    previous = next(tmp_path.glob("*.before-restore.*.bak"))
    assert str(previous) in out
    assert _facts(previous)[:3] == (12, 12, 12)
    # The restored desk works on: the next number follows the backup's.
    database = open_database(sqlite_url)
    try:
        service = IncidentService(database.uow_factory, ensure_admin(database.uow_factory).id)
        caller = service.add_caller("After Restore")
        detail, _ = service.log_call(LogCallRequest(caller.id, "first after", 2, 2))
        assert detail.number == "INC0000006"
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        database.close()


def test_restore_refuses_while_the_database_is_open(
        sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(sqlite_url, 3, "x")
    target = tmp_path / "b.db"
    assert main(["--database-url", sqlite_url, "db", "backup", str(target)]) == 0
    _log(sqlite_url, 2, "y")
    capsys.readouterr()
    database = open_database(sqlite_url)  # a desk that has it open
    try:
        assert main(["--database-url", sqlite_url, "db", "restore", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("deskapp: error: ") and err.count("\n") == 1
        assert "is in use" in err
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM incidents")).scalar() == 5
    finally:
        database.close()
    assert not list(tmp_path.glob("*.before-restore.*"))


def _not_deskapp(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()


def _future_revision(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    # Page 1 stays (the header), the b-tree pages after it become noise.
    for offset in range(4096 + 100, len(data), 997):
        data[offset] = (data[offset] + 91) % 256
    path.write_bytes(bytes(data))


def _plain_text(path: Path) -> None:
    path.write_text("number,description\nINC1,printer\n")


@pytest.mark.parametrize(("spoil", "message"), [
    (_plain_text, "is not a SQLite database"),
    (_not_deskapp, "not a Deskapp one"),
    (_future_revision, "revision 9999, which this version of Deskapp does not know"),
    (_corrupt, ""),
])
def test_restore_refuses_a_file_that_is_not_a_sound_deskapp_backup(
        sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        spoil: object, message: str) -> None:
    _log(sqlite_url, 40, "x")
    bad = tmp_path / "bad.db"
    if spoil in (_future_revision, _corrupt):
        assert main(["--database-url", sqlite_url, "db", "backup", str(bad)]) == 0
    assert callable(spoil)
    spoil(bad)
    before = _path(sqlite_url).read_bytes()
    capsys.readouterr()
    assert main(["--database-url", sqlite_url, "db", "restore", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deskapp: error: ") and err.count("\n") == 1
    assert message in err
    if spoil is _corrupt:
        assert "integrity check" in err or "cannot be read" in err
    assert _path(sqlite_url).read_bytes() == before
    assert not list(tmp_path.glob("*.before-restore.*")) and not list(tmp_path.glob(".*partial*"))


def test_restore_migrates_a_backup_from_an_older_revision(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0006", backup=False)
    engine.dispose()
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert main(["--database-url", url, "db", "restore", str(old)]) == 0
    assert "migrated from 0006" in capsys.readouterr().out
    engine = make_engine(url)
    try:
        assert migrate.current_revision(engine) == HEAD
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("action", ["backup", "restore"])
def test_postgresql_is_pointed_at_pg_dump(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        action: str) -> None:
    file = tmp_path / "x.db"
    file.write_bytes(b"")
    assert main(["--database-url", postgres_url, "db", action, str(file)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pg_dump" in err and "pg_restore" in err and "README" in err
    assert file.read_bytes() == b""
