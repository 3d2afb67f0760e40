"""The audit trail in words: what a row's record and details say, with names, not ids.

The stored details stay canonical JSON (they are hashed); this module only reads them. Ids
are resolved to names for display from a ``Names`` table read once for a page of rows
(``wanted``: which ids a page needs, by kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deskapp.domain.audit import AuditEntry
from deskapp.domain.text import natural_sort_key

# Kinds of record an id can name.
USER, GROUP, INCIDENT, CALLER, CATEGORY, SERVICE, CI = (
    "user", "group", "incident", "caller", "category", "service", "configuration_item")
KINDS = (USER, GROUP, INCIDENT, CALLER, CATEGORY, SERVICE, CI)

# Which kind of record a details key (or an incident field) names.
_KEY_KINDS: dict[str, str] = {
    "group_ids": GROUP, "member_ids": USER, "lead_id": USER, "assignment_group_id": GROUP,
    "assignee_id": USER, "caller_id": CALLER, "category_id": CATEGORY,
    "subcategory_id": CATEGORY, "service_id": SERVICE, "configuration_item_id": CI,
    "duplicate_of": INCIDENT, "parent_incident_id": INCIDENT,
}
_ENTITY_KEY_KINDS: dict[tuple[str, str], str] = {
    ("category", "parent_id"): CATEGORY, ("incident", "parent_id"): INCIDENT,
    ("caller", "duplicates"): CALLER, ("caller", "survivor"): CALLER,
}
_LIST_LIMIT = 12
"""Names shown of a long list before "… and N more"."""


@dataclass(frozen=True)
class Names:
    """Names of the records a page of audit rows mentions, by kind and id."""

    by_kind: Mapping[str, Mapping[int, str]] = field(default_factory=dict)

    def name(self, kind: str, value: Any) -> str:
        """The name of record ``value`` of ``kind``, or "kind N" if unknown (deleted)."""
        if value is None or value == "":
            return "—"
        try:
            key = int(value)
        except (TypeError, ValueError):
            return str(value)
        found = self.by_kind.get(kind, {}).get(key)
        if found is not None:
            return found
        return f"{kind.replace('_', ' ')} #{key}"


def _kind_of(entity: str, key: str) -> str | None:
    return _ENTITY_KEY_KINDS.get((entity, key)) or _KEY_KINDS.get(key)


def _ints(value: Any) -> Iterable[int]:
    values = value if isinstance(value, list) else [value]
    for v in values:
        try:
            yield int(v)
        except (TypeError, ValueError):
            continue


def wanted(entries: Iterable[AuditEntry]) -> dict[str, set[int]]:
    """The ids these rows name, by kind: what ``Names`` must hold to show them."""
    out: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for entry in entries:
        if entry.entity in out and entry.entity_id.isdigit():
            out[entry.entity].add(int(entry.entity_id))
        _collect(entry.entity, entry.details_dict(), out)
    return out


def _collect(entity: str, value: Any, out: dict[str, set[int]]) -> None:
    if isinstance(value, dict):
        if "field" in value and "kind" in value:  # an incident activity change
            kind = _KEY_KINDS.get(str(value["field"]))
            if kind is not None:
                out[kind].update(_ints([value.get("old"), value.get("new")]))
        for key, item in value.items():
            kind = _kind_of(entity, key)
            if kind is not None:
                if isinstance(item, dict):  # {"old": .., "new": ..}
                    out[kind].update(_ints([item.get("old"), item.get("new")]))
                else:
                    out[kind].update(_ints(item))
            else:
                _collect(entity, item, out)
    elif isinstance(value, list):
        for item in value:
            _collect(entity, item, out)


def record_text(entry: AuditEntry, names: Names) -> str:
    """What the row is about: "INC0024922", "user resolver.2", "group Network"."""
    if not entry.entity:
        return ""
    if entry.entity == INCIDENT:
        number = entry.details_dict().get("number")
        return str(number) if number else names.name(INCIDENT, entry.entity_id)
    label = entry.entity.replace("_", " ")
    if entry.entity in KINDS and entry.entity_id.isdigit():
        known = names.by_kind.get(entry.entity, {}).get(int(entry.entity_id))
        if known is not None:
            return f"{label} {known}"
    return f"{label} {entry.entity_id}".strip()


def _label(key: str) -> str:
    for suffix in ("_ids", "_id"):
        if key.endswith(suffix) and key != suffix:
            key = key[: -len(suffix)] + ("s" if suffix == "_ids" else "")
            break
    return key.replace("_", " ")


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value or "—"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "none"
    if isinstance(value, dict):
        return "(" + "; ".join(f"{_label(k)}: {_plain(v)}" for k, v in value.items()) + ")"
    return str(value)


def _named(kind: str, value: Any, names: Names) -> str:
    if isinstance(value, list):
        every = sorted((names.name(kind, v) for v in value), key=natural_sort_key)
        shown = every[:_LIST_LIMIT]
        more = len(every) - len(shown)
        return (", ".join(shown) or "none") + (f" … and {more} more" if more > 0 else "")
    return names.name(kind, value)


def _old_new(old: Any, new: Any, shown: Any) -> str:
    return f"{shown(old)} → {shown(new)}"


def _activity(item: Mapping[str, Any], names: Names) -> str:
    kind = str(item.get("kind", "")).replace("_", " ")
    if "field" in item:
        field_name = str(item["field"])
        ref = _KEY_KINDS.get(field_name)

        def shown(v: Any) -> str:
            return names.name(ref, v) if ref is not None else _plain(v)
        return f"{_label(field_name)}: {_old_new(item.get('old'), item.get('new'), shown)}"
    extra = []
    if "length" in item:
        extra.append(f"{item['length']:,} characters")
    if "call_seconds" in item:
        extra.append(f"call {item['call_seconds']} s")
    return kind + (f" ({', '.join(extra)})" if extra else "")


def _value(entity: str, key: str, value: Any, names: Names) -> str:
    kind = _kind_of(entity, key)
    if key == "cells" and isinstance(value, list) \
            and all(isinstance(c, list) and len(c) == 3 for c in value):
        # The priority matrix: [impact, urgency, priority] per cell.
        return ", ".join(f"I{i}/U{u}: P{p}" for i, u, p in value)
    if key == "changes" and isinstance(value, list):
        return "; ".join(_activity(i, names) for i in value if isinstance(i, dict))
    if isinstance(value, dict) and set(value) == {"old", "new"}:
        def shown(v: Any) -> str:
            return _named(kind, v, names) if kind is not None else _plain(v)
        return _old_new(value["old"], value["new"], shown)
    if kind is not None:
        return _named(kind, value, names)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_value(entity, k, v, names)}"
                         for k, v in value.items())
    return _plain(value)


def details_text(entry: AuditEntry, names: Names) -> str:
    """The details in words, ids shown as names: 'groups: Network, Service Desk; username:
    resolver.2' rather than '{"group_ids":[1,2],"username":"resolver.2"}'."""
    details = entry.details_dict()
    if not details:
        return "" if entry.details in ("", "{}") else entry.details
    if entry.entity == INCIDENT:
        details.pop("number", None)  # already the Record
    parts = []
    for key, value in details.items():
        text = _value(entry.entity, key, value, names)
        if key == "changes" and isinstance(value, list):
            parts.append(text)
        elif isinstance(value, dict) and set(value) != {"old", "new"} \
                and _kind_of(entry.entity, key) is None:
            parts.append(f"{_label(key)}: {{{text}}}")
        else:
            parts.append(f"{_label(key)}: {text}")
    return "; ".join(p for p in parts if p)
