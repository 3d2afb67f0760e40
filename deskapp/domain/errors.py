"""Errors the domain and the services raise; each one is meant to be shown to a user."""

from __future__ import annotations

from datetime import datetime


class DeskappError(Exception):
    """Base of every error that is the user's to fix, not a bug."""


class ValidationError(DeskappError):
    """A value the user gave cannot be accepted (too long, missing, out of range)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransitionError(DeskappError):
    """The lifecycle does not allow this change of state."""


class NotFoundError(DeskappError):
    """Something the user referred to does not exist."""


class PermissionDeniedError(DeskappError):
    """The signed-in user's role does not allow this."""


class ConflictError(DeskappError):
    """Someone else saved the record after it was read; nothing was overwritten."""

    def __init__(
        self,
        what: str,
        changed_by: str | None,
        changed_at: datetime | None,
        current_version: int | None,
    ) -> None:
        who = changed_by or "another user"
        when = f" at {changed_at:%Y-%m-%d %H:%M:%S} UTC" if changed_at else ""
        super().__init__(
            f"{what} was changed by {who}{when} after you opened it; "
            "reload it to see their change, then apply yours again."
        )
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.current_version = current_version


class ConfigurationError(DeskappError):
    """The database URL or another setting cannot be used."""


class DatabaseUnavailableError(DeskappError):
    """The database cannot be reached right now; the operation may be retried."""


class LoginRefusedError(DatabaseUnavailableError):
    """The database server refuses this login: an administrator deactivated the person
    (PostgreSQL NOLOGIN). Unlike other outages, trying again will not help."""
