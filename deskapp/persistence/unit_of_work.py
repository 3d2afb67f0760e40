"""The unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

import random
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING, Self

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from deskapp.domain.errors import DatabaseUnavailableError, ValidationError
from deskapp.persistence import live
from deskapp.persistence.audit_log import SqlAuditLog, track_writes
from deskapp.persistence.credentials_repository import SqlCredentialRepository
from deskapp.persistence.engine import BUSY_TIMEOUT_MS, writer
from deskapp.persistence.incident_repository import SqlIncidentRepository
from deskapp.persistence.repositories import (
    SqlCallerRepository,
    SqlCatalogRepository,
    SqlGroupRepository,
    SqlMatrixRepository,
    SqlSavedFilterRepository,
    SqlUserRepository,
)

if TYPE_CHECKING:
    from deskapp.persistence.alert_repository import SqlAlertRepository
    from deskapp.persistence.assignment_repository import SqlAssignmentStore
    from deskapp.persistence.bulk import SqlBulkIncidentWriter
    from deskapp.persistence.caller_admin_repository import SqlCallerAdmin
    from deskapp.persistence.catalog_admin_repository import SqlCatalogAdminRepository
    from deskapp.persistence.email_intake_repository import SqlEmailIntakeRepository
    from deskapp.persistence.people_repository import SqlPeopleStore
    from deskapp.persistence.report_queries import SqlReportQueries
    from deskapp.persistence.review_repository import SqlReviewRepository
    from deskapp.persistence.workload_queries import SqlWorkloadQueries

# The repositories the queue window does not use at start (bulk writes, reviews, reports,
# assignment, workload, email and alert intake) are imported when a unit of work first asks
# for one: they and the services they import cost about a third of persistence's start-up
# import time and memory (tests/qt/test_start_imports.py keeps them out).

LOCK_ATTEMPTS = 3
"""A SQLite write waits up to busy_timeout for the write lock at BEGIN, this many times over
(then says the database is busy): bounded, and never a crash."""


class LockStats:
    """How often writes had to wait again for SQLite's write lock (read by the soak run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retries = 0

    def add(self) -> None:
        with self._lock:
            self.retries += 1


LOCK_STATS = LockStats()


_LAZY_REPOSITORIES = ("bulk", "reviews", "report_queries", "assignment", "workload",
                      "email_intake", "alerts", "caller_admin", "catalog_admin", "people")


