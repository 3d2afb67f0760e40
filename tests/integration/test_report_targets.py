"""Reports show the SLA targets that applied to each incident, not today's matrix: a saved
matrix version changes no closed incident's targets in a review or a period report."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader
from sqlalchemy import text

from deskapp.domain.enums import ResolutionCode, State
from deskapp.domain.people import User
from deskapp.domain.priority import RECOMPUTED_NOTE
from deskapp.persistence.database import Database
from deskapp.reports.period_pdf import period_pdf
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from deskapp.services.report_data import PeriodFilters, ReportService
from tests.conftest import FakeClock

CHANGED = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
"""When the matrix gives P3 an 8-hour business-hours resolution target (was 24 h round the
clock)."""


def flat(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def set_created(database: Database, version: int, at: datetime) -> None:
    """Date a matrix version (the repository stamps the real time of the save)."""
    stored = (at.strftime("%Y-%m-%d %H:%M:%S.%f") if database.dialect == "sqlite" else at)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE matrix_versions SET created_at = :at WHERE id = :id"),
                           {"at": stored, "id": version})


def p3_to_eight_business_hours(database: Database, admin: User) -> int:
    with database.uow_factory(write=True) as uow:
        matrix = uow.matrix.current()
        priorities = tuple(replace(p, resolution_minutes=480, business_hours=True)
                           if p.rank == 3 else p for p in matrix.priorities)
        version = uow.matrix.save_new_version(replace(matrix, priorities=priorities),
                                              admin.id, "P3 in business hours")
        uow.commit()
    return version


def resolved_p3(service: IncidentService, clock: FakeClock, caller_id: int,
                hours: float) -> int:
    """A P3 (medium impact and urgency) resolved ``hours`` after it was opened."""
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller_id, short_description="Printer jam", impact=2, urgency=2))
    clock.advance(minutes=10)
    detail, _ = service.transition(detail.id, detail.version, State.IN_PROGRESS)
    clock.advance(hours=hours, minutes=-10)
    service.transition(detail.id, detail.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                       resolution_notes="Cleared.")
    return detail.id


def test_a_matrix_change_leaves_closed_incidents_targets_alone(
        database: Database, admin: User, clock: FakeClock, service: IncidentService) -> None:
    with database.uow_factory() as uow:
        first = uow.matrix.current().version
    set_created(database, first, datetime(2026, 1, 1, tzinfo=UTC))
    caller = service.add_caller("Ada Lovelace").id
    clock.now = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # a Friday
    before = resolved_p3(service, clock, caller, hours=20)
    reports = ReportService(database.uow_factory, admin.id, clock, zone=UTC)
    was = reports.review_report(before).facts
    assert was.resolution_target_seconds == 24 * 3600 and not was.resolution_breached

    changed = p3_to_eight_business_hours(database, admin)
    set_created(database, changed, CHANGED)
    clock.now = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)  # a Friday, after the change
    after = resolved_p3(service, clock, caller, hours=20)
    clock.now = datetime(2026, 4, 10, tzinfo=UTC)

    # The old incident keeps its targets, on its clock, with its verdict.
    facts = reports.review_report(before).facts
    assert facts == replace(was, targets_note=facts.targets_note)
    assert facts.targets_version == first and facts.business_hours == ""
    assert f"version {first}, in force" in facts.targets_note
    body = flat(review_pdf(reports.review_report(before)))
    assert "Time to resolve (SLA clock) 20 h 1 d Met" in body
    assert "business hours" not in body

    # The new one has the new targets, and its times counted in business hours (Friday
    # 10:00-17:00 of the seeded Monday-Friday 08:00-17:00 UTC calendar: 7 h).
    new = reports.review_report(after).facts
    assert new.targets_version == changed
    assert new.resolution_target_seconds == 8 * 3600
    assert new.resolution_seconds == 7 * 3600 and not new.resolution_breached
    assert new.business_hours == "Mon\u2013Fri 08:00\u201317:00 UTC"
    body = flat(review_pdf(reports.review_report(after)))
    assert ("Time to resolve (SLA clock) 7 h (business hours) 8 h (business hours) Met"
            in body)
    assert "count business hours only (Mon\u2013Fri 08:00\u201317:00 UTC)" in body

    # February: the first version throughout; March: both, with the day of the change.
    february = reports.period_report(PeriodFilters(date(2026, 2, 1), date(2026, 2, 28)))
    p3 = next(p for p in february.priorities if p.rank == 3)
    assert (p3.resolution_minutes, p3.business_hours, p3.changes) == (1440, False, ())
    assert "in force throughout" in february.targets_note
    march = reports.period_report(PeriodFilters(date(2026, 3, 1), date(2026, 3, 31)))
    p3 = next(p for p in march.priorities if p.rank == 3)
    assert (p3.resolution_minutes, p3.business_hours) == (1440, False)
    assert [(c.since, c.version, c.resolution_minutes, c.business_hours)
            for c in p3.changes] == [(CHANGED, changed, 480, True)]
    p2 = next(p for p in march.priorities if p.rank == 2)
    assert p2.changes == () and not p2.business_hours
    assert f"version {changed} on 2026-03-15 12:00" in march.targets_note
    assert march.business_hours == "Mon\u2013Fri 08:00\u201317:00 UTC"
    body = flat(period_pdf(march))
    assert "1 d 8 h bh from 03-15 2 of 2 100.0%" in body
    assert "count business hours only (Mon\u2013Fri 08:00\u201317:00 UTC)" in body
    # April: only the new version, in force from before the period.
    april = reports.period_report(PeriodFilters(date(2026, 4, 1), date(2026, 4, 30)))
    p3 = next(p for p in april.priorities if p.rank == 3)
    assert (p3.resolution_minutes, p3.business_hours, p3.changes) == (480, True, ())
    assert timedelta(0) < CHANGED - datetime(2026, 3, 1, tzinfo=UTC)


def test_an_incident_older_than_every_matrix_version_takes_the_one_fitting_its_due_times(
        database: Database, admin: User, clock: FakeClock, service: IncidentService) -> None:
    """Imported history is older than the desk's versions: the review must not take
    today's targets for it (the version whose targets give its stored due times)."""
    caller = service.add_caller("Ada Lovelace").id
    clock.now = datetime(2016, 3, 4, 10, 0, tzinfo=UTC)
    old = resolved_p3(service, clock, caller, hours=20)
    p3_to_eight_business_hours(database, admin)
    reports = ReportService(database.uow_factory, admin.id, clock, zone=UTC)
    facts = reports.review_report(old).facts
    assert facts.resolution_target_seconds == 24 * 3600 and facts.business_hours == ""
    assert "stored due times" in facts.targets_note
    march = reports.period_report(PeriodFilters(date(2016, 3, 1), date(2016, 3, 31)))
    p3 = next(p for p in march.priorities if p.rank == 3)
    assert (p3.resolution_minutes, p3.business_hours) == (1440, False)
    assert "the oldest the desk has" in march.targets_note


