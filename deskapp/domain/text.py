"""Rules every stored text shares, whatever its field."""

from __future__ import annotations

import re
import unicodedata

from deskapp.domain.errors import ValidationError


def refuse_nul(value: str, what: str, field: str | None = None) -> None:
    """Raise ValidationError if ``value`` holds a NUL character.

    PostgreSQL cannot store NUL in text and SQLite would keep it; refusing it here, with one
    message, makes both databases keep the same texts (pasted binary is the usual source).
    """
    if "\x00" in value:
        raise ValidationError(f"{what} contains a NUL character (\\0), which cannot be "
                              "stored; remove it and try again.", field=field)


_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*")


def is_email(text: str) -> bool:
    """Whether ``text`` reads as one email address: one "@", something on each side, no
    spaces, the domain not starting with a dot ("root@localhost" is fine)."""
    return bool(_EMAIL.fullmatch(text)) and not text.endswith(".")


FSI = "\u2068"
"""FIRST STRONG ISOLATE: starts a run laid out in its own direction."""
PDI = "\u2069"
"""POP DIRECTIONAL ISOLATE: ends it."""


def isolate(name: str) -> str:
    """``name`` wrapped as a bidirectional isolate, to put into a sentence.

    A name in Arabic or Hebrew at the start of a message would otherwise make the whole
    line right-to-left (".Zoë is deactivated"); isolated, the name keeps its own direction
    and the sentence around it stays left-to-right.
    """
    return f"{FSI}{name}{PDI}"


NUMBER_WIDTH = 20
"""Digits a number is padded to in a natural sort key: every 64-bit integer fits."""
_DIGITS = re.compile(r"\d+")


def _padded(match: re.Match[str]) -> str:
    # Any script's decimal digits count by value ("٢" is 2), written as ASCII digits so that
    # numbers from every script interleave; leading zeros go so "007" sorts as 7.
    digits = "".join(str(unicodedata.decimal(c)) for c in match.group()).lstrip("0")
    return digits.zfill(NUMBER_WIDTH)


_BASE_LETTERS = str.maketrans({"ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ŧ": "t",
                               "\u0131": "i", "æ": "ae", "œ": "oe", "þ": "th"})
"""Letters that carry their mark in their shape, so Unicode does not decompose them."""


def _without_marks(text: str) -> str:
    # Compatibility decomposition splits "É" into "E" and its accent, "①" into "1" and a
    # full-width letter into its plain one; the marks then go.
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(
        _BASE_LETTERS)


def natural_sort_key(text: str) -> str:
    """A text whose plain code-point order is the order people read ``text`` in.

    Case-folded, trimmed and without accents ("Émile" files under E, "Ørjan" under O, as a
    phone book does it whatever the language), with every run of digits left-padded with
    zeros to ``NUMBER_WIDTH``: "Caller 2" sorts before "Caller 10", "caller 9" before
    "Caller 10". A plain string, so a database stores and indexes it and compares it byte by
    byte (UTF-8 keeps code-point order) exactly as Python compares it: keyset paging in SQL
    and sorting in Python agree. Numbers longer than ``NUMBER_WIDTH`` digits sort by their
    digits.

    Changing this function changes stored keys: a migration must compute them again.
    """
    return _DIGITS.sub(_padded, _without_marks(text.strip().casefold()))


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """"1 incident", "2 incidents", "1,234 callers": a count with its noun in the right
    number (``plural`` when adding an "s" will not do), never "incident(s)"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
