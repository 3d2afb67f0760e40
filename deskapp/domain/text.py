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
