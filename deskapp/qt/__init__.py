"""The Qt layer: models, delegates, widgets and views over the services.

Importing this package first also spares every later import PySide6's source scan.
PySide6 replaces ``__import__`` and, after each module is imported, reads the module's
whole source through ``inspect.getsource`` to find whether it mentions PySide6 (for its
opt-in ``__feature__`` imports, such as snake_case names). linecache then keeps every line of every
module imported after Qt: measured here on the start path, 297 modules and 20 MiB of
strings, about 15% of the process at its first painted queue. Deskapp uses no
``__feature__`` (a test checks), so a cheap answer by name gives the same behaviour.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import PySide6.QtCore  # noqa: F401  (loads PySide6 and its import hook, tuned below)

QT_USING_PACKAGES = ("deskapp.qt", "qasync", "PySide6", "shiboken6")
"""Modules that call Qt: they keep PySide6's explicit "no feature" selection (0)."""


def _uses_pyside_by_name(module: ModuleType) -> bool:
    name = getattr(module, "__name__", "")
    return isinstance(name, str) and name.startswith(QT_USING_PACKAGES)


def _skip_pyside_source_scan() -> None:
    """Answer PySide6's "does this module use PySide?" from the name, not the source.

    Every other module then gets PySide6's "ignore this module" (-1), which keeps the
    current selection: with no module selecting a feature, that is the default for all.
    """
    try:
        feature = importlib.import_module("PySide6.support.feature")  # private, untyped
    except ImportError:  # a PySide6 without the feature machinery: nothing to spare
        return
    if hasattr(feature, "_mod_uses_pyside"):
        setattr(feature, "_mod_uses_pyside", _uses_pyside_by_name)  # noqa: B010


_skip_pyside_source_scan()
