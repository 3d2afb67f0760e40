"""Reading and verifying the audit trail (admins only, except verification from the CLI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deskapp.domain.activity import ActivityEntry
from deskapp.domain.audit import GENESIS, AuditEntry, ChainBreak, check_link
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import UnitOfWorkFactory, acting_as

# The actions services record; the viewer offers them as a filter.
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
ACCOUNT_LOCKED = "account_locked"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
USER_CREATED = "user_created"
INCIDENT_CREATED = "incident_created"
INCIDENT_UPDATED = "incident_updated"
INCIDENT_NOTE = "incident_note"
CALLER_CREATED = "caller_created"
MATRIX_SAVED = "matrix_saved"
USER_UPDATED = "user_updated"
USER_GROUPS_SET = "user_groups_set"
USER_DEACTIVATED = "user_deactivated"
USER_REACTIVATED = "user_reactivated"
GROUP_CREATED = "group_created"
GROUP_UPDATED = "group_updated"
GROUP_MEMBERS_SET = "group_members_set"
GROUP_DEACTIVATED = "group_deactivated"
GROUP_REACTIVATED = "group_reactivated"
CATALOG_ADDED = "catalog_added"
CATALOG_CHANGED = "catalog_changed"
CATALOG_DEACTIVATED = "catalog_deactivated"
CATALOG_REACTIVATED = "catalog_reactivated"
IMPORTED = "import"
"""A file imported (ServiceNow log or CSV): its name and what it created, in one row."""


def activity_details(entries: Iterable[ActivityEntry]) -> list[dict[str, Any]]:
    """What an incident's new activity entries changed, for an audit row.

    Field changes keep their old and new values; notes and comments keep only their length
    (the text itself is in the incident's own append-only timeline).
    """
    out: list[dict[str, Any]] = []
    for entry in entries:
        item: dict[str, Any] = {"kind": entry.kind.value}
        if entry.field is not None:
            item.update(field=entry.field, old=entry.old_value, new=entry.new_value)
        if entry.body is not None:
            item["length"] = len(entry.body)
        if entry.call_seconds is not None:
            item["call_seconds"] = entry.call_seconds
        out.append(item)
    return out


@dataclass(frozen=True)
class VerifyResult:
    """What verifying the chain found."""

    rows: int
    """How many rows were checked (up to and including the first broken one)."""
    broken: ChainBreak | None
    """The first row that does not hold, or None if the whole chain holds."""

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(uow_factory: UnitOfWorkFactory) -> VerifyResult:
    """Walk the whole trail in order and check every link (no permission: a read-only check
    that the CLI runs with the database owner's rights)."""
    prev_hash, prev_id, count = GENESIS, 0, 0
    with uow_factory() as uow:
        for entry in uow.audit.walk():
            count += 1
            broken = check_link(entry, prev_hash, prev_id)
            if broken is not None:
                return VerifyResult(count, broken)
            prev_hash, prev_id = entry.hash, entry.id
    return VerifyResult(count, None)


class AuditService:
    """The audit viewer's calls, as the signed-in user (admins)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id

    def latest(self, limit: int = 200, *, action: str | None = None, actor: str | None = None,
               entity: str | None = None, entity_id: str | None = None,
               before_id: int | None = None) -> list[AuditEntry]:
        """The newest rows first, filtered."""
        with self._uow() as uow:
            require(uow.users.get(self._actor_id), Permission.MANAGE_PEOPLE)
            return uow.audit.latest(limit, action=action, actor=actor, entity=entity,
                                    entity_id=entity_id, before_id=before_id)

    def verify(self) -> VerifyResult:
        """Verify the whole chain."""
        with self._uow() as uow:
            require(uow.users.get(self._actor_id), Permission.MANAGE_PEOPLE)
        return verify_chain(self._uow)
