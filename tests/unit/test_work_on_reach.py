"""Who may work on (change) an incident: EDIT's reach in the permission table."""

from __future__ import annotations

import pytest

from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.services.permissions import (
    GRANTS,
    SCOPED_ROLES,
    Permission,
    Scope,
    may_work_on,
    scope,
)

ME, COLLEAGUE = 1, 2
MY_GROUP, OTHER_GROUP = 10, 20


def _user(role: Role) -> User:
    return User(ME, "me", "Me", "me@example.com", role)


# (assignee, group) -> whether an agent may change it: theirs; anything in their groups;
# the desk's triage pile (no group, nobody's); not a colleague's outside their groups.
AGENT_MAY = {
    (None, None): True,
    (ME, None): True,
    (COLLEAGUE, None): False,
    (None, MY_GROUP): True,
    (ME, MY_GROUP): True,
    (COLLEAGUE, MY_GROUP): True,
    (None, OTHER_GROUP): False,
    (ME, OTHER_GROUP): True,
    (COLLEAGUE, OTHER_GROUP): False,
}


@pytest.mark.parametrize(("assignee", "group"), sorted(AGENT_MAY, key=str))
def test_an_agent_works_on_their_own_their_groups_and_the_triage_pile(
        assignee: int | None, group: int | None) -> None:
    assert may_work_on(_user(Role.AGENT), assignee, group, {MY_GROUP}) is \
        AGENT_MAY[(assignee, group)]


@pytest.mark.parametrize("role", [Role.LEAD, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize(("assignee", "group"), sorted(AGENT_MAY, key=str))
def test_other_roles_are_not_limited_by_reach(role: Role, assignee: int | None,
                                              group: int | None) -> None:
    assert may_work_on(_user(role), assignee, group, {MY_GROUP})


def test_only_agents_are_scoped_and_their_edit_reaches_their_groups() -> None:
    assert set(SCOPED_ROLES) == {Role.AGENT}
    assert scope(_user(Role.AGENT), Permission.EDIT) == Scope.GROUPS
    assert scope(_user(Role.LEAD), Permission.EDIT) == Scope.ANY
    assert Permission.EDIT not in GRANTS[Role.MANAGER]
    assert scope(_user(Role.MANAGER), Permission.EDIT) is None
