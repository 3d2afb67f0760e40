"""``deskapp --smoke-test`` in this process: what the installers run on the built bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from deskapp import cli, smoke


@pytest.fixture
def settings_restored(tmp_path: Path, qapp: QApplication) -> Iterator[None]:
    """The smoke test points QSettings at its own folder; later tests get a private one."""
    yield
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    quit_on_close = qapp.quitOnLastWindowClosed()
    assert quit_on_close is False  # the GUI's own set-up ran, as in the real start
    qapp.setQuitOnLastWindowClosed(True)


@pytest.mark.usefixtures("settings_restored")
def test_the_smoke_test_passes_on_a_working_installation(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--smoke-test"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deskapp smoke test passed: schema ")
    assert f"with {smoke.DEMO_INCIDENTS} rows painted" in out
    assert out.count("\n") == 1


@pytest.mark.usefixtures("settings_restored")
def test_a_failing_step_is_one_line_and_exit_code_1(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # No demo incidents: the queue the smoke test loads is empty, which must fail it.
    monkeypatch.setattr(smoke, "DEMO_INCIDENTS", 0)
    assert cli.main(["--smoke-test"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "deskapp: smoke test failed: SmokeTestError: the queue shows no incidents")
    assert captured.err.count("\n") == 1


def test_version_prints_the_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    from deskapp import __version__

    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"deskapp {__version__}\n"
