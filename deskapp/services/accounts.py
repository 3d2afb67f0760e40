"""Signing in and looking after accounts.

On a SQLite desk the accounts are local: argon2id password hashes in user_credentials, a
lock-out after repeated failures, password change, and reset by an admin. On PostgreSQL
each person signs in with their own database login (the server checks the password, SCRAM);
the app maps the login to its users row, and creating a person creates the login too.

Every sign-in, failed sign-in, lock-out and administration act is written to the audit
trail in the same transaction. Passwords and hashes never reach a log or an error message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from deskapp.domain.credentials import Credential, SignInError
from deskapp.domain.enums import Role
from deskapp.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from deskapp.domain.people import User
from deskapp.domain.text import refuse_nul
from deskapp.services import audit
from deskapp.services.incidents import utc_now
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LOCK_AFTER_FAILURES = 5
"""Wrong passwords in a row that lock an account."""
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")
"""Usernames double as PostgreSQL login names: lower case, no quoting surprises."""

WRONG = "Wrong username or password."


class DatabaseLogins(Protocol):
    """Database logins (PostgreSQL roles) that stand for people; None on SQLite."""

    def create_login(self, username: str, password: str, role: Role) -> None:
        """Create a login with this password that is a member of the role's group role."""
        ...

    def set_password(self, username: str, password: str) -> None:
        """Give the login a new password."""
        ...

    def set_role(self, username: str, role: Role) -> None:
        """Make the login a member of this role's group role (and of no other)."""
        ...

    def set_login_enabled(self, username: str, enabled: bool) -> None:
        """Let the login connect (LOGIN) or refuse it (NOLOGIN: a deactivated person)."""
        ...

    def current_login(self) -> str:
        """The login this connection signed in as."""
        ...


UNKNOWN_USER_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$xmzmfUVsA+c2j+b7gTKLzw$"
                     "AlBZM35XY8o70FP3bUdPOA8rYZ8M49w2B4RRpNXHocA")
"""An argon2id hash of no one's password, made with ``default_hasher()``'s parameters.

Sign-in verifies against it for unknown usernames, so that timing does not tell which names
exist. A constant rather than hashed when the service is made: hashing costs as much as a
sign-in (0.1-0.4 s and 64 MiB here) and would delay every start (tests/unit check that it
still matches the hasher's parameters)."""


def default_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's recommended parameters (RFC 9106, low-memory profile)."""
    return PasswordHasher()


