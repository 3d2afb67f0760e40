"""Fixtures shared by every test: databases on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

# Before the rest, as the application does it: see deskapp/qt/__init__.py.
import deskapp.qt  # noqa: F401

# isort: split

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from deskapp.domain.enums import Role
from deskapp.domain.people import User
from deskapp.persistence.database import Database, open_database
from deskapp.services.incidents import IncidentService
from deskapp.services.setup import ensure_admin
from tests.support.databases import (
    copy_sqlite,
    in_ci,
    make_sqlite_template,
    postgres_admin_url,
    private_postgres_database,
    reset_postgres,
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private, migrated PostgreSQL database for the whole run."""
    admin = postgres_admin_url()
    if admin is None:
        if in_ci():
            pytest.fail("CI must test PostgreSQL: DESKAPP_TEST_POSTGRES_URL is not set")
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    try:
        with private_postgres_database(admin) as url:
            yield url
    except Exception as exc:  # pragma: no cover - depends on the machine
        if in_ci() or not str(exc):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {exc}")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, sqlite_template: Path,
                 tmp_path: Path) -> str:
    """A fresh, migrated database of the requested kind, as a URL."""
    if backend == "sqlite":
        return copy_sqlite(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def database(database_url: str, backend: str) -> Iterator[Database]:
    """An open, empty database; the same tests run on SQLite and PostgreSQL."""
    db = open_database(database_url)
    if backend == "postgres":
        reset_postgres(db.engine)
    try:
        yield db
    finally:
        db.close()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def admin(database: Database) -> User:
    return ensure_admin(database.uow_factory)


@pytest.fixture
def service(database: Database, admin: User, clock: FakeClock) -> IncidentService:
    """The incident service acting as the admin, on a fake clock."""
    return IncidentService(database.uow_factory, admin.id, clock)


def add_user(database: Database, username: str, role: Role = Role.AGENT) -> User:
    """Create a user directly (people management is its own feature)."""
    with database.uow_factory(write=True) as uow:
        user = uow.users.add(User(0, username, username.title(), f"{username}@example.com", role))
        uow.commit()
        return user


def table_count(database: Database, table: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture(scope="session", autouse=True)
def private_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the user's settings file (Settings dialog) and drafts out of the real home."""
    import os

    saved = {name: os.environ.get(name) for name in ("DESKAPP_CONFIG_DIR", "DESKAPP_DRAFTS_DIR")}
    os.environ["DESKAPP_CONFIG_DIR"] = str(tmp_path_factory.mktemp("config"))
    os.environ["DESKAPP_DRAFTS_DIR"] = str(tmp_path_factory.mktemp("drafts"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
