"""PostgreSQL roles: the permission table enforced by the server, for a login bypassing Deskapp.

Roles are cluster-wide and other test runs share the server: every role here carries a prefix
unique to this run (stored in the private database's deskapp_settings), is created in the
test's own database set-up and dropped in its teardown.

pg_hba on the test server trusts 127.0.0.1, so the server does not check passwords here: the
tests prove the stored verifier is SCRAM-SHA-256 and equals what PostgreSQL itself computes
for the same password and salt, not that a wrong password is refused at connect time.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import text
from sqlalchemy.engine import make_url

from deskapp import cli
from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import Group, User
from deskapp.persistence import pg_roles
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.pg_roles import TABLE_PRIVILEGES, role_name, scram_verifier
from deskapp.services import audit
from deskapp.services.accounts import AccountService
from deskapp.services.audit import verify_chain
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, MergeRequest
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from deskapp.services.permissions import GRANTS, Permission
from deskapp.services.setup import ensure_admin
from tests.support.databases import (
    database_with_roles,
    drop_roles,
    postgres_admin_url,
    private_postgres_database,
)

pytestmark = pytest.mark.postgres

PASSWORD = "pg-login-password-1"


@dataclass
class Desk:
    """A private database with the role set installed under a prefix of its own."""

    url: str
    database: Database
    prefix: str
    users: dict[Role, User]
    other_agent: User
    incidents: dict[str, int]
    """mine, my_group, elsewhere, unassigned -> incident id."""

    def login_url(self, role: Role) -> str:
        username = self.users[role].username
        return make_url(self.url).set(username=username, password=PASSWORD) \
            .render_as_string(hide_password=False)

    def connect(self, role: Role) -> psycopg.Connection[tuple[object, ...]]:
        """Plain psycopg as the role's login: no Deskapp code in between."""
        url = make_url(self.url)
        return psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                               user=self.users[role].username, password=PASSWORD)


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    prefix = f"dt{uuid.uuid4().hex[:8]}_"
    logins = [f"{prefix}who_{r.value}" for r in Role] + [f"{prefix}otto"]
    with database_with_roles(admin_url, prefix, logins) as (url, database):
        yield _fill(url, database, prefix)


def _fill(url: str, database: Database, prefix: str) -> Desk:
    owner = ensure_admin(database.uow_factory)
    accounts = AccountService(database.uow_factory, database.logins)
    users = {role: accounts.create_user(f"{prefix}who_{role.value}", f"Test {role.value.title()}",
                                        "", role, PASSWORD, actor_id=owner.id)
             for role in Role}
    otto = accounts.create_user(f"{prefix}otto", "Otto Other", "", Role.AGENT, PASSWORD,
                                actor_id=owner.id)
    with database.uow_factory(write=True) as uow:
        mine = uow.groups.add(Group(0, f"{prefix}Mine"), [users[Role.AGENT].id, otto.id])
        theirs = uow.groups.add(Group(0, f"{prefix}Theirs"), [otto.id])
        uow.commit()
    service = IncidentService(database.uow_factory, owner.id)
    caller = service.add_caller("Ada Caller")
    ids = {}
    for key, group, assignee in (("mine", mine.id, users[Role.AGENT].id),
                                 ("my_group", mine.id, otto.id),
                                 ("elsewhere", theirs.id, otto.id),
                                 ("unassigned", None, None)):
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"Incident {key}", impact=3, urgency=3,
            assignment_group_id=group, assignee_id=assignee))
        ids[key] = detail.id
    return Desk(url, database, prefix, users, otto, ids)


def _short(desk: Desk, key: str) -> str:
    with desk.database.engine.connect() as connection:
        return str(connection.execute(text("SELECT short_description FROM incidents "
                                           "WHERE id = :id"), {"id": desk.incidents[key]})
                   .scalar_one())


# --- logins -------------------------------------------------------------------------------


