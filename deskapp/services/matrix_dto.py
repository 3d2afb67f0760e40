"""Plain data about priority-matrix versions and open incidents per cell, for the ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MatrixVersionInfo:
    """One saved version of the priority matrix, as the history lists it."""

    version: int
    created_at: datetime
    author: str | None
    """The author's full name; None for versions made by the system (the first one)."""
    comment: str


@dataclass(frozen=True)
class CellCount:
    """How many open incidents have this impact, urgency and current priority."""

    impact: int
    urgency: int
    priority: int
    count: int
