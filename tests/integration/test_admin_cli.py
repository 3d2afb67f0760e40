"""``deskapp admin`` acts as a known person who may manage people, named in the audit trail.

Like every other command: --user (or DESKAPP_USER), else the "admin" account; a brand-new
desk gets that account made, a desk with people but no "admin" is refused and nothing is
written. (Creating PostgreSQL logins: tests/integration/test_pg_roles.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from deskapp import cli
from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.services import audit
from deskapp.services.accounts import AccountService
from deskapp.services.audit import verify_chain
from deskapp.services.setup import admin_for_a_desk_without_one
from deskapp.settings import ENV_PASSWORD, ENV_USER
from tests.conftest import add_user
from tests.unit.test_servicenow_parsing import good_rows, write_log

PASSWORD = "pw123456-long"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_USER, raising=False)
    monkeypatch.setenv(ENV_PASSWORD, PASSWORD)


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _state(database: Database) -> tuple[object, ...]:
    """Everything a refused command must leave as it was."""
    with database.engine.connect() as connection:
        return tuple(tuple(connection.execute(text(query)).all()) for query in (
            "SELECT id, username, role, active FROM users ORDER BY id",
            "SELECT user_id, password_hash, failed_attempts, must_change "
            "FROM user_credentials ORDER BY user_id",
            "SELECT id, action, actor_id FROM audit_log ORDER BY id"))


def _audit_rows(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [dict(r) for r in connection.execute(text(
            "SELECT action, actor_id, entity_id, details FROM audit_log ORDER BY id"))
            .mappings()]


def _imported_desk(database: Database, tmp_path: Path) -> None:
    """People from a ServiceNow log, and no 'admin' account (the tester's desk)."""
    log = write_log(tmp_path / "incident_event_log.csv", good_rows())
    assert cli.main(["--database-url", _url(database), "import", "servicenow", str(log)]) == 0


ADMIN_COMMANDS = {
    "create-user": ["create-user", "sneaky", "--name", "Sneaky", "--role", "admin"],
    "reset-password": ["reset-password", "victim"],
}


@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
def test_without_a_user_a_desk_with_people_but_no_admin_account_is_refused(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: str) -> None:
    _imported_desk(database, tmp_path)
    add_user(database, "boss", Role.ADMIN)  # an admin, but not one called 'admin'
    add_user(database, "victim", Role.AGENT)
    before = _state(database)
    capsys.readouterr()

    assert cli.main(["--database-url", _url(database), "admin",
                     *ADMIN_COMMANDS[command]]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("deskapp: error: This desk has no 'admin' account to act as")
    assert err.count("\n") == 1 and "--user NAME" in err and ENV_USER in err
    assert _state(database) == before


def test_a_desk_with_people_but_no_administrator_gets_its_admin_account_first(
        database: Database, backend: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An imported desk has agents and nobody who may manage them: the first create-user
    makes the "admin" account (recorded as a first start) and acts as it."""
    if backend != "sqlite":
        pytest.skip("on PostgreSQL create-user makes a login: tests/integration/test_pg_roles.py")
    _imported_desk(database, tmp_path)
    capsys.readouterr()

    assert cli.main(["--database-url", _url(database), "admin", "create-user", "boss",
                     "--name", "Boss", "--role", "admin"]) == 0

    rows = [r for r in _audit_rows(database) if r["action"] == audit.USER_CREATED]
    made, boss = rows[-2], rows[-1]
    made_details = made["details"] if isinstance(made["details"], dict) else \
        json.loads(str(made["details"]))
    assert made_details["username"] == "admin" and made_details["desk_had_no_admin"] is True
    assert str(made["actor_id"]) == str(made["entity_id"])
    assert boss["actor_id"] == made["actor_id"]  # boss was made by the new admin account
    # Now the desk has administrators: without --user it acts as "admin" again.
    assert cli.main(["--database-url", _url(database), "admin", "create-user", "clerk",
                     "--name", "Clerk", "--role", "agent"]) == 0


def test_only_a_desk_without_any_active_administrator_gets_one_made(
        database: Database) -> None:
    agent = add_user(database, "agnes", Role.AGENT)
    boss = add_user(database, "boss", Role.ADMIN)
    before = _state(database)
    assert admin_for_a_desk_without_one(database.uow_factory) is None  # boss may act
    assert _state(database) == before
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE id = :id"),
                           {"id": boss.id})

    made = admin_for_a_desk_without_one(database.uow_factory)

    assert made is not None and (made.username, made.role) == ("admin", Role.ADMIN)
    row = _audit_rows(database)[-1]
    assert (row["action"], row["actor_id"]) == (audit.USER_CREATED, made.id)
    assert agent.id != made.id
    assert admin_for_a_desk_without_one(database.uow_factory) is None  # made once only


def test_two_admin_commands_at_once_on_a_desk_without_an_admin_make_one_and_act_as_it(
        database: Database, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both commands find no admin; the other one's "admin" is committed between this
    one's check and its insert, which meets the unique username: this one acts as the
    account the other made, rather than failing on the duplicate."""
    if backend == "sqlite":
        pytest.skip("SQLite's write transaction keeps the other command out until it ends")
    from deskapp.persistence.repositories import SqlUserRepository

    add_user(database, "agnes", Role.AGENT)
    read_people = SqlUserRepository.all
    made_by_the_other: list[User] = []

    def people_then_the_other_command_commits(self: SqlUserRepository) -> list[User]:
        people = read_people(self)
        if not made_by_the_other:
            made_by_the_other.append(add_user(database, "admin", Role.ADMIN))
        return people

    monkeypatch.setattr(SqlUserRepository, "all", people_then_the_other_command_commits)
    audited = len(_audit_rows(database))

    made = admin_for_a_desk_without_one(database.uow_factory)

    assert made == made_by_the_other[0]
    assert [r[1] for r in _state(database)[0]].count("admin") == 1
    # The losing insert's "user created" was rolled back with it (the other's insert is
    # recorded by the trigger that records direct changes).
    assert [r["action"] for r in _audit_rows(database)[audited:]] == ["change"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.MANAGER])
@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
def test_someone_who_may_not_manage_people_is_refused(
        database: Database, capsys: pytest.CaptureFixture[str], command: str,
        role: Role) -> None:
    add_user(database, "admin", Role.ADMIN)
    add_user(database, "victim", Role.AGENT)
    add_user(database, "someone", role)
    before = _state(database)

    assert cli.main(["--database-url", _url(database), "--user", "someone", "admin",
                     *ADMIN_COMMANDS[command]]) == 1

    err = capsys.readouterr().err
    assert err == f"deskapp: error: Someone ({role.value}) may not manage people.\n"
    assert _state(database) == before


@pytest.mark.parametrize("command", list(ADMIN_COMMANDS))
def test_an_unknown_or_disabled_user_is_refused(
        database: Database, capsys: pytest.CaptureFixture[str], command: str) -> None:
    add_user(database, "admin", Role.ADMIN)
    add_user(database, "victim", Role.AGENT)
    gone = add_user(database, "gone", Role.ADMIN)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE id = :id"),
                           {"id": gone.id})
    before = _state(database)
    for user, says in (("nobody", "There is no user 'nobody'."),
                       ("gone", "The account 'gone' is disabled.")):
        assert cli.main(["--database-url", _url(database), "--user", user, "admin",
                         *ADMIN_COMMANDS[command]]) == 1
        assert capsys.readouterr().err == f"deskapp: error: {says}\n"
    assert _state(database) == before


# Creating and resetting local accounts (on PostgreSQL they are logins: test_pg_roles.py).


def test_an_admin_named_with_user_creates_and_resets_and_the_trail_names_them(
        database: Database, backend: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "sqlite":
        pytest.skip("on PostgreSQL create-user makes a login: tests/integration/test_pg_roles.py")
    _imported_desk(database, tmp_path)
    boss = add_user(database, "boss", Role.ADMIN)
    monkeypatch.setenv(ENV_USER, "boss")  # DESKAPP_USER says who, as --user does
    capsys.readouterr()

    assert cli.main(["--database-url", _url(database), "admin", "create-user", "carol",
                     "--name", "Carol Lead", "--role", "lead"]) == 0
    assert capsys.readouterr().out == "Created carol (lead) with a local account.\n"
    created = _audit_rows(database)[-1]
    assert (created["action"], created["actor_id"]) == (audit.USER_CREATED, boss.id)
    assert json.loads(str(created["details"])) == {"username": "carol", "role": "lead"}

    monkeypatch.setenv(ENV_PASSWORD, "another-password")
    assert cli.main(["--database-url", _url(database), "--user", "boss", "admin",
                     "reset-password", "carol"]) == 0
    reset = _audit_rows(database)[-1]
    assert (reset["action"], reset["actor_id"]) == (audit.PASSWORD_RESET, boss.id)
    accounts = AccountService(database.uow_factory)
    carol = accounts.sign_in("carol", "another-password")
    assert accounts.must_change_password(carol.id)  # an admin set it: carol chooses her own
    assert "admin" not in {u.username for u in _users(database)}
    assert verify_chain(database.uow_factory).ok


def test_without_a_user_the_admin_account_acts_when_there_is_one(
        database: Database, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    if backend != "sqlite":
        pytest.skip("on PostgreSQL create-user makes a login: tests/integration/test_pg_roles.py")
    add_user(database, "agnes", Role.AGENT)
    admin = add_user(database, "admin", Role.ADMIN)
    assert cli.main(["--database-url", _url(database), "admin", "create-user", "carol",
                     "--name", "Carol", "--role", "agent"]) == 0
    row = _audit_rows(database)[-1]
    assert (row["action"], row["actor_id"]) == (audit.USER_CREATED, admin.id)


def test_a_brand_new_desk_gets_its_admin_account_who_creates_the_first_person(
        database: Database, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    if backend != "sqlite":
        pytest.skip("on PostgreSQL create-user makes a login: tests/integration/test_pg_roles.py")
    assert _users(database) == []
    assert cli.main(["--database-url", _url(database), "admin", "create-user", "carol",
                     "--name", "Carol Admin", "--role", "admin"]) == 0
    assert capsys.readouterr().out == "Created carol (admin) with a local account.\n"
    admin, carol = _users(database)
    assert (admin.username, admin.role, carol.username) == ("admin", Role.ADMIN, "carol")
    made_admin, made_carol = _audit_rows(database)
    assert (made_admin["action"], made_admin["actor_id"], made_admin["entity_id"]) == (
        audit.USER_CREATED, admin.id, str(admin.id))
    assert json.loads(str(made_admin["details"]))["first_start"] is True
    assert (made_carol["action"], made_carol["actor_id"], made_carol["entity_id"]) == (
        audit.USER_CREATED, admin.id, str(carol.id))
    assert AccountService(database.uow_factory).sign_in("carol", PASSWORD) == carol
    # The desk has people now: the next command without --user acts as that admin.
    assert cli.main(["--database-url", _url(database), "admin", "reset-password",
                     "carol"]) == 0
    assert _audit_rows(database)[-1]["actor_id"] == admin.id


def _users(database: Database) -> list[User]:
    with database.uow_factory() as uow:
        return sorted(uow.users.all(), key=lambda user: user.id)
