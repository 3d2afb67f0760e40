"""Reference data the GUI shows alongside incidents: the priorities of the current matrix."""

from __future__ import annotations

from dataclasses import dataclass

from deskapp.services.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class PriorityView:
    """A priority as the current matrix defines it: its name, colour and SLA targets."""

    rank: int
    code: str
    name: str
    colour: str
    """A CSS-style colour such as ``#d32f2f``."""
    response_minutes: int
    resolution_minutes: int
    business_hours: bool

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"


class ReferenceService:
    """Read-only look-ups of reference data; any signed-in user may read them."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def priorities(self) -> list[PriorityView]:
        """The priorities of the current matrix, most urgent first."""
        with self._uow() as uow:
            matrix = uow.matrix.current()
        return [
            PriorityView(p.rank, p.code, p.name, p.colour, p.response_minutes,
                         p.resolution_minutes, p.business_hours)
            for p in sorted(matrix.priorities, key=lambda p: p.rank)
        ]
