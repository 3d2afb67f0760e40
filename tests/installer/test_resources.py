"""Resources are found from a source checkout, an installed wheel and a PyInstaller bundle."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deskapp import resources
from deskapp.persistence import migrate
from deskapp.reports import fonts

ROOT = Path(__file__).resolve().parents[2]


def test_a_source_checkout_uses_the_resources_folder() -> None:
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.app_icon_path().is_file()
    assert fonts.FONT_DIR == ROOT / "resources" / "fonts"
    assert (fonts.FONT_DIR / "DejaVuSans.ttf").is_file()


def test_a_bundle_uses_the_folder_it_unpacked_to(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundled = tmp_path / "deskapp" / resources.PACKAGED_NAME
    (bundled / "icons").mkdir(parents=True)
    (bundled / "icons" / "deskapp.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.frozen_root() == tmp_path
    assert resources.app_icon_path() == bundled / "icons" / "deskapp.svg"


def test_without_any_resources_the_path_names_the_checkout(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "_PACKAGE_DIR", tmp_path / "deskapp")
    assert resources.resources_dir() == tmp_path / "resources"


def test_the_migrations_are_where_alembic_is_told_to_look() -> None:
    assert resources.migrations_dir() == migrate.MIGRATIONS
    assert (resources.migrations_dir() / "env.py").is_file()


@pytest.mark.slow
def test_the_wheel_ships_resources_and_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("deskapp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in (ROOT / "resources").rglob("*"):
        if source.is_file():
            relative = source.relative_to(ROOT / "resources").as_posix()
            assert f"deskapp/_resources/{relative}" in names
    versions = sorted((ROOT / "deskapp/persistence/migrations/versions").glob("*.py"))
    for script in versions:
        assert f"deskapp/persistence/migrations/versions/{script.name}" in names
    assert "deskapp/persistence/migrations/env.py" in names
