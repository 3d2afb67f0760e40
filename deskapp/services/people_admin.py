"""Administration of people and assignment groups (Admin > Users… and Admin > Groups…).

Every call needs MANAGE_PEOPLE (admins) and is written to the audit trail. Nobody is ever
deleted: incidents, activity and the trail point at people and groups, so they are
deactivated instead (a deactivated person cannot sign in and gets no new work; on
PostgreSQL their login is switched to NOLOGIN). Every edit states the version it read;
an edit of a record someone changed meanwhile is refused with ConflictError, naming who
changed it, never silently applied over theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Protocol, cast

from argon2 import PasswordHasher

from deskapp.domain.enums import Role
from deskapp.domain.errors import ConflictError, NotFoundError, ValidationError
from deskapp.domain.people import Group, User
from deskapp.domain.text import is_email, isolate, refuse_nul
from deskapp.services import audit
from deskapp.services.accounts import AccountService, DatabaseLogins
from deskapp.services.incidents import utc_now
from deskapp.services.people_dto import (
    AdminResult,
    GroupAdminRow,
    PeopleStore,
    UserAdminRow,
)
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as

log = logging.getLogger(__name__)

MAX_GROUP_NAME = 120
MAX_GROUP_DESCRIPTION = 400
MAX_FULL_NAME = 120
MAX_EMAIL = 200

USER_EDITS = (audit.USER_CREATED, audit.USER_UPDATED, audit.USER_GROUPS_SET,
              audit.USER_DEACTIVATED, audit.USER_REACTIVATED)
GROUP_EDITS = (audit.GROUP_CREATED, audit.GROUP_UPDATED, audit.GROUP_MEMBERS_SET,
               audit.GROUP_DEACTIVATED, audit.GROUP_REACTIVATED)


class PeopleUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches the people administration store."""

    @property
    def people(self) -> PeopleStore: ...


