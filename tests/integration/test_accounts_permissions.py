"""The permission table walked role by role through the services, on both databases.

Each permission has one service call that needs it; each role either may make it (and the
change and its audit row are there) or gets PermissionDeniedError (and nothing changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import cast

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from deskapp.domain.enums import AssignmentMethod, ResolutionCode, Role, State
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.services.accounts import AccountService
from deskapp.services.assignment import AssignmentService, IncidentRef
from deskapp.services.assignment_rules import AssignmentRuleService
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, MergeRequest
from deskapp.services.catalog_admin import CatalogAdminService, CatalogAdminUnitOfWorkFactory
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from deskapp.services.people_admin import PeopleAdminService
from deskapp.services.permissions import GRANTS, Permission
from deskapp.services.report_data import PeriodFilters, ReportService
from deskapp.services.setup import ensure_admin
from tests.conftest import FakeClock, add_user


@dataclass
class World:
    """What each call works on: an unassigned incident, a group, a caller."""

    database: Database
    actor: User
    clock: FakeClock
    incident_id: int
    group_id: int
    caller_id: int

    def incidents(self) -> IncidentService:
        return IncidentService(self.database.uow_factory, self.actor.id, self.clock)

    def version(self) -> int:
        return self.incidents().get(self.incident_id).version


def _log(w: World) -> None:
    w.incidents().log_call(LogCallRequest(caller_id=w.caller_id, short_description="New call",
                                          impact=3, urgency=3))


def _edit(w: World) -> None:
    w.incidents().update(w.incident_id, w.version(), description="Edited")


def _resolve(w: World) -> None:
    w.incidents().transition(w.incident_id, w.version(), State.RESOLVED,
                             resolution_code=ResolutionCode.SOLVED_REMOTELY,
                             resolution_notes="Fixed")


def _reassign(w: World) -> None:
    w.incidents().assign(w.incident_id, w.version(), w.group_id, None)


def _edit_matrix(w: World) -> None:
    service = MatrixAdminService(w.database.uow_factory, w.actor.id, w.clock)
    service.save(MatrixDraft.of(service.load().matrix), recompute_open=False)


def _manage_people(w: World) -> None:
    AccountService(w.database.uow_factory, None, w.clock,
                   PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).create_user(
        "newcomer", "New Comer", "", Role.AGENT, "a long enough password", actor_id=w.actor.id)


def _export_reports(w: World) -> None:
    ReportService(w.database.uow_factory, w.actor.id, w.clock).period_report(
        PeriodFilters(date(2026, 3, 1), date(2026, 3, 2)))


def _manage_catalog(w: World) -> None:
    CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, w.database.uow_factory),
                        w.actor.id).add_service("Printing")


def _assignment(w: World) -> AssignmentService:
    return AssignmentService(w.database.uow_factory, w.actor.id, w.clock)


def _own_team(w: World, *others: int) -> int:
    """A group the actor belongs to (with ``others``): a lead's permissions reach it."""
    with w.database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, f"Team of {w.actor.username}"), [w.actor.id, *others])
        uow.commit()
    return group.id


def _escalate(w: World) -> None:
    _assignment(w).escalate_hierarchical(IncidentRef(w.incident_id, w.version()),
                                         "The caller's whole floor is down")


# The calls below need something set up first (recorded in the audit trail too): each
# prepares, then returns the one call the permission is needed for.

def _clear_escalation(w: World) -> Callable[[], None]:
    admin = ensure_admin(w.database.uow_factory)
    AssignmentService(w.database.uow_factory, admin.id, w.clock).escalate_hierarchical(
        IncidentRef(w.incident_id, w.version()), "Escalated by the admin")
    return lambda: _assignment(w).clear_escalation(IncidentRef(w.incident_id, w.version()),
                                                   "Spoken to the caller")


def _set_away(w: World) -> Callable[[], None]:
    colleague = add_user(w.database, f"colleague_of_{w.actor.username}", Role.AGENT)
    _own_team(w, colleague.id)
    return lambda: _assignment(w).set_away(colleague.id, True)


