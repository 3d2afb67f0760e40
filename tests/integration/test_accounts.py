"""Local accounts: argon2id hashes, lock-out, password change and reset, the first admin."""

from __future__ import annotations

import json
import logging

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from deskapp import cli
from deskapp.domain.credentials import SignInError
from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError, ValidationError
from deskapp.persistence.database import Database
from deskapp.services import audit
from deskapp.services.accounts import (
    LOCK_AFTER_FAILURES,
    LOCK_MINUTES,
    UNKNOWN_USER_HASH,
    WRONG,
    AccountService,
    default_hasher,
)
from deskapp.services.audit import verify_chain
from tests.conftest import FakeClock, add_user

ADMIN_PASSWORD = "correct horse battery staple"
AGENT_PASSWORD = "tr0ub4dor&3-agent"


@pytest.fixture
def hasher() -> PasswordHasher:
    """argon2id, cheap enough for tests (the app uses argon2-cffi's defaults)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(database: Database, clock: FakeClock, hasher: PasswordHasher) -> AccountService:
    return AccountService(database.uow_factory, None, clock, hasher)


def _audit(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            text("SELECT action, actor_id, entity_id, details FROM audit_log ORDER BY id"))
            .mappings()]


def _stored_hash(database: Database, user_id: int) -> str:
    with database.engine.connect() as connection:
        return str(connection.execute(
            text("SELECT password_hash FROM user_credentials WHERE user_id = :id"),
            {"id": user_id}).scalar_one())


def test_a_new_desk_asks_for_its_admin_once(database: Database,
                                            accounts: AccountService) -> None:
    assert accounts.needs_first_admin()
    admin = accounts.create_first_admin("admin", "Desk Administrator", ADMIN_PASSWORD)
    assert admin.role is Role.ADMIN
    assert not accounts.needs_first_admin()
    with pytest.raises(ValidationError, match="already has accounts"):
        accounts.create_first_admin("root", "Another", ADMIN_PASSWORD)
    assert _stored_hash(database, admin.id).startswith("$argon2id$")
    assert accounts.sign_in("admin", ADMIN_PASSWORD) == admin
    assert [r["action"] for r in _audit(database)][-3:] == [audit.USER_CREATED, audit.SIGN_IN,
                                                            audit.SIGN_IN]


@pytest.mark.parametrize(("password", "message"), [
    ("short", "at least 8"), ("x" * 1025, "at most 1024")])
def test_passwords_too_short_or_long_are_refused(accounts: AccountService, password: str,
                                                 message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        accounts.create_first_admin("admin", "Admin", password)


def test_wrong_passwords_and_unknown_names_say_the_same_and_are_recorded(
        database: Database, accounts: AccountService) -> None:
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    with pytest.raises(SignInError) as wrong:
        accounts.sign_in("admin", "not the password")
    with pytest.raises(SignInError) as unknown:
        accounts.sign_in("nobody", "not the password")
    assert str(wrong.value) == str(unknown.value) == WRONG
    failed = [r for r in _audit(database) if r["action"] == audit.SIGN_IN_FAILED]
    assert [(r["actor_id"], json.loads(str(r["details"]))["username"]) for r in failed] == [
        (admin.id, "admin"), (None, "nobody")]


def test_repeated_failures_lock_the_account_for_a_while(
        database: Database, accounts: AccountService, clock: FakeClock) -> None:
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    for _ in range(LOCK_AFTER_FAILURES - 1):
        with pytest.raises(SignInError, match="Wrong"):
            accounts.sign_in("admin", "guess")
    with pytest.raises(SignInError, match="locked"):
        accounts.sign_in("admin", "guess")
    # Locked: even the right password is refused, and that is recorded too.
    with pytest.raises(SignInError, match="locked"):
        accounts.sign_in("admin", ADMIN_PASSWORD)
    actions = [r["action"] for r in _audit(database)]
    assert actions.count(audit.ACCOUNT_LOCKED) == 1
    assert actions.count(audit.SIGN_IN_FAILED) == LOCK_AFTER_FAILURES + 1
    clock.advance(minutes=LOCK_MINUTES - 1)
    with pytest.raises(SignInError, match="locked"):
        accounts.sign_in("admin", ADMIN_PASSWORD)
    clock.advance(minutes=1, seconds=1)
    assert accounts.sign_in("admin", ADMIN_PASSWORD) == admin
    assert verify_chain(database.uow_factory).ok


def test_an_admin_resets_and_unlocks_an_agent_but_an_agent_may_not(
        database: Database, accounts: AccountService) -> None:
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    agent = accounts.create_user("agnes", "Agnes Agent", "agnes@example.com", Role.AGENT,
                                 AGENT_PASSWORD, actor_id=admin.id)
    other = accounts.create_user("otto", "Otto Other", "", Role.AGENT, AGENT_PASSWORD,
                                 actor_id=admin.id)
    for _ in range(LOCK_AFTER_FAILURES):
        with pytest.raises(SignInError):
            accounts.sign_in("agnes", "guess")
    with pytest.raises(PermissionDeniedError):
        accounts.reset_password("agnes", "a brand new one", actor_id=other.id)
    with pytest.raises(PermissionDeniedError):
        accounts.create_user("eve", "Eve", "", Role.ADMIN, AGENT_PASSWORD, actor_id=other.id)
    accounts.reset_password("agnes", "a brand new one", actor_id=admin.id)
    assert accounts.sign_in("agnes", "a brand new one") == agent
    with pytest.raises(SignInError):
        accounts.sign_in("agnes", AGENT_PASSWORD)
    reset = [r for r in _audit(database) if r["action"] == audit.PASSWORD_RESET]
    assert [(r["actor_id"], r["entity_id"]) for r in reset] == [(admin.id, str(agent.id))]


def test_no_account_is_created_or_reset_without_an_admin_to_act_as(
        database: Database, accounts: AccountService) -> None:
    # None once meant "the database owner, unchecked": the command line's anonymous admin.
    agnes = add_user(database, "agnes", Role.AGENT)
    with database.engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    with pytest.raises(PermissionDeniedError, match="needs an admin to act as"):
        accounts.create_user("sneaky", "Sneaky", "", Role.ADMIN, AGENT_PASSWORD,
                             actor_id=None)  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError, match="needs an admin to act as"):
        accounts.reset_password("agnes", AGENT_PASSWORD, actor_id=None)  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError, match="may not manage people"):
        accounts.create_user("sneaky", "Sneaky", "", Role.ADMIN, AGENT_PASSWORD,
                             actor_id=agnes.id)
    with database.uow_factory() as uow:
        assert [u.username for u in uow.users.all()] == ["agnes"]
        assert uow.credentials.get(agnes.id) is None
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before


def test_a_person_changes_their_own_password(database: Database,
                                             accounts: AccountService) -> None:
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    before = _stored_hash(database, admin.id)
    with pytest.raises(SignInError, match="current password"):
        accounts.change_password(admin.id, "not it", "something new and long")
    accounts.change_password(admin.id, ADMIN_PASSWORD, "something new and long")
    assert _stored_hash(database, admin.id) != before
    assert accounts.sign_in("admin", "something new and long") == admin
    with pytest.raises(SignInError):
        accounts.sign_in("admin", ADMIN_PASSWORD)
    assert audit.PASSWORD_CHANGED in [r["action"] for r in _audit(database)]


def test_a_disabled_account_cannot_sign_in(database: Database,
                                           accounts: AccountService) -> None:
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    accounts.create_user("agnes", "Agnes", "", Role.AGENT, AGENT_PASSWORD, actor_id=admin.id)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE username = 'agnes'"))
    with pytest.raises(SignInError, match="Wrong"):
        accounts.sign_in("agnes", AGENT_PASSWORD)


def test_no_password_or_hash_reaches_a_log(database: Database, accounts: AccountService,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    admin = accounts.create_first_admin("admin", "Admin", ADMIN_PASSWORD)
    accounts.create_user("agnes", "Agnes", "", Role.AGENT, AGENT_PASSWORD, actor_id=admin.id)
    for attempt in ("wrong-password-1", "wrong-password-2"):
        with pytest.raises(SignInError):
            accounts.sign_in("agnes", attempt)
    accounts.sign_in("agnes", AGENT_PASSWORD)
    accounts.change_password(admin.id, ADMIN_PASSWORD, "changed-password-9")
    accounts.reset_password("agnes", "reset-password-7", actor_id=admin.id)
    with pytest.raises(ValidationError):
        accounts.create_user("bad name!", "Bad", "", Role.AGENT, "leaky-password-3",
                             actor_id=admin.id)
    records = list(caplog.records)
    hashes = [_stored_hash(database, admin.id)]
    with database.engine.connect() as connection:
        hashes += list(connection.execute(
            text("SELECT password_hash FROM user_credentials")).scalars())
    secrets = [ADMIN_PASSWORD, AGENT_PASSWORD, "wrong-password-1", "wrong-password-2",
               "changed-password-9", "reset-password-7", "leaky-password-3", *hashes,
               *(h.rsplit("$", 1)[-1] for h in hashes)]
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), \
        "SQL logging was on, so parameters had a chance to leak"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in records)
    leaked = [s for s in secrets if s in logged]
    assert leaked == []
    assert "Failed sign-in for 'agnes'" in logged


def test_cli_creates_and_resets_local_accounts(
        database: Database, database_url: str, backend: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if backend != "sqlite":
        pytest.skip("on PostgreSQL create-user makes a login: tests/integration/test_pg_roles.py")
    monkeypatch.setenv("DESKAPP_PASSWORD", "from-the-environment")
    assert cli.main(["--database-url", database_url, "admin", "create-user", "carol",
                     "--name", "Carol Lead", "--role", "lead"]) == 0
    assert "Created carol (lead) with a local account." in capsys.readouterr().out
    assert AccountService(database.uow_factory).sign_in(
        "carol", "from-the-environment").username == "carol"
    monkeypatch.setenv("DESKAPP_PASSWORD", "short")
    assert cli.main(["--database-url", database_url, "admin", "reset-password", "carol"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    add_user(database, "dora")
    monkeypatch.setenv("DESKAPP_PASSWORD", "long enough now")
    assert cli.main(["--database-url", database_url, "admin", "reset-password", "dora"]) == 0
    assert AccountService(database.uow_factory).sign_in("dora", "long enough now")


def test_the_unknown_user_hash_costs_what_a_real_one_does() -> None:
    # Verifying it must take as long as verifying a stored hash: same algorithm and
    # parameters as the hasher sign-in uses (else timing would tell which names exist).
    hasher = default_hasher()
    assert not hasher.check_needs_rehash(UNKNOWN_USER_HASH)
    assert UNKNOWN_USER_HASH.startswith("$argon2id$")
