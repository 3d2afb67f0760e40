"""The people of the desk: agents and their groups, and the callers they serve."""

from __future__ import annotations

from dataclasses import dataclass

from deskapp.domain.enums import Role
from deskapp.domain.errors import ValidationError
from deskapp.domain.text import is_email, refuse_nul


@dataclass(frozen=True)
class User:
    """Someone who works incidents: an agent, team lead, manager or admin."""

    id: int
    username: str
    full_name: str
    email: str
    role: Role
    active: bool = True
    away: bool = False


@dataclass(frozen=True)
class Group:
    """An assignment group; its members work the incidents assigned to it."""

    id: int
    name: str
    description: str = ""
    lead_id: int | None = None
    active: bool = True
    """Inactive groups keep their incidents and history but get no new work."""


@dataclass(frozen=True)
class Caller:
    """Someone who reports incidents.

    Attributes:
        active: False once deactivated or merged: not offered for new calls, but the caller's
            incidents keep showing it.
        merged_into_id: The caller this one was merged into (a duplicate), or None.
        version: Raised by every change; an edit states the version it read.
    """

    id: int
    name: str
    email: str = ""
    phone: str = ""
    department: str = ""
    location: str = ""
    vip: bool = False
    active: bool = True
    merged_into_id: int | None = None
    version: int = 1


def check_caller(caller: Caller) -> None:
    """Raise ValidationError, naming the field, unless the caller's details can be stored."""
    if not caller.name.strip():
        raise ValidationError("A caller needs a name.", field="name")
    for value, what, limit in ((caller.name, "name", 120), (caller.email, "email", 200),
                               (caller.phone, "phone", 40),
                               (caller.department, "department", 120),
                               (caller.location, "location", 120)):
        if len(value) > limit:
            raise ValidationError(f"The caller's {what} is longer than {limit} characters.",
                                  field=what)
        refuse_nul(value, f"The caller's {what}", what)
    if caller.email and not is_email(caller.email):
        raise ValidationError(f"'{caller.email}' is not an email address.", field="email")
    if caller.phone.strip() and not any(c.isdigit() for c in caller.phone):
        raise ValidationError(f"'{caller.phone}' is not a phone number: it has no digits.",
                              field="phone")