def check_password(password: str) -> None:
    """Refuse passwords that are too short or too long (the message names no part of it)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
                              "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.",
                              "password")


def check_username(username: str) -> str:
    """The username as stored, or ValidationError."""
    name = username.strip()
    if not USERNAME.match(name):
        raise ValidationError(
            "A username is 1 to 63 lower-case letters, digits, '_', '.' or '-', starting with "
            "a letter or '_'.", "username")
    return name


class AccountService:
    """Sign-in and account administration."""

    def __init__(self, uow_factory: UnitOfWorkFactory, logins: DatabaseLogins | None = None,
                 clock: Clock = utc_now, hasher: PasswordHasher | None = None) -> None:
        self._uow = uow_factory
        self._logins = logins
        self._clock = clock
        self._hasher = hasher or default_hasher()
        # Spent on unknown usernames too, so that timing does not tell which names exist.
        self._dummy = UNKNOWN_USER_HASH if hasher is None else \
            self._hasher.hash("not a password of anyone")

    @property
    def local(self) -> bool:
        """Whether accounts are local (SQLite) rather than database logins (PostgreSQL)."""
        return self._logins is None

    # --- signing in ---------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        """A local desk where nobody has a password yet: the first start asks for one."""
        if not self.local:
            return False
        with self._uow() as uow:
            return uow.credentials.count() == 0

    def create_first_admin(self, username: str, full_name: str, password: str) -> User:
        """The first start's admin account; refused once any local account has a password."""
        name = check_username(username)
        check_password(password)
        now = self._clock()
        with self._uow(write=True) as uow:
            if uow.credentials.count() > 0:
                raise ValidationError("This desk already has accounts; sign in instead.")
            try:
                user = uow.users.by_username(name)
            except NotFoundError:
                user = uow.users.add(User(0, name, full_name.strip() or name, "", Role.ADMIN))
            if user.role is not Role.ADMIN or not user.active:
                raise ValidationError(f"'{name}' exists and is not an active admin.")
            uow.credentials.put(Credential(user.id, self._hasher.hash(password), 0, None, now))
            uow.audit.record(audit.USER_CREATED, actor_id=user.id, entity="user",
                             entity_id=user.id, details={"username": name, "role": "admin",
                                                         "first_start": True})
            uow.audit.record(audit.SIGN_IN, actor_id=user.id, entity="user",
                             entity_id=user.id, details={"method": "first start"})
            uow.commit()
        log.info("First admin account %s set up", name)
        return user

    def sign_in(self, username: str, password: str) -> User:
        """Check a local account's password; lock the account after repeated failures.

        Raises:
            SignInError: wrong username or password, a locked or disabled account. The
                failure is recorded in the audit trail (and counted) before it is raised.
        """
        name = username.strip()
        now = self._clock()
        with self._uow(write=True) as uow:
            user, credential = self._account(uow, name)
            if user is None or credential is None or not user.active:
                self._verify(self._dummy, password)
                self._failed(uow, None, name, "unknown or disabled account"
                             if user is None or not user.active else "no local password")
                uow.commit()
                raise SignInError(WRONG)
            if credential.locked_until is not None and credential.locked_until > now:
                self._failed(uow, user.id, name, "locked")
                uow.commit()
                raise SignInError(self._locked_message(credential.locked_until))
            if not self._verify(credential.password_hash, password):
                failures = credential.failed_attempts + 1
                locked_until = None
                if failures >= LOCK_AFTER_FAILURES:
                    locked_until, failures = now + timedelta(minutes=LOCK_MINUTES), 0
                uow.credentials.put(Credential(user.id, credential.password_hash, failures,
                                               locked_until, credential.changed_at,
                                               credential.must_change))
                self._failed(uow, user.id, name, "wrong password")
                if locked_until is not None:
                    uow.audit.record(audit.ACCOUNT_LOCKED, actor_id=user.id, entity="user",
                                     entity_id=user.id,
                                     details={"until": locked_until.isoformat(),
                                              "after_failures": LOCK_AFTER_FAILURES})
                    uow.commit()
                    log.warning("Account %s locked after %d failed sign-ins", name,
                                LOCK_AFTER_FAILURES)
                    raise SignInError(self._locked_message(locked_until))
                uow.commit()
                raise SignInError(WRONG)
            new_hash = credential.password_hash
            if self._hasher.check_needs_rehash(new_hash):
                new_hash = self._hasher.hash(password)
            uow.credentials.put(Credential(user.id, new_hash, 0, None, credential.changed_at,
                                           credential.must_change))
            uow.audit.record(audit.SIGN_IN, actor_id=user.id, entity="user", entity_id=user.id,
                             details={"method": "password"})
            uow.commit()
        log.info("%s signed in", name)
        return user

    def sign_in_database(self) -> User:
        """PostgreSQL: the server checked the password; map the login to its users row."""
        if self._logins is None:
            raise SignInError("This desk has local accounts; sign in with a password.")
        login = self._logins.current_login()
        with self._uow(write=True) as uow:
            try:
                user = uow.users.by_username(login)
            except NotFoundError:
                raise SignInError(f"The database login '{login}' is no person of this desk; "
                                  "ask an admin to create it with deskapp admin "
                                  "create-user.") from None
            if not user.active:
                raise SignInError(f"The account '{login}' is disabled.")
            uow.audit.record(audit.SIGN_IN, actor_id=user.id, entity="user", entity_id=user.id,
                             details={"method": "database login"})
            uow.commit()
        log.info("%s signed in (database login)", login)
        return user

    def record_owner_sign_in(self, user: User) -> None:
        """The database's owner acts as ``user`` without a password (trusted like the owner
        of a SQLite file); the trail says so."""
        with self._uow(write=True) as uow:
            uow.audit.record(audit.SIGN_IN, actor_id=user.id, entity="user", entity_id=user.id,
                             details={"method": "database owner"})
            uow.commit()

    # --- passwords ------------------------------------------------------------------------

    def must_change_password(self, user_id: int) -> bool:
        """Whether an admin reset this local account's password, so that the person must
        choose a new one before working (always False for database logins)."""
        if not self.local:
            return False
        with self._uow() as uow:
            credential = uow.credentials.get(user_id)
            return credential is not None and credential.must_change

    def change_password(self, user_id: int, old_password: str, new_password: str) -> None:
        """The user changes their own password, giving the old one."""
        check_password(new_password)
        now = self._clock()
        with self._uow(write=True) as uow:
            user = uow.users.get(user_id)
            if self._logins is not None:
                self._logins.set_password(user.username, new_password)
            else:
                credential = uow.credentials.get(user_id)
                if credential is None or not self._verify(credential.password_hash,
                                                          old_password):
                    raise SignInError("The current password is wrong.")
                uow.credentials.put(Credential(user_id, self._hasher.hash(new_password), 0,
                                               None, now))
            uow.audit.record(audit.PASSWORD_CHANGED, actor_id=user_id, entity="user",
                             entity_id=user_id)
            uow.commit()
        log.info("%s changed their password", user.username)

    def reset_password(self, username: str, new_password: str, *, actor_id: int) -> None:
        """An admin gives a person a new password and unlocks the account.

        Raises:
            PermissionDeniedError: the actor may not manage people (checked always: there
                is no anonymous reset, not even from the command line).
        """
        check_password(new_password)
        now = self._clock()
        with self._uow(write=True) as uow:
            self._require_admin(uow, actor_id)
            user = uow.users.by_username(username.strip())
            if self._logins is not None:
                self._logins.set_password(user.username, new_password)
            else:
                uow.credentials.put(Credential(user.id, self._hasher.hash(new_password), 0,
                                               None, now, must_change=actor_id != user.id))
            uow.audit.record(audit.PASSWORD_RESET, actor_id=actor_id, entity="user",
                             entity_id=user.id, details={"username": user.username})
            uow.commit()
        log.info("Password of %s reset", user.username)

    def create_user(self, username: str, full_name: str, email: str, role: Role,
                    password: str, *, actor_id: int,
                    within: Callable[[UnitOfWork, User], None] | None = None) -> User:
        """Create a person with a password: a local account, or a database login.

        Args:
            actor_id: The admin who creates them (checked, and named in the audit trail).
            within: more to write about the new person in the same transaction (their
                groups); what it refuses leaves no person behind.

        Raises:
            PermissionDeniedError: the actor may not manage people.
        """
        name = check_username(username)
        check_password(password)
        if not full_name.strip():
            raise ValidationError("A person needs a name.", "full_name")
        refuse_nul(full_name + email, "The name or email", "full_name")
        now = self._clock()
        with self._uow(write=True) as uow:
            self._require_admin(uow, actor_id)
            # Checked first for a clear message; the unique constraint stays the backstop
            # (two admins creating the same name at once: the second gets a database error).
            if _username_taken(uow, name):
                raise ValidationError(f"There is already a user named '{name}'.", "username")
            user = uow.users.add(User(0, name, full_name.strip(), email.strip(), role))
            uow.audit.record(audit.USER_CREATED, actor_id=actor_id, entity="user",
                             entity_id=user.id, details={"username": name,
                                                         "role": role.value})
            if within is not None:
                within(uow, user)
            if self._logins is not None:
                # Roles are not transactional with the rows on every server set-up: create
                # the login last, so a refused users row leaves no stray login behind.
                self._logins.create_login(name, password, role)
            else:
                # Someone else chose it: the person chooses their own at their first sign-in.
                uow.credentials.put(Credential(user.id, self._hasher.hash(password), 0, None,
                                               now, must_change=True))
            uow.commit()
        log.info("Created %s (%s)", name, role.value)
        return user

    # --- helpers --------------------------------------------------------------------------

    def _account(self, uow: UnitOfWork, name: str) -> tuple[User | None, Credential | None]:
        try:
            user = uow.users.by_username(name)
        except NotFoundError:
            return None, None
        return user, uow.credentials.get(user.id)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _failed(self, uow: UnitOfWork, user_id: int | None, name: str, reason: str) -> None:
        uow.audit.record(audit.SIGN_IN_FAILED, actor_id=user_id, entity="user",
                         entity_id=user_id, details={"username": name[:64], "reason": reason})
        log.warning("Failed sign-in for %r: %s", name[:64], reason)

    @staticmethod
    def _locked_message(until: datetime) -> str:
        return (f"The account is locked after {LOCK_AFTER_FAILURES} wrong passwords, until "
                f"{until:%H:%M} UTC; an admin can unlock it by resetting the password.")

    @staticmethod
    def _require_admin(uow: UnitOfWork, actor_id: object) -> None:
        # Typed int for callers; checked here too, so that no untyped caller can reach the
        # old meaning of None ("the owner, unchecked") and write an anonymous admin act.
        if not isinstance(actor_id, int):
            raise PermissionDeniedError("Managing accounts needs an admin to act as; "
                                        "nobody was named.")
        require(uow.users.get(actor_id), Permission.MANAGE_PEOPLE)


def _username_taken(uow: UnitOfWork, name: str) -> bool:
    try:
        uow.users.by_username(name)
    except NotFoundError:
        return False
    return True
