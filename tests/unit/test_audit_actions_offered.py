"""Every action the services write to the audit trail can be picked in the viewer's filter."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import deskapp
from deskapp.qt.views.audit_viewer import ACTIONS
from deskapp.services import audit

SERVICES = Path(deskapp.__file__).parent / "services"


def _action_names(tree: ast.AST) -> set[str]:
    """UPPER_CASE names given as a ``.record(...)`` call's action, directly or through a
    local ``action = A if x else B``."""
    names: set[str] = set()
    chosen: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            chosen[node.targets[0].id] = node.value
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "record" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Name) and not first.id.isupper() and first.id in chosen:
                first = chosen[first.id]
            for part in ast.walk(first):
                name = part.attr if isinstance(part, ast.Attribute) else \
                    part.id if isinstance(part, ast.Name) else ""
                if name.isupper():
                    names.add(name)
    return names


def test_the_viewer_offers_every_action_written() -> None:
    written: dict[str, str] = {}
    for path in SERVICES.rglob("*.py"):
        names = _action_names(ast.parse(path.read_text(encoding="utf-8")))
        if not names:
            continue
        module = importlib.import_module(
            "deskapp." + ".".join(path.relative_to(SERVICES.parent).with_suffix("").parts))
        for name in names:
            value = getattr(module, name, None) or getattr(audit, name, None)
            if isinstance(value, str):
                written[f"{path.name}:{name}"] = value
    assert len(written) > 20  # the scan does find the services' actions
    missing = {where: value for where, value in written.items() if value not in ACTIONS}
    assert missing == {}
