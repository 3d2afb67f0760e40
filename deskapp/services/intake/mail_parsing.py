"""Reading an email message: who sent it, what it says, what it carries, and whether it is
mail a person wrote at all (not an auto-reply, a bounce or a loop).

Pure standard library, no network: the mailbox hands raw RFC 5322 bytes in.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

LOOP_HEADER = "X-Deskapp"
"""Every message Deskapp itself sends carries this header; mail bearing it is never taken in."""

MAX_RECEIVED = 25
"""More Received headers than this means the message is going round in circles."""

_NUMBER = re.compile(r"\bINC\d{7,}\b", re.IGNORECASE)
_AUTO_PRECEDENCE = frozenset({"bulk", "auto_reply", "list", "junk"})
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ParsedMail:
    """What the intake needs to know of one message.

    Attributes:
        message_id: The Message-ID header, or one made from the message's bytes when it has
            none (so that reading the same message again still finds it).
        sender_address: The From address, lower case; empty if there is none.
        sender_name: The From display name, or the address's local part.
        subject: The subject, on one line.
        body: The plain-text body, or the HTML body turned into text.
        attachments: The files it carries, in order.
        sent_at: The Date header in UTC, or None if it has none that parses.
        skip_reason: Why this is not mail from a person (auto-reply, bounce, loop), or None.
        incident_number: The incident number its subject names (INC0001234), or None.
    """

    message_id: str
    sender_address: str
    sender_name: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...]
    sent_at: datetime | None
    skip_reason: str | None
    incident_number: str | None


def parse_mail(raw: bytes) -> ParsedMail:
    """Read a message from its raw bytes; never raises on malformed mail."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    address, name = _sender(message)
    subject = " ".join(str(message.get("Subject", "") or "").split())
    body_part = _body_part(message)
    return ParsedMail(
        message_id=_message_id(message, raw),
        sender_address=address,
        sender_name=name,
        subject=subject,
        body=_body_text(body_part) if body_part is not None else "",
        attachments=tuple(_attachments(message, body_part)),
        sent_at=_sent_at(message),
        skip_reason=skip_reason(message, address),
        incident_number=incident_number_in(subject),
    )


def skip_reason(message: Message, sender_address: str) -> str | None:
    """Why a message must not become an incident, or None if a person wrote it.

    Follows RFC 3834 (Auto-Submitted), the common vendor headers for vacation replies,
    RFC 3464 delivery-status reports for bounces, and loop detection by our own header and
    by the count of Received headers.
    """
    if message.get(LOOP_HEADER) is not None:
        return f"mail loop: it carries our own {LOOP_HEADER} header"
    received = len(message.get_all("Received") or [])
    if received > MAX_RECEIVED:
        return f"mail loop: {received} Received headers"
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto != "no":
        return f"auto-reply (Auto-Submitted: {auto.split(';')[0]})"
    for header in ("X-Autoreply", "X-Autorespond"):
        if message.get(header) is not None:
            return f"auto-reply ({header})"
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"auto-reply (Precedence: {precedence})"
    if message.get_content_type() == "multipart/report":
        report = str(message.get_param("report-type", "") or "").lower()
        return f"bounce (a {report or 'delivery'} report)"
    local = sender_address.partition("@")[0]
    if local in _BOUNCE_SENDERS:
        return f"bounce (from {sender_address})"
    return None


def incident_number_in(subject: str) -> str | None:
    """The incident number a subject names, upper case, or None."""
    match = _NUMBER.search(subject)
    return match.group(0).upper() if match else None


def _sender(message: Message) -> tuple[str, str]:
    raw = [str(v) for v in (message.get_all("From") or [])]
    try:
        pairs = getaddresses(raw)
    except Exception:  # malformed headers must not stop the intake
        pairs = []
    for name, address in pairs:
        address = address.strip().lower()
        if "@" in address:
            return address, " ".join(name.split()) or address.partition("@")[0]
    return "", ""


def _message_id(message: Message, raw: bytes) -> str:
    value = " ".join(str(message.get("Message-ID", "") or "").split())
    if value:
        # Longer ids are hashed so that the unique column can hold them.
        return value if len(value) <= 400 else "sha256:" + hashlib.sha256(
            value.encode()).hexdigest()
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.deskapp.invalid>"


def _sent_at(message: Message) -> datetime | None:
    value = message.get("Date")
    if not value:
        return None
    try:
        sent = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return sent.astimezone(UTC) if sent.tzinfo else sent.replace(tzinfo=UTC)


def _body_part(message: EmailMessage) -> EmailMessage | None:
    part = message.get_body(preferencelist=("plain", "html"))
    return part if isinstance(part, EmailMessage) else None


def _body_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _attachments(message: EmailMessage, body: EmailMessage | None) -> list[Attachment]:
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # the other alternative of the body, not a file
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        content_type = part.get_content_type()
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            filename = f"attachment-{len(found) + 1}{extension}"
        found.append(Attachment(_safe_filename(filename), content_type[:127], data))
    return found


def _safe_filename(name: str) -> str:
    # Only the last path component: a name like ../../x must never become a path.
    base = re.split(r"[\\/]", name)[-1].strip().replace("\x00", "")
    return (base or "attachment")[:255]


class _TextExtractor(HTMLParser):
    """HTML to readable text: block elements become line breaks, scripts and styles vanish."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "blockquote", "pre", "hr", "section",
                         "article", "header", "footer"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(" ".join(data.split(" ")) if data.strip() else " ")


def html_to_text(html: str) -> str:
    """The readable text of an HTML document."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return _tidy("".join(extractor.parts).replace("\xa0", " "))