class PeopleUnitOfWorkFactory(Protocol):
    """Opens PeopleUnitOfWorks (the composition root's factory does)."""

    def __call__(self, *, write: bool = False) -> PeopleUnitOfWork: ...


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class PeopleAdminService:
    """People and groups, as the signed-in admin ``actor_id``.

    Args:
        logins: PostgreSQL's logins (None on SQLite, where accounts are local).
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 logins: DatabaseLogins | None = None, clock: Clock = utc_now,
                 hasher: PasswordHasher | None = None) -> None:
        self._uow = acting_as(cast(PeopleUnitOfWorkFactory, uow_factory), actor_id)
        self._actor_id = actor_id
        self._logins = logins
        self._clock = clock
        self._accounts = AccountService(uow_factory, logins, clock, hasher)

    @property
    def local(self) -> bool:
        """Whether accounts are local (SQLite) rather than database logins (PostgreSQL)."""
        return self._logins is None

    @property
    def actor_id(self) -> int:
        return self._actor_id

    # --- reading --------------------------------------------------------------------------

    def users(self) -> list[UserAdminRow]:
        """Everyone, by name, with their groups and (local accounts) lock-out state."""
        with self._uow() as uow:
            self._require(uow)
            return uow.people.users(with_credentials=self.local)

    def groups(self) -> list[GroupAdminRow]:
        """Every group, by name, with lead, members and open incidents."""
        with self._uow() as uow:
            self._require(uow)
            return uow.people.groups()

    def open_assigned_to(self, user_id: int) -> int:
        """Open incidents assigned to the person (asked before deactivating them)."""
        with self._uow() as uow:
            self._require(uow)
            return uow.people.open_assigned_to(user_id)

    def open_in_group(self, group_id: int) -> int:
        """Open incidents in the group (asked before deactivating it)."""
        with self._uow() as uow:
            self._require(uow)
            return uow.people.open_in_group(group_id)

    # --- people ---------------------------------------------------------------------------

    def create_user(self, username: str, full_name: str, email: str, role: Role,
                    password: str, group_ids: Sequence[int] = ()) -> int:
        """A new person with a first password (local: they choose their own at first
        sign-in) and, optionally, their groups; returns their id."""
        _check_person(full_name, email)
        wanted = sorted(set(group_ids))

        def join(uow: UnitOfWork, user: User) -> None:
            # The same transaction: a group refused (deactivated meanwhile) leaves no person.
            self._write_user_groups(cast(PeopleUnitOfWork, uow), user, wanted)

        user = self._accounts.create_user(username, full_name, email, role, password,
                                          actor_id=self._actor_id,
                                          within=join if wanted else None)
        return user.id

    def update_user(self, user_id: int, version: int, *, full_name: str, email: str,
                    role: Role, group_ids: Collection[int] | None = None) -> AdminResult:
        """Change a person's name, email, role (PostgreSQL: their login's role too) and,
        given ``group_ids``, make them a member of exactly those groups.

        All of it in one transaction against one version check: a refused part (a group
        deactivated meanwhile, the last admin) writes nothing at all.
        """
        full_name, email = _check_person(full_name, email)
        with self._uow(write=True) as uow:
            self._require(uow)
            uow.people.active_admin_ids(lock=True)
            user = self._fresh_user(uow, user_id, version)
            if role is not user.role and user.role is Role.ADMIN:
                self._guard_admin_loss(uow, user, "demote")
            changes = {k: {"old": old, "new": new} for k, old, new in (
                ("full_name", user.full_name, full_name), ("email", user.email, email),
                ("role", user.role.value, role.value)) if old != new}
            wanted = self._changed_groups(uow, user_id, group_ids)
            if not changes and wanted is None:
                return AdminResult(version, message="Nothing changed.")
            if wanted is not None:
                self._write_user_groups(uow, user, wanted)
            new_version = uow.people.update_user(user_id, full_name=full_name, email=email,
                                                 role=role.value)
            if changes:
                uow.audit.record(audit.USER_UPDATED, actor_id=self._actor_id, entity="user",
                                 entity_id=user_id, details={"username": user.username,
                                                             "changes": changes})
            if self._logins is not None and role is not user.role:
                # Last, so that a refused row leaves the login as it was.
                self._logins.set_role(user.username, role)
            uow.commit()
        log.info("%s updated (%s)", user.username,
                 ", ".join([*changes, *(["groups"] if wanted is not None else [])]))
        return AdminResult(new_version, message=f"Saved {isolate(full_name)}.")

    def set_user_groups(self, user_id: int, version: int,
                        group_ids: Collection[int]) -> AdminResult:
        """Make the person a member of exactly these groups (new groups must be active)."""
        wanted = sorted(set(group_ids))
        with self._uow(write=True) as uow:
            self._require(uow)
            user = self._fresh_user(uow, user_id, version)
            self._write_user_groups(uow, user, wanted)
            new_version = uow.people.update_user(user_id)
            uow.commit()
        return AdminResult(new_version,
                           message=f"Groups of {isolate(user.full_name)} saved.")

    def deactivate_user(self, user_id: int, version: int) -> AdminResult:
        """Stop a person signing in and getting new work; their history stays.

        The result counts the open incidents still assigned to them (reassigning those is
        a team lead's job).
        """
        with self._uow(write=True) as uow:
            self._require(uow)
            uow.people.active_admin_ids(lock=True)
            user = self._fresh_user(uow, user_id, version)
            if not user.active:
                raise ValidationError(f"{isolate(user.full_name)} is already inactive.")
            if user.role is Role.ADMIN:
                self._guard_admin_loss(uow, user, "deactivate")
            elif user_id == self._actor_id:
                raise ValidationError("You cannot deactivate your own account.")
            open_count = uow.people.open_assigned_to(user_id)
            new_version = uow.people.update_user(user_id, active=False)
            if self._logins is not None:
                self._logins.set_login_enabled(user.username, False)
            uow.audit.record(audit.USER_DEACTIVATED, actor_id=self._actor_id, entity="user",
                             entity_id=user_id, details={"username": user.username,
                                                         "open_incidents": open_count})
            uow.commit()
        log.info("%s deactivated", user.username)
        message = f"{isolate(user.full_name)} is deactivated."
        if open_count:
            message += (f" {_plural(open_count, 'open incident')} still assigned to them: "
                        "their team lead should reassign them.")
        return AdminResult(new_version, open_count, message)

    def reactivate_user(self, user_id: int, version: int) -> AdminResult:
        """Let a deactivated person sign in and get work again."""
        with self._uow(write=True) as uow:
            self._require(uow)
            user = self._fresh_user(uow, user_id, version)
            if user.active:
                raise ValidationError(f"{isolate(user.full_name)} is already active.")
            new_version = uow.people.update_user(user_id, active=True)
            if self._logins is not None:
                self._logins.set_login_enabled(user.username, True)
            uow.audit.record(audit.USER_REACTIVATED, actor_id=self._actor_id, entity="user",
                             entity_id=user_id, details={"username": user.username})
            uow.commit()
        log.info("%s reactivated", user.username)
        return AdminResult(new_version, message=f"{isolate(user.full_name)} is active again.")

    def reset_password(self, user_id: int, new_password: str) -> None:
        """Give a person a new password and unlock their account (local accounts: they
        choose their own at the next sign-in)."""
        with self._uow() as uow:
            self._require(uow)
            username = uow.users.get(user_id).username
        self._accounts.reset_password(username, new_password, actor_id=self._actor_id)

    # --- groups ---------------------------------------------------------------------------

    def create_group(self, name: str, description: str = "", lead_id: int | None = None,
                     member_ids: Sequence[int] = ()) -> int:
        """A new, active group; returns its id."""
        name, description = _check_group(name, description)
        members = sorted(set(member_ids))
        with self._uow(write=True) as uow:
            self._require(uow)
            if uow.people.group_name_taken(name, None):
                raise ValidationError(f"There is already a group named '{isolate(name)}'.", "name")
            self._check_lead(uow, lead_id)
            self._check_new_members(uow, members, ())
            group = uow.groups.add(Group(0, name, description, lead_id), members)
            uow.audit.record(audit.GROUP_CREATED, actor_id=self._actor_id, entity="group",
                             entity_id=group.id, details={"name": name, "lead_id": lead_id,
                                                          "member_ids": members})
            uow.commit()
        log.info("Group %s created", name)
        return group.id

    def update_group(self, group_id: int, version: int, *, name: str, description: str,
                     lead_id: int | None,
                     member_ids: Collection[int] | None = None) -> AdminResult:
        """Rename a group, describe it, give it a new lead and, given ``member_ids``, make
        exactly those people its members (new members must be active).

        All of it in one transaction against one version check: a refused part writes
        nothing at all.
        """
        name, description = _check_group(name, description)
        with self._uow(write=True) as uow:
            self._require(uow)
            group = self._fresh_group(uow, group_id, version)
            if uow.people.group_name_taken(name, group_id):
                raise ValidationError(f"There is already a group named '{isolate(name)}'.", "name")
            if lead_id != group.lead_id:
                self._check_lead(uow, lead_id)
            changes = {k: {"old": old, "new": new} for k, old, new in (
                ("name", group.name, name), ("description", group.description, description),
                ("lead_id", group.lead_id, lead_id)) if old != new}
            wanted: list[int] | None = None
            if member_ids is not None:
                wanted = sorted(set(member_ids))
                if wanted == sorted(uow.groups.member_ids(group_id)):
                    wanted = None
            if not changes and wanted is None:
                return AdminResult(version, message="Nothing changed.")
            if wanted is not None:
                self._write_group_members(uow, group_id, name, wanted)
            new_version = uow.people.update_group(group_id, name=name, description=description,
                                                  lead_id=lead_id)
            if changes:
                uow.audit.record(audit.GROUP_UPDATED, actor_id=self._actor_id, entity="group",
                                 entity_id=group_id, details={"name": name, "changes": changes})
            uow.commit()
        message = f"Saved {isolate(name)}"
        if wanted is not None:
            message += f" ({_plural(len(wanted), 'member')})"
        return AdminResult(new_version, message=message + ".")

    def set_group_members(self, group_id: int, version: int,
                          member_ids: Collection[int]) -> AdminResult:
        """Make exactly these people the group's members (new members must be active)."""
        wanted = sorted(set(member_ids))
        with self._uow(write=True) as uow:
            self._require(uow)
            group = self._fresh_group(uow, group_id, version)
            self._write_group_members(uow, group_id, group.name, wanted)
            new_version = uow.people.update_group(group_id)
            uow.commit()
        return AdminResult(new_version, message=f"Members of {isolate(group.name)} saved "
                                                f"({_plural(len(wanted), 'member')}).")

    def deactivate_group(self, group_id: int, version: int) -> AdminResult:
        """Stop offering the group for new work; its incidents and rules stay.

        The result counts the open incidents still in the group.
        """
        with self._uow(write=True) as uow:
            self._require(uow)
            group = self._fresh_group(uow, group_id, version)
            if not group.active:
                raise ValidationError(f"{isolate(group.name)} is already inactive.")
            open_count = uow.people.open_in_group(group_id)
            new_version = uow.people.update_group(group_id, active=False)
            uow.audit.record(audit.GROUP_DEACTIVATED, actor_id=self._actor_id, entity="group",
                             entity_id=group_id, details={"name": group.name,
                                                          "open_incidents": open_count})
            uow.commit()
        message = f"{isolate(group.name)} is deactivated."
        if open_count:
            message += (f" {_plural(open_count, 'open incident')} still in it: move them to "
                        "another group.")
        return AdminResult(new_version, open_count, message)

    def reactivate_group(self, group_id: int, version: int) -> AdminResult:
        """Offer the group for new work again."""
        with self._uow(write=True) as uow:
            self._require(uow)
            group = self._fresh_group(uow, group_id, version)
            if group.active:
                raise ValidationError(f"{isolate(group.name)} is already active.")
            new_version = uow.people.update_group(group_id, active=True)
            uow.audit.record(audit.GROUP_REACTIVATED, actor_id=self._actor_id, entity="group",
                             entity_id=group_id, details={"name": group.name})
            uow.commit()
        return AdminResult(new_version, message=f"{isolate(group.name)} is active again.")

    # --- helpers --------------------------------------------------------------------------

    def _require(self, uow: UnitOfWork) -> User:
        actor = uow.users.get(self._actor_id)
        require(actor, Permission.MANAGE_PEOPLE)
        return actor

    def _fresh_user(self, uow: PeopleUnitOfWork, user_id: int, version: int) -> User:
        current = uow.people.user_version(user_id)
        user = uow.users.get(user_id)
        if current != version:
            who = uow.people.last_changed_by("user", user_id, USER_EDITS)
            raise ConflictError(f"{isolate(user.full_name)}'s record", who[0] if who else None,
                                who[1] if who else None, current)
        return user

    def _fresh_group(self, uow: PeopleUnitOfWork, group_id: int, version: int) -> Group:
        current = uow.people.group_version(group_id)
        group = uow.groups.get(group_id)
        if current != version:
            who = uow.people.last_changed_by("group", group_id, GROUP_EDITS)
            raise ConflictError(f"The group {isolate(group.name)}", who[0] if who else None,
                                who[1] if who else None, current)
        return group

    def _guard_admin_loss(self, uow: PeopleUnitOfWork, user: User, verb: str) -> None:
        """Refuse to leave the desk without an active admin, or an admin acting on
        themselves (they would lock themselves out of this very screen).

        The callers lock the active admins' rows first (in id order, before the row they
        change): two admins demoting each other at once then run one after the other, and
        the second finds the first no longer an admin.
        """
        if user.id == self._actor_id:
            raise ValidationError(f"You cannot {verb} your own account; ask another admin.")
        others = [i for i in uow.people.active_admin_ids() if i != user.id]
        if user.active and not others:
            raise ValidationError(f"{isolate(user.full_name)} is the last active admin; make "
                                  f"someone else an admin before you {verb} them.")

    def _changed_groups(self, uow: PeopleUnitOfWork, user_id: int,
                        group_ids: Collection[int] | None) -> list[int] | None:
        """The groups wanted for the person, or None if not given or the same as now."""
        if group_ids is None:
            return None
        wanted = sorted(set(group_ids))
        return None if wanted == uow.groups.ids_of_member(user_id) else wanted

    def _write_user_groups(self, uow: PeopleUnitOfWork, user: User,
                           wanted: list[int]) -> None:
        """Check and store the person's groups, with its audit row (caller commits)."""
        self._check_groups(uow, wanted, uow.groups.ids_of_member(user.id))
        uow.people.set_user_groups(user.id, wanted)
        uow.audit.record(audit.USER_GROUPS_SET, actor_id=self._actor_id, entity="user",
                         entity_id=user.id, details={"username": user.username,
                                                     "group_ids": wanted})

    def _write_group_members(self, uow: PeopleUnitOfWork, group_id: int, name: str,
                             wanted: list[int]) -> None:
        """Check and store the group's members, with its audit row (caller commits)."""
        self._check_new_members(uow, wanted, uow.groups.member_ids(group_id))
        uow.people.set_group_members(group_id, wanted)
        uow.audit.record(audit.GROUP_MEMBERS_SET, actor_id=self._actor_id,
                         entity="group", entity_id=group_id,
                         details={"name": name, "member_ids": wanted})

    @staticmethod
    def _check_groups(uow: PeopleUnitOfWork, group_ids: Collection[int],
                      current: Collection[int] = ()) -> None:
        """Every group exists, and the ones the person is not in yet are active (staying
        in a group deactivated meanwhile is fine; joining one is not)."""
        missing = set(group_ids) - uow.people.existing_group_ids(list(group_ids))
        if missing:
            raise NotFoundError(f"There is no assignment group with id {min(missing)}.")
        for group_id in sorted(set(group_ids) - set(current)):
            group = uow.groups.get(group_id)
            if not group.active:
                raise ValidationError(f"{isolate(group.name)} is inactive and takes no new "
                                      "members.", "group_ids")

    @staticmethod
    def _check_lead(uow: UnitOfWork, lead_id: int | None) -> None:
        if lead_id is None:
            return
        lead = uow.users.get(lead_id)
        if not lead.active:
            raise ValidationError(f"{isolate(lead.full_name)} is inactive and cannot lead a "
                                  "group.", "lead_id")

    @staticmethod
    def _check_new_members(uow: PeopleUnitOfWork, wanted: Sequence[int],
                           current: Collection[int]) -> None:
        new = [i for i in wanted if i not in set(current)]
        missing = set(new) - uow.people.existing_user_ids(new)
        if missing:
            raise NotFoundError(f"There is no user with id {min(missing)}.")
        for user_id in new:
            user = uow.users.get(user_id)
            if not user.active:
                raise ValidationError(f"{isolate(user.full_name)} is inactive and cannot join "
                                      "a group.", "member_ids")


def _check_person(full_name: str, email: str) -> tuple[str, str]:
    name, mail = full_name.strip(), email.strip()
    if not name:
        raise ValidationError("A person needs a name.", "full_name")
    refuse_nul(name + mail, "The name or email", "full_name")
    if len(name) > MAX_FULL_NAME:
        raise ValidationError(f"A name may have at most {MAX_FULL_NAME} characters.",
                              "full_name")
    if len(mail) > MAX_EMAIL or (mail and not is_email(mail)):
        raise ValidationError("That is not an email address.", "email")
    return name, mail


def _check_group(name: str, description: str) -> tuple[str, str]:
    name, description = name.strip(), description.strip()
    if not name:
        raise ValidationError("A group needs a name.", "name")
    refuse_nul(name, "The group's name", "name")
    refuse_nul(description, "The group's description", "description")
    if len(name) > MAX_GROUP_NAME:
        raise ValidationError(f"A group name may have at most {MAX_GROUP_NAME} characters.",
                              "name")
    if len(description) > MAX_GROUP_DESCRIPTION:
        raise ValidationError("A description may have at most "
                              f"{MAX_GROUP_DESCRIPTION} characters.", "description")
    return name, description
