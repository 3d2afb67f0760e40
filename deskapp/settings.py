"""Settings, declared once with their types and defaults (QSettings holds only window state)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir, user_log_dir

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
    password: str | None = field(default=None, repr=False)
    """Signs in without the dialog, with ``username``; never shown or logged."""

    @property
    def is_default_database(self) -> bool:
        return self.database_url == default_database_url()

    @classmethod
    def load(cls, database_url: str | None = None, username: str | None = None) -> Settings:
        """Command-line values first, then the environment, then the defaults."""
        return cls(
            database_url=database_url or os.environ.get(ENV_DATABASE_URL)
            or default_database_url(),
            username=username or os.environ.get(ENV_USER) or None,
            password=os.environ.get(ENV_PASSWORD) or None,
        )