def test_logins_carry_a_scram_verifier_and_their_group_role(desk: Desk) -> None:
    with desk.database.engine.connect() as connection:
        for role, user in desk.users.items():
            stored, member_of = connection.execute(text(
                "SELECT r.rolpassword, array(SELECT g.rolname FROM pg_auth_members m "
                "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) "
                "FROM pg_authid r WHERE r.rolname = :name"), {"name": user.username}).one()
            assert stored.startswith("SCRAM-SHA-256$4096:")
            assert member_of == [role_name(desk.prefix, role)]


def test_our_scram_verifier_is_the_one_postgresql_computes(desk: Desk) -> None:
    probe = f"{desk.prefix}probe"
    with desk.database.engine.begin() as connection:
        connection.execute(text("SET LOCAL password_encryption = 'scram-sha-256'"))
        connection.exec_driver_sql(f"CREATE ROLE \"{probe}\" PASSWORD 'the same password'")
        theirs = connection.execute(text("SELECT rolpassword FROM pg_authid "
                                         "WHERE rolname = :n"), {"n": probe}).scalar_one()
        connection.exec_driver_sql(f'DROP ROLE "{probe}"')
    iterations, salt = theirs.split("$")[1].split(":")
    assert scram_verifier("the same password", base64.b64decode(salt),
                          int(iterations)) == theirs


def test_the_app_maps_the_login_to_its_person_and_records_the_sign_in(desk: Desk) -> None:
    agent_db = open_database(desk.login_url(Role.AGENT), upgrade=False)
    try:
        user = AccountService(agent_db.uow_factory, agent_db.logins).sign_in_database()
        assert user == desk.users[Role.AGENT]
    finally:
        agent_db.close()
    with desk.database.engine.connect() as connection:
        row = connection.execute(text("SELECT action, actor_id FROM audit_log "
                                      "ORDER BY id DESC LIMIT 1")).one()
    assert tuple(row) == (audit.SIGN_IN, user.id)


