"""Email intake against a real IMAP server (a private Dovecot on loopback), on both databases.

Messages are delivered with IMAP APPEND and read back by the production IMAP adapter over TLS.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from pypdf import PdfReader

from deskapp.domain.enums import Channel, HoldReason, State
from deskapp.domain.people import Caller, User
from deskapp.intake.imap_mailbox import ImapMailbox, MailboxUnavailableError
from deskapp.persistence.database import Database
from deskapp.services.incidents import IncidentService
from deskapp.services.intake.email_intake import (
    INTAKE_USERNAME,
    EmailIntakeService,
    ensure_intake_user,
)
from deskapp.services.intake.email_ports import MailboxMessage, Outcome
from deskapp.services.report_data import PeriodFilters, ReportService
from tests.conftest import FakeClock, table_count
from tests.support.dovecot import (
    PASSWORD,
    DovecotServer,
    dovecot_for_tests,
)


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[DovecotServer]:
    """A private Dovecot for this module; CI must have it, elsewhere it may be missing."""
    yield from dovecot_for_tests()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotServer:
    """The private Dovecot with an empty INBOX."""
    dovecot_server.empty()
    return dovecot_server


@pytest.fixture
def intake_user(database: Database) -> User:
    return ensure_intake_user(database.uow_factory)


@pytest.fixture
def intake(database: Database, intake_user: User, clock: FakeClock) -> EmailIntakeService:
    return EmailIntakeService(database.uow_factory, intake_user.id, clock)


@pytest.fixture
def known_caller(database: Database) -> Caller:
    with database.uow_factory(write=True) as uow:
        caller = uow.callers.add(Caller(0, "Ada Lovelace", "Ada.Lovelace@example.com"))
        uow.commit()
    return caller


def mail(subject: str, body: str = "", *, sender: str = "Ada Lovelace <ada.lovelace@example.com>",
         html: str | None = None, headers: dict[str, str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "servicedesk@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(FakeClock().now)
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    return message


def poll(intake: EmailIntakeService, server: DovecotServer) -> list[tuple[Outcome, str | None]]:
    with ImapMailbox(server.settings(), PASSWORD) as mailbox:
        return [(r.outcome, r.incident_number) for r in intake.poll(mailbox)]


def test_a_new_message_becomes_an_email_incident_of_the_known_caller(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, intake_user: User) -> None:
    dovecot.deliver(mail("Printer on floor 3 jams", "It jams on every page.\n\nAda").as_bytes())

    assert poll(intake, dovecot) == [(Outcome.CREATED, "INC0000001")]

    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
        assert uow.email_intake.callers_for_review() == []
    assert incident.channel == Channel.EMAIL
    assert incident.caller_id == known_caller.id  # matched whatever the address's case
    assert incident.short_description == "Printer on floor 3 jams"
    assert incident.description == "It jams on every page.\n\nAda"
    assert (incident.impact, incident.urgency, incident.priority) == (2, 2, 3)  # the matrix's
    assert incident.opened_by_id == intake_user.id
    assert intake_user.username == INTAKE_USERNAME
    assert dovecot.unseen_count() == 0 and dovecot.message_count() == 1
    # Nothing left to do: the next poll reads nothing.
    assert poll(intake, dovecot) == []


def test_a_reply_naming_the_incident_is_a_caller_comment_and_ends_the_wait_for_the_caller(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, service: IncidentService, clock: FakeClock) -> None:
    dovecot.deliver(mail("VPN drops every hour", "Since Monday.").as_bytes())
    poll(intake, dovecot)
    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
    assert incident.id is not None
    detail, _ = service.transition(incident.id, incident.version, State.IN_PROGRESS)
    detail, _ = service.transition(incident.id, detail.version, State.ON_HOLD,
                                   hold_reason=HoldReason.AWAITING_CALLER)
    clock.advance(hours=2)

    dovecot.deliver(mail("RE: [INC0000001] VPN drops every hour",
                         "It happened again at 14:02, log attached.").as_bytes())
    assert poll(intake, dovecot) == [(Outcome.COMMENTED, "INC0000001")]

    with database.uow_factory() as uow:
        after = uow.incidents.get(incident.id)
        activity = uow.incidents.activity(incident.id)
    assert table_count(database, "incidents") == 1
    assert after.state == State.IN_PROGRESS and after.hold_reason is None
    assert after.sla_paused_seconds == 2 * 3600  # the clock stood still while it waited
    comments = [a for a in activity if a.kind == "comment"]
    assert len(comments) == 1
    assert comments[0].body is not None
    assert "ada.lovelace@example.com" in comments[0].body
    assert "It happened again at 14:02" in comments[0].body


def test_a_reply_while_waiting_for_a_vendor_only_adds_the_comment(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, service: IncidentService) -> None:
    dovecot.deliver(mail("Laptop screen flickers", "Since the update.").as_bytes())
    poll(intake, dovecot)
    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
    assert incident.id is not None
    held, _ = service.transition(incident.id, incident.version, State.ON_HOLD,
                                 hold_reason=HoldReason.AWAITING_VENDOR)

    dovecot.deliver(mail("Re: INC0000001 Laptop screen flickers", "Any news?").as_bytes())
    assert poll(intake, dovecot) == [(Outcome.COMMENTED, "INC0000001")]
    with database.uow_factory() as uow:
        after = uow.incidents.get(incident.id)
    assert after.state == State.ON_HOLD and after.hold_reason == HoldReason.AWAITING_VENDOR
    assert after.first_response_at == held.first_response_at


def test_a_reply_to_a_new_incident_is_no_response_from_the_desk(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, clock: FakeClock) -> None:
    dovecot.deliver(mail("Badge does not open door 4", "Since this morning.").as_bytes())
    poll(intake, dovecot)
    clock.advance(hours=3)  # past the P3 response target
    dovecot.deliver(mail("Re: INC0000001", "Door 5 too.").as_bytes())

    assert poll(intake, dovecot) == [(Outcome.COMMENTED, "INC0000001")]

    with database.uow_factory() as uow:
        after = uow.incidents.get_by_number("INC0000001")
    assert after.state == State.NEW
    assert after.first_response_at is None and not after.response_breached


def test_a_reply_to_a_closed_incident_opens_a_new_one_that_names_it(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, service: IncidentService) -> None:
    from deskapp.domain.enums import ResolutionCode

    dovecot.deliver(mail("Mouse broken", "Left button.").as_bytes())
    poll(intake, dovecot)
    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
    assert incident.id is not None
    done, _ = service.transition(incident.id, incident.version, State.RESOLVED,
                                 resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                 resolution_notes="New mouse.")
    service.transition(incident.id, done.version, State.CLOSED)

    dovecot.deliver(mail("Re: INC0000001 Mouse broken", "The new one broke too.").as_bytes())
    assert poll(intake, dovecot) == [(Outcome.CREATED, "INC0000002")]

    with database.uow_factory() as uow:
        follow_up = uow.incidents.get_by_number("INC0000002")
    assert "INC0000001" in follow_up.description
    assert "The new one broke too." in follow_up.description


def test_attachments_are_kept_with_the_incident_and_shown_in_its_activity(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    message = mail("Error when saving invoices", "Screenshot and log attached.")
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename="error report.pdf")
    message.add_attachment("line 1\nline 2\n", filename="../../etc/app.log")
    log = b"line 1\r\nline 2\r\n"  # text travels in mail's canonical CRLF form
    dovecot.deliver(message.as_bytes())

    assert poll(intake, dovecot) == [(Outcome.CREATED, "INC0000001")]

    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
        assert incident.id is not None
        kept = uow.email_intake.attachments(incident.id)
        contents = [uow.email_intake.attachment_content(a.id) for a in kept]
        activity = uow.incidents.activity(incident.id)
    assert [(a.filename, a.content_type, a.size) for a in kept] == [
        ("error report.pdf", "application/pdf", len(pdf)),
        ("app.log", "text/plain", len(log)),
    ]
    assert contents == [pdf, log]
    assert incident.description == "Screenshot and log attached."
    notes = [a.body or "" for a in activity if a.kind == "work_note"]
    assert any("error report.pdf (application/pdf, 10.0 KiB)" in n and "app.log" in n
               for n in notes)


def test_an_html_only_message_becomes_readable_text(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller) -> None:
    html = ("<html><head><style>p {color: red}</style><script>alert(1)</script></head>"
            "<body><p>Hello desk,</p><p>the <b>shared drive</b> S: is gone &amp; "
            "nobody can work.</p><ul><li>Floor 2</li><li>Floor 3</li></ul></body></html>")
    dovecot.deliver(mail("Shared drive missing", html=html).as_bytes())

    poll(intake, dovecot)

    with database.uow_factory() as uow:
        incident = uow.incidents.get_by_number("INC0000001")
    assert incident.description == ("Hello desk,\n\nthe shared drive S: is gone & nobody can "
                                     "work.\n\n- Floor 2\n- Floor 3")


def test_an_unknown_sender_becomes_a_caller_flagged_for_review(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller) -> None:
    dovecot.deliver(mail("Cannot log in", "Locked out.",
                         sender='"Grace Hopper" <grace@navy.example>').as_bytes())
    dovecot.deliver(mail("Still locked out", "Please help.",
                         sender="grace@navy.example").as_bytes())

    assert [o for o, _ in poll(intake, dovecot)] == [Outcome.CREATED, Outcome.CREATED]

    with database.uow_factory() as uow:
        flagged = uow.email_intake.callers_for_review()
        first = uow.incidents.get_by_number("INC0000001")
        second = uow.incidents.get_by_number("INC0000002")
        assert first.id is not None
        notes = [a.body or "" for a in uow.incidents.activity(first.id)]
    assert [(c.name, c.email) for c in flagged] == [("Grace Hopper", "grace@navy.example")]
    # The second message finds the caller the first one made.
    assert first.caller_id == second.caller_id == flagged[0].id
    assert any("flagged for review" in n for n in notes)


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"X-Autoreply": "yes"},
    {"Precedence": "bulk"},
    {"Precedence": "auto_reply"},
    {"X-Deskapp": "notification"},
], ids=["auto-submitted", "x-autoreply", "precedence-bulk", "precedence-auto-reply",
        "own-header-loop"])
def test_auto_replies_and_loops_are_not_incidents_but_are_marked_processed(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, headers: dict[str, str]) -> None:
    message = mail("Out of office: Printer on floor 3 jams", "I am away until Monday.",
                   headers=headers)
    dovecot.deliver(message.as_bytes())

    assert poll(intake, dovecot) == [(Outcome.IGNORED, None)]

    assert table_count(database, "incidents") == 0
    assert dovecot.unseen_count() == 0
    with database.uow_factory() as uow:
        kept = uow.email_intake.outcome(str(message["Message-ID"]))
    assert kept is not None and kept.outcome == Outcome.IGNORED and kept.reason


def test_a_mail_loop_by_received_headers_is_ignored(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database) -> None:
    message = mail("Re: Re: Re: Re: ticket", "loop")
    for hop in range(30):
        message["Received"] = f"from relay{hop}.example.com by relay{hop + 1}.example.com"
    dovecot.deliver(message.as_bytes())

    assert poll(intake, dovecot) == [(Outcome.IGNORED, None)]
    assert table_count(database, "incidents") == 0


def test_a_bounce_is_not_an_incident(dovecot: DovecotServer, intake: EmailIntakeService,
                                     database: Database) -> None:
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.com>"
    bounce["To"] = "servicedesk@example.com"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = make_msgid(domain="mx.example.com")
    bounce.set_content("This is the mail system. Your message could not be delivered.")
    status = EmailMessage()
    status.set_content("Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; "
                       "nobody@example.com\nAction: failed\nStatus: 5.1.1\n")
    bounce.make_mixed()
    bounce.attach(status)
    bounce.replace_header("Content-Type", "multipart/report")
    bounce.set_param("report-type", "delivery-status")
    raw = bounce.as_bytes()
    assert b"multipart/report" in raw
    dovecot.deliver(raw)
    # The same bounce from a server that sends a plain message, known by its sender.
    dovecot.deliver(mail("Delivery failure", "Could not deliver.",
                         sender="MAILER-DAEMON@relay.example.com").as_bytes())

    results = poll(intake, dovecot)

    assert results == [(Outcome.IGNORED, None), (Outcome.IGNORED, None)]
    assert table_count(database, "incidents") == 0
    assert dovecot.unseen_count() == 0


class PowerCutMailbox:
    """The real mailbox, except that the process dies before the first message is marked."""

    def __init__(self, mailbox: ImapMailbox) -> None:
        self._mailbox = mailbox

    def unprocessed(self) -> list[MailboxMessage]:
        return self._mailbox.unprocessed()

    def mark_processed(self, uid: str) -> None:
        raise SystemExit("power cut between the commit and the \\Seen flag")


def test_a_crash_between_commit_and_flag_neither_loses_nor_duplicates_the_message(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller) -> None:
    dovecot.deliver(mail("Outlook crashes on start", "Every time.").as_bytes())

    with ImapMailbox(dovecot.settings(), PASSWORD) as mailbox, pytest.raises(SystemExit):
        intake.poll(PowerCutMailbox(mailbox))
    # Committed, but still unseen on the server.
    assert table_count(database, "incidents") == 1
    assert dovecot.unseen_count() == 1

    assert poll(intake, dovecot) == [(Outcome.DUPLICATE, "INC0000001")]

    assert table_count(database, "incidents") == 1
    assert table_count(database, "email_messages") == 1
    assert dovecot.unseen_count() == 0


def test_a_failure_before_the_commit_leaves_the_message_unseen_for_the_next_poll(
        dovecot: DovecotServer, database: Database, intake_user: User,
        known_caller: Caller, clock: FakeClock) -> None:
    dovecot.deliver(mail("Keyboard missing keys", "The E key.").as_bytes())

    def broken_clock() -> object:
        raise ConnectionResetError("the database went away")

    broken = EmailIntakeService(database.uow_factory, intake_user.id, broken_clock)  # type: ignore[arg-type]
    with ImapMailbox(dovecot.settings(), PASSWORD) as mailbox, \
            pytest.raises(ConnectionResetError):
        broken.poll(mailbox)
    assert table_count(database, "incidents") == 0
    assert dovecot.unseen_count() == 1

    healthy = EmailIntakeService(database.uow_factory, intake_user.id, clock)
    assert poll(healthy, dovecot) == [(Outcome.CREATED, "INC0000001")]


def test_starttls_reads_the_same_mailbox(dovecot: DovecotServer, intake: EmailIntakeService,
                                         database: Database, known_caller: Caller) -> None:
    dovecot.deliver(mail("Monitor dead", "No picture.").as_bytes())

    with ImapMailbox(dovecot.settings(starttls=True), PASSWORD) as mailbox:
        results = intake.poll(mailbox)

    assert [r.outcome for r in results] == [Outcome.CREATED]
    assert dovecot.unseen_count() == 0


def test_a_wrong_password_is_a_clear_error(dovecot: DovecotServer) -> None:
    with pytest.raises(MailboxUnavailableError, match="refused the login of desk"):
        ImapMailbox(dovecot.settings(), "not-the-password").connect()


def test_an_untrusted_certificate_is_refused(dovecot: DovecotServer) -> None:
    settings = dovecot.settings()
    untrusted = type(settings)(host=settings.host, user=settings.user, port=settings.port,
                               timeout=5)
    with pytest.raises(MailboxUnavailableError, match="with TLS"):
        ImapMailbox(untrusted, PASSWORD).connect()


def test_the_period_report_counts_email_incidents_by_channel(
        dovecot: DovecotServer, intake: EmailIntakeService, database: Database,
        known_caller: Caller, service: IncidentService, admin: User, clock: FakeClock) -> None:
    from deskapp.reports.period_pdf import period_pdf
    from deskapp.services.incidents import LogCallRequest

    dovecot.deliver(mail("Email one", "a").as_bytes())
    dovecot.deliver(mail("Email two", "b").as_bytes())
    poll(intake, dovecot)
    service.log_call(LogCallRequest(known_caller.id, "Phone one", 2, 2))

    reports = ReportService(database.uow_factory, admin.id, clock)
    day = clock.now.date()
    report = reports.period_report(PeriodFilters(day, day))

    counts = {c.key: c.count for c in report.figures.by_channel}
    assert counts == {"email": 2, "phone": 1}
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(
        period_pdf(report))).pages)
    assert "Email" in text and day >= date(2026, 1, 1)
