"""People administration (Admin > Users and Groups) through the service, on both databases."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, text

from deskapp.domain.credentials import SignInError
from deskapp.domain.enums import AssignmentMethod, Role
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import User
from deskapp.domain.text import isolate
from deskapp.persistence import migrate
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.engine import make_engine
from deskapp.services import audit
from deskapp.services.accounts import AccountService
from deskapp.services.assignment import AssignmentService
from deskapp.services.assignment_rules import AssignmentRuleService
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.people_admin import PeopleAdminService
from tests.conftest import FakeClock, add_user

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "a long enough password"


def _people(database: Database, actor: User, clock: FakeClock) -> PeopleAdminService:
    # Local accounts on both databases: PostgreSQL logins are tested in test_pg_roles.
    return PeopleAdminService(database.uow_factory, actor.id, None, clock, FAST)


@pytest.fixture
def people(database: Database, admin: User, clock: FakeClock) -> PeopleAdminService:
    return _people(database, admin, clock)


def _user(people: PeopleAdminService, user_id: int):  # type: ignore[no-untyped-def]
    return next(u for u in people.users() if u.id == user_id)


def _group(people: PeopleAdminService, group_id: int):  # type: ignore[no-untyped-def]
    return next(g for g in people.groups() if g.id == group_id)


def _audit_actions(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT action FROM audit_log ORDER BY id"))
                    .scalars())


def test_users_and_groups_are_created_listed_and_audited(
        database: Database, people: PeopleAdminService) -> None:
    desk = people.create_group("Service Desk", "First line", None, [])
    network = people.create_group("Network", "", None, [])
    ann = people.create_user("ann", "Ann Agent", "ann@example.com", Role.AGENT, PASSWORD,
                             [network, desk])
    row = _user(people, ann)
    assert (row.username, row.role, row.active, row.group_names) == (
        "ann", Role.AGENT, True, ("Network", "Service Desk"))
    assert row.has_password and row.must_change  # an admin chose it: she chooses her own
    people.update_group(desk, _group(people, desk).version, name="Service Desk",
                        description="First line", lead_id=ann)
    group = _group(people, desk)
    assert (group.lead_name, group.member_ids, group.active) == ("Ann Agent", (ann,), True)
    actions = _audit_actions(database)
    for action in (audit.GROUP_CREATED, audit.USER_CREATED, audit.USER_GROUPS_SET,
                   audit.GROUP_UPDATED):
        assert action in actions


def test_a_stale_edit_is_refused_naming_who_changed_it(
        database: Database, people: PeopleAdminService, clock: FakeClock) -> None:
    other_admin = add_user(database, "bea", Role.ADMIN)
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    read = _user(people, ann).version
    _people(database, other_admin, clock).update_user(
        ann, read, full_name="Ann Andersen", email="", role=Role.LEAD)
    with pytest.raises(ConflictError, match="changed by bea"):
        people.update_user(ann, read, full_name="Ann Agent", email="ann@x.org",
                           role=Role.AGENT)
    assert _user(people, ann).full_name == "Ann Andersen"
    group = people.create_group("Desk")
    version = _group(people, group).version
    _people(database, other_admin, clock).update_group(group, version, name="Desk 2",
                                                       description="", lead_id=None)
    with pytest.raises(ConflictError, match=f"The group {isolate('Desk 2')} was changed by bea"):
        people.set_group_members(group, version, [ann])
    assert _group(people, group).member_ids == ()


def test_the_last_admin_and_oneself_are_guarded(
        database: Database, people: PeopleAdminService, admin: User, clock: FakeClock) -> None:
    me = _user(people, admin.id)
    with pytest.raises(ValidationError, match="your own account"):
        people.update_user(admin.id, me.version, full_name=me.full_name, email=me.email,
                           role=Role.AGENT)
    with pytest.raises(ValidationError, match="your own account"):
        people.deactivate_user(admin.id, me.version)
    assert _user(people, admin.id).role is Role.ADMIN and _user(people, admin.id).active
    # Two admins demoting each other: the second is no admin any more when it comes.
    bea = add_user(database, "bea", Role.ADMIN)
    as_bea = _people(database, bea, clock)
    as_bea.update_user(admin.id, me.version, full_name=me.full_name, email=me.email,
                       role=Role.LEAD)
    with pytest.raises(PermissionDeniedError):
        people.update_user(bea.id, _user(as_bea, bea.id).version, full_name="Bea", email="",
                           role=Role.AGENT)
    assert [u.username for u in as_bea.users() if u.role is Role.ADMIN and u.active] == \
        ["bea"]


def test_the_last_active_admin_guard_holds_without_the_self_check(
        database: Database, admin: User, clock: FakeClock) -> None:
    """The guard counts active admins other than the one acted on (reached on its own when
    two admins act on each other at once; here the counting is driven directly)."""
    people = _people(database, admin, clock)
    bea = add_user(database, "bea", Role.ADMIN)
    with database.uow_factory(write=True) as uow:
        target = uow.users.get(bea.id)
        uow.people.update_user(admin.id, active=False)  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match=f"{isolate('Bea')} is the last active admin"):
            people._guard_admin_loss(uow, target, "demote")  # type: ignore[arg-type]


def test_a_deactivated_person_cannot_sign_in_nor_get_new_work(
        database: Database, people: PeopleAdminService, service: IncidentService,
        admin: User, clock: FakeClock) -> None:
    group = people.create_group("Desk")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD, [group])
    bob = people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD, [group])
    caller = service.add_caller("Ola Caller")
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Printer jam", impact=3, urgency=3,
        assignment_group_id=group, assignee_id=ann))
    assert people.open_assigned_to(ann) == 1
    result = people.deactivate_user(ann, _user(people, ann).version)
    assert result.open_incidents == 1 and "1 open incident still assigned" in result.message
    accounts = AccountService(database.uow_factory, None, clock, FAST)
    with pytest.raises(SignInError):
        accounts.sign_in("ann", PASSWORD)
    catalog = CatalogService(database.uow_factory)
    assert [a.id for a in catalog.group_members(group)] == [bob]
    targets = AssignmentService(database.uow_factory, admin.id, clock).reassign_targets()
    assert [m.user_id for m in targets[0].members] == [bob]
    # Round robin passes over her too.
    with database.uow_factory(write=True) as uow:
        service_id = uow.catalog.add_service("Printing")
        uow.commit()
    rules = AssignmentRuleService(database.uow_factory, admin.id, clock)
    rule = rules.add("Printers", group, AssignmentMethod.ROUND_ROBIN, service_id=service_id)
    rules.set_enabled(rule.id, rule.version, True)
    for _ in range(3):
        routed, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description="Printer", impact=3, urgency=3,
            service_id=service_id))
        assert routed.assignee_id == bob
    with pytest.raises(ValidationError, match="no longer active"):
        service.assign(routed.id, routed.version, group, ann)
    # Her old incident still names her.
    assert service.get(detail.id).assignee_id == ann
    people.reactivate_user(ann, _user(people, ann).version)
    assert accounts.sign_in("ann", PASSWORD).id == ann


def test_groups_have_unique_names_and_inactive_ones_get_no_new_work(
        database: Database, people: PeopleAdminService, service: IncidentService,
        admin: User, clock: FakeClock) -> None:
    desk = people.create_group("Service Desk")
    old = people.create_group("Old Team")
    with pytest.raises(ValidationError, match="already a group named"):
        people.create_group("service desk")
    with pytest.raises(ValidationError, match="already a group named"):
        people.update_group(old, 1, name=" Service Desk ", description="", lead_id=None)
    caller = service.add_caller("Ola Caller")
    service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Old work", impact=3, urgency=3,
        assignment_group_id=old))
    result = people.deactivate_group(old, _group(people, old).version)
    assert result.open_incidents == 1 and "still in it" in result.message
    catalog = CatalogService(database.uow_factory).form_catalog()
    assert [g.id for g in catalog.active_groups()] == [desk]
    assert catalog.group_name(old) == "Old Team"  # existing incidents still name it
    targets = AssignmentService(database.uow_factory, admin.id, clock).reassign_targets()
    assert [t.group_id for t in targets] == [desk]
    with pytest.raises(ValidationError, match="no longer active"):
        service.log_call(LogCallRequest(caller_id=caller.id, short_description="New",
                                        impact=3, urgency=3, assignment_group_id=old))
    assert _group(people, old).open_incidents == 1
    people.reactivate_group(old, _group(people, old).version)
    assert _group(people, old).active


def test_members_are_set_and_inactive_people_cannot_join(
        database: Database, people: PeopleAdminService) -> None:
    group = people.create_group("Desk")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    bob = people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD)
    people.set_group_members(group, 1, [ann, bob])
    assert _group(people, group).member_ids == tuple(sorted((ann, bob)))
    people.set_group_members(group, 2, [bob])
    assert _group(people, group).member_ids == (bob,)
    people.deactivate_user(ann, _user(people, ann).version)
    with pytest.raises(ValidationError, match="inactive and cannot join"):
        people.set_group_members(group, 3, [ann, bob])
    with pytest.raises(ValidationError, match="inactive and cannot lead"):
        people.update_group(group, 3, name="Desk", description="", lead_id=ann)


def test_reset_password_unlocks_and_asks_for_a_new_one(
        database: Database, people: PeopleAdminService, clock: FakeClock) -> None:
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    accounts = AccountService(database.uow_factory, None, clock, FAST)
    for _ in range(5):
        with pytest.raises(SignInError):
            accounts.sign_in("ann", "wrong password!")
    assert _user(people, ann).locked(clock())
    people.reset_password(ann, "another long password")
    row = _user(people, ann)
    assert not row.locked(clock()) and row.must_change
    assert accounts.must_change_password(ann)
    accounts.sign_in("ann", "another long password")
    accounts.change_password(ann, "another long password", "her very own password")
    assert not accounts.must_change_password(ann)


# --- migration 0013a --------------------------------------------------------------------


def test_0013a_adds_active_and_versions_keeping_rows(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0012", backup=False)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, full_name, email, role, active, away) "
                "VALUES ('ann', 'Ann', '', 'admin', true, false)"))
            connection.execute(text(
                "INSERT INTO assignment_groups (name, description, lead_id) "
                "VALUES ('Desk', '', (SELECT id FROM users))"))
            connection.execute(text(
                "INSERT INTO group_members (group_id, user_id) "
                "VALUES ((SELECT id FROM assignment_groups), (SELECT id FROM users))"))
        migrate.upgrade(engine, "0013a", backup=False)
        assert "version" in {c["name"] for c in inspect(engine).get_columns("users")}
        with engine.connect() as connection:
            assert tuple(connection.execute(text(
                "SELECT name, active, version FROM assignment_groups")).one()) == \
                ("Desk", True, 1)
            assert connection.execute(text("SELECT version FROM users")).scalar_one() == 1
        if migrate.head_revision() == "0013a":
            assert migrate.schema_differences(engine) == []
    finally:
        engine.dispose()
    db = open_database(empty_url)
    try:
        with db.uow_factory() as uow:
            ann = uow.users.by_username("ann")
        people = PeopleAdminService(db.uow_factory, ann.id, None, hasher=FAST)
        group = people.groups()[0]
        assert (group.name, group.lead_name, group.member_ids) == ("Desk", "Ann", (ann.id,))
        people.update_group(group.id, 1, name="Service Desk", description="", lead_id=ann.id)
        assert people.groups()[0].version == 2
    finally:
        db.close()


def test_a_refused_member_change_writes_nothing_of_the_edit(
        database: Database, people: PeopleAdminService) -> None:
    """Name and members are one edit: a refused member leaves the name as it was too."""
    group = people.create_group("Desk")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    bob = people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD)
    read = _group(people, group)
    people.deactivate_user(ann, _user(people, ann).version)  # meanwhile
    before = _audit_actions(database)
    with pytest.raises(ValidationError, match="inactive and cannot join"):
        people.update_group(group, read.version, name="Desk 2", description="New",
                            lead_id=bob, member_ids=[ann, bob])
    assert _group(people, group) == read
    assert _audit_actions(database) == before
    # The same edit without her is saved whole: one version step, rows in one transaction.
    result = people.update_group(group, read.version, name="Desk 2", description="New",
                                 lead_id=bob, member_ids=[bob])
    saved = _group(people, group)
    assert (saved.name, saved.description, saved.lead_id, saved.member_ids) == (
        "Desk 2", "New", bob, (bob,))
    assert result.version == saved.version == read.version + 1
    assert _audit_actions(database)[len(before):] == [audit.GROUP_MEMBERS_SET,
                                                      audit.GROUP_UPDATED]
    assert people.update_group(group, saved.version, name="Desk 2", description="New",
                               lead_id=bob, member_ids=[bob]).message == "Nothing changed."


def test_a_refused_group_change_writes_nothing_of_the_person(
        database: Database, people: PeopleAdminService) -> None:
    """Joining a group deactivated meanwhile is refused, and the rest of the edit with it;
    staying in a group that became inactive is fine."""
    desk = people.create_group("Desk")
    old = people.create_group("Old")
    ann = people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD, [desk])
    read = _user(people, ann)
    people.deactivate_group(old, _group(people, old).version)  # meanwhile
    before = _audit_actions(database)
    with pytest.raises(ValidationError, match="inactive and takes no new members"):
        people.update_user(ann, read.version, full_name="Ann Renamed", email="a@x.org",
                           role=Role.LEAD, group_ids=[desk, old])
    with pytest.raises(ValidationError, match="inactive and takes no new members"):
        people.set_user_groups(ann, read.version, [desk, old])
    assert _user(people, ann) == read
    assert _audit_actions(database) == before
    with pytest.raises(ValidationError, match="inactive and takes no new members"):
        people.create_user("bob", "Bob Agent", "", Role.AGENT, PASSWORD, [old])
    assert "bob" not in {u.username for u in people.users()}
    assert _audit_actions(database) == before  # one transaction: no "created" row either
    # Her group deactivated under her: she stays in it while the rest of her edit saves.
    people.deactivate_group(desk, _group(people, desk).version)
    result = people.update_user(ann, read.version, full_name="Ann Renamed", email="",
                                role=Role.LEAD, group_ids=[desk])
    saved = _user(people, ann)
    assert (saved.full_name, saved.role, saved.group_ids) == ("Ann Renamed", Role.LEAD,
                                                              (desk,))
    assert result.version == saved.version == read.version + 1
    assert _audit_actions(database)[-1] == audit.USER_UPDATED


def test_a_taken_username_is_refused_with_a_clear_message(
        database: Database, people: PeopleAdminService) -> None:
    people.create_user("ann", "Ann Agent", "", Role.AGENT, PASSWORD)
    with pytest.raises(ValidationError) as raised:
        people.create_user(" ann ", "Another Ann", "", Role.AGENT, PASSWORD)
    assert (str(raised.value), raised.value.field) == (
        "There is already a user named 'ann'.", "username")
    assert [u.full_name for u in people.users() if u.username == "ann"] == ["Ann Agent"]


def test_a_persons_groups_read_in_natural_order(people: PeopleAdminService) -> None:
    groups = [people.create_group(name, "", None, []) for name in ("Group 31", "Group 5",
                                                                    "group 3", "Group 70")]
    ann = people.create_user("ann", "Ann Agent", "ann@example.com", Role.AGENT, PASSWORD,
                             groups)
    assert _user(people, ann).group_names == ("group 3", "Group 5", "Group 31", "Group 70")
