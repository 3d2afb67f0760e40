"""What the people administration screens show, and the store port behind them.

Plain frozen data for the Admin > Users and Admin > Groups windows; ``PeopleStore`` is what
persistence implements (persistence/people_repository.py) and the unit of work exposes as
``uow.people``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from deskapp.domain.enums import Role


@dataclass(frozen=True)
class UserAdminRow:
    """A person as the users window lists them."""

    id: int
    username: str
    full_name: str
    email: str
    role: Role
    active: bool
    away: bool
    version: int
    group_ids: tuple[int, ...] = ()
    group_names: tuple[str, ...] = ()
    locked_until: datetime | None = None
    """Local accounts: locked out until then (None: not locked, or no local account)."""
    must_change: bool = False
    """Local accounts: an admin reset the password; the person chooses a new one first."""
    has_password: bool = False
    """Local accounts: whether the person has a password at all (PostgreSQL: a login)."""

    def locked(self, now: datetime) -> bool:
        """Whether the account is locked out at ``now``."""
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class GroupAdminRow:
    """An assignment group as the groups window lists it."""

    id: int
    name: str
    description: str
    lead_id: int | None
    lead_name: str
    active: bool
    version: int
    member_ids: tuple[int, ...] = ()
    open_incidents: int = 0

    @property
    def member_count(self) -> int:
        return len(self.member_ids)


@dataclass(frozen=True)
class AdminResult:
    """What an administration edit left behind: the new version and what to tell the admin."""

    version: int
    open_incidents: int = 0
    """Deactivation: open incidents still assigned to the person or in the group."""
    message: str = ""


class PeopleStore(Protocol):
    """Reading and writing people and groups for administration (versions checked here)."""

    def users(self, *, with_credentials: bool) -> list[UserAdminRow]:
        """Everyone, by name (credential columns only read if ``with_credentials``)."""
        ...

    def groups(self) -> list[GroupAdminRow]:
        """Every group, by name, with its lead's name, members and open incident count."""
        ...

    def user_version(self, user_id: int) -> int:
        """The user's current version (NotFoundError if there is none); locks the row."""
        ...

    def group_version(self, group_id: int) -> int:
        """The group's current version (NotFoundError if there is none); locks the row."""
        ...

    def update_user(self, user_id: int, **values: object) -> int:
        """Set these columns and raise the version; returns the new version."""
        ...

    def update_group(self, group_id: int, **values: object) -> int:
        """Set these columns and raise the version; returns the new version."""
        ...

    def set_user_groups(self, user_id: int, group_ids: Collection[int]) -> None:
        """Make the user a member of exactly these groups."""
        ...

    def set_group_members(self, group_id: int, user_ids: Collection[int]) -> None:
        """Make exactly these users the group's members."""
        ...

    def active_admin_ids(self, *, lock: bool = False) -> list[int]:
        """The active admins' ids, by id (their rows locked to the transaction's end if
        ``lock``)."""
        ...

    def open_assigned_to(self, user_id: int) -> int:
        """How many open incidents are assigned to the user."""
        ...

    def open_in_group(self, group_id: int) -> int:
        """How many open incidents are in the group."""
        ...

    def group_name_taken(self, name: str, except_id: int | None) -> bool:
        """Whether another group has this name (compared without regard to case)."""
        ...

    def last_changed_by(self, entity: str, entity_id: int,
                        actions: Collection[str]) -> tuple[str, datetime] | None:
        """Who last recorded one of ``actions`` on the record, and when, from the audit
        trail (None if nobody did)."""
        ...

    def existing_user_ids(self, user_ids: Sequence[int]) -> set[int]:
        """Which of these ids are users."""
        ...

    def existing_group_ids(self, group_ids: Sequence[int]) -> set[int]:
        """Which of these ids are groups."""
        ...
