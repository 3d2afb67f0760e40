"""Queues sorted by Assignment group and Assigned to read names naturally ("Group 9" before
"Group 80", "Resolver 99" before "Resolver 100"), as by Caller, page after keyset page, on
both databases; renames keep the order in step."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from deskapp.domain.enums import OPEN_STATES, Role
from deskapp.domain.people import Group, User
from deskapp.domain.text import natural_sort_key
from deskapp.persistence.database import Database
from deskapp.services.dto import IncidentRow
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.people_admin import PeopleAdminService
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey, cursor_after
from tests.conftest import FakeClock

GROUPS = ("Group 80", "group 14", "Group 10", "Group 9", "Group 2")
"""Created (and given incidents) in this order, so that ids run against the natural one."""
PEOPLE = ("Resolver 234", "Resolver 100", "Resolver 99", "resolver 9")

QUEUES = {
    "all": QueueFilter(),
    "open": QueueFilter.open_incidents(),  # SQLite walks the names' index for this one
    "filtered": QueueFilter(states=OPEN_STATES, priorities=(1, 2, 3, 4, 5)),
}


@dataclass(frozen=True)
class Desk:
    groups: dict[str, int]
    people: dict[str, int]
    incidents: list[int]


@pytest.fixture
def desk(database: Database, service: IncidentService, clock: FakeClock) -> Desk:
    with database.uow_factory(write=True) as uow:
        people = {name: uow.users.add(User(0, name.replace(" ", "").lower(), name, "",
                                           Role.AGENT)).id for name in PEOPLE}
        groups = {name: uow.groups.add(Group(0, name), list(people.values())).id
                  for name in GROUPS}
        uow.commit()
    caller = service.add_caller("Ola Nordmann", "", "")
    incidents = []
    for i in range(30):
        clock.advance(minutes=1)
        # Every sixth without a group; every third without an assignee.
        group = None if i % 6 == 5 else groups[GROUPS[i % 5]]
        person = None if group is None or i % 3 == 2 else people[PEOPLE[i % 4]]
        detail, _ = service.log_call(LogCallRequest(
            caller.id, f"Incident {i}", 1 + i % 3, 1 + i % 3,
            assignment_group_id=group, assignee_id=person))
        incidents.append(detail.id)
    return Desk(groups, people, incidents)


def _name(row: IncidentRow, sort: SortKey) -> str:
    return (row.group_name if sort == SortKey.GROUP else row.assignee_name) or ""


def _walk(service: IncidentService, query: QueueQuery) -> tuple[list[IncidentRow], int]:
    """Every row of the queue, a page at a time by keyset cursor; and how many pages.

    A cursor that does not match the stored order (a sort key out of step with its name)
    can page back to rows already seen: that stops the walk rather than looping.
    """
    seen: list[IncidentRow] = []
    pages = 0
    while page := service.list_queue(query):
        pages += 1
        assert not {r.id for r in page} & {r.id for r in seen}, "a page came round again"
        seen.extend(page)
        query = replace(query, after=cursor_after(page[-1], query.sort))
    return seen, pages


@pytest.mark.parametrize("queue", sorted(QUEUES))
@pytest.mark.parametrize("sort", [SortKey.GROUP, SortKey.ASSIGNEE])
def test_group_and_assignee_sort_naturally_across_keyset_pages(
        service: IncidentService, desk: Desk, sort: SortKey, queue: str) -> None:
    expected_names = {
        SortKey.GROUP: ["", "Group 2", "Group 9", "Group 10", "group 14", "Group 80"],
        SortKey.ASSIGNEE: ["", "resolver 9", "Resolver 99", "Resolver 100", "Resolver 234"],
    }[sort]
    for descending in (False, True):
        # Pages of 4 end inside one name's incidents and across from one name to the next.
        rows, pages = _walk(service, QueueQuery(QUEUES[queue], sort=sort,
                                                descending=descending, limit=4))
        assert pages > len(expected_names)
        assert sorted(r.id for r in rows) == sorted(desk.incidents)
        names = list(dict.fromkeys(_name(r, sort) for r in rows))
        assert names == (expected_names[::-1] if descending else expected_names), descending
        keys = [(natural_sort_key(_name(r, sort)), r.id) for r in rows]
        assert keys == sorted(keys, reverse=descending), descending


def test_renames_and_new_names_keep_the_order_in_step(
        database: Database, service: IncidentService, desk: Desk, admin: User,
        clock: FakeClock) -> None:
    """Every path that writes a group's or a person's name writes its sort key too."""
    people = PeopleAdminService(database.uow_factory, admin.id, None, clock,
                                PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    group = next(g for g in people.groups() if g.id == desk.groups["Group 80"])
    people.update_group(group.id, group.version, name="Group 3", description="",
                        lead_id=None)
    person = next(u for u in people.users() if u.id == desk.people["Resolver 234"])
    people.update_user(person.id, person.version, full_name="Resolver 1", email="",
                       role=Role.AGENT)
    newcomer = people.create_group("Group 11")
    agent = people.create_user("r5", "Resolver 5", "", Role.AGENT, "a long enough password",
                               [newcomer])
    service.log_call(LogCallRequest(service.add_caller("Kari", "", "").id, "New", 2, 2,
                                    assignment_group_id=newcomer, assignee_id=agent))

    groups, _ = _walk(service, QueueQuery(QueueFilter(), sort=SortKey.GROUP, descending=False,
                                          limit=4))
    assert list(dict.fromkeys(_name(r, SortKey.GROUP) for r in groups)) == [
        "", "Group 2", "Group 3", "Group 9", "Group 10", "Group 11", "group 14"]
    assignees, _ = _walk(service, QueueQuery(QueueFilter.open_incidents(),
                                             sort=SortKey.ASSIGNEE, descending=True, limit=4))
    assert list(dict.fromkeys(_name(r, SortKey.ASSIGNEE) for r in assignees)) == [
        "Resolver 100", "Resolver 99", "resolver 9", "Resolver 5", "Resolver 1", ""]
    with database.engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT name, sort_key FROM assignment_groups UNION ALL "
            "SELECT full_name, sort_key FROM users")).all()
    assert [name for name, key in stored if key != natural_sort_key(name)] == []
