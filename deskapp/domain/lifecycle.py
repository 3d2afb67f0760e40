"""The allowed state transitions, in one place."""

from __future__ import annotations

from deskapp.domain.enums import State
from deskapp.domain.errors import TransitionError

ALLOWED: dict[State, frozenset[State]] = {
    State.NEW: frozenset({State.IN_PROGRESS, State.ON_HOLD, State.RESOLVED, State.CANCELLED}),
    State.IN_PROGRESS: frozenset({State.ON_HOLD, State.RESOLVED, State.CANCELLED}),
    State.ON_HOLD: frozenset({State.IN_PROGRESS, State.RESOLVED, State.CANCELLED}),
    # Resolved -> In Progress is a reopening and is counted.
    State.RESOLVED: frozenset({State.IN_PROGRESS, State.CLOSED}),
    State.CLOSED: frozenset(),
    State.CANCELLED: frozenset(),
}


def can_transition(current: State, target: State) -> bool:
    """Whether the lifecycle allows going from ``current`` to ``target``."""
    return target in ALLOWED[current]


def check_transition(current: State, target: State) -> None:
    """Raise TransitionError unless the lifecycle allows the move."""
    if current == target:
        raise TransitionError(f"The incident is already {current.label}.")
    if not can_transition(current, target):
        if not ALLOWED[current]:
            raise TransitionError(
                f"A {current.label.lower()} incident is final and cannot become {target.label}."
            )
        allowed = ", ".join(sorted(s.label for s in ALLOWED[current]))
        raise TransitionError(
            f"An incident cannot go from {current.label} to {target.label}; "
            f"from {current.label} it can go to: {allowed}."
        )