def _manage_assignment_rules(w: World) -> Callable[[], None]:
    group_id = _own_team(w)
    with w.database.uow_factory(write=True) as uow:
        service_id = uow.catalog.add_service("Printing")
        uow.commit()
    rules = AssignmentRuleService(w.database.uow_factory, w.actor.id, w.clock)

    def add() -> None:
        rules.add("Printers to the team", group_id, AssignmentMethod.ROUND_ROBIN,
                  service_id=service_id)
    return add


PREPARED: dict[Permission, Callable[[World], Callable[[], None]]] = {
    Permission.CLEAR_ESCALATION: _clear_escalation, Permission.SET_AWAY: _set_away,
    Permission.MANAGE_ASSIGNMENT_RULES: _manage_assignment_rules,
}


CALLS: dict[Permission, Callable[[World], None]] = {
    Permission.LOG: _log, Permission.EDIT: _edit, Permission.RESOLVE: _resolve,
    Permission.REASSIGN: _reassign, Permission.EDIT_MATRIX: _edit_matrix,
    Permission.MANAGE_PEOPLE: _manage_people, Permission.EXPORT_REPORTS: _export_reports,
    Permission.ESCALATE: _escalate, Permission.MANAGE_CATALOG: _manage_catalog,
}


def test_every_permission_has_a_call() -> None:
    assert set(CALLS) | set(PREPARED) == set(Permission)


def _audit_count(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_the_permission_table_holds_in_the_services(
        database: Database, service: IncidentService, clock: FakeClock, role: Role,
        permission: Permission) -> None:
    actor = add_user(database, f"who_{role.value}", role)
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Somewhere"), [])
        uow.commit()
    caller = service.add_caller("Ada Caller")
    detail, _ = service.log_call(LogCallRequest(caller_id=caller.id,
                                                short_description="Unassigned", impact=3,
                                                urgency=3))
    world = World(database, actor, clock, detail.id, group.id, caller.id)
    if permission in PREPARED:
        act = PREPARED[permission](world)
    else:
        act = partial(CALLS[permission], world)
    before = _audit_count(database)
    if permission in GRANTS[role]:
        act()
        if permission is not Permission.EXPORT_REPORTS:  # a read: nothing to record
            assert _audit_count(database) > before
    else:
        with pytest.raises(PermissionDeniedError, match="may not"):
            act()
        assert _audit_count(database) == before


def test_an_inactive_user_may_do_nothing(database: Database, service: IncidentService,
                                         clock: FakeClock) -> None:
    actor = add_user(database, "gone", Role.ADMIN)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE id = :id"),
                           {"id": actor.id})
    caller = service.add_caller("Ada Caller")
    world = World(database, actor, clock, 0, 0, caller.id)
    with pytest.raises(PermissionDeniedError):
        _log(world)


@pytest.mark.parametrize(("where", "allowed"), [
    ("mine", True), ("my_group", True), ("unassigned", True), ("elsewhere", False)])
def test_agents_change_only_their_own_or_their_groups_incidents(
        database: Database, service: IncidentService, clock: FakeClock, where: str,
        allowed: bool) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    other = add_user(database, "otto", Role.AGENT)
    lead = add_user(database, "leah", Role.LEAD)
    with database.uow_factory(write=True) as uow:
        mine = uow.groups.add(Group(0, "Mine"), [agent.id, other.id])
        theirs = uow.groups.add(Group(0, "Theirs"), [other.id])
        uow.commit()
    group, assignee = {"mine": (mine.id, agent.id), "my_group": (mine.id, other.id),
                       "unassigned": (None, None), "elsewhere": (theirs.id, other.id)}[where]
    caller = service.add_caller("Ada Caller")
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Scoped", impact=3, urgency=3,
        assignment_group_id=group, assignee_id=assignee))
    as_agent = IncidentService(database.uow_factory, agent.id, clock)
    if allowed:
        as_agent.update(detail.id, detail.version, description="By the agent")
    else:
        with pytest.raises(PermissionDeniedError, match="outside your groups"):
            as_agent.update(detail.id, detail.version, description="By the agent")
        # A team lead is not scoped.
        IncidentService(database.uow_factory, lead.id, clock).update(
            detail.id, detail.version, description="By the lead")


