"""The period report's figures on both databases, checked against direct SQL counts on a known
data set, and the ``deskapp report period`` command."""

from __future__ import annotations

import io
import random
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, Role, State
from deskapp.domain.errors import PermissionDeniedError, ValidationError
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.reports.period_pdf import period_pdf
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.report_data import PeriodFilters, ReportService
from deskapp.services.report_dto import PeriodReport, ReviewContent
from deskapp.services.reviews import ReviewService
from tests.conftest import FakeClock, add_user

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 4)
PERIOD_START = datetime(2026, 3, 2, tzinfo=UTC)
PERIOD_END = datetime(2026, 3, 5, tzinfo=UTC)


@pytest.fixture
def data_set(database: Database, service: IncidentService, clock: FakeClock,
             admin: User) -> dict[str, int]:
    """About 80 incidents over six days (a day before the period to two after), every kind
    of history: resolved at once, reassigned, on hold, reopened, cancelled, a major one."""
    with database.uow_factory(write=True) as uow:
        desk = uow.groups.add(Group(0, "Service Desk"), [admin.id]).id
        network = uow.groups.add(Group(0, "Network"), [admin.id]).id
        hardware = uow.catalog.add_category("Hardware")
        printer = uow.catalog.add_category("Printer", hardware)
        software = uow.catalog.add_category("Software")
        vpn = uow.catalog.add_service("VPN")
        mail = uow.catalog.add_service("Mail")
        gateway = uow.catalog.add_configuration_item("vpn-gw-01", "network", vpn)
        mailbox = uow.catalog.add_configuration_item("exch-mbx-db01", "database", mail)
        uow.commit()
    caller = service.add_caller("Ada Lovelace")
    rng = random.Random(7)
    clock.now = START - timedelta(days=1)
    open_ids: list[int] = []
    major_id = None
    for i in range(80):
        clock.now = START - timedelta(days=1) + timedelta(minutes=97 * i)
        quick = i % 9 == 0
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"Incident {i}", impact=1 + i % 3,
            urgency=1 + (i // 3) % 3, channel=list(Channel)[i % 6],
            category_id=hardware if i % 2 else software,
            subcategory_id=printer if i % 4 == 1 else None,
            service_id=(vpn, mail, None)[i % 3], assignment_group_id=desk,
            configuration_item_id=(gateway if i % 6 == 0 else mailbox if i % 3 == 1
                                   else None),
            resolution_code=ResolutionCode.SOLVED_REMOTELY if quick else None,
            resolution_notes="Fixed on the phone." if quick else ""))
        if quick:
            continue
        incident_id, version = detail.id, detail.version
        if major_id is None and i > 30:
            detail, _ = service.update(incident_id, version, is_major=True)
            major_id, version = incident_id, detail.version
        fate = rng.random()
        later = clock.now
        clock.now = later + timedelta(minutes=rng.randint(3, 300))
        detail, _ = service.transition(incident_id, version, State.IN_PROGRESS)
        version = detail.version
        if i % 5 == 0:
            clock.advance(minutes=rng.randint(5, 60))
            detail, _ = service.assign(incident_id, version, network, admin.id)
            version = detail.version
        if fate < 0.2:
            open_ids.append(incident_id)
            continue
        if fate < 0.3:
            clock.advance(minutes=30)
            detail, _ = service.transition(incident_id, version, State.ON_HOLD,
                                           hold_reason=HoldReason.AWAITING_CALLER)
            clock.advance(hours=rng.randint(1, 20))
            detail, _ = service.transition(incident_id, detail.version, State.IN_PROGRESS)
            version = detail.version
        if fate > 0.95:
            clock.advance(minutes=10)
            service.transition(incident_id, version, State.CANCELLED)
            continue
        clock.advance(minutes=rng.randint(10, 3000))
        detail, _ = service.transition(incident_id, version, State.RESOLVED,
                                       resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                       resolution_notes="Done.")
        if fate > 0.85:
            clock.advance(hours=2)
            detail, _ = service.reopen(incident_id, detail.version, "Came back.")
            clock.advance(hours=rng.randint(1, 30))
            detail, _ = service.transition(incident_id, detail.version, State.RESOLVED,
                                           resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                                           resolution_notes="Done again.")
        elif fate > 0.6:
            clock.advance(days=1)
            service.transition(incident_id, detail.version, State.CLOSED)
    assert major_id is not None
    for _ in range(3):
        clock.advance(minutes=1)
        service.log_call(LogCallRequest(caller_id=caller.id, short_description="Me too",
                                        impact=2, urgency=2, parent_id=major_id))
    ReviewService(database.uow_factory, admin.id, clock).save(
        major_id, ReviewContent(summary="It broke.", root_cause="A cable."))
    clock.now = datetime(2026, 3, 10, tzinfo=UTC)
    return {"desk": desk, "network": network, "hardware": hardware, "vpn": vpn,
            "major": major_id}


