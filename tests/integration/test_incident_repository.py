"""The repository contract, through the services, unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from deskapp.domain.enums import ActivityKind, HoldReason, ResolutionCode, State
from deskapp.domain.errors import ConflictError, NotFoundError, ValidationError
from deskapp.domain.people import Group
from deskapp.domain.text import natural_sort_key
from deskapp.persistence.database import Database
from deskapp.services.dto import CallerView, IncidentRow
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import (
    QueueFilter,
    QueueQuery,
    SlaCondition,
    SortKey,
    cursor_after,
)
from tests.conftest import FakeClock, add_user


@pytest.fixture
def caller(service: IncidentService) -> CallerView:
    return service.add_caller("Zoë Łukasz-Müller", "zoe@example.com", "+44 20 7946 0001",
                              department="Finance", vip=True)


def log(service: IncidentService, caller: CallerView, text: str, impact: int = 2,
        urgency: int = 2, **extra: object) -> int:
    detail, _ = service.log_call(LogCallRequest(caller.id, text, impact, urgency, **extra))  # type: ignore[arg-type]
    return detail.id


def test_log_call_stores_everything(service: IncidentService, caller: CallerView,
                                    clock: FakeClock) -> None:
    detail, change = service.log_call(LogCallRequest(
        caller.id, "Outlook asks for the password again and again", 1, 2,
        description="Since this morning's update", call_seconds=95,
        call_started_at=clock.now))
    assert detail.number == "INC0000001"
    assert (detail.priority, detail.state, detail.version) == (2, State.NEW, 1)
    assert detail.opened_at == clock.now
    assert change.incident_ids == {detail.id}
    again = service.get(detail.id)
    assert again == detail
    assert service.get_by_number(" inc0000001 ") == detail
    kinds = [a.kind for a in service.activity(detail.id)]
    assert kinds == [ActivityKind.CREATED, ActivityKind.CALL]
    call = service.activity(detail.id)[1]
    assert (call.call_seconds, call.call_started_at, call.actor_name) == (
        95, clock.now, "Desk Administrator")


def test_numbers_are_sequential_and_unique(service: IncidentService,
                                           caller: CallerView) -> None:
    numbers = [service.get(log(service, caller, f"Issue {i}")).number for i in range(5)]
    assert numbers == [f"INC000000{i}" for i in range(1, 6)]


def test_stale_version_raises_conflict_naming_who(database: Database, service: IncidentService,
                                                  caller: CallerView, clock: FakeClock) -> None:
    incident_id = log(service, caller, "Printer jams")
    seen_by_both = service.get(incident_id).version
    other = add_user(database, "bob")
    bob = IncidentService(database.uow_factory, other.id, clock)
    clock.advance(minutes=3)
    bob.update(incident_id, seen_by_both, short_description="Printer jams on floor 3")
    with pytest.raises(ConflictError, match="Bob") as error:
        service.update(incident_id, seen_by_both, short_description="Printer is broken")
    assert error.value.changed_at == clock.now
    assert service.get(incident_id).short_description == "Printer jams on floor 3"


def test_lifecycle_is_persisted(service: IncidentService, caller: CallerView,
                                clock: FakeClock) -> None:
    detail = service.get(log(service, caller, "Laptop does not boot"))
    detail, _ = service.transition(detail.id, detail.version, State.IN_PROGRESS)
    clock.advance(hours=1)
    detail, _ = service.transition(detail.id, detail.version, State.ON_HOLD,
                                   hold_reason=HoldReason.AWAITING_VENDOR)
    assert service.get(detail.id).hold_reason is HoldReason.AWAITING_VENDOR
    clock.advance(hours=5)
    detail, _ = service.transition(detail.id, detail.version, State.IN_PROGRESS)
    assert detail.resolution_due_at == detail.opened_at + timedelta(hours=24 + 5)
    detail, _ = service.transition(detail.id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Replaced the SSD")
    detail, _ = service.reopen(detail.id, detail.version, "It fails again")
    stored = service.get(detail.id)
    assert (stored.state, stored.reopen_count, stored.resolved_at) == (
        State.IN_PROGRESS, 1, None)
    assert stored.first_response_at is not None


def test_reopening_clears_the_resolution_and_the_timeline_keeps_it(
        service: IncidentService, caller: CallerView, clock: FakeClock) -> None:
    detail = service.get(log(service, caller, "VPN drops every hour"))
    detail, _ = service.transition(detail.id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="New VPN profile")
    clock.advance(hours=2)
    detail, _ = service.reopen(detail.id, detail.version, "Drops again")
    stored = service.get(detail.id)
    assert (stored.resolution_code, stored.resolution_notes) == (None, "")
    withdrawn = [(a.field, a.old_value, a.new_value) for a in service.activity(detail.id)
                 if a.field in ("resolution_code", "resolution_notes")]
    assert withdrawn == [("resolution_code", None, "solved_permanently"),
                         ("resolution_code", "solved_permanently", None),
                         ("resolution_notes", "New VPN profile", None)]


def test_the_timeline_is_in_time_order_with_a_call_that_started_before_the_incident(
        service: IncidentService, caller: CallerView, clock: FakeClock) -> None:
    # The call is written after the incident it opened, but it began 15 s earlier.
    detail, _ = service.log_call(LogCallRequest(
        caller.id, "Cannot print", 2, 2, call_seconds=15,
        call_started_at=clock.now - timedelta(seconds=15)))
    service.add_work_note(detail.id, "Same second as the opening")
    timeline = service.activity(detail.id)
    assert [a.kind for a in timeline] == [ActivityKind.CALL, ActivityKind.CREATED,
                                          ActivityKind.WORK_NOTE]


def test_assignment_checks_membership(database: Database, service: IncidentService,
                                      caller: CallerView) -> None:
    alice, bob = add_user(database, "alice"), add_user(database, "bob")
    with database.uow_factory(write=True) as uow:
        network = uow.groups.add(Group(0, "Network"), [alice.id])
        uow.commit()
    detail = service.get(log(service, caller, "Wi-Fi down in building B"))
    detail, _ = service.assign(detail.id, detail.version, network.id, alice.id)
    assert (detail.assignment_group_id, detail.assignee_id) == (network.id, alice.id)
    with pytest.raises(ValidationError, match="not a member of Network"):
        service.assign(detail.id, detail.version, network.id, bob.id)
    detail, _ = service.assign(detail.id, detail.version, network.id, None)
    assert detail.reassignment_count == 1
    rows = service.list_queue(QueueQuery(QueueFilter(group_ids=(network.id,))))
    assert [r.group_name for r in rows] == ["Network"]


def test_notes_do_not_claim_a_version(service: IncidentService, caller: CallerView) -> None:
    detail = service.get(log(service, caller, "Teams calls drop"))
    service.add_work_note(detail.id, "Checked the network logs")
    service.add_comment(detail.id, "We are looking into it")
    after = service.get(detail.id)
    assert after.version == detail.version
    assert after.first_response_at is not None
    updated, _ = service.update(detail.id, detail.version, description="From home only")
    assert updated.version == detail.version + 1
    bodies = [a.body for a in service.activity(detail.id) if a.kind in ("work_note", "comment")]
    assert bodies == ["Checked the network logs", "We are looking into it"]


def test_full_text_search_over_descriptions_and_notes(service: IncidentService,
                                                      caller: CallerView) -> None:
    first = log(service, caller, "Printer on floor 3 jams", description="Paper tray broken")
    second = log(service, caller, "Printer driver missing")
    third = log(service, caller, "VPN drops", description="Café wifi")
    service.add_work_note(third, "Looks like the fuser")
    assert [r.id for r in service.search("printer")] == [second, first]
    assert [r.id for r in service.search("print")] == [second, first]  # prefix, as typed
    assert [r.id for r in service.search("tray")] == [first]
    assert [r.id for r in service.search("fuser")] == [third]
    assert [r.id for r in service.search("café")] == [third]
    number = service.get(third).number
    assert [r.id for r in service.search(number.lower())] == [third]
    assert service.search("printer AND (NOT") == []  # query syntax never leaks through
    assert service.search("   ") == []
    service.update(first, service.get(first).version, short_description="Scanner jams")
    assert [r.id for r in service.search("scanner")] == [first]
    queue = service.list_queue(QueueQuery(QueueFilter(text="printer")))
    assert [r.id for r in queue] == [second]


def test_search_finds_an_incident_by_its_callers_name_and_email(
        service: IncidentService, caller: CallerView) -> None:
    """A caller calling back is found by name, as in ServiceNow and JSM."""
    other = service.add_caller("Caller 116", "c116@example.org")
    near = service.add_caller("Caller 1160", "c1160@example.org")
    first = log(service, other, "Monitor flickers")
    mine = log(service, caller, "VPN drops")
    second = log(service, other, "Mouse dead")
    sticks = log(service, near, "Keyboard sticks")
    # The last word is a prefix, as everywhere in search: it may still be being typed.
    assert [r.id for r in service.search("Caller 116")] == [sticks, second, first]
    assert [r.id for r in service.search("zoë łukasz")] == [mine]
    assert [r.id for r in service.search("Łukasz-Müller")] == [mine]
    assert [r.id for r in service.search("c116@example")] == [second, first]
    # Not the domain: every caller of a company has it, so it would match nearly everything.
    assert service.search("example org") == []
    assert [r.id for r in service.search("caller 116 mouse")] == [second]
    words = QueueFilter(text="c116 caller")
    assert [r.id for r in service.list_queue(QueueQuery(words, sort=SortKey.NUMBER))
            ] == [second, first]
    assert service.count(words) == 2
    mixed = QueueFilter(text="c116 caller", states=(State.NEW,))
    assert [r.id for r in service.list_queue(QueueQuery(mixed))] == [second, first]
    # Giving the incident another caller moves it in the index, in the same save.
    service.update(first, service.get(first).version, caller_id=caller.id)
    assert [r.id for r in service.search("c116 caller")] == [second]
    assert [r.id for r in service.search("zoë")] == [mine, first]


def test_a_number_without_its_padding_finds_its_incident(service: IncidentService,
                                                          caller: CallerView) -> None:
    ids = [log(service, caller, f"Printer {n} jams") for n in range(1, 13)]
    eleven = ids[10]  # INC0000011
    mentions = log(service, caller, "Toner 11 empty")  # INC0000013, "11" in its words
    for typed in ("INC11", "inc 11", "0000011", "INC0000011", " 11 "):
        assert service.get_by_number(typed).id == eleven
    for typed in ("INC11", "inc0011", "0000011"):
        assert [r.id for r in service.search(typed)] == [eleven], typed
        words = QueueFilter(text=typed)
        assert service.count(words) == 1
        assert [r.id for r in service.list_queue(QueueQuery(words, sort=SortKey.NUMBER))
                ] == [eleven]
    # A bare number is a word too: what mentions it is found with the incident it names.
    assert [r.id for r in service.search("11")] == [mentions, eleven]
    words = QueueFilter(text="11")
    assert service.count(words) == 2
    for descending in (True, False):
        seen: list[int] = []
        query = QueueQuery(words, sort=SortKey.NUMBER, descending=descending, limit=1)
        while page := service.list_queue(query):
            seen.extend(r.id for r in page)
            query = replace(query, after=cursor_after(page[-1], SortKey.NUMBER))
        assert seen == sorted([mentions, eleven], reverse=descending)
    mixed = QueueFilter(text="INC11", states=(State.NEW,))
    assert [r.id for r in service.list_queue(QueueQuery(mixed))] == [eleven]
    assert service.count(mixed) == 1
    # A number no incident has finds only what its words match.
    assert service.search("INC99") == []
    assert service.count(QueueFilter(text="99")) == 0
    with pytest.raises(NotFoundError):
        service.get_by_number("INC99")


def _queue_statements(database: Database, service: IncidentService,
                      query: QueueQuery) -> tuple[list[int], list[tuple[str, Any]]]:
    """The ids a queue query returns and the statements that read its page."""
    statements: list[tuple[str, Any]] = []

    def keep(conn: object, cursor: object, statement: str, parameters: Any,
             context: object, executemany: bool) -> None:
        if statement.lstrip().startswith("SELECT") and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", keep)
    try:
        ids = [r.id for r in service.list_queue(query)]
    finally:
        event.remove(database.engine, "before_cursor_execute", keep)
    return ids, statements


def test_a_typed_number_with_a_sort_starts_from_the_hits(
        database: Database, service: IncidentService, caller: CallerView,
        backend: str) -> None:
    ids = [log(service, caller, f"Printer {n} jams", impact=1 + n % 3) for n in range(1, 41)]
    twelve = ids[11]  # INC0000012
    mentions = log(service, caller, "Toner 12 empty", impact=1)  # "12" among its words
    for typed, expected in (("INC12", [twelve]), ("12", [mentions, twelve])):
        words = QueueFilter(text=typed)
        assert service.count(words) == len(expected)
        mixed = QueueFilter(text=typed, states=(State.NEW,))
        assert service.count(mixed) == len(expected)
        for sort in (SortKey.PRIORITY, SortKey.OPENED_AT, SortKey.CALLER):
            for queue_filter in (words, mixed):
                query = QueueQuery(queue_filter, sort=sort, descending=False)
                found, statements = _queue_statements(database, service, query)
                assert sorted(found) == sorted(expected), (typed, sort)
                assert statements, sort
                with database.engine.connect() as connection:
                    if backend == "postgres":
                        connection.exec_driver_sql("ANALYZE incidents")
                        connection.exec_driver_sql("ANALYZE incident_search")
                        # As at a million: a sequential scan must not win by size alone.
                        connection.exec_driver_sql("SET enable_seqscan = off")
                    plans = [" | ".join(str(row[-1]) for row in connection.exec_driver_sql(
                        f"{'EXPLAIN QUERY PLAN' if backend == 'sqlite' else 'EXPLAIN'} "
                        f"{statement}", parameters).all())
                        for statement, parameters in statements]
                    connection.rollback()
                for plan in plans:
                    # The number is found in its unique index and the words in the search
                    # index; incidents are then read by id, never walked whole in the
                    # sort's order with each row tested against the hits.
                    assert "SubPlan" not in plan and "Seq Scan on incidents" not in plan, plan
                    assert "SCAN incidents" not in plan, plan
                    if backend == "postgres":
                        assert "Index Cond: ((number)::text = 'INC0000012'::text)" in plan, plan
                        scans = [node for node in plan.split(" | ") if " on incidents " in node]
                        assert scans and all(
                            "using pk_incidents" in node or "using uq_incidents_number" in node
                            for node in scans), plan
                    else:
                        assert "(number=?)" in plan, plan  # SQLite chose well with the OR too


def test_keyset_pages_cover_everything_once(database: Database, service: IncidentService,
                                            caller: CallerView, clock: FakeClock) -> None:
    others = [service.add_caller(name, "", "")
              for name in ("adam Åberg", "Zack Ng", "Caller 10", "caller 2")]
    ann, bo = add_user(database, "ann"), add_user(database, "bo")
    with database.uow_factory(write=True) as uow:
        teams = [uow.groups.add(Group(0, "Network"), [ann.id, bo.id]),
                 uow.groups.add(Group(0, "Desk"), [ann.id])]
        uow.commit()
    ids = []
    for i in range(23):
        clock.advance(minutes=1)
        who = (caller, *others)[i % 5]
        # Some with a group and an agent, some with a group only, some with neither.
        group = teams[i % 2].id if i % 4 else None
        agent = (ann.id, bo.id)[i % 2] if i % 4 and i % 3 and group == teams[0].id else None
        ids.append(log(service, who, f"Incident {i:02d}", impact=1 + i % 3,
                       urgency=1 + (i // 3) % 3, assignment_group_id=group, assignee_id=agent))
    for queue in (QueueFilter(), QueueFilter.open_incidents()):
        for sort in SortKey:
            for descending in (True, False):
                seen: list[IncidentRow] = []
                query = QueueQuery(queue, sort=sort, descending=descending, limit=5)
                while page := service.list_queue(query):
                    seen.extend(page)
                    query = replace(query, after=cursor_after(page[-1], sort))
                assert sorted(r.id for r in seen) == sorted(ids), (sort, descending)
                assert len(seen) == len(set(seen))
                if sort == SortKey.CALLER:  # natural, case-insensitive, ties by id
                    keys = [(natural_sort_key(r.caller_name), r.id) for r in seen]
                    assert keys == sorted(keys, reverse=descending)
                    names = list(dict.fromkeys(r.caller_name for r in seen))
                    assert (names.index("caller 2") < names.index("Caller 10")) \
                        is not descending
                if sort in (SortKey.GROUP, SortKey.ASSIGNEE):  # the unassigned as ""
                    names = [(r.group_name if sort == SortKey.GROUP else r.assignee_name)
                             or "" for r in seen]
                    pairs = list(zip(names, (r.id for r in seen), strict=True))
                    assert pairs == sorted(pairs, reverse=descending), (sort, descending)
    by_priority = service.list_queue(QueueQuery(sort=SortKey.PRIORITY, descending=False,
                                                limit=100))
    assert [r.priority for r in by_priority] == sorted(r.priority for r in by_priority)


def test_filters_and_counts(service: IncidentService, caller: CallerView,
                            clock: FakeClock) -> None:
    p1 = service.get(log(service, caller, "Payroll down", 1, 1))
    p5 = service.get(log(service, caller, "Wallpaper request", 3, 3))
    service.transition(p5.id, p5.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes="done")
    open_filter = QueueFilter.open_incidents()
    assert [r.id for r in service.list_queue(QueueQuery(open_filter))] == [p1.id]
    assert service.count(open_filter) == 1
    assert service.count(QueueFilter()) == 2
    assert service.count(QueueFilter(priorities=(1,))) == 1
    assert service.count(QueueFilter(unassigned=True)) == 2
    assert service.count(QueueFilter(sla=SlaCondition.BREACHED)) == 0
    clock.advance(hours=5)  # past P1's 4 h
    breached = QueueQuery(QueueFilter(sla=SlaCondition.BREACHED))
    assert [r.id for r in service.list_queue(breached)] == [p1.id]


def test_breach_freezes_on_hold(service: IncidentService, caller: CallerView,
                                clock: FakeClock) -> None:
    p1 = service.get(log(service, caller, "Core switch down", 1, 1))
    clock.advance(hours=1)
    service.transition(p1.id, p1.version, State.ON_HOLD, hold_reason=HoldReason.AWAITING_VENDOR)
    clock.advance(days=2)
    assert service.count(QueueFilter(sla=SlaCondition.BREACHED)) == 0


def test_sla_attention_holds_breached_and_at_risk(service: IncidentService,
                                                 caller: CallerView, clock: FakeClock) -> None:
    p1 = log(service, caller, "Core switch down", 1, 1)  # P1: 4 h to resolve
    log(service, caller, "Wallpaper request", 3, 3)
    attention = QueueFilter(sla=SlaCondition.ATTENTION)
    assert service.count(attention) == 0
    clock.advance(hours=3, minutes=5)  # under a quarter of 4 h left: at risk, not breached
    assert [r.id for r in service.list_queue(QueueQuery(attention))] == [p1]
    assert service.count(QueueFilter(sla=SlaCondition.BREACHED)) == 0


def test_filters_on_catalog_dates_and_nothing(database: Database, service: IncidentService,
                                              caller: CallerView, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        hardware = uow.catalog.add_category("Hardware")
        printer = uow.catalog.add_category("Printer", hardware)
        software = uow.catalog.add_category("Software")
        email = uow.catalog.add_service("Email")
        uow.commit()
    started = clock.now
    by_sub = log(service, caller, "Toner", category_id=hardware, subcategory_id=printer)
    clock.advance(days=2)
    by_top = log(service, caller, "Laptop fan", category_id=hardware)
    other = log(service, caller, "Outlook", category_id=software, service_id=email)
    assert {r.id for r in service.list_queue(QueueQuery(QueueFilter(category_ids=(hardware,))))
            } == {by_sub, by_top}
    assert service.count(QueueFilter(category_ids=(printer,))) == 1
    assert [r.id for r in service.list_queue(QueueQuery(QueueFilter(service_ids=(email,))))
            ] == [other]
    recent = QueueFilter(opened_after=started + timedelta(days=1))
    assert service.count(recent) == 2
    assert service.count(QueueFilter(opened_before=started + timedelta(days=1))) == 1
    detail = service.get(other)
    service.transition(other, detail.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes="ok")
    assert [r.id for r in service.list_queue(QueueQuery(QueueFilter(resolved_after=clock.now)))
            ] == [other]
    assert service.count(QueueFilter(empty=True)) == 0
    assert service.list_queue(QueueQuery(QueueFilter(empty=True))) == []


def test_a_search_queue_pages_by_number_off_the_index(service: IncidentService,
                                                     caller: CallerView,
                                                     clock: FakeClock) -> None:
    printers = []
    for i in range(12):
        clock.advance(minutes=1)
        incident = log(service, caller, f"Printer {i} jams" if i % 3 else f"Scanner {i}")
        if i % 3:
            printers.append(service.get(incident).number)
    words = QueueFilter(text="printer")
    assert service.count(words) == len(printers)
    for descending in (True, False):
        seen: list[str] = []
        query = QueueQuery(words, sort=SortKey.NUMBER, descending=descending, limit=3)
        while page := service.list_queue(query):
            seen.extend(r.number for r in page)
            query = replace(query, after=cursor_after(page[-1], SortKey.NUMBER))
        assert seen == sorted(printers, reverse=descending)
    # With any other condition the same words go through the general query.
    mixed = QueueFilter(text="printer", states=(State.NEW,))
    assert [r.number for r in service.list_queue(QueueQuery(mixed, sort=SortKey.NUMBER))
            ] == sorted(printers, reverse=True)
    assert service.count(mixed) == len(printers)


def test_caller_lookup_by_prefix(service: IncidentService) -> None:
    a = service.add_caller("Søren Kierkegaard", "soren@example.dk", "+45 33 12 34 56")
    b = service.add_caller("Sophie Martin", "s.martin@example.fr", "01 23 45 67 89")
    service.add_caller("Li Wei", "li.wei@example.cn", "138 0000 0000")
    assert [c.id for c in service.lookup_callers("so")] == [b.id, a.id]  # by name order
    assert [c.id for c in service.lookup_callers("SØR")] == [a.id]
    assert [c.id for c in service.lookup_callers("s.mar")] == [b.id]
    assert [c.id for c in service.lookup_callers("4533")] == [a.id]
    assert service.lookup_callers("") == []
    assert service.lookup_callers("%") == []


def test_unknown_things_are_not_found(service: IncidentService) -> None:
    with pytest.raises(NotFoundError):
        service.get(999)
    with pytest.raises(NotFoundError, match="INC9999999"):
        service.get_by_number("INC9999999")


def test_parent_must_be_major(database: Database, service: IncidentService,
                              caller: CallerView) -> None:
    parent = service.get(log(service, caller, "Email down for everyone", 1, 1))
    with pytest.raises(ValidationError, match="not a major incident"):
        log(service, caller, "My email is down", parent_id=parent.id)
    parent, _ = service.update(parent.id, parent.version, is_major=True)
    child = service.get(log(service, caller, "My email is down", parent_id=parent.id))
    assert child.parent_id == parent.id
    majors = service.list_queue(QueueQuery(QueueFilter(major_only=True)))
    assert [r.id for r in majors] == [parent.id]
