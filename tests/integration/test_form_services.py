"""What the call form and the detail form ask of the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskapp.domain.enums import ActivityKind, HoldReason, ResolutionCode, Role, State
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import Group, User
from deskapp.domain.priority import default_matrix
from deskapp.persistence.database import Database
from deskapp.services.catalog import CatalogService, preview_priority
from deskapp.services.changes import ChangeKind
from deskapp.services.dto import CallerView
from deskapp.services.incidents import (
    IncidentEdit,
    IncidentService,
    LogCallRequest,
    StateChange,
    shared_words,
    significant_words,
)
from tests.conftest import FakeClock, add_user


@pytest.fixture
def caller(service: IncidentService) -> CallerView:
    return service.add_caller("Ada Lovelace", "ada@example.com", "+44 20 7946 0002", vip=True)


def log(service: IncidentService, caller: CallerView, text: str, **extra: object) -> int:
    request = LogCallRequest(caller.id, text, 2, 2, **extra)  # type: ignore[arg-type]
    return service.log_call(request)[0].id


def make_major(service: IncidentService, incident_id: int) -> None:
    detail = service.get(incident_id)
    service.update(incident_id, detail.version, is_major=True)


def test_the_catalog_lists_what_the_pickers_offer(database: Database,
                                                  service: IncidentService) -> None:
    with database.uow_factory(write=True) as uow:
        network = uow.catalog.add_category("Network")
        uow.catalog.add_category("VPN", network)
        uow.catalog.add_category("Hardware")
        uow.catalog.add_service("Remote access VPN")
        ann = uow.users.add(User(0, "ann", "Ann Agent", "", Role.AGENT))
        away = uow.users.add(User(0, "bob", "Bob Gone", "", Role.AGENT,
                                     active=False))
        group = uow.groups.add(Group(0, "Network team"), [ann.id, away.id])
        uow.commit()
    catalog_service = CatalogService(database.uow_factory)
    catalog = catalog_service.form_catalog()
    assert [c.name for c in catalog.top_categories()] == ["Hardware", "Network"]
    assert [c.name for c in catalog.subcategories(network)] == ["VPN"]
    assert [s.name for s in catalog.services] == ["Remote access VPN"]
    assert catalog.group_name(group.id) == "Network team"
    assert catalog.agent_name(ann.id) == "Ann Agent"
    assert catalog.matrix.priority_for(1, 1).rank == 1
    assert [a.full_name for a in catalog_service.group_members(group.id)] == ["Ann Agent"]


def test_the_priority_preview_agrees_with_what_saving_computes(
        service: IncidentService, caller: CallerView, clock: FakeClock) -> None:
    preview = preview_priority(default_matrix(), 1, 2, clock.now)
    detail, _ = service.log_call(LogCallRequest(caller.id, "Payroll run fails", 1, 2))
    assert preview.rank == detail.priority == 2
    assert preview.label == "P2 - High"
    assert preview.response_due_at == detail.response_due_at
    assert preview.resolution_due_at == detail.resolution_due_at
    paused = preview_priority(default_matrix(), 1, 2, clock.now, timedelta(hours=1))
    assert paused.resolution_due_at == detail.resolution_due_at + timedelta(hours=1)


def test_a_callers_open_and_recent_incidents(service: IncidentService, caller: CallerView,
                                             clock: FakeClock) -> None:
    other = service.add_caller("Somebody Else")
    ids = []
    for i in range(7):
        clock.advance(minutes=1)
        ids.append(log(service, caller, f"Issue {i}"))
    log(service, other, "Not Ada's")
    resolved = service.get(ids[0])
    service.transition(resolved.id, resolved.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes="Done")
    history = service.caller_history(caller.id, limit=5)
    assert [r.id for r in history.recent] == ids[::-1][:5]
    assert [r.id for r in history.open] == ids[:0:-1]
    assert all(r.caller_name == "Ada Lovelace" and r.caller_vip for r in history.open)


def test_similar_open_incidents_by_text_and_service(
        database: Database, service: IncidentService, caller: CallerView) -> None:
    with database.uow_factory(write=True) as uow:
        email = uow.catalog.add_service("Email (Exchange Online)")
        vpn = uow.catalog.add_service("Remote access VPN")
        uow.commit()
    outlook = log(service, caller, "Outlook cannot send mail", service_id=email)
    major = log(service, caller, "Exchange outage: nobody receives mail", service_id=email)
    make_major(service, major)
    vpn_one = log(service, caller, "VPN drops every ten minutes", service_id=vpn)
    closed = log(service, caller, "Outlook crashes when sending",
                 resolution_code=ResolutionCode.SOLVED_REMOTELY, resolution_notes="Fixed")
    unrelated = log(service, caller, "Printer jams on floor 3")

    by_text = service.similar_open("outlook sen")
    assert [s.row.id for s in by_text] == [outlook]  # the resolved one is not open
    assert by_text[0].shared_words == 2 and not by_text[0].same_service

    by_service = service.similar_open("mail", service_id=email)
    assert [s.row.id for s in by_service] == [major, outlook]  # major incidents first
    assert by_service[0].same_service and by_service[0].row.is_major

    assert service.similar_open("", service_id=vpn)[0].row.id == vpn_one
    assert service.similar_open("the and not") == []
    assert service.similar_open("outlook", exclude_id=outlook) == []
    assert closed and unrelated


def test_words_worth_searching_for() -> None:
    assert significant_words("Outlook does not send mail") == ["outlook", "send", "mail"]
    assert significant_words("VPN ok") == ["vpn", "ok"]  # the last word may still grow
    assert significant_words("VPN ok ") == ["vpn"]
    assert shared_words(["outlook", "sen"], "Outlook: sending fails") == 2
    assert shared_words(["printer"], "Outlook: sending fails") == 0


def test_marking_a_call_a_duplicate_closes_it_and_tells_the_original(
        service: IncidentService, caller: CallerView, clock: FakeClock) -> None:
    original = log(service, caller, "Exchange outage")
    before = service.get(original)
    detail, change = service.log_call_as_duplicate(
        LogCallRequest(caller.id, "No mail since 9", 2, 2, call_seconds=30,
                       call_started_at=clock.now), original)
    assert detail.state == State.RESOLVED
    assert detail.resolution_code == ResolutionCode.DUPLICATE
    assert detail.resolution_notes.startswith("Duplicate of INC0000001")
    assert change.incident_ids == {detail.id, original}
    assert ChangeKind.CREATED in change.kinds
    notes = [a for a in service.activity(original) if a.kind == ActivityKind.WORK_NOTE]
    assert notes[-1].body == f"Ada Lovelace reported this again as {detail.number}."
    assert service.get(original).version == before.version  # a note claims no version
    assert [a.kind for a in service.activity(detail.id)][:2] == [ActivityKind.CREATED,
                                                                ActivityKind.CALL]


def test_a_child_links_to_its_major_incident(service: IncidentService,
                                             caller: CallerView) -> None:
    major = log(service, caller, "Exchange outage")
    plain = log(service, caller, "Printer jams")
    make_major(service, major)
    child = log(service, caller, "No mail", parent_id=major)
    form = service.load_form(major)
    assert [r.id for r in form.children] == [child]
    assert service.load_form(child).parent is not None
    assert service.load_form(child).parent.id == major  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="not a major incident"):
        log(service, caller, "Also no mail", parent_id=plain)


def test_load_form_reads_everything_at_once(service: IncidentService, caller: CallerView,
                                            clock: FakeClock) -> None:
    incident_id = log(service, caller, "Laptop will not boot", call_seconds=60)
    service.add_work_note(incident_id, "Asked for the serial number")
    form = service.load_form(incident_id)
    assert form.detail.number == "INC0000001"
    assert [a.kind for a in form.activity] == [ActivityKind.CREATED, ActivityKind.CALL,
                                               ActivityKind.WORK_NOTE]
    assert form.parent is None and form.children == ()


def test_save_changes_does_all_or_nothing(database: Database, service: IncidentService,
                                          caller: CallerView, clock: FakeClock) -> None:
    ann = add_user(database, "ann")
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Desk"), [ann.id])
        uow.commit()
    incident_id = log(service, caller, "Laptop will not boot")
    detail = service.get(incident_id)
    clock.advance(minutes=5)
    saved, change = service.save_changes(incident_id, detail.version, IncidentEdit(
        fields={"short_description": "Laptop will not boot after update"}, impact=1,
        urgency=1, assign=True, group_id=group.id, assignee_id=ann.id,
        state=StateChange(State.IN_PROGRESS)))
    assert saved.version == detail.version + 1
    assert (saved.priority, saved.state, saved.assignee_id) == (1, State.IN_PROGRESS, ann.id)
    assert saved.short_description == "Laptop will not boot after update"
    assert change.kinds == {ChangeKind.FIELDS, ChangeKind.PRIORITY, ChangeKind.ASSIGNMENT,
                            ChangeKind.STATE, ChangeKind.ACTIVITY}

    # A bad part fails the whole save: the good parts before it are not written.
    with pytest.raises(ValidationError, match="Resolving needs a resolution code"):
        service.save_changes(incident_id, saved.version, IncidentEdit(
            fields={"description": "Blue screen"}, state=StateChange(State.RESOLVED)))
    assert service.get(incident_id) == saved

    with pytest.raises(ConflictError):
        service.save_changes(incident_id, detail.version, IncidentEdit(impact=3))

    on_hold, _ = service.save_changes(incident_id, saved.version, IncidentEdit(
        state=StateChange(State.ON_HOLD, hold_reason=HoldReason.AWAITING_CALLER)))
    clock.advance(hours=2)
    resolved, _ = service.save_changes(incident_id, on_hold.version, IncidentEdit(
        state=StateChange(State.RESOLVED, resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                          resolution_notes="Reinstalled")))
    assert resolved.sla_paused_seconds == 2 * 3600
    assert resolved.sla_paused_since == clock.now

    # Reopening comes before the edits sent with it, which a resolved incident refuses.
    with pytest.raises(ValidationError, match="Reason for reopening is required"):
        service.save_changes(incident_id, resolved.version,
                             IncidentEdit(state=StateChange(State.IN_PROGRESS)))
    reopened, _ = service.save_changes(incident_id, resolved.version, IncidentEdit(
        assign=True, group_id=group.id, assignee_id=None,
        state=StateChange(State.IN_PROGRESS, reason="Still blue screens")))
    assert (reopened.state, reopened.reopen_count, reopened.assignee_id) == (
        State.IN_PROGRESS, 1, None)

    nothing, change = service.save_changes(incident_id, reopened.version, IncidentEdit())
    assert nothing.version == reopened.version and not change.kinds


def test_save_changes_checks_the_role(database: Database, service: IncidentService,
                                      caller: CallerView, clock: FakeClock) -> None:
    manager = IncidentService(database.uow_factory, add_user(database, "max", Role.MANAGER).id,
                              clock)
    incident_id = log(service, caller, "Laptop will not boot")
    with pytest.raises(PermissionDeniedError):
        manager.save_changes(incident_id, 1, IncidentEdit(impact=1))
