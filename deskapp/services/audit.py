"""Reading and verifying the audit trail (admins only, except verification from the CLI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deskapp.domain.activity import ActivityEntry
from deskapp.domain.audit import GENESIS, AuditEntry, ChainBreak, check_link
from deskapp.services import audit_text
from deskapp.services.audit_text import Names, details_text, record_text, wanted
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import UnitOfWork, UnitOfWorkFactory, acting_as

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


@dataclass(frozen=True)
class AuditRow:
    """A row of the trail as the viewer shows it: the stored entry (its raw JSON details
    kept for the tooltip), what it is about and its details in words, ids as names."""

    entry: AuditEntry
    record: str
    details: str


def _names(uow: UnitOfWork, entries: list[AuditEntry]) -> Names:
    """The names ``entries`` mention, read in one query per kind that is needed."""
    want = wanted(entries)
    by_kind: dict[str, dict[int, str]] = {}
    if want[audit_text.USER]:
        by_kind[audit_text.USER] = {u.id: u.full_name or u.username for u in uow.users.all()
                                    if u.id in want[audit_text.USER]}
    if want[audit_text.GROUP]:
        by_kind[audit_text.GROUP] = {g.id: g.name for g in uow.groups.all()}
    if want[audit_text.INCIDENT]:
        by_kind[audit_text.INCIDENT] = uow.incidents.numbers(want[audit_text.INCIDENT])
    if want[audit_text.CALLER]:
        by_kind[audit_text.CALLER] = uow.callers.names(want[audit_text.CALLER])
    if want[audit_text.CATEGORY]:
        by_kind[audit_text.CATEGORY] = {c.id: c.name for c in uow.catalog.list_categories()}
    if want[audit_text.SERVICE]:
        by_kind[audit_text.SERVICE] = {s.id: s.name for s in uow.catalog.list_services()}
    if want[audit_text.CI]:
        by_kind[audit_text.CI] = {c.id: c.name
                                  for c in uow.catalog.list_configuration_items()}
    return Names(by_kind)


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
            # The stored actor is the acting user's username: matched by id, in its index.
            actor_ids = None if not actor else [
                u.id for u in uow.users.all() if u.username.casefold() == actor.casefold()]
            return uow.audit.latest(limit, action=action, actor_ids=actor_ids, entity=entity,
                                    entity_id=entity_id, before_id=before_id)

    def page(self, limit: int = 200, *, action: str | None = None, who: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             before_id: int | None = None) -> list[AuditRow]:
        """The newest rows first, filtered, each with its record and details in words.

        ``who`` matches a username or a person's full name, in any case, whole or in part
        ("ADMIN", "Ada Admin", "ada"); ``since`` is inclusive, ``until`` exclusive. The
        names the rows mention are read once for the page, a query per kind.
        """
        with self._uow() as uow:
            require(uow.users.get(self._actor_id), Permission.MANAGE_PEOPLE)
            actor_ids: list[int] | None = None
            wanted_who = (who or "").strip().casefold()
            if wanted_who:
                actor_ids = [u.id for u in uow.users.all()
                             if wanted_who in u.username.casefold()
                             or wanted_who in u.full_name.casefold()]
            # Every row names its actor by id (the stored name is that user's username),
            # so the ids alone find them, in the (actor_id, id) index.
            entries = uow.audit.latest(limit, action=action, actor_ids=actor_ids,
                                       since=since, until=until, before_id=before_id)
            names = _names(uow, entries)
        return [AuditRow(e, record_text(e, names), details_text(e, names)) for e in entries]

    def verify(self) -> VerifyResult:
        """Verify the whole chain."""
        with self._uow() as uow:
            require(uow.users.get(self._actor_id), Permission.MANAGE_PEOPLE)
        return verify_chain(self._uow)
