"""Email becomes incidents: a new message opens one, a reply comments on the one it names.

The order of work is what keeps mail safe: a message is written to the database (incident,
attachments and its Message-ID, in one transaction) before the mailbox is told it was
processed. A crash in between leaves the message unmarked; the next poll reads it again,
finds its Message-ID and only marks it. So no message is lost and none makes two incidents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from deskapp.domain.enums import Channel, HoldReason, Role, State
from deskapp.domain.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DeskappError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from deskapp.domain.incident import MAX_DESCRIPTION, MAX_NOTE, MAX_SHORT_DESCRIPTION, Incident
from deskapp.domain.people import Caller, User
from deskapp.domain.priority import PriorityMatrix
from deskapp.services.incidents import utc_now
from deskapp.services.intake.email_ports import Mailbox, MessageRecord, Outcome
from deskapp.services.intake.mail_parsing import Attachment, ParsedMail, parse_mail
from deskapp.services.permissions import Permission, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

INTAKE_USERNAME = "email-intake"
"""The system user the intake acts as unless another is configured."""

_CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class IntakeResult:
    """What became of one message.

    Attributes:
        message_id: Its Message-ID.
        outcome: Created, commented, ignored or duplicate.
        incident_number: The incident it made or commented on, if any.
        detail: Why it was ignored, or a short description of what was done.
    """

    message_id: str
    outcome: Outcome
    incident_number: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f" {self.incident_number}" if self.incident_number else ""
        return f"{self.message_id}: {self.outcome.value}{where}" + (
            f" ({self.detail})" if self.detail else "")


def ensure_intake_user(uow_factory: UnitOfWorkFactory,
                       username: str = INTAKE_USERNAME) -> User:
    """The system user the intake acts as, created as an agent on first use."""
    with uow_factory(write=True) as uow:
        try:
            return uow.users.by_username(username)
        except NotFoundError:
            user = uow.users.add(User(0, username, "Email intake", "", Role.AGENT))
            uow.commit()
            log.info("created the system user '%s' for the email intake", username)
            return user


def middle_level(levels: tuple[int, ...]) -> int:
    """The middle of a matrix's levels (Medium on the usual 3x3): mail says nothing of it."""
    ordered = sorted(levels)
    return ordered[len(ordered) // 2]


class EmailIntakeService:
    """Turns raw messages into incidents and caller comments, as the intake's system user.

    Args:
        uow_factory: Opens units of work.
        actor_id: The user the incidents are logged by (see ensure_intake_user).
        clock: The current time.
        impact: Impact of new incidents; default the matrix's middle level.
        urgency: Urgency of new incidents; default the matrix's middle level.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int, clock: Clock = utc_now,
                 impact: int | None = None, urgency: int | None = None) -> None:
        # Not acting_as: the intake may run on a person's PostgreSQL login (the GUI's "run
        # the intake in this window"), whose audit rows may name only that person.
        self._uow = uow_factory
        self._actor_id = actor_id
        self._clock = clock
        self._impact = impact
        self._urgency = urgency

    def check(self) -> None:
        """Refuse to start with a user who may not log incidents or levels the matrix lacks.

        Checked once before polling: otherwise every message would be refused in turn.
        """
        with self._uow() as uow:
            require(uow.users.get(self._actor_id), Permission.LOG)
            matrix = uow.matrix.current()
        for value, levels, what in ((self._impact, matrix.impact_levels, "impact"),
                                    (self._urgency, matrix.urgency_levels, "urgency")):
            allowed = [level.value for level in levels]
            if value is not None and value not in allowed:
                raise ValidationError(
                    f"There is no {what} {value} in the priority matrix; it has "
                    f"{', '.join(map(str, allowed))}.", field=what)

    def poll(self, mailbox: Mailbox, should_stop: Callable[[], bool] = lambda: False,
             report: Callable[[IntakeResult], None] | None = None) -> list[IntakeResult]:
        """Take in every unprocessed message, marking each processed once it is committed.

        Args:
            mailbox: Where the messages wait.
            should_stop: Asked before each message; True ends the poll early.
            report: Told each result as soon as its message is marked.

        A database or mailbox outage ends the poll by its exception and leaves the message
        in hand unmarked, to be read again next time.
        """
        results = []
        for item in mailbox.unprocessed():
            if should_stop():
                break
            result = self.take_in(item.raw)
            # Ignored mail leaves no trace in any incident: the log says what became of it.
            log.log(logging.INFO if result.outcome == Outcome.IGNORED else logging.DEBUG,
                    "%s", result)
            # Only now, with the incident committed, may the server forget the message.
            mailbox.mark_processed(item.uid)
            results.append(result)
            if report is not None:
                report(result)
        return results

    def take_in(self, raw: bytes) -> IntakeResult:
        """Record one message: an incident, a comment, or a note that it was ignored.

        Writing is all or nothing and idempotent by Message-ID.
        """
        mail = parse_mail(raw)
        for attempt in range(_CONFLICT_RETRIES):
            try:
                return self._take_in(mail)
            except ConflictError:
                # An agent saved the incident meanwhile: read it again and add the comment.
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
            except (DatabaseUnavailableError, PermissionDeniedError):
                raise  # the desk's trouble, not the message's: stop, read it again later
            except DeskappError as exc:
                return self._refused(mail, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _take_in(self, mail: ParsedMail) -> IntakeResult:
        now = self._clock()
        with self._uow(write=True) as uow:
            known = uow.email_intake.outcome(mail.message_id)
            if known is not None:
                number = (uow.incidents.get(known.incident_id).number
                          if known.incident_id is not None else None)
                return IntakeResult(mail.message_id, Outcome.DUPLICATE, number,
                                    f"already {known.outcome.value}")
            require(uow.users.get(self._actor_id), Permission.LOG)
            reason = mail.skip_reason or ("" if mail.sender_address else "no sender address")
            if reason:
                uow.email_intake.record(self._record(mail, now, Outcome.IGNORED, reason))
                uow.commit()
                return IntakeResult(mail.message_id, Outcome.IGNORED, None, reason)
            target = self._replied_incident(uow, mail)
            if target is not None:
                return self._comment(uow, mail, target, now)
            return self._open(uow, mail, now)

    def _replied_incident(self, uow: UnitOfWork, mail: ParsedMail) -> Incident | None:
        if mail.incident_number is None:
            return None
        try:
            incident = uow.incidents.get_by_number(mail.incident_number)
        except NotFoundError:
            return None
        # A closed incident takes no more notes: the reply is a new incident then.
        return None if incident.state == State.CLOSED else incident

    def _comment(self, uow: UnitOfWork, mail: ParsedMail, incident: Incident,
                 now: datetime) -> IntakeResult:
        assert incident.id is not None
        version = incident.version
        # The caller speaking is no response from the desk: keep the response clock as it is.
        first_response, breached = incident.first_response_at, incident.response_breached
        incident.add_comment(_comment_body(mail), self._actor_id, now)
        incident.first_response_at, incident.response_breached = first_response, breached
        detail = "caller comment"
        if (incident.state == State.ON_HOLD
                and incident.hold_reason == HoldReason.AWAITING_CALLER):
            incident.transition(State.IN_PROGRESS, self._actor_id, now)
            detail += "; back In Progress"
        incident.version = uow.incidents.save(incident, version)
        row = uow.email_intake.record(
            self._record(mail, now, Outcome.COMMENTED, detail, incident.id))
        for attachment in mail.attachments:
            uow.email_intake.add_attachment(incident.id, row, attachment)
        uow.commit()
        return IntakeResult(mail.message_id, Outcome.COMMENTED, incident.number, detail)

    def _open(self, uow: UnitOfWork, mail: ParsedMail, now: datetime) -> IntakeResult:
        caller, created = self._caller(uow, mail)
        matrix = uow.matrix.current()
        description = mail.body
        if mail.incident_number is not None:
            description = (f"(The subject names {mail.incident_number}, which is closed or "
                           f"unknown.)\n\n{description}")
        incident = Incident.open(
            caller_id=caller.id,
            channel=Channel.EMAIL,
            short_description=_clip(mail.subject or "(no subject)", MAX_SHORT_DESCRIPTION),
            description=_clip(description, MAX_DESCRIPTION),
            impact=self._impact or _middle(matrix, impact=True),
            urgency=self._urgency or _middle(matrix, impact=False),
            matrix=matrix,
            opened_at=now,
            opened_by_id=self._actor_id,
        )
        if len(description) > MAX_DESCRIPTION:
            incident.add_work_note("The whole message, longer than the description holds:\n\n"
                                   + _clip(mail.body, MAX_NOTE - 100), self._actor_id, now)
        if mail.attachments:
            incident.add_work_note(_attachment_note(mail.attachments), self._actor_id, now)
        if created:
            incident.add_work_note(
                f"The sender {mail.sender_address} was not a known caller: a caller was "
                f"created and flagged for review.", self._actor_id, now)
        uow.incidents.add(incident)
        assert incident.id is not None
        row = uow.email_intake.record(self._record(mail, now, Outcome.CREATED, "", incident.id))
        for attachment in mail.attachments:
            uow.email_intake.add_attachment(incident.id, row, attachment)
        uow.commit()
        detail = "new caller, flagged for review" if created else ""
        return IntakeResult(mail.message_id, Outcome.CREATED, incident.number, detail)

    def _caller(self, uow: UnitOfWork, mail: ParsedMail) -> tuple[Caller, bool]:
        caller = uow.email_intake.caller_by_email(mail.sender_address)
        if caller is not None:
            return caller, False
        caller = uow.callers.add(Caller(0, _clip(mail.sender_name, 120),
                                        mail.sender_address[:200]))
        uow.email_intake.flag_for_review(caller.id)
        return caller, True

    def _refused(self, mail: ParsedMail, exc: DeskappError) -> IntakeResult:
        # Mail the desk cannot take in (say, a sender address too long to store) would
        # otherwise come back on every poll; it is remembered as ignored, and stays on the
        # server for a person to read.
        reason = f"could not be taken in: {exc}"
        with self._uow(write=True) as uow:
            if uow.email_intake.is_known(mail.message_id):
                # Another intake recorded it first (the unique Message-ID refused ours).
                return IntakeResult(mail.message_id, Outcome.DUPLICATE, None,
                                    "recorded meanwhile by another intake")
            uow.email_intake.record(self._record(mail, self._clock(), Outcome.IGNORED, reason))
            uow.commit()
        log.warning("%s: %s", mail.message_id, reason)
        return IntakeResult(mail.message_id, Outcome.IGNORED, None, reason)

    @staticmethod
    def _record(mail: ParsedMail, now: datetime, outcome: Outcome, reason: str,
                incident_id: int | None = None) -> MessageRecord:
        return MessageRecord(mail.message_id, now, mail.sender_address, mail.subject, outcome,
                             reason, incident_id)


def _middle(matrix: PriorityMatrix, *, impact: bool) -> int:
    levels = matrix.impact_levels if impact else matrix.urgency_levels
    return middle_level(tuple(level.value for level in levels))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def _comment_body(mail: ParsedMail) -> str:
    body = mail.body or "(no text)"
    text = f"Email from {mail.sender_name} <{mail.sender_address}>:\n\n{body}"
    if mail.attachments:
        text += "\n\n" + _attachment_note(mail.attachments)
    return _clip(text, MAX_NOTE)


def _attachment_note(attachments: tuple[Attachment, ...]) -> str:
    lines = [f"- {a.filename} ({a.content_type}, {_size(a.size)})" for a in attachments]
    return "Attachments received by email, kept with the incident:\n" + "\n".join(lines)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
