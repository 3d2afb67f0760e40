"""The matrix editor's service on both databases: versions, calendar, preview, recompute."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from deskapp.domain.business_hours import BusinessCalendar, Holiday
from deskapp.domain.enums import HoldReason, Role, State
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.persistence.tables import IncidentRecord
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from tests.conftest import FakeClock, add_user

DESK = BusinessCalendar(frozenset({0, 1, 2, 3, 4}), time(8), time(16), "Europe/Oslo",
                        (Holiday(date(2026, 12, 25), "Christmas Day"),))


@pytest.fixture
def matrix_admin(database: Database, admin: User, clock: FakeClock) -> MatrixAdminService:
    return MatrixAdminService(database.uow_factory, admin.id, clock)


def log(service: IncidentService, count: int) -> None:
    caller = service.add_caller("Kim Caller")
    for n in range(count):
        service.log_call(LogCallRequest(caller.id, f"Thing {n}", 1 + n % 3, 1 + (n // 3) % 3))


def direct_moves(database: Database, draft: MatrixDraft) -> dict[tuple[int, int | None], int]:
    """The same question as the preview, asked of every open row one by one."""
    moves: dict[tuple[int, int | None], int] = {}
    with database.engine.connect() as connection:
        rows = connection.execute(select(IncidentRecord.impact, IncidentRecord.urgency,
                                         IncidentRecord.priority, IncidentRecord.state))
        for impact, urgency, priority, state in rows:
            if not State(state).is_open:
                continue
            target = draft.cells.get((impact, urgency))
            if target != priority:
                moves[(priority, target)] = moves.get((priority, target), 0) + 1
    return moves


def test_save_definitions_calendar_and_recompute(
        database: Database, service: IncidentService, matrix_admin: MatrixAdminService,
        clock: FakeClock) -> None:
    log(service, 12)
    data = matrix_admin.load()
    assert data.can_edit and data.matrix.version == 1
    draft = MatrixDraft.of(data.matrix)
    cells = dict(draft.cells)
    cells[(2, 2)], cells[(3, 3)] = 2, 4
    p3 = replace(draft.priorities[2], resolution_minutes=16 * 60, business_hours=True)
    draft = replace(draft, cells=cells, calendar=DESK,
                    priorities=(*draft.priorities[:2], p3, *draft.priorities[3:]))
    preview = matrix_admin.preview(draft)
    expected = direct_moves(database, draft)
    assert {(m.from_rank, m.to_rank): m.count for m in preview.moves} == expected
    assert preview.open_incidents == 12

    clock.now = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # Thursday 16:00 in Oslo
    result = matrix_admin.save(draft, recompute_open=True, comment="Winter hours")
    assert result.version == 2
    assert result.recomputed == sum(expected.values()) + preview.recomputed_targets

    saved = matrix_admin.load()
    assert saved.calendar == DESK
    assert saved.matrix.definition(3).business_hours
    assert [h.version for h in saved.history] == [2, 1]
    assert saved.history[0].comment == "Winter hours" and saved.history[0].author
    with database.engine.connect() as connection:
        left = connection.execute(select(func.count()).select_from(IncidentRecord)
                                  .where(IncidentRecord.priority == 3)).scalar_one()
    assert left == 3  # (1,3) once and (3,1) twice stay P3

    # A new P3 incident on Christmas Eve at closing time: Christmas Day is a holiday, the
    # weekend follows, so 16 business hours run Monday and Tuesday.
    caller = service.add_caller("Late Caller")
    detail, _ = service.log_call(LogCallRequest(caller.id, "Printer", 1, 3))
    assert detail.priority == 3
    assert detail.resolution_due_at == datetime(2026, 12, 29, 15, 0, tzinfo=UTC)

    restored = matrix_admin.restore(1, 2, recompute_open=False)
    assert restored.version == 3
    again = matrix_admin.load()
    assert again.matrix.cells[(2, 2)] == 3
    # Version 1 was saved before definitions were kept with versions: today's stay.
    assert again.matrix.definition(3).business_hours
    assert again.history[0].comment == "Restored from version 1"


def test_agents_see_the_matrix_read_only(database: Database, service: IncidentService) -> None:
    agent = add_user(database, "ann", Role.AGENT)
    data = MatrixAdminService(database.uow_factory, agent.id).load()
    assert data.can_edit is False and data.matrix.version == 1


def test_a_hold_pauses_only_the_open_hours_of_a_business_hours_target(
        service: IncidentService, matrix_admin: MatrixAdminService, clock: FakeClock) -> None:
    draft = MatrixDraft.of(matrix_admin.load().matrix)
    p3 = replace(draft.priorities[2], resolution_minutes=16 * 60, business_hours=True)
    draft = replace(draft, calendar=DESK,
                    priorities=(*draft.priorities[:2], p3, *draft.priorities[3:]))
    matrix_admin.save(draft, recompute_open=False, comment="Office hours for P3")
    impact, urgency = next(cell for cell, rank in draft.cells.items() if rank == 3)

    clock.now = datetime(2027, 1, 7, 13, 0, tzinfo=UTC)  # Thursday 14:00 in Oslo
    caller = service.add_caller("Office Caller")
    detail, _ = service.log_call(LogCallRequest(caller.id, "Scanner jams", impact, urgency))
    # 16 open hours: Thursday 14-16, Friday 8-16, Monday 8-14.
    assert detail.resolution_due_at == datetime(2027, 1, 11, 13, 0, tzinfo=UTC)

    clock.now = datetime(2027, 1, 8, 14, 0, tzinfo=UTC)  # Friday 15:00: 7 open hours left
    detail, _ = service.transition(detail.id, detail.version, State.ON_HOLD,
                                   hold_reason=HoldReason.AWAITING_CALLER)
    clock.now = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)  # Monday 09:00
    detail, _ = service.transition(detail.id, detail.version, State.IN_PROGRESS)
    # Two open hours were paused (Friday 15-16, Monday 8-9): 7 left from 09:00 is 16:00.
    assert detail.resolution_due_at == datetime(2027, 1, 11, 15, 0, tzinfo=UTC)
