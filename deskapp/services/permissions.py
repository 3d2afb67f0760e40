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
    ESCALATE = "escalate"
    """Escalate incidents, functionally (to another group) or to the group's lead."""
    CLEAR_ESCALATION = "clear_escalation"
    """Take an escalation flag off, once it has been dealt with."""
    MANAGE_ASSIGNMENT_RULES = "manage_assignment_rules"
    """Write the rules that route new incidents to groups and agents."""
    SET_AWAY = "set_away"
    """Mark other people away (anyone may mark themselves)."""
    MANAGE_CATALOG = "manage_catalog"
    """Add, rename and deactivate categories, services and configuration items."""


_ALL = frozenset(Permission)
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset({Permission.LOG, Permission.EDIT, Permission.RESOLVE,
                           Permission.REASSIGN, Permission.ESCALATE}),
    Role.LEAD: frozenset({Permission.LOG, Permission.EDIT, Permission.RESOLVE,
                          Permission.REASSIGN, Permission.EDIT_MATRIX,
                          Permission.EXPORT_REPORTS, Permission.ESCALATE,
                          Permission.CLEAR_ESCALATION, Permission.MANAGE_ASSIGNMENT_RULES,
                          Permission.SET_AWAY}),
    # Managers read the matrix and its SLA targets; admins and team leads change them.
    # Managers move work between groups and agents, but do not edit incidents themselves.
    Role.MANAGER: frozenset({Permission.EXPORT_REPORTS, Permission.REASSIGN,
                             Permission.ESCALATE, Permission.CLEAR_ESCALATION,
                             Permission.MANAGE_ASSIGNMENT_RULES, Permission.SET_AWAY}),
    Role.ADMIN: _ALL,
}


class Scope(StrEnum):
    """Which incidents (or groups, or people) a granted permission reaches."""

    OWN = "own"
    """Incidents assigned to the person, and unassigned ones of their groups (or of none)."""
    GROUPS = "groups"
    """Everything in the groups the person belongs to or leads, and their own incidents."""
    ANY = "any"


SCOPES: dict[Role, Scope] = {
    Role.AGENT: Scope.OWN,
    Role.LEAD: Scope.GROUPS,
    Role.MANAGER: Scope.ANY,
    Role.ADMIN: Scope.ANY,
}
"""How far REASSIGN, ESCALATE, CLEAR_ESCALATION, MANAGE_ASSIGNMENT_RULES and SET_AWAY reach,
by role.

Agents escalate a little further than they reassign: anything in their groups, so that a
colleague's incident with an angry caller can be flagged to the lead. Working on an incident
(EDIT: its fields, its state, its resolution) reaches further still: an agent works on
anything in their groups, a lead on anything (``may_work_on``).
"""
_WIDER_FOR = {
    Permission.ESCALATE: {Scope.OWN: Scope.GROUPS},
    Permission.EDIT: {Scope.OWN: Scope.GROUPS, Scope.GROUPS: Scope.ANY},
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


def allowed_all(user: User, permissions: Collection[Permission]) -> bool:
    """Whether the user's role grants every one of the permissions."""
    return all(allowed(user, permission) for permission in permissions)


def require_all(user: User, permissions: Collection[Permission]) -> None:
    """Raise PermissionDeniedError, naming the first missing one, unless ``allowed_all``."""
    for permission in permissions:
        require(user, permission)


CSV_IMPORT: tuple[Permission, ...] = (Permission.LOG,)
"""Importing callers or incidents from CSV: in bulk what the call form does one at a time
(it adds callers and logs incidents, to any group, with LOG)."""
SERVICENOW_IMPORT: tuple[Permission, ...] = (
    Permission.LOG, Permission.MANAGE_PEOPLE, Permission.EDIT_MATRIX)
"""Importing a ServiceNow log: besides the incidents, it adds groups and agents (user
accounts) and may save its own priority matrix."""
QUEUE_EXPORT: tuple[Permission, ...] = (Permission.EXPORT_REPORTS,)
"""Exporting a queue to CSV or Excel: incidents in bulk leave the desk, as in a report."""


def scope(user: User, permission: Permission) -> Scope | None:
    """How far the user's permission reaches; None if they do not have it at all."""
    if not allowed(user, permission):
        return None
    return _role_scope(user.role, permission)


def _role_scope(role: Role, permission: Permission) -> Scope:
    own = SCOPES[role]
    return _WIDER_FOR.get(permission, {}).get(own, own)


def reaches(user: User, permission: Permission, group_ids: frozenset[int],
            incident_group_id: int | None, incident_assignee_id: int | None) -> bool:
    """Whether the user may do this to an incident with that group and assignee.

    Args:
        group_ids: The groups the user belongs to or leads.
    """
    reach = scope(user, permission)
    if reach is None:
        return False
    if reach == Scope.ANY or incident_assignee_id == user.id:
        return True
    if incident_group_id is None:
        # The desk's triage pile: logged without a group, nobody's yet, anyone may route it.
        return incident_assignee_id is None
    if incident_group_id not in group_ids:
        return False
    return reach == Scope.GROUPS or incident_assignee_id is None


def require_reach(user: User, permission: Permission, group_ids: frozenset[int],
                  incident_group_id: int | None, incident_assignee_id: int | None,
                  what: str) -> None:
    """Raise PermissionDeniedError, saying why, unless ``reaches`` allows it.

    Args:
        what: The incident (or incidents) named in the message, e.g. "INC0000042".
    """
    require(user, permission)
    if reaches(user, permission, group_ids, incident_group_id, incident_assignee_id):
        return
    verb = permission.value.replace("_", " ")
    reach = scope(user, permission)
    if reach == Scope.OWN:
        rule = "incidents assigned to them or unassigned in their groups"
    else:
        rule = "incidents of the groups they belong to or lead"
    raise PermissionDeniedError(
        f"{user.full_name} ({user.role.value}) may not {verb} {what}: "
        f"{user.role.value}s may {verb} only {rule}.")


def may_manage_group(user: User, permission: Permission, group_ids: frozenset[int],
                     group_id: int) -> bool:
    """Whether the user's permission reaches a whole group (its rules, its people's status)."""
    reach = scope(user, permission)
    if reach is None:
        return False
    return reach == Scope.ANY or (reach == Scope.GROUPS and group_id in group_ids)


SCOPED_ROLES: frozenset[Role] = frozenset(
    role for role in Role
    if Permission.EDIT in GRANTS[role] and _role_scope(role, Permission.EDIT) != Scope.ANY)
"""Roles that may change only incidents that are unassigned, theirs, or in their groups
(agents; PostgreSQL's row-level security carries the same rule: persistence/pg_roles.py)."""


def may_work_on(user: User, assignee_id: int | None, group_id: int | None,
                user_group_ids: Collection[int]) -> bool:
    """Whether the user may change an incident assigned like this (as it is stored now).

    ``reaches`` with EDIT's reach. Roles without EDIT are refused by their permission, not
    here, so that the reason they are told is the right one.
    """
    if user.role not in SCOPED_ROLES:
        return True
    return reaches(user, Permission.EDIT, frozenset(user_group_ids), group_id, assignee_id)


def require_work_on(user: User, assignee_id: int | None, group_id: int | None,
                    user_group_ids: Collection[int], number: str) -> None:
    """Raise PermissionDeniedError unless ``may_work_on``."""
    if not may_work_on(user, assignee_id, group_id, user_group_ids):
        raise PermissionDeniedError(
            f"{number} is assigned to someone else outside your groups; {user.full_name} "
            f"({user.role.value}) may not change it.")
