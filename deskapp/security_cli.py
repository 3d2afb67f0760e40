"""The ``deskapp audit`` and ``deskapp admin`` commands (parsers and handlers).

cli.py registers them with ``add_commands`` and dispatches with ``handler_for``; they live
here so that the security work stays in modules of its own.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from deskapp.domain.enums import Role
from deskapp.domain.errors import ValidationError
from deskapp.domain.people import User
from deskapp.settings import ENV_PASSWORD, Settings

Handler = Callable[[Settings, argparse.Namespace], int]


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``audit`` and ``admin`` to the ``deskapp`` command."""
    audit = commands.add_parser("audit", help="check the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION",
                                          required=True)
    audit_commands.add_parser(
        "verify", help="check every link of the hash chain (exit 1 at the first broken row)")

    admin = commands.add_parser("admin", help="people and database roles")
    actions = admin.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create-user", help="create a person: a local account on SQLite, a PostgreSQL "
        "login with its group role on PostgreSQL (the password is asked for, or "
        f"${ENV_PASSWORD})")
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--name", required=True, metavar="FULL_NAME", dest="full_name")
    create.add_argument("--email", default="", metavar="EMAIL")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    reset = actions.add_parser(
        "reset-password", help="give a person a new password and unlock the account")
    reset.add_argument("username", metavar="USERNAME")
    actions.add_parser(
        "install-roles", help="PostgreSQL: create the group roles, their GRANTs and the "
        "row-level security policies; an operation of the database owner, on the owner's "
        "(or a superuser's) connection, not of a desk person: --user does not apply")


def handler_for(args: argparse.Namespace) -> Handler | None:
    """The handler of an ``audit`` or ``admin`` command line, or None for other commands."""
    if args.command == "audit":
        return _audit_verify
    if args.command == "admin":
        return {"create-user": _create_user, "reset-password": _reset_password,
                "install-roles": _install_roles}[args.admin_command]
    return None


def _audit_verify(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.audit import verify_chain

    database = open_database(settings.database_url, must_exist=True)
    try:
        result = verify_chain(database.uow_factory)
    finally:
        database.close()
    if result.broken is None:
        print(f"The audit trail holds: {result.rows:,} rows, every link verified.")
        return 0
    print(f"deskapp: error: the audit trail is broken at row {result.broken.entry_id}: "
          f"{result.broken.reason}", file=sys.stderr)
    return 1


def _password(prompt: str) -> str:
    given = os.environ.get(ENV_PASSWORD)
    if given:
        return given
    if not sys.stdin.isatty():
        raise ValidationError(f"No password: set {ENV_PASSWORD} or run in a terminal.")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise ValidationError("The two passwords differ.")
    return first


def _acting_admin(settings: Settings, database: object) -> User:
    """The person an ``admin`` command acts as, checked like every other command's.

    On SQLite, and on PostgreSQL over the database owner's connection (who is no person of
    the desk): --user (or DESKAPP_USER), else the "admin" account; a brand-new desk gets that
    account made (as every command's first use does), and so does a desk with people but no
    active admin at all (one filled by an import: else nobody could administer it); a desk
    with an admin but no "admin" account is refused and nothing is written. On PostgreSQL
    over a person's own login, as in the window: that person, and --user may not name
    another (the audit trail accepts rows only in the login's own name). The person must be
    allowed to manage people; the act is recorded under their name.

    Raises:
        NoUserGivenError: no user named, and the desk has people but no "admin".
        NotFoundError: the user named does not exist or is disabled.
        PermissionDeniedError: the person may not manage people, or --user names someone
            other than the login's person.
    """
    from deskapp.domain.errors import NotFoundError, PermissionDeniedError
    from deskapp.persistence.database import Database
    from deskapp.services.permissions import Permission, require
    from deskapp.services.setup import NoUserGivenError, admin_for_a_desk_without_one, sign_in

    assert isinstance(database, Database)
    username = settings.username
    logins = database.logins
    if logins is not None:
        login = logins.current_login()
        with database.uow_factory() as uow:
            try:
                uow.users.by_username(login)
                own = True
            except NotFoundError:
                own = False
        if own or not logins.is_owner():
            if not own:
                raise NotFoundError(f"The database login '{login}' is no person of this desk; "
                                    "connect as the database owner or as an admin's login.")
            if username is not None and username != login:
                raise PermissionDeniedError(
                    f"Connected as the login '{login}', this command acts as {login}: "
                    f"--user cannot make it act as '{username}'.")
            username = login
    try:
        user = sign_in(database.uow_factory, username)
    except NoUserGivenError:
        # A desk with people but no administrator at all (filled by an import) would have
        # no way to get one: it gets its "admin" account, as a brand-new desk does.
        made = admin_for_a_desk_without_one(database.uow_factory)
        if made is None:
            raise
        user = made
    require(user, Permission.MANAGE_PEOPLE)
    return user


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.accounts import AccountService

    database = open_database(settings.database_url)
    try:
        # Who acts is settled first: someone refused is not asked for a password.
        actor = _acting_admin(settings, database)
        password = _password(f"Password for {args.username}: ")
        service = AccountService(database.uow_factory, database.logins, clock=database.clock)
        user = service.create_user(args.username, args.full_name, args.email, Role(args.role),
                                   password, actor_id=actor.id)
    finally:
        database.close()
    where = "a PostgreSQL login" if database.dialect == "postgresql" else "a local account"
    print(f"Created {user.username} ({user.role.value}) with {where}.")
    return 0


def _reset_password(settings: Settings, args: argparse.Namespace) -> int:
    from deskapp.persistence.database import open_database
    from deskapp.services.accounts import AccountService

    database = open_database(settings.database_url)
    try:
        # Who acts is settled first: someone refused is not asked for a password.
        actor = _acting_admin(settings, database)
        password = _password(f"New password for {args.username}: ")
        service = AccountService(database.uow_factory, database.logins, clock=database.clock)
        service.reset_password(args.username, password, actor_id=actor.id)
    finally:
        database.close()
    print(f"{args.username} has a new password and is unlocked.")
    return 0


def _install_roles(settings: Settings, _args: argparse.Namespace) -> int:
    from deskapp.domain.errors import ConfigurationError, PermissionDeniedError
    from deskapp.persistence.database import open_database

    database = open_database(settings.database_url)
    try:
        logins = database.logins
        if logins is None:
            raise ConfigurationError("Database roles exist only on PostgreSQL; a SQLite desk "
                                     "has local accounts.")
        if not logins.is_owner():
            # The server would refuse it halfway anyway; one readable line instead.
            raise PermissionDeniedError(
                f"install-roles is the database owner's: the login '{logins.current_login()}'"
                " is neither the owner of this database nor a superuser.")
        prefix = logins.install()
    finally:
        database.close()
    print(f"Installed the roles {prefix}agent, {prefix}lead, {prefix}manager and "
          f"{prefix}admin with their grants and row-level security.")
    return 0