def scalar(database: Database, sql: str, **params: object) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one() or 0)


def values(database: Database, sql: str, **params: object) -> list[float]:
    with database.engine.connect() as connection:
        return [float(r[0]) for r in connection.execute(text(sql), params)]


def seconds_sql(database: Database, earlier: str, later: str) -> str:
    if database.dialect == "sqlite":
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


def bound(database: Database, moment: datetime) -> object:
    """A time as the database stores it, for hand-written SQL."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if database.dialect == "sqlite" else moment


def percentile(sorted_values: list[float], share: float) -> float:
    """PostgreSQL's percentile_cont, the definition the report promises."""
    position = share * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (position - low) * (sorted_values[high] - sorted_values[low])


def report(database: Database, admin: User, clock: FakeClock, **filters: tuple[int, ...]
           ) -> PeriodReport:
    service = ReportService(database.uow_factory, admin.id, clock, zone=UTC)
    return service.period_report(PeriodFilters(FIRST, LAST, **filters))


def test_period_figures_match_direct_sql(database: Database, admin: User, clock: FakeClock,
                                         data_set: dict[str, int]) -> None:
    f = report(database, admin, clock).figures
    s, e = bound(database, PERIOD_START), bound(database, PERIOD_END)
    in_period = "opened_at >= :s AND opened_at < :e"
    assert f.opened == scalar(database, f"SELECT count(*) FROM incidents WHERE {in_period}",
                              s=s, e=e) > 20
    assert f.resolved == scalar(database, "SELECT count(*) FROM incidents WHERE "
                                "resolved_at >= :s AND resolved_at < :e", s=s, e=e) > 10
    backlog = ("SELECT count(*) FROM incidents WHERE opened_at < :t AND "
               "(COALESCE(resolved_at, closed_at) IS NULL OR COALESCE(resolved_at, closed_at) "
               ">= :t)")
    assert f.backlog_start == scalar(database, backlog, t=s)
    assert f.backlog_end == scalar(database, backlog, t=e)
    assert [d.backlog for d in f.days] == [
        scalar(database, backlog, t=bound(database, PERIOD_START + timedelta(days=i + 1)))
        for i in range(3)]
    assert sum(d.opened for d in f.days) == f.opened
    assert sum(d.resolved for d in f.days) == f.resolved
    by_priority = {int(c.key): c.count for c in f.by_priority}
    for rank in range(1, 6):
        assert by_priority.get(rank, 0) == scalar(
            database, f"SELECT count(*) FROM incidents WHERE {in_period} AND priority = :p",
            s=s, e=e, p=rank)
    assert sum(c.count for c in f.by_channel) == f.opened
    assert {c.label for c in f.by_category} == {"Hardware", "Software"}
    assert f.reassigned == scalar(database, f"SELECT count(*) FROM incidents WHERE {in_period}"
                                  " AND reassignment_count > 0", s=s, e=e) > 0
    assert f.reopened == scalar(database, "SELECT count(*) FROM incidents WHERE resolved_at "
                                ">= :s AND resolved_at < :e AND reopen_count > 0", s=s, e=e)
    resolve_s = seconds_sql(database, "opened_at", "resolved_at")
    assert f.first_contact == scalar(
        database, f"SELECT count(*) FROM incidents WHERE {in_period} AND resolved_at IS NOT "
        f"NULL AND {resolve_s} <= 900 AND reassignment_count = 0 AND reopen_count = 0",
        s=s, e=e) > 0
    assert f.top_services[0].label in ("VPN", "Mail")
    assert any(c.label == "Hardware / Printer" for c in f.top_categories)
    by_item = {c.label: c.count for c in f.top_configuration_items}
    assert by_item == {
        label: scalar(database, f"SELECT count(*) FROM incidents i JOIN configuration_items c "
                      f"ON c.id = i.configuration_item_id WHERE {in_period} AND c.name = :n",
                      s=s, e=e, n=label.split(" ")[0])
        for label in ("vpn-gw-01 (network)", "exch-mbx-db01 (database)")}
    assert min(by_item.values()) > 0
    assert [c.count for c in f.top_configuration_items] == sorted(by_item.values(),
                                                                   reverse=True)
    assert [m.id for m in f.majors] == [data_set["major"]]
    assert f.majors[0].children == 3 and f.majors[0].review_status is not None
    assert len(f.oldest_open) == min(10, scalar(
        database, "SELECT count(*) FROM incidents WHERE state IN ('new', 'in_progress', "
        "'on_hold') AND opened_at < :e", e=e))
    assert [o.opened_at for o in f.oldest_open] == sorted(o.opened_at for o in f.oldest_open)


