"""Who a session acts as when no password sign-in applies, and the first start's admin."""

from __future__ import annotations

from deskapp.domain.enums import Role
from deskapp.domain.errors import NotFoundError, ValidationError
from deskapp.domain.people import User
from deskapp.services import audit
from deskapp.services.ports import UnitOfWork, UnitOfWorkFactory

ADMIN_USERNAME = "admin"


class NoUserGivenError(ValidationError):
    """A desk with people on it, no "admin" account, and no user named for the session."""


def ensure_admin(uow_factory: UnitOfWorkFactory) -> User:
    """The admin account, created if it is missing, whoever else is on the desk.

    For set-up code that wants an admin to act as (tests, benchmarks); a session without a
    user goes through ``sign_in``, which creates the admin on a brand-new desk only.
    """
    with uow_factory(write=True) as uow:
        try:
            return uow.users.by_username(ADMIN_USERNAME)
        except NotFoundError:
            admin = uow.users.add(User(0, ADMIN_USERNAME, "Desk Administrator",
                                       "admin@example.com", Role.ADMIN))
            uow.commit()
            return admin


def _admin_if_any(uow: UnitOfWork) -> User | None:
    try:
        return uow.users.by_username(ADMIN_USERNAME)
    except NotFoundError:
        return None


def _make_admin(uow: UnitOfWork, **why: bool) -> User:
    """Add the "admin" account, recorded as a first start (acting as itself), and commit."""
    admin = uow.users.add(User(0, ADMIN_USERNAME, "Desk Administrator", "admin@example.com",
                               Role.ADMIN))
    uow.audit.record(audit.USER_CREATED, actor_id=admin.id, entity="user",
                     entity_id=admin.id, details={"username": ADMIN_USERNAME, "role": "admin",
                                                  "first_start": True, **why})
    uow.commit()
    return admin


def first_start_admin(uow_factory: UnitOfWorkFactory) -> User | None:
    """On a brand-new desk (no users at all), create the admin account and return it; on a
    desk that already has people, its admin account if there is one, else None (nothing is
    written then)."""
    with uow_factory() as uow:
        if uow.users.all():
            return _admin_if_any(uow)
    # Checked again in a write transaction: on SQLite it holds the write lock, so two first
    # starts at once make one admin; on PostgreSQL the second one's insert meets the unique
    # username instead, and that start takes the admin the first one made.
    try:
        with uow_factory(write=True) as uow:
            if uow.users.all():
                return _admin_if_any(uow)  # another first start made it meanwhile
            return _make_admin(uow)
    except ValidationError:
        with uow_factory() as uow:
            return uow.users.by_username(ADMIN_USERNAME)


def sign_in(uow_factory: UnitOfWorkFactory, username: str | None) -> User:
    """The user the session acts as: ``username``, or without one the "admin" account.

    Without a username, a brand-new desk gets its admin account made (the first start); a
    desk that has people but no "admin" is refused, and nothing is written, rather than
    given an admin account nobody asked for.

    Raises:
        NotFoundError: no such user, or the account is disabled.
        NoUserGivenError: no username, and the desk has people but no "admin" account.
    """
    name = username or ADMIN_USERNAME
    with uow_factory() as uow:
        try:
            user = uow.users.by_username(name)
        except NotFoundError:
            if username is not None:
                raise
            user = None
    if user is None:
        user = first_start_admin(uow_factory)
        if user is None:
            raise NoUserGivenError(
                f"This desk has no '{ADMIN_USERNAME}' account to act as: say who you are "
                "with --user NAME or the DESKAPP_USER environment variable.")
    if not user.active:
        raise NotFoundError(f"The account '{name}' is disabled.")
    return user


def admin_for_a_desk_without_one(uow_factory: UnitOfWorkFactory) -> User | None:
    """The "admin" account, made for a desk that has people but no active admin at all.

    A desk filled by an import has agents and nobody who may manage them: the admin
    commands (not every command) give it its first administrator this way, recorded like a
    first start. None when the desk has an active admin: then someone must say who they
    are, and nothing is written.
    """
    # As in first_start_admin: on SQLite the write transaction keeps a second command out
    # until this one ends; on PostgreSQL both may pass the check, and the second one's
    # insert meets the unique username (the unit of work raises it as a ValidationError):
    # that command acts as the admin the first one made.
    try:
        with uow_factory(write=True) as uow:
            people = uow.users.all()
            if any(user.role == Role.ADMIN and user.active for user in people) or \
                    any(user.username == ADMIN_USERNAME for user in people):
                return None
            return _make_admin(uow, desk_had_no_admin=True)
    except ValidationError:
        with uow_factory() as uow:
            made = _admin_if_any(uow)
        if made is None:
            raise  # not the duplicate username: some other refusal
        return made
