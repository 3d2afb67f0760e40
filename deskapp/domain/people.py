"""The people of the desk: agents and their groups, and the callers they serve."""

from __future__ import annotations

from dataclasses import dataclass

from deskapp.domain.enums import Role


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
