"""Post-incident reviews on both databases: versions, conflicts, sign-off, and the review PDF
made end to end (service, repository, PDF, command line)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from deskapp.domain.enums import HoldReason, ResolutionCode, Role, State
from deskapp.domain.errors import (
    ConflictError,
    PermissionDeniedError,
    TransitionError,
    ValidationError,
)
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import MergeRequest
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.report_data import ReportService
from deskapp.services.report_dto import ActionItem, ActionState, ReviewContent, ReviewStatus
from deskapp.services.reviews import ReviewService
from tests.conftest import FakeClock, add_user, table_count


def flat(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


@pytest.fixture
def major(database: Database, service: IncidentService, clock: FakeClock, admin: User) -> int:
    """A major incident worked through its whole life, with two children."""
    with database.uow_factory(write=True) as uow:
        desk = uow.groups.add(Group(0, "Service Desk"), [admin.id])
        network = uow.groups.add(Group(0, "Network"), [admin.id])
        uow.commit()
    caller = service.add_caller("Zoë Ørsted", email="zoe@example.com")
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="VPN down at every site", impact=1, urgency=1,
        description="Nobody can connect from home.", assignment_group_id=desk.id))
    incident_id = detail.id
    clock.advance(minutes=5)
    detail, _ = service.update(incident_id, detail.version, is_major=True)
    clock.advance(minutes=5)
    detail, _ = service.transition(incident_id, detail.version, State.IN_PROGRESS)
    clock.advance(minutes=20)
    detail, _ = service.assign(incident_id, detail.version, network.id, admin.id)
    for i in range(2):
        clock.advance(minutes=1)
        service.log_call(LogCallRequest(caller_id=caller.id, short_description=f"No VPN {i}",
                                        impact=2, urgency=2, parent_id=incident_id))
    clock.advance(minutes=10)
    service.add_work_note(incident_id, "The core switch in DC1 is down.")
    detail = service.get(incident_id)
    clock.advance(minutes=30)
    detail, _ = service.transition(incident_id, detail.version, State.ON_HOLD,
                                   hold_reason=HoldReason.AWAITING_VENDOR)
    clock.advance(hours=1)
    detail, _ = service.transition(incident_id, detail.version, State.IN_PROGRESS)
    clock.advance(hours=4)
    detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                   resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                   resolution_notes="Replaced the switch.")
    clock.advance(days=1)
    service.transition(incident_id, detail.version, State.CLOSED)
    return incident_id


CONTENT = ReviewContent(
    summary="The core switch failed.", root_cause="Firmware bug.",
    action_items=(ActionItem("Upgrade firmware", "Network team", date(2026, 4, 1)),
                  ActionItem("Buy a spare", "李娜", None, ActionState.IN_PROGRESS)))


def test_a_review_is_drafted_saved_and_signed_off(database: Database, admin: User,
                                                  clock: FakeClock, major: int) -> None:
    reviews = ReviewService(database.uow_factory, admin.id, clock)
    assert reviews.load(major).review is None
    view, change = reviews.save(major, CONTENT)
    assert (view.version, view.status, view.author_name) == (1, ReviewStatus.DRAFT,
                                                            "Desk Administrator")
    assert change.incident_ids == {major}
    assert view.content.action_items == CONTENT.action_items
    clock.advance(minutes=3)
    edited = ReviewContent(**{**CONTENT.__dict__, "lessons_learned": "Keep spares.",
                              "action_items": CONTENT.action_items[::-1]})
    view, _ = reviews.save(major, edited, review_id=view.id, version=view.version)
    assert view.version == 2
    loaded = reviews.load(major).review
    assert loaded is not None and loaded.content == edited
    assert loaded.updated_at == clock.now
    view, _ = reviews.mark_final(major, view.id, view.version)
    assert view.status == ReviewStatus.FINAL and view.finalized_by_name == "Desk Administrator"
    with pytest.raises(TransitionError, match="final"):
        reviews.save(major, CONTENT, review_id=view.id, version=view.version)
    view, _ = reviews.reopen_draft(major, view.id, view.version)
    assert view.status == ReviewStatus.DRAFT and view.finalized_at is None
    assert table_count(database, "review_actions") == 2


def test_a_stale_save_is_a_conflict_naming_who_and_when(database: Database, admin: User,
                                                         clock: FakeClock, major: int) -> None:
    lead = add_user(database, "lena", Role.LEAD)
    mine = ReviewService(database.uow_factory, admin.id, clock)
    theirs = ReviewService(database.uow_factory, lead.id, clock)
    first, _ = mine.save(major, CONTENT)
    clock.advance(minutes=7)
    theirs.save(major, ReviewContent(summary="Their words"), review_id=first.id,
                version=first.version)
    with pytest.raises(ConflictError) as caught:
        mine.save(major, ReviewContent(summary="My words"), review_id=first.id,
                  version=first.version)
    assert "Lena" in str(caught.value) and f"{clock.now:%H:%M:%S}" in str(caught.value)
    assert caught.value.current_version == 2
    current = mine.load(major).review
    assert current is not None and current.content.summary == "Their words"
    # Two people beginning the same review: the second hears who was first.
    with pytest.raises(ConflictError, match="Lena"):
        mine.save(major, ReviewContent(summary="Mine too"))


def test_who_may_edit_and_sign_off(database: Database, clock: FakeClock, major: int) -> None:
    agent = add_user(database, "arne", Role.AGENT)
    manager = add_user(database, "mona", Role.MANAGER)
    as_agent = ReviewService(database.uow_factory, agent.id, clock)
    view, _ = as_agent.save(major, CONTENT)
    with pytest.raises(PermissionDeniedError):
        as_agent.mark_final(major, view.id, view.version)
    as_manager = ReviewService(database.uow_factory, manager.id, clock)
    assert as_manager.can_sign_off() and not as_agent.can_sign_off()
    empty, _ = as_manager.save(major, ReviewContent(), review_id=view.id, version=view.version)
    with pytest.raises(ValidationError, match="summary and root cause"):
        as_manager.mark_final(major, empty.id, empty.version)
    with pytest.raises(ValidationError, match="description"):
        as_manager.save(major, ReviewContent(action_items=(ActionItem("  "),)),
                        review_id=empty.id, version=empty.version)


def test_review_pdf_end_to_end(database: Database, admin: User, clock: FakeClock,
                               major: int) -> None:
    ReviewService(database.uow_factory, admin.id, clock).save(major, CONTENT)
    reports = ReportService(database.uow_factory, admin.id, clock, zone=None)
    report = reports.review_report("inc1")
    assert report.number == "INC0000001" and report.is_major
    assert len(report.children) == 2
    assert [(r.from_group, r.to_group, r.from_agent, r.to_agent)
            for r in report.reassignments] == [
        ("Service Desk", "Network", "", "Desk Administrator")]
    assert report.facts.reassignments == 1
    spans = {s.state: s.seconds for s in report.state_spans}
    assert spans["On Hold"] == 3600
    assert report.facts.on_hold_seconds == 3600
    assert report.facts.response_seconds == 600
    opened = report.facts.opened_at
    assert report.facts.resolved_at == opened + timedelta(hours=6, minutes=12)
    assert report.facts.resolution_seconds == (6 * 60 + 12) * 60 - 3600
    assert report.facts.resolution_breached  # 5 h 12 min against P1's 4 h
    body = flat(review_pdf(report))
    for entry in report.timeline:
        assert entry.what[:40] in body, entry.what
    assert "Declared a major incident" in body
    assert "State: In Progress \u2192 On Hold" in body
    assert "Assignment group: Service Desk \u2192 Network" in body
    assert "Upgrade firmware Network team 2026-04-01 Open" in body
    assert "Buy a spare 李娜" in body
    assert "Time on hold 1 h" in body


def test_review_pdf_names_the_configuration_item_and_its_class(
        database: Database, admin: User, clock: FakeClock, service: IncidentService,
        major: int) -> None:
    with database.uow_factory(write=True) as uow:
        ci = uow.catalog.add_configuration_item("exch-mbx-db01", "database", None)
        uow.commit()
    caller = service.add_caller("Ada Lovelace")
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Mailbox database offline", impact=2,
        urgency=2, configuration_item_id=ci))
    reports = ReportService(database.uow_factory, admin.id, clock, zone=None)
    report = reports.review_report(detail.id)
    assert report.configuration_item == "exch-mbx-db01 (database)"
    assert "Configuration item exch-mbx-db01 (database)" in flat(review_pdf(report))
    without = reports.review_report(major)
    assert without.configuration_item == ""
    assert "Configuration item \u2014" in flat(review_pdf(without))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskapp", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_writes_the_review_and_refuses_a_wrong_number(database: Database, major: int,
                                                          database_url: str,
                                                          tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "review.pdf"
    result = run_cli("--database-url", database_url, "report", "review", "INC0000001",
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "INC0000001" in flat(out.read_bytes())
    for number, expected in (("INC0009999", "There is no incident INC0009999"),
                             ("banana", "is not an incident number")):
        missing = out_dir / f"{number}.pdf"
        result = run_cli("--database-url", database_url, "report", "review", number,
                         "-o", str(missing))
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("deskapp: error: ")
        assert expected in lines[0]
        assert not missing.exists()
    assert sorted(p.name for p in out_dir.iterdir()) == ["review.pdf"]  # no temp files


def test_review_pdf_names_the_callers_of_a_merge(
        database: Database, admin: User, clock: FakeClock, service: IncidentService) -> None:
    survivor = service.add_caller("Ann Dup", "ann@example.com")
    duplicate = service.add_caller("Ann  Dup")
    detail, _ = service.log_call(LogCallRequest(duplicate.id, "Printer jams", 3, 3))
    clock.advance(minutes=1)
    CallerAdminService(database.uow_factory, admin.id, clock).merge(MergeRequest(
        survivor.id, (duplicate.id,), {survivor.id: 1, duplicate.id: 1}))
    report = ReportService(database.uow_factory, admin.id, clock, zone=None).review_report(
        detail.id)
    assert "Caller: Ann  Dup \u2192 Ann Dup" in [entry.what for entry in report.timeline]
    assert "Caller: Ann Dup \u2192 Ann Dup" in flat(review_pdf(report))  # spaces folded
