"""Reading mail: bodies, attachments, senders, ids, and what is not mail from a person."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from deskapp.services.intake.mail_parsing import (
    html_to_text,
    incident_number_in,
    parse_mail,
)


def build(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ada <ada@example.com>")
    message["Subject"] = headers.pop("Subject", "Help")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Body text.")
    return message


def test_plain_text_is_preferred_to_its_html_alternative() -> None:
    message = build(Message_ID="<a@example.com>")
    message.add_alternative("<p>HTML <b>version</b></p>", subtype="html")

    mail = parse_mail(message.as_bytes())

    assert mail.body == "Body text."
    assert mail.attachments == ()  # the HTML alternative is not a file
    assert (mail.sender_address, mail.sender_name) == ("ada@example.com", "Ada")
    assert mail.message_id == "<a@example.com>"
    assert mail.skip_reason is None


def test_a_message_without_message_id_gets_a_stable_one_from_its_bytes() -> None:
    raw = build().as_bytes()
    first, again = parse_mail(raw), parse_mail(raw)
    other = parse_mail(build(Subject="Other").as_bytes())

    assert first.message_id == again.message_id != other.message_id
    assert first.message_id.endswith("@no-message-id.deskapp.invalid>")


def test_a_very_long_message_id_is_hashed_to_fit_its_column() -> None:
    mail = parse_mail(build(Message_ID="<" + "x" * 600 + "@example.com>").as_bytes())
    assert mail.message_id.startswith("sha256:") and len(mail.message_id) == 71


def test_the_date_is_read_in_utc_and_a_bad_one_is_none() -> None:
    good = parse_mail(build(Date="Mon, 02 Mar 2026 10:30:00 +0100").as_bytes())
    bad = parse_mail(build().as_bytes().replace(b"Subject:", b"Date: someday\nSubject:"))
    assert good.sent_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert bad.sent_at is None


@pytest.mark.parametrize(("subject", "number"), [
    ("Re: [INC0001234] Printer", "INC0001234"),
    ("AW: inc0000042 still broken", "INC0000042"),
    ("Printer INC12 jams", None),
    ("XINC0001234", None),
])
def test_the_incident_number_in_a_subject(subject: str, number: str | None) -> None:
    assert incident_number_in(subject) == number


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto_Submitted": "auto-replied"}, "auto-reply"),
    ({"Auto_Submitted": "auto-generated; owner-email=x@example.com"}, "auto-reply"),
    ({"X_Autorespond": "1"}, "auto-reply"),
    ({"Precedence": "list"}, "auto-reply"),
    ({"Precedence": "junk"}, "auto-reply"),
    ({"X_Deskapp": "INC0000001"}, "mail loop"),
    ({"From": "postmaster@mx.example.com"}, "bounce"),
])
def test_what_is_not_mail_from_a_person(headers: dict[str, str], reason: str) -> None:
    mail = parse_mail(build(**headers).as_bytes())
    assert mail.skip_reason is not None and mail.skip_reason.startswith(reason)


@pytest.mark.parametrize("headers", [{"Auto_Submitted": "no"}, {"Precedence": "first-class"}])
def test_headers_that_say_a_person_wrote_it(headers: dict[str, str]) -> None:
    assert parse_mail(build(**headers).as_bytes()).skip_reason is None


def test_attachment_names_are_plain_names_and_unnamed_parts_get_one() -> None:
    message = build()
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream",
                           filename="..\\..\\windows\\evil.exe")
    message.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png")

    mail = parse_mail(message.as_bytes())

    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("evil.exe", "application/octet-stream", b"MZ\x90\x00"),
        ("attachment-2.png", "image/png", b"\x89PNG\r\n"),
    ]


def test_a_message_without_sender_or_body_does_not_break_the_reader() -> None:
    mail = parse_mail(b"Subject: nothing\r\n\r\n")
    assert (mail.sender_address, mail.body, mail.attachments) == ("", "", ())


def test_html_to_text_keeps_paragraphs_and_lists_and_drops_scripts() -> None:
    html = ("<html><head><title>t</title><style>x{}</style></head><body>"
            "<h1>Outage</h1><div>Line&nbsp;one<br>Line two</div>"
            "<script>var a = 1;</script><ol><li>first</li><li>second</li></ol></body></html>")
    assert html_to_text(html) == "Outage\n\nLine one\nLine two\n\n- first\n- second"
