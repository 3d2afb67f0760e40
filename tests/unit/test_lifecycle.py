"""Every allowed and every forbidden state transition."""

from __future__ import annotations

import itertools

import pytest

from deskapp.domain.enums import State
from deskapp.domain.errors import TransitionError
from deskapp.domain.lifecycle import ALLOWED, can_transition, check_transition

EXPECTED_ALLOWED = {
    (State.NEW, State.IN_PROGRESS), (State.NEW, State.ON_HOLD), (State.NEW, State.RESOLVED),
    (State.NEW, State.CANCELLED),
    (State.IN_PROGRESS, State.ON_HOLD), (State.IN_PROGRESS, State.RESOLVED),
    (State.IN_PROGRESS, State.CANCELLED),
    (State.ON_HOLD, State.IN_PROGRESS), (State.ON_HOLD, State.RESOLVED),
    (State.ON_HOLD, State.CANCELLED),
    (State.RESOLVED, State.IN_PROGRESS), (State.RESOLVED, State.CLOSED),
}
ALL_PAIRS = list(itertools.product(State, State))


def test_the_table_is_exactly_the_itil_lifecycle() -> None:
    table = {(a, b) for a, targets in ALLOWED.items() for b in targets}
    assert table == EXPECTED_ALLOWED


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED_ALLOWED))
def test_allowed(current: State, target: State) -> None:
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"),
                         [p for p in ALL_PAIRS if p not in EXPECTED_ALLOWED])
def test_forbidden_raises_a_clear_error(current: State, target: State) -> None:
    assert not can_transition(current, target)
    with pytest.raises(TransitionError) as error:
        check_transition(current, target)
    message = str(error.value)
    assert current.label in message or current.label.lower() in message
    assert target.label in message or current == target


def test_closed_and_cancelled_are_final() -> None:
    for final in (State.CLOSED, State.CANCELLED):
        assert not ALLOWED[final]
        with pytest.raises(TransitionError, match="final"):
            check_transition(final, State.IN_PROGRESS)
