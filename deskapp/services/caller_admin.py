"""Administering callers: list and search them, edit, deactivate, find and merge duplicates.

Permissions: editing a caller's details (name, email, phone, department, location, VIP) is
Permission.EDIT, which agents hold: they correct a caller during a call, as they create one
with Permission.LOG. Deactivating, reactivating and merging are Permission.MANAGE_PEOPLE
(admins): they change which caller the call form offers and move incidents between callers.

Callers are never deleted: incidents keep naming them. A deactivated caller is not offered
by the call form's look-up; a merged one is inactive and names its survivor, to which its
incidents were moved and under which the email intake files mail from its address.

Every change states the version of the caller it was made on: a caller changed meanwhile by
someone else refuses the change (ConflictError) and nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from deskapp.domain.errors import ConflictError, ValidationError
from deskapp.domain.people import Caller, check_caller
from deskapp.services.caller_admin_dto import (
    MERGE_FIELDS,
    CallerAdminRow,
    CallerEdit,
    CallerPage,
    CallerPageQuery,
    DuplicateGroup,
    MergeRequest,
    MergeResult,
)
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import Permission, allowed, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as

CALLER_EDITED = "caller_edited"
CALLER_DEACTIVATED = "caller_deactivated"
CALLER_REACTIVATED = "caller_reactivated"
CALLERS_MERGED = "callers_merged"
"""The audit trail's actions for what this service does."""

EDIT_PERMISSION = Permission.EDIT
"""Who may correct a caller's details: those who may edit incidents (agents and up)."""
ADMIN_PERMISSION = Permission.MANAGE_PEOPLE
"""Who may deactivate, reactivate and merge callers (admins)."""
MAX_PAGE = 500
MAX_MERGE = 20
"""Callers merged at once, at most (a survivor and up to 19 duplicates)."""


def _label(row: CallerAdminRow) -> str:
    return f"Caller '{row.name}' (#{row.id})"


def _stale(row: CallerAdminRow) -> ConflictError:
    """The refusal of a stale write, naming the change ``row`` carries (it must be the
    caller as stored now: its last change is the one that made the write stale)."""
    return ConflictError(_label(row), row.updated_by, row.updated_at, row.version)


def merged_values(rows: dict[int, CallerAdminRow], survivor_id: int,
                  duplicate_ids: tuple[int, ...],
                  choices: dict[str, int]) -> dict[str, str | bool]:
    """The survivor's fields after a merge: the chosen caller's value for each field named in
    ``choices``; otherwise the survivor's if not empty (or VIP), else the first duplicate's
    that is."""
    values: dict[str, str | bool] = {}
    for name in MERGE_FIELDS:
        if name in choices:
            values[name] = rows[choices[name]].value(name)
            continue
        values[name] = next((rows[i].value(name) for i in (survivor_id, *duplicate_ids)
                             if rows[i].value(name)), rows[survivor_id].value(name))
    return values


