"""The user's preferences, declared once with their types and defaults, kept in a JSON file.

The file is ``settings.json`` in the user's configuration directory (DESKAPP_CONFIG_DIR
overrides it, for tests and kiosks); QSettings keeps only window state. A database password
is never written here: it lives in the system keyring (the ``keyring`` package), or is asked
for at each start.

Reading is forgiving: a missing file, a damaged one or a value of the wrong type gives the
default for what cannot be read (and a warning in the log), never a failed start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import typing
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from platformdirs import user_config_dir

log = logging.getLogger(__name__)

APP_NAME = "deskapp"
ENV_CONFIG_DIR = "DESKAPP_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
KEYRING_SERVICE = "deskapp"
"""The keyring's service name for database passwords."""

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""libpq's sslmode values, weakest first."""


class ThemeChoice(StrEnum):
    """Which colours the application uses."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class DatabaseKind(StrEnum):
    """Where the incidents are kept."""

    LOCAL = "local"
    """A SQLite file on this computer."""
    POSTGRESQL = "postgresql"
    """A shared PostgreSQL server."""


class PasswordMode(StrEnum):
    """How the PostgreSQL password is remembered."""

    KEYRING = "keyring"
    ASK = "ask"


class NotifyWhere(StrEnum):
    """Where an assignment to the user is announced."""

    IN_WINDOW = "in_window"
    TRAY = "tray"


@dataclass(frozen=True)
class ConnectionSettings:
    """The database Deskapp opens when no URL is given on the command line or environment."""

    kind: DatabaseKind = DatabaseKind.LOCAL
    path: str = ""
    """The SQLite file; empty means the default file in the user's data directory."""
    host: str = "localhost"
    port: int = 5432
    database: str = "deskapp"
    user: str = ""
    sslmode: str = "prefer"
    password_mode: PasswordMode = PasswordMode.KEYRING

    @property
    def keyring_account(self) -> str:
        """The name the password is stored under in the keyring."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def url(self, password: str | None = None) -> str | None:
        """The SQLAlchemy URL; None for the default local file (the caller's default)."""
        if self.kind is DatabaseKind.LOCAL:
            return f"sqlite:///{Path(self.path).expanduser()}" if self.path.strip() else None
        auth = quote(self.user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        host = self.host.strip() or "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        query = f"?sslmode={quote(self.sslmode)}" if self.sslmode else ""
        at = f"{auth}@" if auth else ""
        return (f"postgresql+psycopg://{at}{host}:{self.port}/"
                f"{quote(self.database, safe='')}{query}")

    def problem(self) -> str | None:
        """What makes these settings unusable, in one sentence; None if nothing does."""
        if self.kind is DatabaseKind.LOCAL:
            return None
        if not self.host.strip():
            return "Enter the PostgreSQL server's host name."
        if not 1 <= self.port <= 65535:
            return "The port must be between 1 and 65535."
        if not self.database.strip():
            return "Enter the name of the database."
        if not self.user.strip():
            return "Enter your PostgreSQL user name."
        if self.sslmode not in SSL_MODES:
            return f"sslmode must be one of {', '.join(SSL_MODES)}."
        return None


@dataclass(frozen=True)
class AppearanceSettings:
    """How the application looks."""

    theme: ThemeChoice = ThemeChoice.SYSTEM


@dataclass(frozen=True)
class NotificationSettings:
    """What the user is told about, and where."""

    on_assignment: bool = True
    """Announce an incident newly assigned to me."""
    where: NotifyWhere = NotifyWhere.IN_WINDOW


@dataclass(frozen=True)
class CallFormDefaults:
    """What a new call starts with."""

    channel: str = "phone"
    """A Channel value (phone, email, web_portal, monitoring, chat, walk_in)."""
    impact: int = 0
    """The impact level offered first; 0: the middle level of the matrix."""
    urgency: int = 0
    """The urgency level offered first; 0: the middle level of the matrix."""


@dataclass(frozen=True)
class EmailIntakeSettings:
    """The mailbox the window polls when "Run the email intake in this window" is on.

    The password is kept in the system keyring (service ``deskapp-imap``, account
    user@host, the same entry ``deskapp intake email`` reads), never here.
    """

    host: str = ""
    port: int = 993
    user: str = ""
    folder: str = "INBOX"
    starttls: bool = False
    """Upgrade a plain connection with STARTTLS instead of TLS from the start."""
    interval: int = 60
    """Seconds between polls."""
    run_in_window: bool = False

    def problem(self) -> str | None:
        """What keeps the intake from running, in one sentence; None if nothing does."""
        if not self.run_in_window:
            return None
        if not self.host.strip():
            return "Enter the IMAP server's host name."
        if not 1 <= self.port <= 65535:
            return "The IMAP port must be between 1 and 65535."
        if not self.user.strip():
            return "Enter the mailbox user name."
        if not self.folder.strip():
            return "Enter the mailbox folder (usually INBOX)."
        if self.interval < 5:
            return "Poll the mailbox at most every 5 seconds."
        return None


@dataclass(frozen=True)
class UserSettings:
    """Everything the Settings dialog edits."""

    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    appearance: AppearanceSettings = field(default_factory=AppearanceSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    call_form: CallFormDefaults = field(default_factory=CallFormDefaults)
    email_intake: EmailIntakeSettings = field(default_factory=EmailIntakeSettings)


# --- the file ----------------------------------------------------------------------------

def config_dir() -> Path:
    """Where the settings file lives."""
    override = os.environ.get(ENV_CONFIG_DIR)
    return Path(override) if override else Path(user_config_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


T = TypeVar("T")


def _convert(value: Any, kind: Any, where: str) -> Any:
    """``value`` as ``kind``, or raise ValueError naming ``where``."""
    if isinstance(kind, type) and is_dataclass(kind):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object")
        return _from_dict(kind, value, where)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected a whole number")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected text")
        return value
    raise ValueError(f"{where}: unsupported type {kind!r}")


def _from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    hints = typing.get_type_hints(cls)
    default = cls()
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        name = f"{where}.{f.name}" if where else f.name
        try:
            values[f.name] = _convert(data[f.name], hints[f.name], name)
        except (ValueError, TypeError) as exc:
            log.warning("Settings: %s; using the default", exc)
    return replace(default, **values)  # type: ignore[type-var]


def _to_dict(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    return obj


def from_json(text: str) -> UserSettings:
    """Settings from the file's text; what cannot be read is the default."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        log.warning("Settings file is not JSON (%s); using the defaults", exc)
        return UserSettings()
    if not isinstance(data, dict):
        log.warning("Settings file holds no object; using the defaults")
        return UserSettings()
    return _from_dict(UserSettings, data)


def to_json(settings: UserSettings) -> str:
    return json.dumps(_to_dict(settings), indent=2, sort_keys=True) + "\n"


def load(path: Path | None = None) -> UserSettings:
    """The saved settings, or the defaults when there are none."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserSettings()
    except OSError as exc:
        log.warning("Cannot read %s (%s); using the defaults", path, exc)
        return UserSettings()
    return from_json(text)


def save(settings: UserSettings, path: Path | None = None) -> Path:
    """Write the settings, replacing the file in one step (never half-written)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(to_json(settings))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# --- the password ------------------------------------------------------------------------

class PasswordStoreError(Exception):
    """The system keyring could not be used (none installed, locked, refused)."""


def stored_password(connection: ConnectionSettings) -> str | None:
    """The password kept in the keyring for ``connection``; None if there is none."""
    import keyring  # imported when needed: a start on a local file never loads it
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, connection.keyring_account)
    except KeyringError as exc:
        log.warning("The system keyring cannot be read: %s", exc)
        return None


def store_password(connection: ConnectionSettings, password: str) -> None:
    """Keep ``password`` for ``connection`` in the system keyring.

    Raises:
        PasswordStoreError: there is no usable keyring.
    """
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, connection.keyring_account, password)
    except KeyringError as exc:
        raise PasswordStoreError(f"The system keyring cannot keep the password: {exc}") \
            from exc


def forget_password(connection: ConnectionSettings) -> None:
    """Remove a kept password (the user chose "ask each time"); no error if there is none."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, connection.keyring_account)
    except PasswordDeleteError:
        pass
    except KeyringError as exc:
        log.warning("Could not remove the password from the keyring: %s", exc)

