"""The command line: database commands, and one readable line with a non-zero exit on errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deskapp.cli import main
from deskapp.persistence import migrate

HEAD = migrate.head_revision()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskapp", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})},
                          check=False)


def test_db_upgrade_and_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    # A mistyped path is not quietly made into a new, empty database.
    assert main(["--database-url", url, "db", "current"]) == 1
    assert "There is no database at" in capsys.readouterr().err
    assert main(["--database-url", url, "export", "--queue", "all",
                 str(tmp_path / "out.csv")]) == 1
    assert not (tmp_path / "desk.db").exists() and not (tmp_path / "out.csv").exists()
    assert main(["--database-url", url, "db", "upgrade"]) == 0
    assert f"to {HEAD}" in capsys.readouterr().out
    assert main(["--database-url", url, "db", "upgrade"]) == 0
    assert f"already at revision {HEAD}" in capsys.readouterr().out
    assert main(["--database-url", url, "db", "current"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_usage_mistake_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["export", "--sort", "bogus", "x.csv"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deskapp: error: argument --sort")


def test_environment_variable_names_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = run_cli("db", "upgrade", env={"DESKAPP_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--database-url", "oracle://x/y", "db", "current"], "SQLite or PostgreSQL"),
        (["--database-url", "postgresql://postgres@127.0.0.1:1/x", "db", "upgrade"],
         "Cannot open the database"),
    ],
)
def test_errors_are_one_line_and_non_zero(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deskapp: error: ")
    assert expected in lines[0]


def test_bad_arguments_are_usage_errors() -> None:
    result = run_cli("demo", "--incidents", "many")
    assert result.returncode == 2
    assert "not a whole number" in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("deskapp ")


@pytest.mark.parametrize("url", ["postgresql://postgres@host:abc/x",
                                 "postgresql://postgres@[::1/x"])
def test_a_malformed_url_is_one_line_not_a_traceback(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", url, "db", "current"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deskapp: error:") and "is not a database URL" in err
    assert "\n" not in err


def test_export_help_names_every_built_in_queue(capsys: pytest.CaptureFixture[str]) -> None:
    from deskapp.services.queues import BUILT_IN_QUEUES

    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for queue in BUILT_IN_QUEUES:
        assert queue.key.split(":", 1)[1] in text
