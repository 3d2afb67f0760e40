"""Logging for the GUI: a rotating file in the user's log directory, passwords kept out.

``configure_logging`` sends every record at INFO and above to ``deskapp.log`` (1 MB, five old
files kept) in the log directory from the settings, and warnings to stderr as before. Every
line goes through ``redact`` first, so a database URL such as
``postgresql://alice:secret@host/db`` is written ``postgresql://alice:***@host/db``, and a
libpq ``password=...`` or a ``PGPASSWORD=...`` is written ``password=***``, whether it sits
in a message, an argument or a traceback.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

LOG_FILE_NAME = "deskapp.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-8s %(threadName)s %(name)s: %(message)s"

_URL_PASSWORD = re.compile(r"(?P<user>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*):(?P<secret>[^\s@/]*)@",
                           re.IGNORECASE)
_KEY_PASSWORD = re.compile(r"(?P<key>\b(?:password|passwd|pgpassword)\s*[=:]\s*)"
                           r"(?P<quote>['\"]?)(?P<secret>[^\s'\",;&]+)(?P=quote)",
                           re.IGNORECASE)
_MARK = "_deskapp_handler"
"""Set on the handlers configure_logging adds, so that calling it again replaces them."""


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after set-up)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def redact(text: str) -> str:
    """``text`` with any password in a URL or a ``password=`` setting replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\g<user>:***@", text)
    return _KEY_PASSWORD.sub(r"\g<key>\g<quote>***\g<quote>", text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, never holds a password."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_file_path(log_dir: Path) -> Path:
    """Where ``configure_logging`` writes, for messages that point users to the log."""
    return log_dir / LOG_FILE_NAME


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path | None:
    """Log to ``log_dir/deskapp.log`` (rotating) and warnings to stderr.

    Calling it again replaces the handlers it added before (tests, a second start in one
    process), leaving other handlers alone.

    Returns:
        The log file, or None when the directory cannot be written: then the log goes to
        stderr only, and the app still starts.
    """
    stop_logging()
    root = logging.getLogger()
    formatter = RedactingFormatter(FORMAT)
    console = _StderrHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(formatter)
    setattr(console, _MARK, True)
    root.addHandler(console)
    root.setLevel(min(level, root.level) if root.level != logging.NOTSET else level)

    target = log_file_path(log_dir)
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("Cannot write the log file %s: %s", target, exc)
        return None
    file_handler.setLevel(level)
    file_handler.setFormatter(formatter)
    setattr(file_handler, _MARK, True)
    root.addHandler(file_handler)
    return target


def stop_logging() -> None:
    """Remove (and close) the handlers ``configure_logging`` added; others stay."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()