def test_times_and_sla_per_priority_match_direct_sql(database: Database, admin: User,
                                                     clock: FakeClock,
                                                     data_set: dict[str, int]) -> None:
    f = report(database, admin, clock).figures
    s, e = bound(database, PERIOD_START), bound(database, PERIOD_END)
    respond_s = seconds_sql(database, "opened_at", "first_response_at")
    resolve_s = seconds_sql(database, "opened_at", "resolved_at")
    checked = 0
    for pf in f.priorities:
        responded = sorted(values(
            database, f"SELECT {respond_s} FROM incidents WHERE opened_at >= :s AND "
            "opened_at < :e AND first_response_at IS NOT NULL AND priority = :p",
            s=s, e=e, p=pf.priority))
        resolved = sorted(values(
            database, f"SELECT {resolve_s} FROM incidents WHERE resolved_at >= :s AND "
            "resolved_at < :e AND priority = :p", s=s, e=e, p=pf.priority))
        assert pf.respond.count == len(responded) == pf.response_total
        assert pf.resolve.count == len(resolved) == pf.resolution_total
        for measured, durations in ((pf.respond, responded), (pf.resolve, resolved)):
            if not durations:
                assert measured.median is None
                continue
            checked += 1
            assert measured.mean == pytest.approx(sum(durations) / len(durations), abs=0.01)
            assert measured.median == pytest.approx(percentile(durations, 0.5), abs=0.01)
            assert measured.p90 == pytest.approx(percentile(durations, 0.9), abs=0.01)
        assert pf.response_met == scalar(
            database, "SELECT count(*) FROM incidents WHERE opened_at >= :s AND opened_at < :e"
            " AND first_response_at IS NOT NULL AND NOT response_breached AND priority = :p",
            s=s, e=e, p=pf.priority)
        assert pf.resolution_met == scalar(
            database, "SELECT count(*) FROM incidents WHERE resolved_at >= :s AND "
            "resolved_at < :e AND NOT resolution_breached AND priority = :p",
            s=s, e=e, p=pf.priority)
    assert checked >= 6


def test_filters_narrow_every_figure(database: Database, admin: User, clock: FakeClock,
                                     data_set: dict[str, int]) -> None:
    s, e = bound(database, PERIOD_START), bound(database, PERIOD_END)
    by_group = report(database, admin, clock, group_ids=(data_set["network"],))
    assert by_group.figures.opened == scalar(
        database, "SELECT count(*) FROM incidents WHERE opened_at >= :s AND opened_at < :e "
        "AND assignment_group_id = :g", s=s, e=e, g=data_set["network"]) > 0
    assert by_group.filters == ("Groups: Network",)
    by_category = report(database, admin, clock, category_ids=(data_set["hardware"],),
                         service_ids=(data_set["vpn"],), priorities=(1, 2, 3))
    assert by_category.figures.opened == scalar(
        database, "SELECT count(*) FROM incidents WHERE opened_at >= :s AND opened_at < :e "
        "AND category_id = :c AND service_id = :v AND priority <= 3", s=s, e=e,
        c=data_set["hardware"], v=data_set["vpn"])
    assert {c.label for c in by_category.figures.by_category} <= {"Hardware"}


def test_the_period_pdf_over_the_data_set(database: Database, admin: User, clock: FakeClock,
                                          data_set: dict[str, int]) -> None:
    period = report(database, admin, clock)
    reader = PdfReader(io.BytesIO(period_pdf(period)))
    body = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert f"Opened {period.figures.opened:,}" in body
    assert "It broke." in body  # the major incident's review summary
    assert "Top configuration items" in body
    for item in period.figures.top_configuration_items:
        assert f"{item.label} {item.count:,}" in body


def test_only_leads_managers_and_admins_run_period_reports(database: Database,
                                                           clock: FakeClock) -> None:
    agent = add_user(database, "arne", Role.AGENT)
    with pytest.raises(PermissionDeniedError):
        report(database, agent, clock)
    with pytest.raises(ValidationError, match="starts after it ends"):
        PeriodFilters(LAST, FIRST)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskapp", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_period_report(database: Database, data_set: dict[str, int], database_url: str,
                           tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "march.pdf"
    result = run_cli("--database-url", database_url, "report", "period", "--from",
                     "2026-03-02", "--to", "2026-03-04", "--group", "network", "-o", str(out),
                     "--timezone", "UTC")
    assert result.returncode == 0, result.stderr
    assert "Groups: Network" in out.read_bytes().decode("latin-1") or out.stat().st_size > 0
    for args, expected in (
        (["--from", "2026-03-05", "--to", "2026-03-01"], "starts after it ends"),
        (["--from", "2026-02-30", "--to", "2026-03-01"], "is not a date"),
        (["--from", "2026-03-01", "--to", "2026-03-02", "--group", "Nope"],
         "There is no group 'Nope'"),
    ):
        bad = out_dir / "bad.pdf"
        result = run_cli("--database-url", database_url, "report", "period", *args,
                         "-o", str(bad))
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("deskapp: error: "), result.stderr
        assert expected in lines[0]
        assert not bad.exists()
    assert [p.name for p in out_dir.iterdir()] == ["march.pdf"]


