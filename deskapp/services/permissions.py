"""One table of who may do what; every service call checks it."""

from __future__ import annotations

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
