"""The matrix editor's service rules on fake repositories: permissions, preview, recompute,
history, JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from deskapp.domain.business_hours import Holiday
from deskapp.domain.enums import ActivityKind, Role, State
from deskapp.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from deskapp.domain.people import Caller, User
from deskapp.domain.priority import Level
from deskapp.services.changes import ChangeKind
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import (
    MatrixAdminService,
    MatrixDraft,
    PriorityMove,
    describe_version,
)
from deskapp.services.matrix_dto import MatrixVersionInfo
from tests.unit.fakes import FakeUnitOfWorkFactory

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
ADMIN, AGENT, MANAGER, LEAD = 1, 2, 3, 4


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    with factory() as work:
        for name, role in (("ada", Role.ADMIN), ("ann", Role.AGENT), ("max", Role.MANAGER),
                           ("lee", Role.LEAD)):
            work.users.add(User(0, name, name.title(), f"{name}@example.com", role))
        work.callers.add(Caller(0, "Kim Caller"))
        work.commit()
    agent = IncidentService(factory, AGENT, lambda: NOW)
    # impact x urgency: (1,1) P1, (2,2) P3 twice, (3,3) P5
    for impact, urgency in ((1, 1), (2, 2), (2, 2), (3, 3)):
        agent.log_call(LogCallRequest(1, f"Thing {impact}{urgency}", impact, urgency))
    return factory


def admin(uow: FakeUnitOfWorkFactory, user: int = ADMIN) -> MatrixAdminService:
    return MatrixAdminService(uow, user, lambda: NOW)


def draft_with(uow: FakeUnitOfWorkFactory, **cells: int | None) -> MatrixDraft:
    draft = MatrixDraft.of(admin(uow).load().matrix)
    changed = dict(draft.cells)
    for key, rank in cells.items():
        changed[(int(key[1]), int(key[2]))] = rank
    return replace(draft, cells=changed)


def test_only_admins_and_leads_may_save(uow: FakeUnitOfWorkFactory) -> None:
    assert admin(uow, AGENT).load().can_edit is False
    assert admin(uow, MANAGER).load().can_edit is False
    assert admin(uow, LEAD).load().can_edit is True
    for user in (AGENT, MANAGER):
        with pytest.raises(PermissionDeniedError):
            admin(uow, user).save(draft_with(uow), recompute_open=False)
    assert admin(uow, LEAD).save(draft_with(uow), recompute_open=False).version == 2


def test_empty_cells_are_named_and_refused(uow: FakeUnitOfWorkFactory) -> None:
    draft = draft_with(uow, c21=None)
    assert draft.empty_cells() == [(2, 1)]
    with pytest.raises(ValidationError, match="Medium impact x High urgency"):
        admin(uow).save(draft, recompute_open=False)


def test_preview_counts_moves_without_changing_anything(uow: FakeUnitOfWorkFactory) -> None:
    preview = admin(uow).preview(draft_with(uow, c22=2, c11=2))
    assert preview.moves == (PriorityMove(1, 2, 1), PriorityMove(3, 2, 2))
    assert (preview.moved, preview.open_incidents) == (3, 4)
    assert {i.priority for i in uow.store.incidents.values()} == {1, 3, 5}


def test_new_incidents_only_leaves_open_ones_alone(uow: FakeUnitOfWorkFactory) -> None:
    result = admin(uow).save(draft_with(uow, c22=2), recompute_open=False)
    assert result.recomputed == 0 and result.change.kinds == {ChangeKind.REFERENCE_DATA}
    assert sorted(i.priority for i in uow.store.incidents.values()) == [1, 3, 3, 5]


def test_recompute_moves_open_incidents_with_an_activity_entry(
        uow: FakeUnitOfWorkFactory) -> None:
    result = admin(uow).save(draft_with(uow, c22=2), recompute_open=True)
    assert result.recomputed == 2
    assert result.change.incident_ids == {2, 3}
    assert ChangeKind.PRIORITY in result.change.kinds
    assert sorted(i.priority for i in uow.store.incidents.values()) == [1, 2, 2, 5]
    notes = [v.body for i, v in uow.store.activity
             if i == 2 and v.kind == ActivityKind.WORK_NOTE.value]
    assert notes == [f"Priority and SLA due times recomputed from priority matrix version "
                     f"{result.version} (P3 to P2)."]


def test_closed_incidents_are_not_recomputed(uow: FakeUnitOfWorkFactory) -> None:
    uow.store.incidents[2].state = State.CANCELLED
    result = admin(uow).save(draft_with(uow, c22=2), recompute_open=True)
    assert result.change.incident_ids == {3}


def test_stale_draft_is_a_conflict(uow: FakeUnitOfWorkFactory) -> None:
    first = draft_with(uow, c22=2)
    admin(uow, LEAD).save(draft_with(uow, c33=4), recompute_open=False)
    with pytest.raises(ConflictError, match="Lee"):
        admin(uow).save(first, recompute_open=False)


def test_history_and_restore_as_a_new_version(uow: FakeUnitOfWorkFactory) -> None:
    service = admin(uow)
    v2 = service.save(draft_with(uow, c22=2), recompute_open=False).version
    v3 = service.restore(1, v2, recompute_open=False).version
    history = service.history()
    assert [h.version for h in history] == [v3, v2, 1]
    assert history[0].comment == "Restored from version 1"
    assert service.load().matrix.cells[(2, 2)] == 3


def test_json_round_trip_keeps_everything(uow: FakeUnitOfWorkFactory) -> None:
    draft = draft_with(uow)
    five = tuple(Level(v, n) for v, n in enumerate(
        ("Very high", "High", "Medium", "Low", "Very low"), start=1))
    big = replace(draft, impact_levels=five, urgency_levels=five,
                  cells={(i, u): min(5, max(1, (i + u) // 2)) for i in range(1, 6)
                         for u in range(1, 6)})
    text = MatrixAdminService.export_json(big)
    back = MatrixAdminService.import_json(text, based_on=7)
    assert back.based_on == 7
    assert replace(back, based_on=big.based_on) == big


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON \\(line 1, column 2"),
    ("[]", "must be an object"),
    ('{"format": "other"}', "not a Deskapp priority matrix"),
])
def test_broken_json_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MatrixAdminService.import_json(text, based_on=1)


def test_bad_field_is_named(uow: FakeUnitOfWorkFactory) -> None:
    document = json.loads(MatrixAdminService.export_json(draft_with(uow)))
    document["priorities"][2]["colour"] = "yellow"
    with pytest.raises(ValidationError, match=r"priorities\[2\]\.colour"):
        MatrixAdminService.import_json(json.dumps(document), based_on=1)
    document = json.loads(MatrixAdminService.export_json(draft_with(uow)))
    del document["cells"][0]
    with pytest.raises(ValidationError, match=r"High impact x High urgency|no priority"):
        MatrixAdminService.import_json(json.dumps(document), based_on=1)
    document = json.loads(MatrixAdminService.export_json(draft_with(uow)))
    document["business_hours"]["time_zone"] = "Nowhere/Land"
    with pytest.raises(ValidationError, match=r"business_hours.*Nowhere/Land"):
        MatrixAdminService.import_json(json.dumps(document), based_on=1)


def test_a_priority_code_used_twice_is_refused(uow: FakeUnitOfWorkFactory) -> None:
    draft = draft_with(uow)
    priorities = tuple(replace(p, code="P1") if p.rank == 2 else p for p in draft.priorities)
    service = admin(uow)
    with pytest.raises(ValidationError, match=r'2 \(High\) have the same code, "P1"'):
        service.save(replace(draft, priorities=priorities), recompute_open=False)
    assert [h.version for h in service.history()] == [1]
    # The tester's file: P2's code is "P1"; and one with two impact levels named High.
    document = json.loads(MatrixAdminService.export_json(draft))
    document["priorities"][1]["code"] = "P1"
    with pytest.raises(ValidationError, match='have the same code, "P1"'):
        MatrixAdminService.import_json(json.dumps(document), based_on=1)
    document = json.loads(MatrixAdminService.export_json(draft))
    document["impact_levels"][1]["name"] = "High"
    with pytest.raises(ValidationError, match='Two impact levels are named "High"'):
        MatrixAdminService.import_json(json.dumps(document), based_on=1)


def test_every_version_in_the_history_names_its_author_and_comment() -> None:
    at = datetime(2026, 11, 27, 16, 23, tzinfo=UTC)
    assert describe_version(MatrixVersionInfo(2, at, None, "")) == (
        "Version 2, 2026-11-27 16:23 UTC, by the system: \u2014")
    assert describe_version(MatrixVersionInfo(4, at, "Ann Admin", "Restored from version 2")
                            ) == ("Version 4, 2026-11-27 16:23 UTC, by Ann Admin: "
                                  "Restored from version 2")


def test_the_audit_of_a_save_says_what_changed(uow: FakeUnitOfWorkFactory) -> None:
    draft = draft_with(uow, c22=2)
    priorities = tuple(replace(p, resolution_minutes=8 * 60, business_hours=True)
                       if p.code == "P3" else p for p in draft.priorities)
    calendar = replace(draft.calendar, time_zone="Europe/Oslo", opens=time(7, 30),
                       working_days=frozenset({0, 1, 2, 3, 4, 5}),
                       holidays=(Holiday(date(2026, 12, 25), "Christmas Day"),))
    impact = (draft.impact_levels[0], Level(2, "Moderate"), draft.impact_levels[2])
    admin(uow).save(replace(draft, priorities=priorities, calendar=calendar,
                            impact_levels=impact), recompute_open=False, comment="Tune")
    entry = uow.store.audit[-1]
    details = json.loads(entry.details)
    assert details["comment"] == "Tune"
    assert details["changes"] == [
        'Impact level renamed: "Medium" -> "Moderate"',
        "Moderate impact x Medium urgency: P3 -> P2",
        "P3 resolution target: 1 d -> 8 h",
        "P3 clock: 24x7 -> business hours",
        "Business hours working days: Mon, Tue, Wed, Thu, Fri -> Mon, Tue, Wed, Thu, Fri, Sat",
        "Business hours open from: 08:00 -> 07:30",
        "Business hours time zone: UTC -> Europe/Oslo",
        "Business hours holiday added: 2026-12-25 Christmas Day",
    ]
    # Restoring the first version undoes each of them, and says so.
    admin(uow).restore(1, 2, recompute_open=False)
    undone = json.loads(uow.store.audit[-1].details)["changes"]
    assert "P3 resolution target: 8 h -> 1 d" in undone
    assert "Business hours holiday removed: 2026-12-25 Christmas Day" in undone
    assert len(undone) == 8
