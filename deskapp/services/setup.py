"""First-start set-up: the account that signs in when no one else exists yet."""

from __future__ import annotations

from deskapp.domain.enums import Role
from deskapp.domain.errors import NotFoundError
from deskapp.domain.people import User
from deskapp.services.ports import UnitOfWorkFactory

ADMIN_USERNAME = "admin"


def ensure_admin(uow_factory: UnitOfWorkFactory) -> User:
    """The admin account, created on a new database."""
    with uow_factory(write=True) as uow:
        try:
            return uow.users.by_username(ADMIN_USERNAME)
        except NotFoundError:
            admin = uow.users.add(User(0, ADMIN_USERNAME, "Desk Administrator",
                                       "admin@example.com", Role.ADMIN))
            uow.commit()
            return admin


def sign_in(uow_factory: UnitOfWorkFactory, username: str | None) -> User:
    """The user the session acts as (sign-in with passwords comes with the security work)."""
    if username is None:
        return ensure_admin(uow_factory)
    with uow_factory() as uow:
        user = uow.users.by_username(username)
    if not user.active:
        raise NotFoundError(f"The account '{username}' is disabled.")
    return user
