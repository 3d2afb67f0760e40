"""The GUI's log: a rotating file in the log directory, and never a password in it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskapp.logging_setup import (
    BACKUP_COUNT,
    MAX_BYTES,
    configure_logging,
    redact,
    stop_logging,
)


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://alice:hunter2@db/desk", "postgresql://alice:***@db/desk"),
    ("postgresql+psycopg://bob:p%40ss@db:5432/x failed",
     "postgresql+psycopg://bob:***@db:5432/x failed"),
    ("host=db user=alice password=hunter2 dbname=desk",
     "host=db user=alice password=*** dbname=desk"),
    ("PGPASSWORD='hunter2' psql", "PGPASSWORD='***' psql"),
    ("sqlite:////home/alice/deskapp.db", "sqlite:////home/alice/deskapp.db"),
    ("postgresql://alice@db/desk", "postgresql://alice@db/desk"),
])
def test_redact_hides_passwords_and_nothing_else(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.usefixtures("restore_root_logger")
def test_the_log_file_rotates_and_holds_no_password(tmp_path: Path) -> None:
    log_file = configure_logging(tmp_path / "logs")
    assert log_file == tmp_path / "logs" / "deskapp.log"
    log = logging.getLogger("deskapp.test")
    log.info("Connecting to %s", "postgresql://alice:hunter2@db/desk")
    try:
        raise ConnectionError("password=hunter2 refused")
    except ConnectionError:
        log.exception("Failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "Connecting to postgresql://alice:***@db/desk" in text
    assert "ConnectionError: password=*** refused" in text  # the traceback is redacted too
    assert "hunter2" not in text

    line = "x" * 1000
    for _ in range(MAX_BYTES // 1000 * 2):
        log.info(line)
    rotated = sorted(path.name for path in log_file.parent.iterdir())
    assert rotated[:2] == ["deskapp.log", "deskapp.log.1"]
    assert len(rotated) <= BACKUP_COUNT + 1
    assert log_file.stat().st_size <= MAX_BYTES


@pytest.mark.usefixtures("restore_root_logger")
def test_configuring_twice_replaces_its_own_handlers(tmp_path: Path) -> None:
    before = len(logging.getLogger().handlers)
    configure_logging(tmp_path / "a")
    configure_logging(tmp_path / "b")
    assert len(logging.getLogger().handlers) == before + 2  # one file, one stderr
    stop_logging()
    assert len(logging.getLogger().handlers) == before


@pytest.mark.usefixtures("restore_root_logger")
def test_warnings_go_to_the_stderr_of_the_moment(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(tmp_path)
    capsys.readouterr()
    logging.getLogger("deskapp.test").warning("to postgresql://a:hunter2@h/d")
    assert capsys.readouterr().err.endswith("deskapp.test: to postgresql://a:***@h/d\n")


@pytest.mark.usefixtures("restore_root_logger")
def test_an_unwritable_log_directory_still_starts(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert configure_logging(blocker / "logs") is None
