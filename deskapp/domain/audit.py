"""The audit trail's rows and the hash chain that makes tampering show.

Each row's hash is sha256 over the previous row's hash followed by the row's canonical
content (a JSON object with sorted keys, no spaces, text as UTF-8). Changing, removing or
reordering any row breaks the chain from that row on; the first row follows ``GENESIS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
"""The "previous hash" of the first row."""


@dataclass(frozen=True)
class AuditEntry:
    """One stored row of the audit trail."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    entity: str
    entity_id: str
    details: str
    """Canonical JSON text, hashed exactly as stored."""
    prev_hash: str
    hash: str

    def details_dict(self) -> dict[str, Any]:
        """The details as a dictionary (empty if they are not a JSON object)."""
        try:
            value = json.loads(self.details)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, non-ASCII kept as it is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def row_content(entry_id: int, at: datetime, actor_id: int | None, actor: str, action: str,
                entity: str, entity_id: str, details: str) -> str:
    """The canonical content of a row: every column but the two hashes."""
    return canonical_json({
        "id": entry_id, "at": at.isoformat(), "actor_id": actor_id, "actor": actor,
        "action": action, "entity": entity, "entity_id": entity_id, "details": details,
    })


def chain_hash(prev_hash: str, content: str) -> str:
    """sha256 (hex) over the previous hash and this row's canonical content."""
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def expected_hash(entry: AuditEntry, prev_hash: str) -> str:
    """The hash ``entry`` must carry if it follows a row whose hash is ``prev_hash``."""
    return chain_hash(prev_hash, row_content(entry.id, entry.at, entry.actor_id, entry.actor,
                                             entry.action, entry.entity, entry.entity_id,
                                             entry.details))


@dataclass(frozen=True)
class ChainBreak:
    """The first row at which the chain does not hold, and why."""

    entry_id: int
    reason: str


def check_link(entry: AuditEntry, prev_hash: str, prev_id: int) -> ChainBreak | None:
    """Why ``entry`` does not follow the row (``prev_id``, ``prev_hash``), or None if it does."""
    if entry.id <= prev_id:
        return ChainBreak(entry.id, f"row {entry.id} is out of order after row {prev_id}")
    if entry.prev_hash != prev_hash:
        return ChainBreak(entry.id, f"row {entry.id} does not follow row {prev_id}: a row "
                                    "before it was removed, inserted or changed")
    if entry.hash != expected_hash(entry, prev_hash):
        return ChainBreak(entry.id, f"row {entry.id} was changed after it was written: its "
                                    "content no longer matches its hash")
    return None


def first_break(entries: Iterable[AuditEntry], prev_hash: str = GENESIS,
                prev_id: int = 0) -> ChainBreak | None:
    """Walk rows in id order; the first one that does not follow its predecessor, or None."""
    for entry in entries:
        broken = check_link(entry, prev_hash, prev_id)
        if broken is not None:
            return broken
        prev_hash, prev_id = entry.hash, entry.id
    return None
