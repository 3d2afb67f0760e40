"""The callers administration on both databases: paging, edits, deactivation, merges."""

from __future__ import annotations

import random
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from sqlalchemy import event, text

from deskapp.domain.enums import ActivityKind, Role
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import Caller, User
from deskapp.persistence.audit_log import SqlAuditLog
from deskapp.persistence.database import Database
from deskapp.services import caller_admin
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit, CallerPageQuery, MergeRequest
from deskapp.services.changes import ChangeNotice
from deskapp.services.dto import CallerView
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.intake.caller_review import CallerReviewService
from deskapp.services.intake.email_intake import EmailIntakeService, ensure_intake_user
from deskapp.services.intake.email_ports import Outcome
from tests.conftest import FakeClock, add_user, table_count
from tests.support.incidents import bulk_open


@pytest.fixture
def admin_service(database: Database, admin: User) -> CallerAdminService:
    return CallerAdminService(database.uow_factory, admin.id)


def _log(service: IncidentService, caller: CallerView, what: str) -> int:
    detail, _ = service.log_call(LogCallRequest(caller_id=caller.id, short_description=what,
                                                impact=3, urgency=3))
    return detail.id


def _mail(subject: str, sender: str, clock: FakeClock) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "servicedesk@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now)
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("Please help.")
    return message.as_bytes()


def _caller_of(database: Database, incident_id: int) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT caller_id FROM incidents WHERE id = :i"),
                                      {"i": incident_id}).scalar_one())


def _audit_rows(database: Database, action: str) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_log WHERE action = :a"),
                                      {"a": action}).scalar_one())


