"""``deskapp ... --help`` reads whole words at any terminal width."""

from __future__ import annotations

import pytest

from deskapp.cli import EXPORT_DEFAULT_COLUMNS, EXPORT_OTHER_COLUMNS, _parser
from deskapp.services.exporting import TABLE_COLUMNS, ExportColumn


def help_text(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as done:
        _parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("width", [40, 60, 80, 100, 140])
def test_export_help_never_splits_a_column_name(width: int, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    lines = help_text(capsys, "export").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  --columns LIST"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("--"))
    block = lines[start:end]
    words = {w.strip(",;():") for line in block for w in line.split()}
    for name in (*EXPORT_DEFAULT_COLUMNS, *EXPORT_OTHER_COLUMNS):
        assert name in words, (name, block)


def test_export_help_names_every_column() -> None:
    assert tuple(c.value for c in TABLE_COLUMNS) == EXPORT_DEFAULT_COLUMNS
    assert sorted((*EXPORT_DEFAULT_COLUMNS, *EXPORT_OTHER_COLUMNS)) == sorted(
        c.value for c in ExportColumn)
