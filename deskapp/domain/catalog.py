"""The catalogue: categories, services and configuration items, and the rules for their names.

Nothing in the catalogue is deleted once incidents may point at it: it is deactivated, so
that history keeps its names while new incidents can no longer choose it.
"""

from __future__ import annotations

from enum import StrEnum

from deskapp.domain.errors import ValidationError
from deskapp.domain.text import refuse_nul

MAX_CATEGORY_NAME = 120
MAX_SERVICE_NAME = 160
MAX_CI_NAME = 160
MAX_CATALOG_DESCRIPTION = 400


class CiClass(StrEnum):
    """What kind of thing a configuration item is."""

    SERVER = "server"
    APPLICATION = "application"
    DATABASE = "database"
    NETWORK = "network"
    WORKSTATION = "workstation"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The class as people read it."""
        return self.value.capitalize()


def catalog_name(value: str, what: str, limit: int) -> str:
    """``value`` stripped and with its inner whitespace folded, or ValidationError.

    ``what`` is the kind of row as a capitalised singular noun ("Category", "Service",
    "Configuration item"): the messages are built from it ("A category needs a name.",
    "Category names are at most 120 characters long; …").
    """
    noun = what[0].lower() + what[1:]
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(f"A {noun} needs a name.", field="name")
    refuse_nul(name, f"The name of a {noun}", "name")
    if len(name) > limit:
        raise ValidationError(f"{what} names are at most {limit} characters long; "
                              f"this one has {len(name)}.", field="name")
    return name


def catalog_description(value: str) -> str:
    """A description stripped, or ValidationError when too long."""
    text = (value or "").strip()
    refuse_nul(text, "The description", "description")
    if len(text) > MAX_CATALOG_DESCRIPTION:
        raise ValidationError(f"Descriptions are at most {MAX_CATALOG_DESCRIPTION} characters "
                              f"long; this one has {len(text)}.", field="description")
    return text


def ci_class(value: str) -> CiClass:
    """The class named ``value`` (any case), or ValidationError listing the classes."""
    try:
        return CiClass(value.strip().casefold())
    except ValueError:
        raise ValidationError(
            f"'{value}' is not a configuration item class; the classes are "
            f"{', '.join(c.value for c in CiClass)}.", field="ci_class") from None

