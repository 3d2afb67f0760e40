"""Local accounts' credentials and the errors of signing in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deskapp.domain.errors import DeskappError


@dataclass(frozen=True)
class Credential:
    """A local account's password hash and lock-out state (the password itself is never kept).

    ``password_hash`` is an argon2id hash in its PHC string form; it must never be logged or
    shown, so it is left out of ``repr``.
    """

    user_id: int
    password_hash: str
    failed_attempts: int
    locked_until: datetime | None
    changed_at: datetime
    must_change: bool = False

    def __repr__(self) -> str:
        return (f"Credential(user_id={self.user_id}, failed_attempts={self.failed_attempts}, "
                f"locked_until={self.locked_until!r}, must_change={self.must_change})")


class SignInError(DeskappError):
    """The username or password is wrong, or the account is locked or disabled."""
