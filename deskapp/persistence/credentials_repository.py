"""Local accounts' password hashes and lock-out state (table user_credentials)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskapp.domain.credentials import Credential
from deskapp.persistence.tables import UserCredentialRecord


class SqlCredentialRepository:
    """CredentialRepository over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, user_id: int) -> Credential | None:
        record = self._session.get(UserCredentialRecord, user_id)
        if record is None:
            return None
        return Credential(record.user_id, record.password_hash, record.failed_attempts,
                          record.locked_until, record.changed_at, record.must_change)

    def put(self, credential: Credential) -> None:
        record = self._session.get(UserCredentialRecord, credential.user_id)
        if record is None:
            record = UserCredentialRecord(user_id=credential.user_id)
            self._session.add(record)
        record.password_hash = credential.password_hash
        record.failed_attempts = credential.failed_attempts
        record.locked_until = credential.locked_until
        record.changed_at = credential.changed_at
        record.must_change = credential.must_change
        self._session.flush()

    def count(self) -> int:
        return int(self._session.execute(
            select(func.count()).select_from(UserCredentialRecord)).scalar_one())