def test_pages_follow_the_name_order_with_incident_counts(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    callers = [service.add_caller(f"Caller {n:03d}", f"c{n}@example.com") for n in range(25)]
    _log(service, callers[3], "Printer jam")
    _log(service, callers[3], "Printer jam again")
    seen: list[str] = []
    after = None
    while True:
        page = admin_service.page(CallerPageQuery(after=after, limit=10))
        seen.extend(row.name for row in page.rows)
        counts = {row.name: row.incident_count for row in page.rows}
        if "Caller 003" in counts:
            assert counts["Caller 003"] == 2
        after = page.next_after
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == 25
    found = admin_service.page(CallerPageQuery(text="c7@"))
    assert [row.name for row in found.rows] == ["Caller 007"]


def _walk(admin_service: CallerAdminService, limit: int,
          text: str = "") -> list[list[str]]:
    """Every page of the list, as the window fetches them: the names on each."""
    pages: list[list[str]] = []
    after = None
    while True:
        page = admin_service.page(CallerPageQuery(text=text, after=after, limit=limit))
        pages.append([row.name for row in page.rows])
        after = page.next_after
        if after is None:
            return pages


def _add_250_callers(database: Database, service: IncidentService) -> None:
    """"Caller 1" to "Caller 250", added out of order: 200 by a bulk load (imports, demo
    data), the rest one by one (the call form), so their ids do not give the order away."""
    names = [f"Caller {n}" if n % 7 else f"caller {n}" for n in range(1, 251)]
    random.Random(14).shuffle(names)
    with database.uow_factory(write=True) as uow:
        uow.bulk.add_callers([Caller(0, name) for name in names[:200]])
        uow.commit()
    for name in names[200:]:
        service.add_caller(name)


def test_pages_list_callers_in_natural_order_across_page_boundaries(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    _add_250_callers(database, service)
    pages = _walk(admin_service, 100)
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [name.casefold() for page in pages for name in page] == [
        f"caller {n}" for n in range(1, 251)]
    # A search by the start of a name still finds by prefix, listed in natural order too.
    found = [name.casefold() for page in _walk(admin_service, 100, "caller 2")
             for name in page]
    assert found == ["caller 2", *(f"caller {n}" for n in range(20, 30)),
                     *(f"caller {n}" for n in range(200, 251))]


def test_a_rename_or_a_merge_moves_the_caller_to_its_new_place(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    ids = {name: service.add_caller(name).id
           for name in ("Caller 10", "Caller 9", "Caller 100", "Caller 2")}
    edited = admin_service.edit(ids["Caller 100"], 1, CallerEdit("Caller 3"))
    assert _walk(admin_service, 2) == [["Caller 2", "Caller 3"], ["Caller 9", "Caller 10"]]
    # The survivor takes the duplicate's name: it is listed under that name.
    admin_service.merge(MergeRequest(ids["Caller 2"], (ids["Caller 10"],),
                                     {ids["Caller 2"]: 1, ids["Caller 10"]: 1},
                                     {"name": ids["Caller 10"]}))
    assert _walk(admin_service, 10) == [["Caller 3", "Caller 9", "Caller 10", "Caller 10"]]
    # Two callers of one key on either side of a page boundary: the id tells them apart.
    assert _walk(admin_service, 1) == [["Caller 3"], ["Caller 9"], ["Caller 10"], ["Caller 10"]]
    assert admin_service.get(edited.id).name == "Caller 3"


def _page_statements(database: Database, admin_service: CallerAdminService,
                     *queries: CallerPageQuery) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that read these pages."""
    statements: list[tuple[str, Any]] = []

    def keep(conn: object, cursor: object, statement: str, parameters: Any,
             context: object, executemany: bool) -> None:
        if "ORDER BY callers.sort_key" in statement:
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", keep)
    try:
        for query in queries:
            admin_service.page(query)
    finally:
        event.remove(database.engine, "before_cursor_execute", keep)
    return statements


def test_the_pages_are_read_along_the_sort_key_index_without_sorting(
        database: Database, service: IncidentService, admin_service: CallerAdminService,
        backend: str) -> None:
    _add_250_callers(database, service)
    first = admin_service.page(CallerPageQuery(limit=100))
    statements = _page_statements(
        database, admin_service, CallerPageQuery(limit=100),
        CallerPageQuery(include_inactive=False, after=first.next_after, limit=100))
    assert len(statements) == 2
    with database.engine.connect() as connection:
        if backend == "postgres":
            # 250 callers are few enough for a sequential scan and a sort; what counts is
            # that the index can serve the order and start at the cursor.
            connection.exec_driver_sql("SET enable_seqscan = off")
            connection.exec_driver_sql("SET enable_sort = off")
        plans = [" | ".join(str(row[-1]) for row in connection.exec_driver_sql(
            f"{'EXPLAIN QUERY PLAN' if backend == 'sqlite' else 'EXPLAIN'} {statement}",
            parameters).all())
            for statement, parameters in statements]
        connection.rollback()
    for plan in plans:
        assert "ix_callers_sort_key_id" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    # The next page starts in the index at the cursor rather than filtering every row before.
    if backend == "sqlite":
        assert "SEARCH callers USING INDEX ix_callers_sort_key_id (sort_key>?)" in plans[1]
    else:
        assert "Index Cond: (ROW((sort_key)::text, id) > ROW(" in plans[1], plans[1]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_search_matching_many_callers_walks_the_sort_index_on_sqlite(
        database: Database, admin_service: CallerAdminService) -> None:
    with database.uow_factory(write=True) as uow:
        uow.bulk.add_callers([Caller(0, f"Caller {n}") for n in range(2500, 0, -1)])
        uow.bulk.add_callers([Caller(0, f"Zed {n}") for n in range(30, 0, -1)])
        uow.commit()
    many, few = CallerPageQuery("caller", limit=100), CallerPageQuery("zed", limit=100)
    assert [r.name for r in admin_service.page(many).rows] == [
        f"Caller {n}" for n in range(1, 101)]
    assert [r.name for r in admin_service.page(few).rows] == [f"Zed {n}" for n in range(1, 31)]
    with database.engine.connect() as connection:
        plans = [" | ".join(row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters).all())
            for statement, parameters in _page_statements(database, admin_service, many, few)]
    # Many matches: the list's index, read in order until the page is full (no sort of all
    # 2,500); few: the look-up indexes find them and they are sorted.
    assert "SCAN callers USING INDEX ix_callers_sort_key_id" in plans[0], plans[0]
    assert "TEMP B-TREE" not in plans[0], plans[0]
    assert "ix_callers_name_key" in plans[1], plans[1]


def test_an_edit_states_its_version_and_a_stale_one_is_refused(
        database: Database, service: IncidentService, admin_service: CallerAdminService,
        admin: User, clock: FakeClock) -> None:
    caller = service.add_caller("Ola Nordmann", "ola@example.com")
    row = admin_service.get(caller.id)
    assert (row.updated_by, row.updated_at) == (None, None)
    agent = add_user(database, "agnes", Role.AGENT)
    as_agent = CallerAdminService(database.uow_factory, agent.id, clock)
    edited = as_agent.edit(caller.id, row.version,
                           CallerEdit("Ola Nordmann", "ola@example.com", "+47 22 33 44 55",
                                      vip=True))
    assert edited.version == row.version + 1 and edited.phone == "+47 22 33 44 55"
    assert (edited.updated_by, edited.updated_at) == ("Agnes", clock.now)
    assert service.lookup_callers("4722")[0].id == caller.id
    with pytest.raises(ConflictError, match="changed by Agnes at 2026-03-02 09:00:00 UTC"):
        admin_service.edit(caller.id, row.version, CallerEdit("Ola N."))
    assert admin_service.get(caller.id).name == "Ola Nordmann"
    with pytest.raises(ValidationError, match="not an email address"):
        admin_service.edit(caller.id, edited.version, CallerEdit("Ola", "nope"))
    with pytest.raises(PermissionDeniedError):
        as_agent.set_active(caller.id, edited.version, False)
    assert _audit_rows(database, caller_admin.CALLER_EDITED) == 1


def test_a_deactivated_caller_is_not_offered_but_keeps_its_incidents(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    caller = service.add_caller("Dora Departed")
    incident = _log(service, caller, "Old laptop")
    row = admin_service.set_active(caller.id, admin_service.get(caller.id).version, False)
    assert not row.active
    assert service.lookup_callers("Dora") == []
    assert service.get(incident).caller_name == "Dora Departed"
    # A call form opened before the deactivation cannot give the caller new work.
    with pytest.raises(ValidationError, match="Dora Departed is inactive"):
        _log(service, caller, "New laptop")
    again = admin_service.set_active(caller.id, row.version, True)
    assert again.active and service.lookup_callers("Dora")[0].id == caller.id
    assert _audit_rows(database, caller_admin.CALLER_DEACTIVATED) == 1
    assert _audit_rows(database, caller_admin.CALLER_REACTIVATED) == 1


def test_merge_moves_incidents_and_email_and_files_new_mail_under_the_survivor(
        database: Database, service: IncidentService, admin_service: CallerAdminService,
        admin: User, clock: FakeClock) -> None:
    survivor = service.add_caller("Ada Lovelace", "", "+44 20 7946 0001", "Analytics")
    phoned = _log(service, survivor, "Engine stalls")
    intake = EmailIntakeService(database.uow_factory,
                                ensure_intake_user(database.uow_factory).id, clock)
    result = intake.take_in(_mail("VPN is down", "Ada L <ada@example.com>", clock))
    assert result.outcome is Outcome.CREATED
    reviews = CallerReviewService(database.uow_factory, admin.id)
    flagged = reviews.callers_to_review()
    assert [c.email for c in flagged] == ["ada@example.com"]
    duplicate = flagged[0].caller_id
    assert result.incident_number is not None
    mailed = service.get_by_number(result.incident_number).id
    other = service.add_caller("A. Lovelace", "ada.l@example.com")
    _log(service, other, "Password reset")
    _log(service, other, "Second screen")

    suggested = {c.id for c in admin_service.duplicates_of(survivor.id)}
    assert duplicate not in suggested  # no shared key: chosen by hand, as below
    rows = {i: admin_service.get(i) for i in (survivor.id, duplicate, other.id)}
    merged = admin_service.merge(MergeRequest(
        survivor.id, (duplicate, other.id), {i: r.version for i, r in rows.items()},
        choices={"email": duplicate}))

    assert merged.incidents_moved == 3
    assert merged.moved["email_messages"] == 1
    assert merged.survivor.email == "ada@example.com"
    assert merged.survivor.phone == "+44 20 7946 0001"  # the survivor's, not empty
    assert merged.survivor.incident_count == 4
    assert _caller_of(database, phoned) == survivor.id
    assert _caller_of(database, mailed) == survivor.id
    with database.engine.connect() as connection:
        left = connection.execute(text(
            "SELECT count(*) FROM incidents WHERE caller_id IN (:a, :b)"),
            {"a": duplicate, "b": other.id}).scalar_one()
        states = connection.execute(text(
            "SELECT id, active, merged_into_id, needs_review FROM callers "
            "WHERE id IN (:a, :b) ORDER BY id"), {"a": duplicate, "b": other.id}).all()
        mail_callers = connection.execute(text(
            "SELECT DISTINCT i.caller_id FROM email_messages m "
            "JOIN incidents i ON i.id = m.incident_id")).scalars().all()
    assert left == 0 and list(mail_callers) == [survivor.id]
    assert [(bool(a), m, bool(n)) for _, a, m, n in states] == [(False, survivor.id, False)] * 2
    assert reviews.callers_to_review() == []
    assert [c.id for c in service.lookup_callers("A")] == [survivor.id]
    assert _audit_rows(database, caller_admin.CALLERS_MERGED) == 1

    # Mail from the duplicate's old address (kept on the merged row) files under the survivor.
    again = intake.take_in(_mail("VPN again", "ada.l@example.com", clock))
    assert again.outcome is Outcome.CREATED and again.detail == ""
    with database.engine.connect() as connection:
        newest = connection.execute(text(
            "SELECT caller_id FROM incidents ORDER BY id DESC LIMIT 1")).scalar_one()
    assert newest == survivor.id
    assert table_count(database, "callers") == 3  # no new caller for the old address
    # A call form still holding the merged caller is told whom to choose instead.
    with pytest.raises(ValidationError, match=rf"was merged into {merged.survivor.name} "
                                              rf"\(#{survivor.id}\); choose that caller"):
        _log(service, CallerView(duplicate, "", "", "", "", "", False), "Old form")


def test_a_stale_merge_writes_nothing(database: Database, service: IncidentService,
                                      admin_service: CallerAdminService) -> None:
    one = service.add_caller("Bo Bright", "bo@example.com")
    two = service.add_caller("Bo Bright", "bo@example.com")
    incident = _log(service, two, "Desk phone dead")
    versions = {one.id: admin_service.get(one.id).version,
                two.id: admin_service.get(two.id).version}
    groups = admin_service.duplicates()
    assert any({c.id for c in g.callers} == {one.id, two.id} for g in groups)
    admin_service.edit(two.id, versions[two.id], CallerEdit("Bo Bright", "bo@example.com",
                                                            "555 0100"))
    audit_before = table_count(database, "audit_log")
    with pytest.raises(ConflictError, match=r"Bo Bright.*changed by Desk Administrator"):
        admin_service.merge(MergeRequest(one.id, (two.id,), versions))
    assert _caller_of(database, incident) == two.id
    assert admin_service.get(two.id).active
    assert table_count(database, "audit_log") == audit_before


def test_merge_refuses_itself_missing_versions_and_non_admins(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    one = service.add_caller("Cy Same")
    two = service.add_caller("Cy Same")
    versions = {one.id: 1, two.id: 1}
    with pytest.raises(ValidationError, match="into itself"):
        admin_service.merge(MergeRequest(one.id, (one.id,), versions))
    with pytest.raises(ValidationError, match="at least one"):
        admin_service.merge(MergeRequest(one.id, (), versions))
    with pytest.raises(ValidationError, match="version read"):
        admin_service.merge(MergeRequest(one.id, (two.id,), {one.id: 1}))
    lead = add_user(database, "lena", Role.LEAD)
    with pytest.raises(PermissionDeniedError):
        CallerAdminService(database.uow_factory, lead.id).merge(
            MergeRequest(one.id, (two.id,), versions))
    admin_service.merge(MergeRequest(one.id, (two.id,), versions))
    with pytest.raises(ValidationError, match="already merged"):
        admin_service.merge(MergeRequest(two.id, (one.id,), {one.id: 2, two.id: 2}))
    with pytest.raises(ValidationError, match="cannot be reactivated"):
        admin_service.set_active(two.id, 2, True)


def test_other_desktops_hear_which_incidents_a_merge_moved(
        database: Database, service: IncidentService, admin_service: CallerAdminService,
        backend: str) -> None:
    one = service.add_caller("Di Double")
    two = service.add_caller("Di Double")
    moved = _log(service, two, "Headset crackles")
    feed = database.open_change_feed()
    try:
        feed.wait(0.3)  # what was written above (SQLite cannot tell what)
        admin_service.merge(MergeRequest(one.id, (two.id,), {one.id: 1, two.id: 1}))
        notice = feed.wait(5)
    finally:
        feed.close()
    assert notice is not None
    if backend == "postgres":
        assert notice == ChangeNotice(frozenset({moved}))
    else:
        assert notice.everything


def test_an_import_naming_a_merged_caller_files_under_the_survivor(
        database: Database, service: IncidentService,
        admin_service: CallerAdminService) -> None:
    old = service.add_caller("Eve Early")
    new = service.add_caller("Eve Early", "eve@example.com")
    admin_service.merge(MergeRequest(new.id, (old.id,), {old.id: 1, new.id: 1}))
    with database.uow_factory() as uow:
        assert uow.bulk.callers_by_name(["eve early", "Nobody"]) == {"eve early": new.id}


def test_a_form_opened_before_a_merge_cannot_save_the_old_caller_back(
        database: Database, service: IncidentService, admin: User,
        clock: FakeClock) -> None:
    survivor = service.add_caller("Fay Fine", "fay@example.com")
    duplicate = service.add_caller("Fay Fine")
    incident = _log(service, duplicate, "Docking station flickers")
    service.add_work_note(incident, "Swapped the quokkacable twice")
    opened = service.get(incident)  # an agent's form, read before the merge
    clock.now += timedelta(minutes=5)
    merger = CallerAdminService(database.uow_factory, admin.id, clock)
    merger.merge(MergeRequest(survivor.id, (duplicate.id,), {survivor.id: 1, duplicate.id: 1}))

    now = service.get(incident)
    assert now.version == opened.version + 1
    assert (now.caller_id, now.caller_name) == (survivor.id, "Fay Fine")
    assert (now.updated_by_id, now.updated_at) == (admin.id, clock.now)
    entry = service.activity(incident)[-1]
    assert (entry.kind, entry.field, entry.old_value, entry.new_value) == (
        ActivityKind.FIELD_CHANGE.value, "caller_id", str(duplicate.id), str(survivor.id))
    assert (entry.actor_name, entry.at) == (admin.full_name, clock.now)
    with pytest.raises(ConflictError, match="changed by Desk Administrator"):
        service.update(incident, opened.version, caller_id=duplicate.id)
    with pytest.raises(ConflictError):
        service.update(incident, opened.version, short_description="Dock flickers")
    assert _caller_of(database, incident) == survivor.id
    # The incident is found as before, by its text, its notes and its caller's name, and
    # now names the survivor.
    for words in ("docking flickers", "quokkacable", "fay fine", "fay@example"):
        assert [(r.id, r.caller_name) for r in service.search(words)] == [
            (incident, "Fay Fine")]


def test_a_rename_or_a_merge_moves_the_callers_incidents_in_the_search_index(
        database: Database, service: IncidentService, admin: User, clock: FakeClock,
        admin_service: CallerAdminService) -> None:
    ida = service.add_caller("Ida Old", "ida@old.example")
    first, second = (_log(service, ida, what) for what in ("Laptop fan", "Laptop hinge"))
    assert [r.id for r in service.search("ida old")] == [second, first]
    row = admin_service.get(ida.id)
    admin_service.edit(row.id, row.version, CallerEdit("Ida Newname", "inew@new.example"))
    assert service.search("ida old") == []
    assert service.search("old example") == []  # the domain is never indexed
    assert [r.id for r in service.search("ida newname")] == [second, first]
    assert [r.id for r in service.search("inew@new.example")] == [second, first]
    # A merge: the duplicate's incidents name the survivor, and the survivor takes the
    # duplicate's name, which all of its incidents (old and moved) are then found by.
    joe = service.add_caller("Joe Keep", "jk@one.example")
    kept = _log(service, joe, "Printer toner")
    twin = service.add_caller("Joseph Dup", "jd@two.example")
    moved = _log(service, twin, "Scanner glass")
    merger = CallerAdminService(database.uow_factory, admin.id, clock)
    merger.merge(MergeRequest(joe.id, (twin.id,), {joe.id: 1, twin.id: 1},
                              {"name": twin.id}))
    assert service.search("joe keep") == []
    assert service.search("jd two") == []
    assert [r.id for r in service.search("joseph dup")] == [moved, kept]
    assert [r.id for r in service.search("jk@one")] == [moved, kept]


def _merge_counting(database: Database, merger: CallerAdminService,
                    request: MergeRequest) -> tuple[int, int]:
    """Merge; returns (statements sent, transactions committed) while it ran."""
    counts = {"statements": 0, "commits": 0}

    def statement(*_: object) -> None:
        counts["statements"] += 1

    def commit(*_: object) -> None:
        counts["commits"] += 1

    event.listen(database.engine, "before_cursor_execute", statement)
    event.listen(database.engine, "commit", commit)
    try:
        merger.merge(request)
    finally:
        event.remove(database.engine, "before_cursor_execute", statement)
        event.remove(database.engine, "commit", commit)
    return counts["statements"], counts["commits"]


def _timeline_and_versions(database: Database, ids: list[int]) -> tuple[int, set[int]]:
    with database.engine.connect() as connection:
        entries = connection.execute(text(
            "SELECT count(*) FROM activity WHERE field = 'caller_id' AND incident_id IN "
            f"({','.join(map(str, ids))})")).scalar_one()
        versions = set(connection.execute(text(
            f"SELECT version FROM incidents WHERE id IN ({','.join(map(str, ids))})"))
            .scalars())
    return int(entries), versions


def test_a_merge_of_many_incidents_is_one_transaction_of_set_based_statements(
        database: Database, service: IncidentService, admin: User, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    merger = CallerAdminService(database.uow_factory, admin.id, clock)
    small = [service.add_caller("Gil Small") for _ in range(2)]
    bulk_open(database, 3, clock.now, caller_id=small[1].id)
    big = [service.add_caller("Hal Big") for _ in range(2)]
    moved = bulk_open(database, 400, clock.now, caller_id=big[1].id,
                      short="Mailbox full {n}")

    # A merge that fails late (here: its audit row) leaves no timeline entry and no version
    # raised on any of the 400 incidents: everything is one transaction.
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlAuditLog, "record", broken)
    with pytest.raises(RuntimeError):
        merger.merge(MergeRequest(big[0].id, (big[1].id,), {big[0].id: 1, big[1].id: 1}))
    monkeypatch.undo()
    assert _timeline_and_versions(database, moved) == (0, {1})
    assert _stored_state(database, big[1].id) == (True, None)

    few = _merge_counting(database, merger, MergeRequest(
        small[0].id, (small[1].id,), {small[0].id: 1, small[1].id: 1}))
    lots = _merge_counting(database, merger, MergeRequest(
        big[0].id, (big[1].id,), {big[0].id: 1, big[1].id: 1}))
    assert lots == few  # as many statements for 400 incidents as for 3, one commit each
    assert lots[1] == 1
    assert _timeline_and_versions(database, moved) == (400, {2})
    assert {_caller_of(database, i) for i in moved} == {big[0].id}


def _stored_state(database: Database, caller_id: int) -> tuple[bool, int | None]:
    """(active, merged_into_id) of a caller, as stored."""
    with database.engine.connect() as connection:
        active, merged = connection.execute(text(
            "SELECT active, merged_into_id FROM callers WHERE id = :i"),
            {"i": caller_id}).one()
    return bool(active), merged


def test_phone_search_matches_digits_typed_any_way_even_a_few(
        admin_service: CallerAdminService, service: IncidentService) -> None:
    """'+47' and '47' find the caller with +47 123 45 678 (they found nothing: a phone search
    needed three digits, which '+47 123' had); letters with one digit still search names."""
    ola = service.add_caller("Ola Nordmann", "ola@example.com", "+47 123 45 678")
    service.add_caller("Kari 4 Nordmann", "kari@example.com", "+48 600 700 800")
    service.add_caller("Ann Other", "ann@example.com", "+44 20 7946 0001")

    def found(text_: str) -> list[str]:
        return [r.name for r in admin_service.page(CallerPageQuery(text_)).rows]

    for typed in ("+47", "47", "4", "+4 7", "+47 12", "4712345678", "(47) 123-45"):
        assert "Ola Nordmann" in found(typed), typed
    assert found("+47") == ["Ola Nordmann"]
    assert sorted(found("+4")) == ["Ann Other", "Kari 4 Nordmann", "Ola Nordmann"]
    assert found("48") == ["Kari 4 Nordmann"]
    assert found("+49") == []
    assert found("Kari 4") == ["Kari 4 Nordmann"]  # a name with a digit: names only
    assert found("Ola 4") == []
    # The call form's caller field completes the same way.
    assert [c.name for c in service.lookup_callers("+47")] == [ola.name]
