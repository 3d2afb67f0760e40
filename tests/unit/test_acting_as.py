"""``acting_as``: the units of work a service opens know who acts in them."""

from __future__ import annotations

from deskapp.services.ports import acting_as
from tests.unit.fakes import FakeUnitOfWorkFactory


def test_each_unit_of_work_opened_knows_the_actor_and_the_factory_is_untouched() -> None:
    factory = FakeUnitOfWorkFactory()
    as_ann = acting_as(factory, 7)
    with as_ann(write=True) as first, as_ann() as second:
        assert (first.actor_id, second.actor_id) == (7, 7)
        assert first is not second
    with factory(write=True) as plain:
        assert plain.actor_id is None
    with acting_as(as_ann, 9)() as inner:
        assert inner.actor_id == 9  # wrapping again names the new actor
