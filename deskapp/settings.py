"""Settings, declared once with their types and defaults (QSettings holds only window state)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_dir, user_log_dir

from deskapp import user_settings
from deskapp.user_settings import ConnectionSettings, DatabaseKind, PasswordMode, UserSettings

APP_NAME = "deskapp"
ENV_DATABASE_URL = "DESKAPP_DATABASE_URL"
ENV_USER = "DESKAPP_USER"
ENV_DATA_DIR = "DESKAPP_DATA_DIR"
ENV_PASSWORD = "DESKAPP_PASSWORD"
"""With DESKAPP_USER, signs in without the dialog (scripts, kiosks, automated runs)."""


def data_dir() -> Path:
    """Where the local database lives (DESKAPP_DATA_DIR overrides, for tests and kiosks)."""
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(user_data_dir(APP_NAME, appauthor=False))


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    return f"sqlite:///{data_dir() / 'deskapp.db'}"


@dataclass(frozen=True)
class Settings:
    """What the app needs to start."""

    database_url: str
    username: str | None = None
    demo_incidents_on_first_start: int = 2000
    log_dir: Path = Path(user_log_dir(APP_NAME, appauthor=False))
    connection: ConnectionSettings | None = None
    """The saved PostgreSQL connection the URL was built from (Settings dialog), if any."""
    needs_password: bool = False
    """The saved connection's password must be asked for (not kept, or not found)."""
    password: str | None = field(default=None, repr=False)
    """Signs in without the dialog, with ``username``; never shown or logged."""

    @property
    def is_default_database(self) -> bool:
        return self.database_url == default_database_url()

    def with_password(self, password: str) -> Settings:
        """The same settings, the saved connection's URL carrying ``password``."""
        if self.connection is None:
            return self
        url = self.connection.url(password) or self.database_url
        return replace(self, database_url=url, needs_password=False)

    @classmethod
    def load(cls, database_url: str | None = None, username: str | None = None, *,
             saved: UserSettings | None = None) -> Settings:
        """Command-line values first, then the environment, then the saved connection
        (Settings dialog; its password from the system keyring), then the defaults."""
        url = database_url or os.environ.get(ENV_DATABASE_URL)
        connection: ConnectionSettings | None = None
        needs_password = False
        if not url:
            chosen = (saved if saved is not None else user_settings.load()).connection
            if chosen.kind is DatabaseKind.POSTGRESQL and chosen.problem() is None:
                password = (user_settings.stored_password(chosen)
                            if chosen.password_mode is PasswordMode.KEYRING else None)
                connection = chosen
                needs_password = password is None
                url = chosen.url(password)
            elif chosen.kind is DatabaseKind.LOCAL:
                url = chosen.url()
        return cls(
            database_url=url or default_database_url(),
            username=username or os.environ.get(ENV_USER) or None,
            connection=connection,
            needs_password=needs_password,
            password=os.environ.get(ENV_PASSWORD) or None,
        )
