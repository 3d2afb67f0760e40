"""The email intake's messages, attachments and callers to review, in SQL."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from deskapp.domain.errors import NotFoundError
from deskapp.domain.people import Caller
from deskapp.persistence.repositories import name_key
from deskapp.persistence.tables import (
    CallerRecord,
    EmailAttachmentRecord,
    EmailMessageRecord,
    IncidentRecord,
)
from deskapp.services.intake.email_ports import AttachmentView, MessageRecord, Outcome
from deskapp.services.intake.mail_parsing import Attachment


def _caller(r: CallerRecord) -> Caller:
    return Caller(r.id, r.name, r.email, r.phone, r.department, r.location, r.vip, r.active,
                  r.merged_into_id, r.version)


class SqlEmailIntakeRepository:
    """EmailIntakeRepository in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def is_known(self, message_id: str) -> bool:
        return self._session.execute(
            select(EmailMessageRecord.id).where(EmailMessageRecord.message_id == message_id)
        ).first() is not None

    def record(self, message: MessageRecord) -> int:
        record = EmailMessageRecord(
            message_id=message.message_id, received_at=message.received_at,
            sender=message.sender[:200], subject=message.subject[:500],
            outcome=message.outcome.value, reason=message.reason[:200],
            incident_id=message.incident_id)
        self._session.add(record)
        self._session.flush()
        return record.id

    def outcome(self, message_id: str) -> MessageRecord | None:
        r = self._session.execute(
            select(EmailMessageRecord).where(EmailMessageRecord.message_id == message_id)
        ).scalar_one_or_none()
        if r is None:
            return None
        return MessageRecord(r.message_id, r.received_at, r.sender, r.subject,
                             Outcome(r.outcome), r.reason, r.incident_id)

    def add_attachment(self, incident_id: int, message_row_id: int,
                       attachment: Attachment) -> int:
        record = EmailAttachmentRecord(
            incident_id=incident_id, email_message_id=message_row_id,
            filename=attachment.filename, content_type=attachment.content_type,
            size=attachment.size, sha256=attachment.sha256, content=attachment.data)
        self._session.add(record)
        self._session.flush()
        return record.id

    def attachments(self, incident_id: int) -> list[AttachmentView]:
        rows = self._session.execute(
            select(EmailAttachmentRecord.id, EmailAttachmentRecord.incident_id,
                   EmailAttachmentRecord.filename, EmailAttachmentRecord.content_type,
                   EmailAttachmentRecord.size, EmailAttachmentRecord.sha256)
            .where(EmailAttachmentRecord.incident_id == incident_id)
            .order_by(EmailAttachmentRecord.id))
        return [AttachmentView(*row) for row in rows]

    def attachment_content(self, attachment_id: int) -> bytes:
        content = self._session.execute(
            select(EmailAttachmentRecord.content)
            .where(EmailAttachmentRecord.id == attachment_id)).scalar_one_or_none()
        if content is None:
            raise NotFoundError(f"There is no attachment {attachment_id}.")
        return bytes(content)

    def caller_by_email(self, address: str) -> Caller | None:
        key = name_key(address)
        if not key:
            return None
        # An active caller with the address first; else the oldest, followed to the caller
        # it was merged into (a merged duplicate's mail belongs to the survivor).
        record = self._session.execute(
            select(CallerRecord).where(CallerRecord.email_key == key)
            .order_by(CallerRecord.active.desc(), CallerRecord.id).limit(1)
        ).scalar_one_or_none()
        seen: set[int] = set()
        while record is not None and record.merged_into_id is not None \
                and record.id not in seen:
            seen.add(record.id)
            record = self._session.get(CallerRecord, record.merged_into_id)
        return _caller(record) if record is not None else None

    def flag_for_review(self, caller_id: int) -> None:
        self._session.execute(update(CallerRecord).where(CallerRecord.id == caller_id)
                              .values(needs_review=True))

    def callers_for_review(self) -> list[Caller]:
        rows = self._session.execute(
            select(CallerRecord).where(CallerRecord.needs_review.is_(True))
            .order_by(CallerRecord.id)).scalars()
        return [_caller(r) for r in rows]

    def clear_review(self, caller_id: int) -> bool:
        result = self._session.execute(
            update(CallerRecord)
            .where(CallerRecord.id == caller_id, CallerRecord.needs_review.is_(True))
            .values(needs_review=False))
        return bool(getattr(result, "rowcount", 0))

    def first_incidents(self, caller_ids: list[int]) -> dict[int, tuple[str, str]]:
        if not caller_ids:
            return {}
        first = (select(IncidentRecord.caller_id, func.min(IncidentRecord.id).label("id"))
                 .where(IncidentRecord.caller_id.in_(caller_ids))
                 .group_by(IncidentRecord.caller_id).subquery())
        rows = self._session.execute(
            select(first.c.caller_id, IncidentRecord.number, IncidentRecord.short_description)
            .join(IncidentRecord, IncidentRecord.id == first.c.id))
        return {caller_id: (number, short) for caller_id, number, short in rows}