PEOPLE_CALLS: dict[str, Callable[[PeopleAdminService, int, int], object]] = {
    "users": lambda p, _u, _g: p.users(),
    "groups": lambda p, _u, _g: p.groups(),
    "open_assigned_to": lambda p, u, _g: p.open_assigned_to(u),
    "open_in_group": lambda p, _u, g: p.open_in_group(g),
    "create_user": lambda p, _u, _g: p.create_user("newbie", "New Bie", "", Role.AGENT,
                                                   "a long enough password"),
    "update_user": lambda p, u, _g: p.update_user(u, 1, full_name="Renamed", email="",
                                                  role=Role.LEAD),
    "set_user_groups": lambda p, u, g: p.set_user_groups(u, 1, [g]),
    "deactivate_user": lambda p, u, _g: p.deactivate_user(u, 1),
    "reset_password": lambda p, u, _g: p.reset_password(u, "a new long password"),
    "create_group": lambda p, _u, _g: p.create_group("Brand new"),
    "update_group": lambda p, _u, g: p.update_group(g, 1, name="Renamed", description="",
                                                    lead_id=None),
    "set_group_members": lambda p, u, g: p.set_group_members(g, 1, [u]),
    "deactivate_group": lambda p, _u, g: p.deactivate_group(g, 1),
    "reactivate_user": lambda p, u, _g: p.reactivate_user(u, 1),
    "reactivate_group": lambda p, _u, g: p.reactivate_group(g, 1),
}
"""Every PeopleAdminService call that changes or lists people: MANAGE_PEOPLE's."""


@pytest.mark.parametrize("call", list(PEOPLE_CALLS))
@pytest.mark.parametrize("role", list(Role))
def test_people_administration_needs_manage_people(database: Database, clock: FakeClock,
                                                   role: Role, call: str) -> None:
    actor = add_user(database, f"who_{role.value}", role)
    target = add_user(database, "target", Role.AGENT)
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Somewhere"), [])
        uow.commit()
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    people = PeopleAdminService(database.uow_factory, actor.id, None, clock, hasher)
    if call == "reset_password":
        AccountService(database.uow_factory, None, clock, hasher).reset_password(
            "target", "a first long password",
            actor_id=add_user(database, "setter", Role.ADMIN).id)
    if call.startswith("reactivate_"):
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE users SET active = false WHERE id = :id"),
                               {"id": target.id})
            connection.execute(text("UPDATE assignment_groups SET active = false "
                                    "WHERE id = :id"), {"id": group.id})
    before = _audit_count(database)
    if Permission.MANAGE_PEOPLE in GRANTS[role]:
        PEOPLE_CALLS[call](people, target.id, group.id)
        if not call.startswith(("users", "groups", "open_")):
            assert _audit_count(database) > before
    else:
        with pytest.raises(PermissionDeniedError, match="may not"):
            PEOPLE_CALLS[call](people, target.id, group.id)
# --- the callers administration (services/caller_admin.py) ----------------------------------

def _caller_admin_calls(w: World) -> dict[str, tuple[Permission, Callable[[], object]]]:
    admin = CallerAdminService(w.database.uow_factory, w.actor.id)
    owner = ensure_admin(w.database.uow_factory)
    other = IncidentService(w.database.uow_factory, owner.id, w.clock).add_caller("Ada Caller")
    return {
        "edit": (Permission.EDIT, lambda: admin.edit(
            w.caller_id, 1, CallerEdit("Ada Caller", "ada@example.com"))),
        "deactivate": (Permission.MANAGE_PEOPLE,
                       lambda: admin.set_active(other.id, 1, False)),
        "merge": (Permission.MANAGE_PEOPLE, lambda: admin.merge(
            MergeRequest(w.caller_id, (other.id,), {w.caller_id: 1, other.id: 1}))),
    }


@pytest.mark.parametrize("call", ["edit", "deactivate", "merge"])
@pytest.mark.parametrize("role", list(Role))
def test_the_caller_administration_follows_the_permission_table(
        database: Database, service: IncidentService, clock: FakeClock, role: Role,
        call: str) -> None:
    actor = add_user(database, f"who_{role.value}", role)
    caller = service.add_caller("Ada Caller")
    world = World(database, actor, clock, 0, 0, caller.id)
    permission, act = _caller_admin_calls(world)[call]
    before = _audit_count(database)
    if permission in GRANTS[role]:
        act()
        assert _audit_count(database) == before + 1
    else:
        with pytest.raises(PermissionDeniedError, match="may not"):
            act()
        assert _audit_count(database) == before