def test_a_priority_the_desk_does_not_define_is_refused(database: Database, admin: User,
                                                        clock: FakeClock) -> None:
    with pytest.raises(ValidationError, match=r"no priority P9 on this desk; it has P1 to P5"):
        report(database, admin, clock, priorities=(2, 9))
    assert report(database, admin, clock, priorities=(5,)).figures.opened == 0


def test_an_unknown_name_lists_the_names_as_written_in_reading_order(
        database: Database, admin: User, clock: FakeClock) -> None:
    with database.uow_factory(write=True) as uow:
        for name in ("Group 10", "Group 2", "Network Ops"):
            uow.groups.add(Group(0, name), [])
        uow.commit()
    service = ReportService(database.uow_factory, admin.id, clock, zone=UTC)
    assert service.find_ids(groups=["group 2", " NETWORK  ops "])[0] != ()
    with pytest.raises(Exception, match=r"there are: Group 2, Group 10, Network Ops\.$"):
        service.find_ids(groups=["Group 3"])


def test_top_lists_break_ties_in_natural_order(database: Database, admin: User,
                                              service: IncidentService, clock: FakeClock,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal counts read "srv 2" before "srv 10", also where the list is cut."""
    names = ("srv 10", "srv 2", "srv 1", "srv 3")
    with database.uow_factory(write=True) as uow:
        services = {n: uow.catalog.add_service(f"Svc {n[4:]}") for n in names}
        items = {n: uow.catalog.add_configuration_item(n, "server", services[n])
                 for n in names}
        uow.commit()
    caller = service.add_caller("Ada Lovelace")
    clock.now = START + timedelta(hours=1)
    for name in (*names, "srv 1"):  # srv 1 twice: first by count; the rest tie at 1
        service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"On {name}", impact=2, urgency=2,
            service_id=services[name], configuration_item_id=items[name]))
    monkeypatch.setattr("deskapp.services.report_data.TOP", 3)
    f = report(database, admin, clock).figures
    assert [(c.label, c.count) for c in f.top_configuration_items] == [
        ("srv 1 (server)", 2), ("srv 2 (server)", 1), ("srv 3 (server)", 1)]
    assert [c.label for c in f.top_services] == ["Svc 1", "Svc 2", "Svc 3"]


def test_durations_are_exact_on_both_databases(database: Database, admin: User,
                                               clock: FakeClock,
                                               service: IncidentService) -> None:
    """Incidents resolved exactly on the first-contact threshold count on SQLite as on
    PostgreSQL (julianday()'s float error made a third of them 900.00003 s on SQLite), and
    their times are exact: one microsecond over is over."""
    caller = service.add_caller("Ada Lovelace").id

    def resolved_after(opened: datetime, taken: timedelta) -> None:
        clock.now = opened
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller, short_description="Password reset", impact=2, urgency=2))
        clock.now = opened + timedelta(minutes=1)
        detail, _ = service.transition(detail.id, detail.version, State.IN_PROGRESS)
        clock.now = opened + taken
        service.transition(detail.id, detail.version, State.RESOLVED,
                           resolution_code=ResolutionCode.SOLVED_REMOTELY,
                           resolution_notes="Reset.")

    on_the_dot = [START + timedelta(minutes=53 * i) for i in range(12)]
    for opened in on_the_dot:
        resolved_after(opened, timedelta(minutes=15))
    fraction = START + timedelta(hours=20, microseconds=250_000)
    resolved_after(fraction, timedelta(minutes=15))  # counts: 900 s to the microsecond
    resolved_after(fraction + timedelta(hours=1), timedelta(minutes=15, microseconds=1))
    resolved_after(fraction + timedelta(hours=2), timedelta(minutes=15, seconds=1))
    clock.now = datetime(2026, 3, 10, tzinfo=UTC)

    figures = report(database, admin, clock).figures
    assert (figures.opened, figures.resolved) == (15, 15)
    assert figures.first_contact == 13
    resolve = next(p for p in figures.priorities if p.priority == 3).resolve
    assert resolve.median == 900.0
    assert resolve.p90 == pytest.approx(900.0000006, abs=1e-9)
    assert resolve.mean == pytest.approx((13 * 900 + 900.000001 + 901) / 15)
