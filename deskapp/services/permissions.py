"""One table of who may do what; every service call checks it."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import User


class Permission(StrEnum):
    """Things a person may be allowed to do."""

    LOG = "log"
    EDIT = "edit"
    RESOLVE = "resolve"
    REASSIGN = "reassign"
    EDIT_MATRIX = "edit_matrix"
    MANAGE_PEOPLE = "manage_people"
    EXPORT_REPORTS = "export_reports"


_ALL = frozenset(Permission)
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset({Permission.LOG, Permission.EDIT, Permission.RESOLVE,
                           Permission.REASSIGN}),
    Role.LEAD: frozenset({Permission.LOG, Permission.EDIT, Permission.RESOLVE,
                          Permission.REASSIGN, Permission.EDIT_MATRIX,
                          Permission.EXPORT_REPORTS}),
    # Managers read the matrix and its SLA targets; admins and team leads change them.
    Role.MANAGER: frozenset({Permission.EXPORT_REPORTS}),
    Role.ADMIN: _ALL,
}


def allowed(user: User, permission: Permission) -> bool:
    """Whether the user's role grants the permission."""
    return user.active and permission in GRANTS[user.role]


def require(user: User, permission: Permission) -> None:
    """Raise PermissionDeniedError unless the user may do this."""
    if not allowed(user, permission):
        raise PermissionDeniedError(
            f"{user.full_name} ({user.role.value}) may not {permission.value.replace('_', ' ')}."
        )


SCOPED_ROLES: frozenset[Role] = frozenset({Role.AGENT})
"""Roles that may change only incidents that are unassigned, theirs, or in their groups
(PostgreSQL's row-level security carries the same rule: persistence/pg_roles.py)."""


def may_work_on(user: User, assignee_id: int | None, group_id: int | None,
                user_group_ids: Collection[int]) -> bool:
    """Whether the user may change an incident assigned like this (as it is stored now)."""
    if user.role not in SCOPED_ROLES:
        return True
    if assignee_id is None and group_id is None:
        return True
    return assignee_id == user.id or (group_id is not None and group_id in user_group_ids)


def require_work_on(user: User, assignee_id: int | None, group_id: int | None,
                    user_group_ids: Collection[int], number: str) -> None:
    """Raise PermissionDeniedError unless ``may_work_on``."""
    if not may_work_on(user, assignee_id, group_id, user_group_ids):
        raise PermissionDeniedError(
            f"{number} is assigned to someone else outside your groups; {user.full_name} "
            f"({user.role.value}) may not change it.")