class SqlUnitOfWork:
    """UnitOfWork over a SQLAlchemy session."""

    def __init__(self, factory: sessionmaker[Session], *, write: bool = False) -> None:
        self._factory = factory
        self._write = write
        self.actor_id: int | None = None

    def __enter__(self) -> Self:
        self.session = self._factory()
        if self._write and self.session.get_bind().dialect.name == "sqlite":
            self._begin_write()
        self.incidents = SqlIncidentRepository(self.session)
        self.callers = SqlCallerRepository(self.session)
        self.users = SqlUserRepository(self.session)
        self.groups = SqlGroupRepository(self.session)
        self.catalog = SqlCatalogRepository(self.session)
        self.matrix = SqlMatrixRepository(self.session)
        self.saved_filters = SqlSavedFilterRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.credentials = SqlCredentialRepository(self.session)
        for name in _LAZY_REPOSITORIES:
            self.__dict__.pop(name, None)  # a re-entered unit of work has a new session
        return self

    # --- repositories made on first use (see the note at the imports) --------------------

    @cached_property
    def bulk(self) -> SqlBulkIncidentWriter:
        from deskapp.persistence.bulk import SqlBulkIncidentWriter

        return SqlBulkIncidentWriter(self.session)

    @cached_property
    def reviews(self) -> SqlReviewRepository:
        from deskapp.persistence.review_repository import SqlReviewRepository

        return SqlReviewRepository(self.session)

    @cached_property
    def report_queries(self) -> SqlReportQueries:
        from deskapp.persistence.report_queries import SqlReportQueries

        return SqlReportQueries(self.session)

    @cached_property
    def assignment(self) -> SqlAssignmentStore:
        from deskapp.persistence.assignment_repository import SqlAssignmentStore

        return SqlAssignmentStore(self.session)

    @cached_property
    def workload(self) -> SqlWorkloadQueries:
        from deskapp.persistence.workload_queries import SqlWorkloadQueries

        return SqlWorkloadQueries(self.session)

    @cached_property
    def email_intake(self) -> SqlEmailIntakeRepository:
        from deskapp.persistence.email_intake_repository import SqlEmailIntakeRepository

        return SqlEmailIntakeRepository(self.session)

    @cached_property
    def alerts(self) -> SqlAlertRepository:
        from deskapp.persistence.alert_repository import SqlAlertRepository

        return SqlAlertRepository(self.session)

    @cached_property
    def caller_admin(self) -> SqlCallerAdmin:
        from deskapp.persistence.caller_admin_repository import SqlCallerAdmin

        return SqlCallerAdmin(self.session)

    @cached_property
    def catalog_admin(self) -> SqlCatalogAdminRepository:
        from deskapp.persistence.catalog_admin_repository import SqlCatalogAdminRepository

        return SqlCatalogAdminRepository(self.session)

    @cached_property
    def people(self) -> SqlPeopleStore:
        from deskapp.persistence.people_repository import SqlPeopleStore

        return SqlPeopleStore(self.session)

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None:
        try:
            live.forget(self.session)
            self.audit.forget()
            self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, IntegrityError):
            raise ValidationError(_integrity_message(exc)) from exc
        if isinstance(exc, DataError):
            # A value the column cannot hold (PostgreSQL: NUL in text, a name too long).
            raise ValidationError(f"The database refused a value: {_first_line(exc)}") \
                from exc
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            raise DatabaseUnavailableError(
                f"The database is not available: {_first_line(exc)}"
            ) from exc

    def _begin_write(self) -> None:
        """Take SQLite's write lock now (BEGIN IMMEDIATE), waiting again a bounded number
        of times if another process holds it longer than busy_timeout.

        Retrying here is safe because nothing has been read or written yet; once the lock is
        held, nothing later in the transaction can meet "database is locked" in WAL mode.
        """
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                self.session.connection()
                return
            except OperationalError as exc:
                self.session.close()
                if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                    raise DatabaseUnavailableError(
                        f"The database is not available: {_first_line(exc)}") from exc
                if attempt == LOCK_ATTEMPTS:
                    raise DatabaseUnavailableError(
                        "The database is busy: another program kept it locked for "
                        f"{LOCK_ATTEMPTS * BUSY_TIMEOUT_MS // 1000} s; try again.") from exc
                LOCK_STATS.add()
                time.sleep(random.uniform(0.01, 0.1))  # jitter: waiters do not wake as one
                self.session = self._factory()

    def commit(self) -> None:
        # The trail is written last, so the chain lock is held only for the commit itself.
        self.session.flush()
        self.audit.write_pending(generic=self._write, actor_id=self.actor_id)
        live.announce(self.session)
        self.session.commit()

    def rollback(self) -> None:
        live.forget(self.session)
        self.audit.forget()
        self.session.rollback()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _integrity_message(exc: IntegrityError) -> str:
    text = _first_line(exc).lower()
    if "unique" in text or "duplicate" in text:
        return f"That would duplicate something that already exists ({_first_line(exc)})."
    if "foreign key" in text:
        return f"That refers to something that does not exist ({_first_line(exc)})."
    return f"The database refused the change: {_first_line(exc)}"


class SqlUnitOfWorkFactory:
    """Opens units of work on one engine; writes take the write lock at BEGIN on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(writer(engine), expire_on_commit=False)
        track_writes(self._read)
        track_writes(self._write)

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._write if write else self._read, write=write)
