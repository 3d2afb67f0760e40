"""What the email intake needs from storage and from the mailbox; adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from deskapp.domain.people import Caller
from deskapp.services.intake.mail_parsing import Attachment


class Outcome(StrEnum):
    """What the intake did with a message."""

    CREATED = "created"
    """A new incident."""
    COMMENTED = "commented"
    """A caller comment on the incident its subject names."""
    IGNORED = "ignored"
    """Not mail from a person (auto-reply, bounce, loop), or mail that could not be taken in."""
    DUPLICATE = "duplicate"
    """Dealt with before (read again after a crash); nothing new was written."""


@dataclass(frozen=True)
class MessageRecord:
    """The row kept for every message dealt with, keyed by its Message-ID."""

    message_id: str
    received_at: datetime
    sender: str
    subject: str
    outcome: Outcome
    reason: str = ""
    incident_id: int | None = None


@dataclass(frozen=True)
class AttachmentView:
    """An attachment kept with an incident, without its bytes."""

    id: int
    incident_id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class EmailIntakeRepository(Protocol):
    """The messages the intake has dealt with, their attachments, and callers to review."""

    def is_known(self, message_id: str) -> bool:
        """Whether a message with this Message-ID was dealt with already."""
        ...

    def record(self, message: MessageRecord) -> int:
        """Remember a message (unique by Message-ID); returns its row id."""
        ...

    def outcome(self, message_id: str) -> MessageRecord | None:
        """What was done with a message, or None if it was never seen."""
        ...

    def add_attachment(self, incident_id: int, message_row_id: int,
                       attachment: Attachment) -> int:
        """Keep an attachment's bytes with the incident; returns its id."""
        ...

    def attachments(self, incident_id: int) -> list[AttachmentView]:
        """The incident's attachments, in the order they arrived."""
        ...

    def attachment_content(self, attachment_id: int) -> bytes:
        """An attachment's bytes; NotFoundError if there is none."""
        ...

    def caller_by_email(self, address: str) -> Caller | None:
        """The oldest caller with this email address (compared case-insensitively)."""
        ...

    def flag_for_review(self, caller_id: int) -> None:
        """Mark a caller as made from an unknown sender, for someone to check."""
        ...

    def callers_for_review(self) -> list[Caller]:
        """The callers still flagged for review, oldest first."""
        ...

    def clear_review(self, caller_id: int) -> bool:
        """Take the review flag off a caller; False if it was not flagged (any more)."""
        ...

    def first_incidents(self, caller_ids: list[int]) -> dict[int, tuple[str, str]]:
        """Each caller's first incident (by number) as (number, short description)."""
        ...


@dataclass(frozen=True)
class MailboxMessage:
    """A message waiting in the mailbox: the server's handle for it and its raw bytes."""

    uid: str
    raw: bytes


class Mailbox(Protocol):
    """A mailbox the intake reads; IMAP in production."""

    def unprocessed(self) -> list[MailboxMessage]:
        """The messages not yet marked processed, oldest first."""
        ...

    def mark_processed(self, uid: str) -> None:
        """Mark a message processed on the server, so it is not read again."""
        ...
