"""Build hook: ship ``resources/`` inside the wheel as ``deskapp/_resources``.

Everything else about the package is declared in pyproject.toml. The resources stay at the
top of the source tree (where people look for them); ``deskapp.resources`` finds them there
in a checkout, and in ``deskapp/_resources`` once installed from a wheel or bundled.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithResources(build_py):  # type: ignore[misc]
    """build_py, then copy resources/ into the built package."""

    def run(self) -> None:
        super().run()
        source = ROOT / "resources"
        if source.is_dir():
            target = Path(self.build_lib) / "deskapp" / "_resources"
            shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithResources})