def _logins(url: str, prefix: str) -> set[str]:
    with psycopg.connect(host=make_url(url).host, dbname=make_url(url).database,
                         user=make_url(url).username) as connection:
        return {str(name) for (name,) in connection.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{prefix}%",))}


def _last_audit_row(database: Database) -> tuple[object, ...]:
    with database.engine.connect() as connection:
        return tuple(connection.execute(text(
            "SELECT action, actor_id, details FROM audit_log ORDER BY id DESC LIMIT 1")).one())


def test_create_user_from_the_cli_makes_a_login(desk: Desk, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    name = f"{desk.prefix}cli"
    monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-22")
    monkeypatch.delenv("DESKAPP_USER", raising=False)
    try:
        # The owner's connection, without --user: it acts as the desk's 'admin' account.
        assert cli.main(["--database-url", desk.url, "admin", "create-user", name,
                         "--name", "Cli Made", "--role", "manager"]) == 0
        assert "with a PostgreSQL login" in capsys.readouterr().out
        with psycopg.connect(host=make_url(desk.url).host, dbname=make_url(desk.url).database,
                             user=name, password="cli-password-22") as connection:
            assert connection.execute("SELECT pg_has_role(current_user, %s, 'member')",
                                      (role_name(desk.prefix, Role.MANAGER),)).fetchone() \
                == (True,)
        action, actor_id, details = _last_audit_row(desk.database)
        with desk.database.uow_factory() as uow:
            assert uow.users.by_username("admin").id == actor_id
        assert action == audit.USER_CREATED and name in str(details)
    finally:
        drop_roles(desk.url, [name])


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.MANAGER])
def test_the_cli_refuses_to_create_a_login_for_someone_who_may_not_manage_people(
        desk: Desk, role: Role, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = f"{desk.prefix}refused"
    monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-22")
    logins, trail = _logins(desk.url, desk.prefix), _last_audit_row(desk.database)
    try:
        assert cli.main(["--database-url", desk.url, "--user", desk.users[role].username,
                         "admin", "create-user", name, "--name", "Refused",
                         "--role", "admin"]) == 1
        assert capsys.readouterr().err == (f"deskapp: error: Test {role.value.title()} "
                                           f"({role.value}) may not manage people.\n")
        assert _logins(desk.url, desk.prefix) == logins
        assert _last_audit_row(desk.database) == trail
        with desk.database.uow_factory() as uow:
            assert name not in {u.username for u in uow.users.all()}
    finally:
        drop_roles(desk.url, [name])


def test_a_brand_new_shared_desk_gets_its_admin_who_creates_the_first_login(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    admin_url = postgres_admin_url()
    assert admin_url is not None
    prefix = f"dn{uuid.uuid4().hex[:8]}_"
    name = f"{prefix}first"
    monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-22")
    monkeypatch.delenv("DESKAPP_USER", raising=False)
    with database_with_roles(admin_url, prefix, [name]) as (url, database):
        assert cli.main(["--database-url", url, "admin", "create-user", name,
                         "--name", "First Admin", "--role", "admin"]) == 0
        assert capsys.readouterr().out == f"Created {name} (admin) with a PostgreSQL login.\n"
        with database.uow_factory() as uow:
            admin, first = sorted(uow.users.all(), key=lambda user: user.id)
        assert (admin.username, admin.role, first.username) == ("admin", Role.ADMIN, name)
        assert name in _logins(url, prefix)
        action, actor_id, _details = _last_audit_row(database)
        assert (action, actor_id) == (audit.USER_CREATED, admin.id)


def test_an_admins_own_login_creates_and_resets_from_the_cli_in_its_own_name(
        desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"{desk.prefix}by_admin"
    boss = desk.users[Role.ADMIN]
    monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-22")
    monkeypatch.delenv("DESKAPP_USER", raising=False)
    try:
        assert cli.main(["--database-url", desk.login_url(Role.ADMIN), "admin",
                         "create-user", name, "--name", "By Admin", "--role", "agent"]) == 0
        assert _last_audit_row(desk.database)[:2] == (audit.USER_CREATED, boss.id)
        monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-33")
        assert cli.main(["--database-url", desk.login_url(Role.ADMIN), "--user",
                         boss.username, "admin", "reset-password", name]) == 0
        assert _last_audit_row(desk.database)[:2] == (audit.PASSWORD_RESET, boss.id)
        with psycopg.connect(host=make_url(desk.url).host, dbname=make_url(desk.url).database,
                             user=name, password="cli-password-33") as connection:
            assert connection.execute("SELECT current_user").fetchone() == (name,)
    finally:
        drop_roles(desk.url, [name])


@pytest.mark.parametrize("command", [["create-user", "{prefix}nope", "--name", "Nope",
                                      "--role", "admin"],
                                     ["reset-password", "{prefix}otto"]])
@pytest.mark.parametrize(("role", "user", "says"), [
    (Role.ADMIN, "admin", "Connected as the login '{login}', this command acts as {login}: "
     "--user cannot make it act as 'admin'."),
    (Role.AGENT, None, "Test Agent (agent) may not manage people."),
    (Role.AGENT, "admin", "Connected as the login '{login}', this command acts as {login}: "
     "--user cannot make it act as 'admin'.")])
def test_a_persons_own_login_acts_only_as_that_person(
        desk: Desk, command: list[str], role: Role, user: str | None, says: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Before, the owner's rule (--user, else 'admin') applied here too: the act was refused
    # by the audit trail's row-level security or a missing grant, as a traceback.
    monkeypatch.setenv("DESKAPP_PASSWORD", "cli-password-22")
    monkeypatch.delenv("DESKAPP_USER", raising=False)
    args = [part.format(prefix=desk.prefix) for part in command]
    logins, trail = _logins(desk.url, desk.prefix), _last_audit_row(desk.database)
    try:
        assert cli.main(["--database-url", desk.login_url(role),
                         *(["--user", user] if user else []), "admin", *args]) == 1
        login = desk.users[role].username
        assert capsys.readouterr().err == f"deskapp: error: {says.format(login=login)}\n"
        assert _logins(desk.url, desk.prefix) == logins
        assert _last_audit_row(desk.database) == trail
    finally:
        drop_roles(desk.url, [f"{desk.prefix}nope"])


def test_install_roles_is_the_database_owners(desk: Desk,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for role in (Role.ADMIN, Role.AGENT):
        assert cli.main(["--database-url", desk.login_url(role), "admin",
                         "install-roles"]) == 1
        assert capsys.readouterr().err == (
            f"deskapp: error: install-roles is the database owner's: the login "
            f"'{desk.users[role].username}' is neither the owner of this database nor a "
            "superuser.\n")
    assert cli.main(["--database-url", desk.url, "admin", "install-roles"]) == 0  # again: a no-op
    assert capsys.readouterr().out.startswith(f"Installed the roles {desk.prefix}agent, ")


@pytest.mark.parametrize("recorded", [False, True])
def test_create_user_before_install_roles_is_one_error_line_and_writes_nothing(
        recorded: bool, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """On a database where 'admin install-roles' never ran (or its group roles are gone),
    one readable line, exit 1, no login and no users row - not psycopg's UndefinedObject
    traceback, nor a login in group roles installed for another database."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    # The server's deskapp_* roles are shared with other runs: never dropped here. Instead
    # this run's prefix names group roles that do not exist.
    prefix = f"nr{uuid.uuid4().hex[:8]}_"
    monkeypatch.setattr(pg_roles, "DEFAULT_PREFIX", prefix)
    monkeypatch.setenv("DESKAPP_PASSWORD", "pg-manager-password-9")
    name = f"{prefix}pgmgr"
    with private_postgres_database(admin_url) as url:
        if recorded:  # installed under this prefix once, its group roles since dropped
            engine = open_database(url)
            with engine.engine.begin() as connection:
                connection.execute(text("INSERT INTO deskapp_settings (key, value) "
                                        "VALUES (:k, :v)"), {"k": pg_roles.PREFIX_KEY,
                                                             "v": prefix})
            engine.close()
        try:
            code = cli.main(["--database-url", url, "admin", "create-user", name,
                             "--name", "PG Manager", "--role", "manager"])
            err = capsys.readouterr().err
            assert code == 1
            assert err.splitlines() == [
                f"deskapp: error: The database has no group role {prefix}manager for "
                "managers: run 'deskapp admin install-roles' on it first (as its owner), "
                "then try again." if recorded else
                "deskapp: error: Deskapp's database roles are not installed on this "
                "database: run 'deskapp admin install-roles' on it first (as its owner), "
                "then try again."]
            database = open_database(url)
            try:
                with database.engine.connect() as connection:
                    assert connection.execute(text(
                        "SELECT count(*) FROM users WHERE username = :n"), {"n": name}
                    ).scalar_one() == 0
                    assert connection.execute(text(
                        "SELECT count(*) FROM pg_roles WHERE rolname = :n"), {"n": name}
                    ).scalar_one() == 0
            finally:
                database.close()
        finally:
            drop_roles(admin_url, [name])


# --- an agent, bypassing Deskapp ----------------------------------------------------------


@pytest.mark.parametrize(("key", "allowed"), [
    ("mine", True), ("my_group", True), ("unassigned", True), ("elsewhere", False)])
def test_an_agent_updates_only_incidents_of_theirs_or_their_groups(
        desk: Desk, key: str, allowed: bool) -> None:
    before = _short(desk, key)
    with desk.connect(Role.AGENT) as connection:
        cursor = connection.execute(
            "UPDATE incidents SET short_description = 'Changed behind Deskapp' WHERE id = %s",
            (desk.incidents[key],))
        assert cursor.rowcount == (1 if allowed else 0)
        connection.rollback()
    assert _short(desk, key) == before


@pytest.mark.parametrize("statement", [
    "INSERT INTO matrix_versions (created_at, impact_levels, urgency_levels, cells) "
    "SELECT now(), impact_levels, urgency_levels, cells FROM matrix_versions LIMIT 1",
    "UPDATE priorities SET response_minutes = 1",
    "UPDATE business_calendars SET opens_minute = 0",
    "UPDATE users SET role = 'admin'",
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "SELECT count(*) FROM audit_log",
    "TRUNCATE audit_log",
    "SELECT password_hash FROM user_credentials",
    "DELETE FROM incidents",
    "DROP TABLE incidents",
])
def test_an_agent_is_refused_what_the_permission_table_denies(desk: Desk,
                                                               statement: str) -> None:
    with desk.connect(Role.AGENT) as connection, pytest.raises(
            errors.InsufficientPrivilege, match=r"permission denied|must be owner"):
        connection.execute(statement)


def test_an_agent_appends_to_the_audit_trail_only_in_their_own_name(desk: Desk) -> None:
    agent, admin = desk.users[Role.AGENT], desk.users[Role.ADMIN]
    insert = ("INSERT INTO audit_log (id, at, actor_id, actor, action, entity, entity_id, "
              "details, prev_hash, hash) SELECT last_id + 1, now(), %s, '', 'forged', '', '', "
              "'{}', last_hash, last_hash FROM deskapp_audit_head()")
    with desk.connect(Role.AGENT) as connection:
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            connection.execute(insert, (admin.id,))
        connection.rollback()
        connection.execute(insert, (agent.id,))
        connection.rollback()


def test_the_agent_works_through_deskapp_on_their_own_login(desk: Desk) -> None:
    agent_db = open_database(desk.login_url(Role.AGENT), upgrade=False)
    try:
        service = IncidentService(agent_db.uow_factory, desk.users[Role.AGENT].id)
        caller = service.lookup_callers("Ada")[0]
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description="Logged by the agent's own login",
            impact=2, urgency=2))
        service.add_work_note(detail.id, "A note under row-level security")
        mine = service.get(desk.incidents["mine"])
        service.update(mine.id, mine.version, description="Worked on by its assignee")
        elsewhere = service.get(desk.incidents["elsewhere"])
        with pytest.raises(PermissionDeniedError, match="outside your groups"):
            service.update(elsewhere.id, elsewhere.version, description="Not mine")
        matrix = MatrixAdminService(agent_db.uow_factory, desk.users[Role.AGENT].id)
        with pytest.raises(PermissionDeniedError):
            matrix.save(MatrixDraft.of(matrix.load().matrix), recompute_open=False)
    finally:
        agent_db.close()
    assert verify_chain(desk.database.uow_factory).ok


def test_a_lead_saves_the_matrix_on_their_own_login(desk: Desk) -> None:
    lead_db = open_database(desk.login_url(Role.LEAD), upgrade=False)
    try:
        matrix = MatrixAdminService(lead_db.uow_factory, desk.users[Role.LEAD].id)
        data = matrix.load()
        result = matrix.save(MatrixDraft.of(data.matrix), recompute_open=True,
                             comment="Saved by a lead's login")
        assert result.version == data.matrix.version + 1
    finally:
        lead_db.close()
    assert verify_chain(desk.database.uow_factory).ok


# --- the permission table, role by role, as raw SQL ------------------------------------------

# One statement per permission that needs exactly that permission's privileges. Reading is
# everyone's (reports are reads): the database cannot tell exporting from looking.
READ_ONLY = {Permission.EXPORT_REPORTS}
# Editing, resolving, reassigning and escalating are all updates of an incident: the database
# grants them together to any role that may make one of them (scoped for agents by row-level
# security); which kind of update a role may make is the services' rule.
INCIDENT_UPDATES = {Permission.EDIT, Permission.RESOLVE, Permission.REASSIGN,
                    Permission.ESCALATE, Permission.CLEAR_ESCALATION}
# Statements judged by the privilege check alone (no row needs to exist).
PRIVILEGE_ONLY = {Permission.MANAGE_ASSIGNMENT_RULES}
STATEMENTS: dict[Permission, str] = {
    Permission.LOG: "UPDATE counters SET value = value WHERE name = 'incident'",
    Permission.EDIT: "UPDATE incidents SET description = description WHERE id = {unassigned}",
    Permission.RESOLVE: "UPDATE incidents SET state = state WHERE id = {unassigned}",
    Permission.REASSIGN: "UPDATE incidents SET assignee_id = assignee_id "
                         "WHERE id = {unassigned}",
    Permission.EDIT_MATRIX: "UPDATE priorities SET name = name WHERE rank = 1",
    Permission.MANAGE_PEOPLE: "UPDATE users SET full_name = full_name WHERE id = {self}",
    Permission.EXPORT_REPORTS: "SELECT count(*) FROM incidents",
    Permission.ESCALATE: "UPDATE incidents SET escalation = escalation WHERE id = {unassigned}",
    Permission.CLEAR_ESCALATION: "UPDATE incidents SET escalated_at = escalated_at "
                                 "WHERE id = {unassigned}",
    Permission.MANAGE_ASSIGNMENT_RULES: "UPDATE assignment_rules SET name = name WHERE false",
    Permission.SET_AWAY: "UPDATE users SET away = away WHERE id = {self}",
    Permission.MANAGE_CATALOG: "INSERT INTO configuration_items (name, ci_class) "
                               "VALUES ('pg-walk-01', 'server')",
}


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_the_permission_table_holds_in_the_database(desk: Desk, role: Role,
                                                    permission: Permission) -> None:
    statement = STATEMENTS[permission].format(unassigned=desk.incidents["unassigned"],
                                              self=desk.users[role].id)
    expected = permission in GRANTS[role] or permission in READ_ONLY or (
        permission in INCIDENT_UPDATES
        and any(("UPDATE", "incidents") in TABLE_PRIVILEGES[p] for p in GRANTS[role]))
    with desk.connect(role) as connection:
        try:
            cursor = connection.execute(statement)
            done = cursor.rowcount >= 1 or permission in PRIVILEGE_ONLY
        except errors.InsufficientPrivilege:
            done = False
        connection.rollback()
    assert done == expected, f"{role.value} / {permission.value}: {statement}"


# --- people administration ---------------------------------------------------------------


def test_a_deactivated_persons_login_is_refused_by_the_server(desk: Desk) -> None:
    from deskapp.services.people_admin import PeopleAdminService

    name = f"{desk.prefix}leaver"
    owner = ensure_admin(desk.database.uow_factory)
    people = PeopleAdminService(desk.database.uow_factory, owner.id, desk.database.logins)
    url = make_url(desk.url)

    def connect() -> None:
        with psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                             user=name, password=PASSWORD) as connection:
            connection.execute("SELECT 1")

    try:
        user_id = people.create_user(name, "Lee Leaver", "", Role.AGENT, PASSWORD)
        connect()
        row = next(u for u in people.users() if u.id == user_id)
        people.update_user(user_id, row.version, full_name="Lee Leaver", email="",
                           role=Role.LEAD)
        with desk.database.engine.connect() as connection:
            member_of = connection.execute(text(
                "SELECT array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g "
                "ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = :n)"), {"n": name}).scalar_one()
        assert member_of == [role_name(desk.prefix, Role.LEAD)]
        held = psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                               user=name, password=PASSWORD, autocommit=True)
        try:
            people.deactivate_user(user_id, row.version + 1)
            # The session the person still held is ended by the server, not only new ones.
            with pytest.raises(psycopg.OperationalError):
                held.execute("SELECT 1")
        finally:
            held.close()
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            connect()
        people.reactivate_user(user_id, row.version + 2)
        connect()
    finally:
        drop_roles(desk.url, [name])


def test_an_admin_login_administers_people_within_its_grants(desk: Desk) -> None:
    """Through Deskapp on the admin's own login: every people call fits the GRANTs."""
    from deskapp.services.people_admin import PeopleAdminService

    name = f"{desk.prefix}newcomer"
    admin_db = open_database(desk.login_url(Role.ADMIN), upgrade=False)
    try:
        people = PeopleAdminService(admin_db.uow_factory, desk.users[Role.ADMIN].id,
                                    admin_db.logins)
        group_id = people.create_group(f"{desk.prefix}Admins' group", "made by the admin")
        user_id = people.create_user(name, "New Comer", "", Role.AGENT, PASSWORD, [group_id])
        row = next(u for u in people.users() if u.id == user_id)
        assert row.group_ids == (group_id,) and not row.has_password
        result = people.update_user(user_id, row.version, full_name="New Comer",
                                    email="new@example.com", role=Role.AGENT)
        url = make_url(desk.url)
        held = psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                               user=name, password=PASSWORD, autocommit=True)
        try:
            result = people.deactivate_user(user_id, result.version)
            # The admin's own login may end the leaver's open session (pg_signal_backend).
            with pytest.raises(psycopg.OperationalError):
                held.execute("SELECT 1")
        finally:
            held.close()
        people.reactivate_user(user_id, result.version)
        group = next(g for g in people.groups() if g.id == group_id)
        result = people.set_group_members(group_id, group.version, [])
        result = people.update_group(group_id, result.version, name=f"{desk.prefix}Renamed",
                                     description="", lead_id=desk.users[Role.ADMIN].id)
        people.deactivate_group(group_id, result.version)
    finally:
        admin_db.close()
        drop_roles(desk.url, [name])
    # An agent's login may read people but not change them, in the server too.
    with desk.connect(Role.AGENT) as connection, pytest.raises(errors.InsufficientPrivilege):
        connection.execute("UPDATE assignment_groups SET active = true")
# --- callers: agents correct details, admins deactivate and merge (services/caller_admin) ----

@pytest.mark.parametrize(("role", "column", "allowed"), [
    (Role.AGENT, "name", True), (Role.AGENT, "vip", True), (Role.AGENT, "version", True),
    (Role.AGENT, "sort_key", True),
    (Role.AGENT, "active", False), (Role.AGENT, "merged_into_id", False),
    (Role.AGENT, "updated_by_id", True), (Role.MANAGER, "updated_at", False),
    (Role.LEAD, "phone_key", True), (Role.LEAD, "active", False),
    (Role.MANAGER, "name", False),
    (Role.ADMIN, "active", True), (Role.ADMIN, "merged_into_id", True),
])
def test_caller_columns_follow_the_permission_table(desk: Desk, role: Role, column: str,
                                                    allowed: bool) -> None:
    statement = f"UPDATE callers SET {column} = {column} WHERE name = 'Ada Caller'"
    with desk.connect(role) as connection:
        try:
            done = connection.execute(statement).rowcount >= 1
        except errors.InsufficientPrivilege:
            done = False
        connection.rollback()
    assert done == allowed, f"{role.value}: {statement}"


def test_callers_are_edited_and_merged_on_peoples_own_logins(desk: Desk) -> None:
    owner = IncidentService(desk.database.uow_factory, desk.users[Role.ADMIN].id)
    one = owner.add_caller("Bea Twin", "bea@example.com")
    two = owner.add_caller("Bea Twin", "bea@example.com")
    detail, _ = owner.log_call(LogCallRequest(caller_id=two.id, short_description="Twin's call",
                                              impact=3, urgency=3))
    agent_db = open_database(desk.login_url(Role.AGENT), upgrade=False)
    admin_db = open_database(desk.login_url(Role.ADMIN), upgrade=False)
    try:
        as_agent = CallerAdminService(agent_db.uow_factory, desk.users[Role.AGENT].id)
        edited = as_agent.edit(one.id, 1, CallerEdit("Bea Twin", "bea@example.com", "555 0199"))
        with pytest.raises(PermissionDeniedError):
            as_agent.set_active(two.id, 1, False)
        as_admin = CallerAdminService(admin_db.uow_factory, desk.users[Role.ADMIN].id)
        result = as_admin.merge(MergeRequest(one.id, (two.id,),
                                             {one.id: edited.version, two.id: 1}))
        assert result.incidents_moved == 1
        moved = owner.get(detail.id)
        assert (moved.caller_id, moved.version) == (one.id, detail.version + 1)
        assert owner.activity(detail.id)[-1].field == "caller_id"
    finally:
        agent_db.close()
        admin_db.close()
    assert verify_chain(desk.database.uow_factory).ok


def test_the_alert_intake_runs_on_an_admins_own_login(desk: Desk) -> None:
    """The intake's audit rows must pass the audit table's row-level security, which lets a
    login's rows name only that login's person (or nobody)."""
    from deskapp.services.intake.alerts import AlertIntakeService
    from tests.integration.test_alert_intake import FIRING

    admin_db = open_database(desk.login_url(Role.ADMIN), upgrade=False)
    try:
        result = AlertIntakeService(admin_db.uow_factory).receive_body(json.dumps(FIRING))
        assert [o.number for o in result.outcomes if o.number]  # an incident was logged
    finally:
        admin_db.close()
