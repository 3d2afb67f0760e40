"""Saved filter conditions and the queue service, over fake repositories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from deskapp.domain.enums import OPEN_STATES, State
from deskapp.domain.errors import NotFoundError, ValidationError
from deskapp.domain.people import Group
from deskapp.services.queries import SlaCondition
from deskapp.services.queues import (
    BUILT_IN_QUEUES,
    FilterConditions,
    QueueKind,
    QueueService,
)
from tests.unit.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def test_conditions_survive_json_and_store_only_what_is_set() -> None:
    conditions = FilterConditions(
        states=(State.NEW, State.ON_HOLD), priorities=(1, 2), group_ids=(3,),
        assigned_to_me=True, category_ids=(7,), service_ids=(9,), opened_within_days=30,
        opened_from=date(2026, 1, 1), opened_to=date(2026, 1, 31),
        sla=SlaCondition.ATTENTION, major_only=True, text="vpn")
    data = conditions.to_json()
    assert data["states"] == ["new", "on_hold"]
    assert data["opened_from"] == "2026-01-01"
    assert "unassigned" not in data  # a default is not stored
    assert FilterConditions.from_json(data) == conditions
    assert FilterConditions.from_json({"future_option": 1}) == FilterConditions()


@pytest.mark.parametrize("data", [{"states": ["lost"]}, {"opened_from": "yesterday"},
                                  {"opened_within_days": 0}, {"priorities": ["x"]}])
def test_unreadable_conditions_are_a_validation_error(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FilterConditions.from_json(data)


def test_relative_conditions_resolve_at_the_moment_asked() -> None:
    conditions = FilterConditions(assigned_to_me=True, assignee_ids=(4,),
                                  opened_within_days=7, resolved_within_days=1)
    resolved = conditions.resolve(user_id=2, group_ids=[], now=NOW, zone=UTC)
    assert resolved.assignee_ids == (4, 2)
    assert resolved.opened_after == NOW - timedelta(days=7)
    assert resolved.resolved_after == NOW - timedelta(days=1)
    assert not resolved.empty


def test_dates_are_whole_days_in_the_users_zone() -> None:
    conditions = FilterConditions(opened_from=date(2026, 3, 1), opened_to=date(2026, 3, 1))
    resolved = conditions.resolve(user_id=1, group_ids=[], now=NOW, zone=CET)
    assert resolved.opened_after == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert resolved.opened_before == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="after"):
        FilterConditions(opened_from=date(2026, 3, 2), opened_to=date(2026, 3, 1))


def test_my_groups_for_someone_in_none_matches_nothing() -> None:
    conditions = FilterConditions(in_my_groups=True, unassigned=True)
    assert conditions.resolve(user_id=1, group_ids=[], now=NOW, zone=UTC).empty
    mine = conditions.resolve(user_id=1, group_ids=[5, 6], now=NOW, zone=UTC)
    assert (mine.group_ids, mine.empty) == ((5, 6), False)
    narrowed = FilterConditions(in_my_groups=True, group_ids=(6, 8)).resolve(
        user_id=1, group_ids=[5, 6], now=NOW, zone=UTC)
    assert narrowed.group_ids == (6,)


def test_built_in_queues_cover_the_desks_daily_views() -> None:
    titles = [q.title for q in BUILT_IN_QUEUES]
    assert titles == ["My open incidents", "Unassigned in my groups", "All open",
                      "SLA breached or at risk", "On hold", "Major incidents", "Escalated",
                      "Resolved in the last 7 days", "All incidents"]
    assert len({q.key for q in BUILT_IN_QUEUES}) == len(BUILT_IN_QUEUES)
    all_open = BUILT_IN_QUEUES[2].conditions
    assert all_open.states == OPEN_STATES


def make_service(user_id: int = 1) -> tuple[QueueService, FakeUnitOfWorkFactory]:
    factory = FakeUnitOfWorkFactory()
    return QueueService(factory, user_id, lambda: NOW, UTC), factory


def test_saved_filters_are_listed_after_the_built_in_ones_and_kept_per_user() -> None:
    service, factory = make_service()
    saved = service.save_filter("  Network   P1s ", FilterConditions(priorities=(1,)))
    assert saved.title == "Network P1s" and saved.kind == QueueKind.SAVED
    other_user = QueueService(factory, 2, lambda: NOW, UTC)
    other_user.save_filter("Network P1s", FilterConditions())  # same name, other owner
    queues = service.queues()
    assert queues[:len(BUILT_IN_QUEUES)] == list(BUILT_IN_QUEUES)
    assert [(q.title, q.conditions) for q in queues[len(BUILT_IN_QUEUES):]] == [
        ("Network P1s", FilterConditions(priorities=(1,)))]
    renamed = service.save_filter("Core P1s", FilterConditions(priorities=(1, 2)),
                                  saved.saved_filter_id)
    assert renamed.key == saved.key
    assert [q.title for q in service.queues()][-1] == "Core P1s"
    with pytest.raises(NotFoundError):
        other_user.delete_filter(saved.saved_filter_id or 0)
    service.delete_filter(saved.saved_filter_id or 0)
    assert service.queues() == list(BUILT_IN_QUEUES)


@pytest.mark.parametrize(("name", "message"), [("   ", "name"), ("x" * 81, "at most")])
def test_a_filter_needs_a_short_name(name: str, message: str) -> None:
    service, _ = make_service()
    with pytest.raises(ValidationError, match=message) as caught:
        service.save_filter(name, FilterConditions())
    assert caught.value.field == "name"


def test_two_filters_of_one_user_cannot_share_a_name() -> None:
    service, factory = make_service()
    first = service.save_filter("Mine", FilterConditions())
    second = service.save_filter("Others", FilterConditions())
    with pytest.raises(ValidationError, match="already"):
        service.save_filter("mine", FilterConditions())
    with pytest.raises(ValidationError, match="already"):
        service.save_filter("MINE", FilterConditions(), second.saved_filter_id)
    service.save_filter("Mine", FilterConditions(text="x"), first.saved_filter_id)
    assert factory.store.commits == 3


def test_resolve_looks_up_the_users_groups() -> None:
    service, factory = make_service(user_id=3)
    with factory(write=True) as uow:
        uow.groups.add(Group(0, "Network"), [3])
        uow.groups.add(Group(0, "Desk"), [4])
        uow.commit()
    resolved = service.resolve(BUILT_IN_QUEUES[1])
    assert resolved.group_ids == (1,) and resolved.unassigned


def test_calendar_days_follow_summer_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfo

    from deskapp.services.queues import local_zone

    monkeypatch.setenv("TZ", "Europe/Oslo")
    oslo = local_zone()
    assert oslo == ZoneInfo("Europe/Oslo")
    conditions = FilterConditions(opened_from=date(2026, 7, 1), opened_to=date(2026, 12, 1))
    resolved = conditions.resolve(user_id=1, group_ids=[], now=NOW, zone=oslo)
    assert resolved.opened_after == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # CEST
    assert resolved.opened_before == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # CET


def test_choices_are_in_reading_order() -> None:
    from deskapp.services.queues import Choice, natural_key

    labels = ["Group 10", "group 2", "Group 1", "Apps", "Resolver 100", "Resolver 11"]
    ordered = sorted((Choice(i, label) for i, label in enumerate(labels)), key=natural_key)
    assert [c.label for c in ordered] == ["Apps", "Group 1", "group 2", "Group 10",
                                          "Resolver 11", "Resolver 100"]
