"""The priority matrix as data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import (
    DEFAULT_PRIORITIES,
    Level,
    PriorityMatrix,
    default_matrix,
)


@pytest.mark.parametrize(
    ("impact", "urgency", "code"),
    [(1, 1, "P1"), (1, 2, "P2"), (1, 3, "P3"), (2, 1, "P2"), (2, 2, "P3"), (2, 3, "P4"),
     (3, 1, "P3"), (3, 2, "P4"), (3, 3, "P5")],
)
def test_default_itil_matrix(impact: int, urgency: int, code: str) -> None:
    assert default_matrix().priority_for(impact, urgency).code == code


def test_default_targets() -> None:
    targets = {p.code: (p.response_minutes, p.resolution_minutes) for p in DEFAULT_PRIORITIES}
    assert targets == {"P1": (15, 240), "P2": (30, 480), "P3": (120, 1440),
                       "P4": (480, 4320), "P5": (1440, 10080)}


def test_unknown_levels_are_refused() -> None:
    with pytest.raises(ValidationError, match="not levels"):
        default_matrix().priority_for(4, 1)


def test_a_five_by_five_matrix_works() -> None:
    levels = tuple(Level(v, f"L{v}") for v in range(1, 6))
    cells = {(i, u): min(5, max(1, (i + u) // 2)) for i in range(1, 6) for u in range(1, 6)}
    matrix = PriorityMatrix(levels, levels, cells, DEFAULT_PRIORITIES)
    assert matrix.priority_for(5, 5).code == "P5"
    assert matrix.priority_for(1, 1).code == "P1"


def test_every_cell_must_hold_a_priority() -> None:
    levels = (Level(1, "High"), Level(2, "Low"))
    with pytest.raises(ValidationError, match="impact 2 x urgency 2"):
        PriorityMatrix(levels, levels, {(1, 1): 1, (1, 2): 2, (2, 1): 2}, DEFAULT_PRIORITIES)


def test_cells_must_name_defined_priorities() -> None:
    levels = (Level(1, "High"), Level(2, "Low"))
    cells = {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 9}
    with pytest.raises(ValidationError, match="not defined"):
        PriorityMatrix(levels, levels, cells, DEFAULT_PRIORITIES)


def test_size_limits() -> None:
    one = (Level(1, "Only"),)
    with pytest.raises(ValidationError, match="2 to 5"):
        PriorityMatrix(one, one, {(1, 1): 1}, DEFAULT_PRIORITIES)


def test_a_code_or_name_used_twice_cannot_be_saved_but_still_loads() -> None:
    levels = (Level(1, "High"), Level(2, "Low"))
    cells = {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 3}
    p1, p2, p3 = DEFAULT_PRIORITIES[:3]
    # Built (as a stored version is when read back), but refused for saving.
    twice = PriorityMatrix(levels, levels, cells, (p1, replace(p2, code="p1 "), p3))
    with pytest.raises(ValidationError,
                       match=r'Priorities 1 \(Critical\) and 2 \(High\) have the same code, '
                             r'"P1"'):
        twice.validate()
    named = PriorityMatrix(levels, levels, cells, (p1, p2, replace(p3, name="high")))
    with pytest.raises(ValidationError, match=r'2 \(P2\) and 3 \(P3\) have the same name'):
        named.validate()
    same_level = PriorityMatrix((Level(1, "High"), Level(2, " high")), levels, cells,
                                DEFAULT_PRIORITIES)
    with pytest.raises(ValidationError, match='Two impact levels are named "High"'):
        same_level.validate()
    PriorityMatrix(levels, levels, cells, DEFAULT_PRIORITIES).validate()


def test_targets_are_checked_before_saving() -> None:
    levels = (Level(1, "High"), Level(2, "Low"))
    cells = {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 3}
    p1, p2, p3 = DEFAULT_PRIORITIES[:3]
    for bad, message in ((replace(p2, response_minutes=-30), "response target must be from 1"),
                         (replace(p2, resolution_minutes=20), r"resolution target \(20 min\)")):
        with pytest.raises(ValidationError, match=f"P2: the {message}"):
            PriorityMatrix(levels, levels, cells, (p1, bad, p3)).validate()
