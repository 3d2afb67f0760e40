"""The priority matrix: impact x urgency -> priority, and what each priority promises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from deskapp.domain.business_hours import BusinessCalendar
from deskapp.domain.errors import ValidationError

RECOMPUTED_NOTE = "Priority and SLA due times recomputed from priority matrix version"
"""How the work note begins that a matrix save writes on each open incident it recomputes
(the version and the move follow). The reports read it back as the moment the incident's
due times were set again: the writer (services.matrix_admin) and the reader
(services.report_data) share this one sentence."""

MIN_TARGET_MINUTES = 1
MAX_TARGET_MINUTES = 365 * 24 * 60
"""A response or resolution target is from one minute to a year."""


@dataclass(frozen=True)
class Level:
    """One impact or urgency level: 1 is the highest."""

    value: int
    name: str


@dataclass(frozen=True)
class PriorityDefinition:
    """A priority with its colour and SLA targets."""

    rank: int
    code: str
    name: str
    colour: str
    response_minutes: int
    resolution_minutes: int
    business_hours: bool = False
    calendar: BusinessCalendar | None = field(default=None, compare=False, repr=False)
    """The calendar its business-hours targets count in; the matrix binds it (see
    PriorityMatrix.calendar). None counts 24x7 whatever ``business_hours`` says."""

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"

    def check_targets(self) -> None:
        """ValidationError unless both targets are from 1 minute to 365 days and the
        resolution target is not shorter than the response target."""
        for minutes, what in ((self.response_minutes, "response"),
                              (self.resolution_minutes, "resolution")):
            if not MIN_TARGET_MINUTES <= minutes <= MAX_TARGET_MINUTES:
                raise ValidationError(
                    f"{self.code}: the {what} target must be from {MIN_TARGET_MINUTES} minute "
                    f"to {MAX_TARGET_MINUTES} minutes (365 days), not {minutes}.",
                    field=f"{what}_minutes")
        if self.resolution_minutes < self.response_minutes:
            raise ValidationError(
                f"{self.code}: the resolution target ({self.resolution_minutes} min) must not "
                f"be shorter than the response target ({self.response_minutes} min).",
                field="resolution_minutes")

    @property
    def response_target(self) -> timedelta:
        return timedelta(minutes=self.response_minutes)

    @property
    def resolution_target(self) -> timedelta:
        return timedelta(minutes=self.resolution_minutes)


@dataclass(frozen=True)
class PriorityMatrix:
    """Impact levels x urgency levels, each cell naming a priority rank."""

    impact_levels: tuple[Level, ...]
    urgency_levels: tuple[Level, ...]
    cells: Mapping[tuple[int, int], int]
    priorities: tuple[PriorityDefinition, ...]
    version: int = 1
    calendar: BusinessCalendar | None = field(default=None, compare=False)
    """Business hours for the priorities whose targets run in them; None: 24x7 for all."""
    _by_rank: dict[int, PriorityDefinition] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Each definition carries the calendar, so that sla.response_due(opened_at, priority)
        # counts business hours without every caller having to pass the calendar along.
        object.__setattr__(self, "_by_rank", {
            p.rank: replace(p, calendar=self.calendar) if p.business_hours else p
            for p in self.priorities
        })
        self._validate_structure()

    def validate(self) -> None:
        """Raise ValidationError unless the matrix may be saved: every cell holds a known
        priority, no two priorities share a code or a name, no two levels a name, and every
        priority's targets are in range (see ``PriorityDefinition.check_targets``).

        Building a matrix checks only its structure, so that a version saved before names
        were checked still loads (and can be looked at and replaced); saving checks all.
        """
        self._validate_structure()
        self._validate_names()
        for p in sorted(self.priorities, key=lambda p: p.rank):
            p.check_targets()

    def _validate_names(self) -> None:
        for levels, what in ((self.impact_levels, "impact"), (self.urgency_levels, "urgency")):
            if any(not lvl.name.strip() for lvl in levels):
                raise ValidationError(f"Every {what} level needs a name.", field=what)
            twice = _first_duplicate([lvl.name for lvl in levels])
            if twice is not None:
                raise ValidationError(
                    f"Two {what} levels are named \"{twice}\": give each level its own "
                    "name.", field=what)
        by_rank = sorted(self.priorities, key=lambda p: p.rank)
        for what, other in (("code", "name"), ("name", "code")):
            twice = _first_duplicate([getattr(p, what) for p in by_rank])
            if twice is not None:
                which = [f"{p.rank} ({getattr(p, other)})" for p in by_rank
                         if _same(getattr(p, what), twice)]
                listed = ", ".join(which[:-1]) + " and " + which[-1]
                raise ValidationError(
                    f"Priorities {listed} have the same {what}, \"{twice}\": each priority "
                    f"needs its own {what}.", field="priorities")

    def _validate_structure(self) -> None:
        for levels, what in ((self.impact_levels, "impact"), (self.urgency_levels, "urgency")):
            if not 2 <= len(levels) <= 5:
                raise ValidationError(f"The matrix needs 2 to 5 {what} levels, not {len(levels)}.")
            values = [lvl.value for lvl in levels]
            if len(set(values)) != len(values):
                raise ValidationError(f"Two {what} levels share the value {values}.")
        missing = [
            f"impact {i.value} x urgency {u.value}"
            for i in self.impact_levels
            for u in self.urgency_levels
            if (i.value, u.value) not in self.cells
        ]
        if missing:
            raise ValidationError("These cells have no priority: " + ", ".join(missing) + ".")
        unknown = sorted({rank for rank in self.cells.values() if rank not in self._by_rank})
        if unknown:
            raise ValidationError(f"The matrix names priorities that are not defined: {unknown}.")

    def priority_for(self, impact: int, urgency: int) -> PriorityDefinition:
        """The priority the matrix gives to this impact and urgency."""
        try:
            rank = self.cells[(impact, urgency)]
        except KeyError:
            raise ValidationError(
                f"Impact {impact} and urgency {urgency} are not levels of the priority matrix.",
                field="impact",
            ) from None
        return self._by_rank[rank]

    def definition(self, rank: int) -> PriorityDefinition:
        """The definition of the priority with this rank."""
        try:
            return self._by_rank[rank]
        except KeyError:
            raise ValidationError(f"There is no priority {rank}.") from None

    def impact_name(self, value: int) -> str:
        return next((lvl.name for lvl in self.impact_levels if lvl.value == value), str(value))

    def urgency_name(self, value: int) -> str:
        return next((lvl.name for lvl in self.urgency_levels if lvl.value == value), str(value))


DEFAULT_PRIORITIES: tuple[PriorityDefinition, ...] = (
    PriorityDefinition(1, "P1", "Critical", "#d32f2f", 15, 4 * 60),
    PriorityDefinition(2, "P2", "High", "#f57c00", 30, 8 * 60),
    PriorityDefinition(3, "P3", "Moderate", "#fbc02d", 2 * 60, 24 * 60),
    PriorityDefinition(4, "P4", "Low", "#388e3c", 8 * 60, 72 * 60),
    PriorityDefinition(5, "P5", "Planning", "#1976d2", 24 * 60, 7 * 24 * 60),
)


def format_minutes(minutes: int) -> str:
    """15 min, 4 h, 3 d 2 h: what a target reads as."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "0 min"


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _first_duplicate(values: list[str]) -> str | None:
    """The first value that appears again, ignoring case and outer spaces (as first
    written)."""
    seen: dict[str, str] = {}
    for value in values:
        key = value.strip().casefold()
        if key in seen:
            return seen[key]
        seen[key] = value.strip()
    return None


def default_matrix() -> PriorityMatrix:
    """ITIL's usual 3x3 matrix with its five priorities."""
    levels = (Level(1, "High"), Level(2, "Medium"), Level(3, "Low"))
    cells = {
        (1, 1): 1, (1, 2): 2, (1, 3): 3,
        (2, 1): 2, (2, 2): 3, (2, 3): 4,
        (3, 1): 3, (3, 2): 4, (3, 3): 5,
    }  # fmt: skip
    return PriorityMatrix(levels, levels, cells, DEFAULT_PRIORITIES)
