"""Rules every stored text shares, whatever its field."""

from __future__ import annotations

from deskapp.domain.errors import ValidationError


def refuse_nul(value: str, what: str, field: str | None = None) -> None:
    """Raise ValidationError if ``value`` holds a NUL character.

    PostgreSQL cannot store NUL in text and SQLite would keep it; refusing it here, with one
    message, makes both databases keep the same texts (pasted binary is the usual source).
    """
    if "\x00" in value:
        raise ValidationError(f"{what} contains a NUL character (\\0), which cannot be "
                              "stored; remove it and try again.", field=field)


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
