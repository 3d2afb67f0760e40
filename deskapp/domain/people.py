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
    active: bool = True
    """Inactive groups keep their incidents and history but get no new work."""


@dataclass(frozen=True)
class Caller:
    """Someone who reports incidents."""

    id: int
    name: str
    email: str = ""
    phone: str = ""
    department: str = ""
    location: str = ""
    vip: bool = False
