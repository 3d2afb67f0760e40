"""Where Deskapp's resource files are: icons, report fonts, anything under ``resources/``.

Three layouts ship the same files:

- a source checkout (or an editable install): ``resources/`` beside the ``deskapp`` package;
- an installed wheel: ``deskapp/_resources/`` inside the package (``setup.py`` copies
  ``resources/`` there when the wheel is built);
- a PyInstaller bundle: ``deskapp/_resources/`` under ``sys._MEIPASS`` (the spec puts it
  there, so a bundle looks like an installed wheel).

The Alembic migrations are package files (``deskapp/persistence/migrations``) and are found
beside their package in all three layouts; ``migrations_dir`` names them for the installer.

This module imports nothing but the standard library, so every layer may use it.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_NAME = "_resources"
"""The folder inside the ``deskapp`` package that holds the resources once built."""


def frozen_root() -> Path | None:
    """The folder a PyInstaller bundle unpacked to, or None when not frozen."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if getattr(sys, "frozen", False) and meipass else None


def _candidates() -> list[Path]:
    frozen = frozen_root()
    found = [frozen / "deskapp" / PACKAGED_NAME] if frozen is not None else []
    found.append(_PACKAGE_DIR / PACKAGED_NAME)
    found.append(_PACKAGE_DIR.parent / "resources")
    return found


def resources_dir() -> Path:
    """The folder holding the resources in this installation.

    When no layout has one (a broken installation), this is the source-checkout path, so
    that the caller's "file missing" message names a place a developer recognises.
    """
    candidates = _candidates()
    return next((path for path in candidates if path.is_dir()), candidates[-1])


def resource_path(*parts: str) -> Path:
    """The path of a resource file, such as ``resource_path("fonts", "DejaVuSans.ttf")``.

    The file itself is not checked: callers that need it say which file is missing.
    """
    return resources_dir().joinpath(*parts)


def app_icon_path() -> Path:
    """The application icon (SVG), for windows, the .desktop entry and the installers."""
    return resource_path("icons", "deskapp.svg")


def migrations_dir() -> Path:
    """The Alembic migration scripts (``env.py`` and ``versions/``)."""
    return _PACKAGE_DIR / "persistence" / "migrations"