def test_an_open_incident_recomputed_by_a_matrix_save_takes_the_new_version_s_targets(
        database: Database, admin: User, clock: FakeClock, service: IncidentService) -> None:
    """A save that recomputes open incidents sets their due times again: their work note is
    what tells the review which version's targets applied (the priority is kept, so no
    field change says so)."""
    with database.uow_factory() as uow:
        first = uow.matrix.current().version
    set_created(database, first, datetime(2026, 1, 1, tzinfo=UTC))
    caller = service.add_caller("Ada Lovelace").id
    clock.now = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller, short_description="Printer jam", impact=2, urgency=2))

    clock.now = CHANGED
    editor = MatrixAdminService(database.uow_factory, admin.id, clock)
    draft = MatrixDraft.of(editor.load().matrix)
    priorities = tuple(replace(p, resolution_minutes=480, business_hours=True)
                       if p.rank == 3 else p for p in draft.priorities)
    saved = editor.save(replace(draft, priorities=priorities), recompute_open=True)
    set_created(database, saved.version, CHANGED)
    assert saved.recomputed == 1
    activity = service.activity(detail.id)
    assert not [a for a in activity if a.field in ("impact", "urgency", "priority")]
    assert [a.body for a in activity if a.kind == "work_note"] == [
        f"{RECOMPUTED_NOTE} {saved.version} (P3 kept)."]

    clock.now = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
    current = service.get(detail.id)
    service.transition(detail.id, current.version, State.RESOLVED,
                       resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                       resolution_notes="Cleared.")
    facts = ReportService(database.uow_factory, admin.id, clock, zone=UTC) \
        .review_report(detail.id).facts
    assert facts.targets_version == saved.version
    assert facts.resolution_target_seconds == 8 * 3600
    assert "in force when the incident's due times were set (2026-03-15 12:00)" in \
        facts.targets_note