class CallerAdminService:
    """The callers administration, as ``actor_id``.

    Args:
        uow_factory: Opens units of work.
        actor_id: The signed-in user.
        clock: "Now" for what a change records: who changed a caller when, and the
            timeline entries of the incidents a merge moves.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    def _require(self, uow: UnitOfWork, permission: Permission) -> None:
        require(uow.users.get(self._actor_id), permission)

    def _stamp(self, now: datetime | None = None) -> dict[str, object]:
        """Who changes a caller, and when (now): a later stale edit names them."""
        return {"updated_at": now or self._clock(), "updated_by_id": self._actor_id}

    # --- reading ------------------------------------------------------------------------

    def may_edit(self) -> bool:
        """Whether the actor may edit callers' details."""
        with self._uow() as uow:
            return allowed(uow.users.get(self._actor_id), EDIT_PERMISSION)

    def may_administer(self) -> bool:
        """Whether the actor may deactivate, reactivate and merge callers."""
        with self._uow() as uow:
            return allowed(uow.users.get(self._actor_id), ADMIN_PERMISSION)

    def page(self, query: CallerPageQuery) -> CallerPage:
        """One page of callers by name in natural order ("Caller 2" before "Caller 10"), each
        with its incident count (keyset paging)."""
        limit = max(1, min(query.limit, MAX_PAGE))
        with self._uow() as uow:
            rows = uow.caller_admin.page(replace(query, limit=limit + 1))
            more = len(rows) > limit
            rows = rows[:limit]
            after = uow.caller_admin.sort_key(rows[-1]) if more else None
        return CallerPage(tuple(rows), after)

    def get(self, caller_id: int) -> CallerAdminRow:
        """One caller as it is stored now."""
        with self._uow() as uow:
            return uow.caller_admin.row(caller_id)

    def duplicates(self, limit: int = 200) -> list[DuplicateGroup]:
        """Groups of active callers that share an email address, a phone number or a name."""
        with self._uow() as uow:
            return uow.caller_admin.duplicate_groups(limit)

    def duplicates_of(self, caller_id: int) -> list[CallerAdminRow]:
        """Active callers that share the caller's email address, phone number or name."""
        with self._uow() as uow:
            return uow.caller_admin.duplicates_of(caller_id)

    # --- writing ------------------------------------------------------------------------

    def edit(self, caller_id: int, version: int, edit: CallerEdit) -> CallerAdminRow:
        """Save a caller's details, read at ``version``.

        Raises:
            PermissionDeniedError: the actor may not edit.
            ValidationError: a value cannot be stored (the message names the field).
            ConflictError: the caller changed since it was read; nothing was written.
        """
        edit = CallerEdit(edit.name.strip(), edit.email.strip(), edit.phone.strip(),
                          edit.department.strip(), edit.location.strip(), edit.vip)
        check_caller(Caller(caller_id, **asdict(edit)))
        with self._uow(write=True) as uow:
            self._require(uow, EDIT_PERMISSION)
            before = uow.caller_admin.row(caller_id)
            if before.merged_into_id is not None:
                raise ValidationError(f"{_label(before)} was merged into caller "
                                      f"#{before.merged_into_id}; edit that caller instead.")
            changes = {name: value for name, value in asdict(edit).items()
                       if before.value(name) != value}
            if before.version != version or not uow.caller_admin.update(
                    caller_id, version, {**changes, **self._stamp()}):
                # A versioned UPDATE that lost a race (PostgreSQL: someone committed after
                # ``before`` was read) must name the winner: read the caller again.
                raise _stale(before if before.version != version
                             else uow.caller_admin.row(caller_id))
            uow.audit.record(CALLER_EDITED, actor_id=self._actor_id, entity="caller",
                             entity_id=caller_id,
                             details={name: {"old": before.value(name), "new": value}
                                      for name, value in changes.items()})
            after = uow.caller_admin.row(caller_id)
            uow.commit()
        return after

    def set_active(self, caller_id: int, version: int, active: bool) -> CallerAdminRow:
        """Deactivate (or reactivate) a caller read at ``version``.

        Raises:
            PermissionDeniedError: the actor may not manage people.
            ValidationError: reactivating a merged caller (its incidents moved away).
            ConflictError: the caller changed since it was read; nothing was written.
        """
        with self._uow(write=True) as uow:
            self._require(uow, ADMIN_PERMISSION)
            before = uow.caller_admin.row(caller_id)
            if active and before.merged_into_id is not None:
                raise ValidationError(f"{_label(before)} was merged into caller "
                                      f"#{before.merged_into_id} and cannot be reactivated.")
            if before.version != version or not uow.caller_admin.update(
                    caller_id, version, {"active": active, **self._stamp()}):
                # A versioned UPDATE that lost a race (PostgreSQL: someone committed after
                # ``before`` was read) must name the winner: read the caller again.
                raise _stale(before if before.version != version
                             else uow.caller_admin.row(caller_id))
            uow.audit.record(CALLER_REACTIVATED if active else CALLER_DEACTIVATED,
                             actor_id=self._actor_id, entity="caller", entity_id=caller_id,
                             details={"name": before.name})
            after = uow.caller_admin.row(caller_id)
            uow.commit()
        return after

    def merge(self, request: MergeRequest) -> MergeResult:
        """Merge duplicates into a survivor, in one transaction.

        Every foreign key naming a duplicate (its incidents, callers merged into it before)
        is pointed at the survivor; each incident moved gets a new version and a caller
        change in its timeline, so that a form still holding the old caller cannot save it
        back; the survivor takes the chosen field values; the duplicates become inactive,
        name the survivor and leave the review list. One audit row names every caller and
        what moved.

        Raises:
            PermissionDeniedError: the actor may not manage people.
            ValidationError: no duplicates, a caller merged into itself, a caller already
                merged, or a choice naming a caller outside the merge.
            ConflictError: any of the callers changed since read; nothing was written.
        """
        survivor_id, duplicate_ids = request.survivor_id, tuple(request.duplicate_ids)
        if not duplicate_ids:
            raise ValidationError("Choose at least one duplicate to merge.")
        if survivor_id in duplicate_ids:
            raise ValidationError("A caller cannot be merged into itself.")
        if len(set(duplicate_ids)) != len(duplicate_ids):
            raise ValidationError("A duplicate is named twice.")
        if len(duplicate_ids) + 1 > MAX_MERGE:
            raise ValidationError(f"Merge at most {MAX_MERGE} callers at once.")
        ids = (survivor_id, *duplicate_ids)
        for name, chosen in request.choices.items():
            if name not in MERGE_FIELDS:
                raise ValidationError(f"'{name}' is not a caller field that can be chosen.")
            if chosen not in ids:
                raise ValidationError(f"The {name} is chosen from caller #{chosen}, which is "
                                      f"not part of this merge.")
        missing = [i for i in ids if i not in request.versions]
        if missing:
            raise ValidationError(f"The version read of caller #{missing[0]} is missing.")
        with self._uow(write=True) as uow:
            self._require(uow, ADMIN_PERMISSION)
            rows = {i: uow.caller_admin.row(i) for i in ids}
            for row in rows.values():
                if row.merged_into_id is not None:
                    raise ValidationError(f"{_label(row)} was already merged into caller "
                                          f"#{row.merged_into_id}.")
            if not rows[survivor_id].active:
                raise ValidationError(f"{_label(rows[survivor_id])} is inactive; reactivate "
                                      f"it before merging into it.")
            stale = [rows[i] for i in ids if rows[i].version != request.versions[i]]
            if stale:
                raise _stale(stale[0])
            values = merged_values(rows, survivor_id, duplicate_ids, dict(request.choices))
            check_caller(Caller(survivor_id, **values))  # type: ignore[arg-type]
            # Counted before the move: afterwards these incidents are the survivor's.
            messages = uow.caller_admin.email_messages_of(duplicate_ids)
            now = self._clock()
            stamp = self._stamp(now)
            moved = uow.caller_admin.repoint(duplicate_ids, survivor_id, self._actor_id, now)
            moved["email_messages"] = messages
            for i in duplicate_ids:
                if not uow.caller_admin.update(i, request.versions[i], {
                        "active": False, "merged_into_id": survivor_id,
                        "needs_review": False, **stamp}):
                    raise _stale(rows[i])
            changes: dict[str, object] = {"needs_review": False, **stamp}
            changes.update({k: v for k, v in values.items()
                            if rows[survivor_id].value(k) != v})
            if not uow.caller_admin.update(survivor_id, request.versions[survivor_id],
                                           changes):
                raise _stale(rows[survivor_id])
            uow.audit.record(CALLERS_MERGED, actor_id=self._actor_id, entity="caller",
                             entity_id=survivor_id, details={
                                 "survivor": survivor_id, "duplicates": list(duplicate_ids),
                                 "names": {str(i): rows[i].name for i in ids},
                                 "moved": moved,
                                 "fields": {k: {"old": rows[survivor_id].value(k), "new": v}
                                            for k, v in values.items()
                                            if rows[survivor_id].value(k) != v}})
            survivor = uow.caller_admin.row(survivor_id)
            uow.commit()
        return MergeResult(survivor, duplicate_ids, moved)
