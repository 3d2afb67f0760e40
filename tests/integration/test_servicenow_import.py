"""The ServiceNow importer on both databases: the real incident log, and small broken logs.

The real log (Amaral, Fantinato, Peres, UCI dataset 498, DOI 10.24432/C57S4H, CC BY 4.0) is
imported once per database for the whole module; what the tests expect of it is read from
the file here with the csv module, independently of the importer.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from deskapp.cli import main
from deskapp.domain.enums import ActivityKind, State
from deskapp.domain.people import User
from deskapp.persistence.bulk import SqlBulkIncidentWriter
from deskapp.persistence.database import Database, open_database
from deskapp.persistence.tables import ActivityRecord, IncidentRecord
from deskapp.reports.review_pdf import review_pdf
from deskapp.services.importing import ImportReport, ImportStage, import_servicenow
from deskapp.services.importing import servicenow as servicenow_module
from deskapp.services.incidents import IncidentService
from deskapp.services.report_data import ReportService
from deskapp.services.setup import ensure_admin
from tests.support.databases import (
    copy_sqlite,
    in_ci,
    postgres_admin_url,
    private_postgres_database,
)
from tests.unit.test_servicenow_parsing import event, good_rows, write_log

_LOG_NAME = Path("shared") / "data" / "incident_event_log.csv.zip"
# The log sits beside the checkout (../shared/data); a clone elsewhere names it in the
# environment, or finds the team's copy.
_CANDIDATES = [Path(os.environ["DESKAPP_SERVICENOW_LOG"])] \
    if os.environ.get("DESKAPP_SERVICENOW_LOG") else \
    [Path(__file__).resolve().parents[3] / _LOG_NAME, Path("/work") / _LOG_NAME]
REAL_LOG = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
TABLES = ("incidents", "activity", "incident_search", "callers", "users", "assignment_groups",
          "group_members", "categories", "services", "configuration_items", "matrix_versions")
STATES = {"New": "new", "Active": "in_progress", "Awaiting User Info": "on_hold",
          "Awaiting Evidence": "on_hold", "Awaiting Vendor": "on_hold",
          "Awaiting Problem": "on_hold", "Resolved": "resolved", "Closed": "closed"}
"""The log's states as the importer must store them, written out again for the test."""


# --- the real log ---------------------------------------------------------------------


@dataclass(frozen=True)
class Final:
    """What the log's last row of an incident says."""

    state: str
    reassignments: int
    reopens: int
    impact: int
    urgency: int
    priority: int
    made_sla: bool


@dataclass(frozen=True)
class Expected:
    """The real log as the csv module reads it."""

    rows: int
    finals: dict[str, Final]
    callers: int
    groups: int
    agents: int
    junk_lines: list[int]


@pytest.fixture(scope="module")
def expected() -> Expected:
    if not REAL_LOG.exists():
        if in_ci() and os.environ.get("DESKAPP_SERVICENOW_LOG"):
            pytest.fail(f"The real incident log is missing: {REAL_LOG}")
        pytest.skip(f"The real incident log is not here: {REAL_LOG}")
    with zipfile.ZipFile(REAL_LOG) as archive:
        (name,) = [n for n in archive.namelist()
                   if n.endswith(".csv") and not n.startswith("__MACOSX")]
        with archive.open(name) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            finals: dict[str, Final] = {}
            callers: dict[str, str] = {}
            groups, agents = set(), set()
            junk: list[int] = []
            rows = 0
            for line, row in enumerate(reader, start=2):
                rows += 1
                if row["incident_state"] == "-100":
                    junk.append(line)
                else:
                    finals[row["number"]] = Final(
                        STATES[row["incident_state"]], int(row["reassignment_count"]),
                        int(row["reopen_count"]), int(row["impact"][0]),
                        int(row["urgency"][0]), int(row["priority"][0]),
                        row["made_sla"] == "true")
                callers[row["number"]] = row["caller_id"]  # the last row's caller stays
                groups.add(row["assignment_group"])
                agents.add(row["assigned_to"])
    # A missing caller ("?") becomes one "Unknown caller".
    return Expected(rows, finals, len(set(callers.values())), len(groups - {"?"}),
                    len(agents - {"?"}), junk)


@dataclass(frozen=True)
class Imported:
    database: Database
    report: ImportReport
    progress: list[tuple[ImportStage, int, int]]


def _import_real_log(url: str) -> Iterator[Imported]:
    database = open_database(url)
    progress: list[tuple[ImportStage, int, int]] = []
    try:
        report = import_servicenow(database.uow_factory, REAL_LOG,
                                   progress=lambda *args: progress.append(args))
        yield Imported(database, report, progress)
    finally:
        database.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def imported(request: pytest.FixtureRequest, expected: Expected, sqlite_template: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """The real log imported into a database of each kind, once for the module."""
    if request.param == "sqlite":
        yield from _import_real_log(copy_sqlite(sqlite_template,
                                                tmp_path_factory.mktemp("servicenow")))
        return
    admin = postgres_admin_url()
    if admin is None:
        if in_ci():
            pytest.fail("CI must test PostgreSQL: DESKAPP_TEST_POSTGRES_URL is not set")
        pytest.skip("DESKAPP_TEST_POSTGRES_URL is not set")
    # A database of its own: the function-scoped fixtures empty the shared one.
    with private_postgres_database(admin) as url:
        yield from _import_real_log(url)


def _incidents(database: Database) -> dict[str, IncidentRecord]:
    with Session(database.engine) as session:
        return {r.external_ref.removeprefix("servicenow:"): r
                for r in session.scalars(select(IncidentRecord)) if r.external_ref}


def test_every_incident_is_imported_with_its_final_state(imported: Imported,
                                                         expected: Expected) -> None:
    report = imported.report
    assert report.ok and report.errors == 0
    assert report.imported == report.incidents_in_file == 24_918 == len(expected.finals)
    assert report.rows == expected.rows == 141_712
    incidents = _incidents(imported.database)
    assert len(incidents) == 24_918
    assert {n: i.state for n, i in incidents.items()} == {
        n: f.state for n, f in expected.finals.items()}
    assert Counter(i.state for i in incidents.values()) == {State.CLOSED.value: 24_918}
    numbers = [i.number for i in incidents.values()]
    assert len(set(numbers)) == len(numbers)
    # cmdb_ci is the configuration item; the log has no service column. The last rows
    # name 47 items on 54 incidents (50 on 56 counting earlier rows).
    assert report.configuration_items_created == 47
    assert sum(i.configuration_item_id is not None for i in incidents.values()) == 54
    assert all(i.service_id is None for i in incidents.values())
    assert (report.callers_created, report.groups_created, report.agents_created) == (
        expected.callers, expected.groups, expected.agents)
    assert imported.progress[-1] == (ImportStage.WRITING, 24_918, 24_918)
    assert any(stage == ImportStage.READING for stage, _, _ in imported.progress)


def test_reassignment_and_reopen_counts_are_the_logs(imported: Imported,
                                                     expected: Expected) -> None:
    incidents = _incidents(imported.database)
    assert {n: (i.reassignment_count, i.reopen_count) for n, i in incidents.items()} == {
        n: (f.reassignments, f.reopens) for n, f in expected.finals.items()}
    assert sum(i.reassignment_count for i in incidents.values()) == sum(
        f.reassignments for f in expected.finals.values())
    assert sum(i.reopen_count for i in incidents.values()) == sum(
        f.reopens for f in expected.finals.values()) > 0


def test_the_current_matrix_gives_every_incident_the_logs_priority(
        imported: Imported, expected: Expected) -> None:
    report = imported.report
    assert report.matrix_replaced
    assert report.matrix_changes == ("impact 3 x urgency 3: P5 -> P4 - Low",)
    with imported.database.uow_factory() as uow:
        matrix = uow.matrix.current()
    assert matrix.version == report.matrix_version
    for number, incident in _incidents(imported.database).items():
        final = expected.finals[number]
        assert (incident.impact, incident.urgency, incident.priority) == (
            final.impact, final.urgency, final.priority), number
        assert matrix.priority_for(incident.impact, incident.urgency).rank == final.priority


def test_sla_fields_follow_the_domain_and_the_log(imported: Imported,
                                                  expected: Expected) -> None:
    with imported.database.uow_factory() as uow:
        matrix = uow.matrix.current()
    for number, i in _incidents(imported.database).items():
        definition = matrix.definition(i.priority)
        assert i.response_due_at == i.opened_at + definition.response_target, number
        assert i.resolution_due_at == (i.opened_at + definition.resolution_target
                                       + timedelta(seconds=i.sla_paused_seconds)), number
        assert i.resolution_breached == (not expected.finals[number].made_sla), number
        assert i.resolved_at is not None and i.closed_at is not None, number
        assert i.resolution_code is not None and i.resolution_notes, number
        assert i.sla_paused_since is not None, number


def test_the_timeline_holds_the_state_and_assignment_changes(imported: Imported) -> None:
    database = imported.database
    incidents = {i.id: i for i in _incidents(database).values()}
    last_state: dict[int, str] = {}
    kinds: Counter[str] = Counter()
    with Session(database.engine) as session:
        rows = session.execute(select(ActivityRecord.incident_id, ActivityRecord.kind,
                                      ActivityRecord.new_value, ActivityRecord.field)
                               .order_by(ActivityRecord.id))
        for incident_id, kind, new_value, field in rows:
            kinds[kind] += 1
            if kind == ActivityKind.STATE_CHANGE.value:
                last_state[incident_id] = new_value
            if kind == ActivityKind.ASSIGNMENT.value:
                assert field in ("assignment_group_id", "assignee_id")
    assert kinds[ActivityKind.CREATED.value] == len(incidents)
    assert kinds[ActivityKind.ASSIGNMENT.value] > 10_000
    assert sum(kinds.values()) == imported.report.activity
    assert {k: incidents[k].state for k in last_state} == last_state
    assert set(last_state) == set(incidents)


def test_the_old_number_is_searchable_and_the_subject_comes_first(
        imported: Imported) -> None:
    service = IncidentService(imported.database.uow_factory,
                              ensure_admin(imported.database.uow_factory).id)
    hits = service.search("ServiceNow INC0000045")  # also finds the desk's own INC0000045
    old = [h for h in hits if h.short_description.endswith("(ServiceNow INC0000045)")]
    assert len(old) == 1 and not old[0].short_description.startswith("INC")


def test_junk_states_are_warnings_with_their_lines(imported: Imported,
                                                   expected: Expected) -> None:
    report = imported.report
    junk = [p for p in report.problems if "junk" in p.message]
    assert [p.line for p in junk] == expected.junk_lines == [115643, 115644, 124509, 124510,
                                                             124511]
    assert all(not p.is_error for p in junk)
    assert {p.number for p in junk} == {"INC0028089", "INC0030413"}


@pytest.mark.slow
def test_importing_again_adds_nothing(imported: Imported) -> None:
    database = imported.database
    before = _counts(database)
    again = import_servicenow(database.uow_factory, REAL_LOG)
    assert (again.imported, again.skipped, again.matrix_version) == (0, 24_918, None)
    assert "were imported before" in again.summary()
    assert _counts(database) == before


# --- small logs -----------------------------------------------------------------------


def _counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        counts = {table: int(connection.execute(text(f"SELECT count(*) FROM {table}"))
                             .scalar_one()) for table in TABLES}
        counts["counter"] = int(connection.execute(
            text("SELECT value FROM counters WHERE name = 'incident'")).scalar_one())
    return counts


def _cli(url: str, path: Path, *options: str) -> int:
    return main(["--database-url", url, "import", "servicenow", str(path), *options])


def _broken(rows: list[dict[str, str]], index: int, **values: str) -> list[dict[str, str]]:
    rows[index].update(values)
    return rows


BrokenCase = tuple[Callable[[], list[dict[str, str]]], list[str] | None, list[int], str]
"""How to make the rows, the columns (None: all), the lines reported, what the first says."""
BROKEN: dict[str, BrokenCase] = {
    "bad date": (lambda: _broken(good_rows(), 3, sys_updated_at="31/4/2016 10:00"),
                 None, [5], "sys_updated_at '31/4/2016 10:00' is not a day-first"),
    "bad impact": (lambda: _broken(good_rows(), 8, impact="9 - Galactic"),
                   None, [10], "impact '9 - Galactic' is not a level from 1 to 5"),
    "junk state": (lambda: _broken(good_rows(), 5, incident_state="-100"),
                   None, [7], "the junk value -100"),
    "unknown state": (lambda: _broken(good_rows(), 0, incident_state="Snoozing"),
                      None, [2], "incident_state 'Snoozing'"),
    "missing column": (good_rows, [c for c in event() if c != "sys_updated_at"], [1],
                       "the header lacks the column sys_updated_at"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_log_is_reported_by_row_and_changes_nothing(
        case: str, database: Database, database_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    make_rows, columns, lines, fragment = BROKEN[case]
    # Something there already, so that "nothing changed" means something.
    assert _cli(database_url, write_log(tmp_path / "first.csv", [
        event(number="INC0000100", state="Closed", impact="3 - Low", urgency="3 - Low",
              priority="4 - Low")])) == 0
    capsys.readouterr()
    before = _counts(database)
    rows = make_rows()
    rows += [event(number="INC0000003", state="New", at="5/2/2016 10:00"),
             event(number="INC0000003", state="Closed", at="5/2/2016 11:00")]
    assert _cli(database_url, write_log(tmp_path / "log.csv", rows, columns)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("deskapp: error: Nothing was imported from log.csv: ")
    assert [int(re.search(r"line (\d+)", line)[1]) for line in err[1:]  # type: ignore[index]
            ] == lines
    assert fragment in err[1]
    assert _counts(database) == before


def test_a_log_imports_with_its_history_and_twice_adds_only_the_new(
        database: Database, database_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(database_url, write_log(tmp_path / "log.csv", good_rows())) == 0
    out = capsys.readouterr().out
    assert "Imported 2 incidents with 18 timeline entries from log.csv (11 rows)" in out
    assert "The priority matrix was replaced" in out and "impact 3 x urgency 3" in out
    with database.uow_factory() as uow:
        newest = uow.matrix.history()[0]
    # Run without --user: the system imported it, and the history says with which log.
    assert (newest.author, newest.comment) == (None, "Imported with the ServiceNow log log.csv")
    incidents = _incidents(database)
    held = incidents["INC0000001"]
    assert held.state == State.CLOSED.value and held.reassignment_count == 1
    # Held from 11:00 to 13:00: two hours added to the time allowed.
    assert held.sla_paused_seconds == 7200
    assert held.first_response_at == datetime(2016, 2, 1, 9, 30, tzinfo=UTC)
    assert held.resolved_at == datetime(2016, 2, 1, 15, 0, tzinfo=UTC)
    reopened = incidents["INC0000002"]
    assert (reopened.priority, reopened.reopen_count, reopened.resolution_breached) == (
        4, 1, True)
    with database.uow_factory() as uow:
        timeline = uow.incidents.activity(held.id)
        agents = {u.full_name: u for u in uow.users.all()}
        group_two = next(g for g in uow.groups.all() if g.name == "Group 2")
        members = uow.groups.member_ids(group_two.id)
    assert [(e.kind, e.field, e.new_value) for e in timeline
            if e.kind != ActivityKind.CREATED.value] == [
        ("assignment", "assignee_id", str(agents["Resolver 1"].id)),
        ("state_change", "state", "in_progress"),
        ("state_change", "state", "on_hold"),
        ("field_change", "hold_reason", "awaiting_caller"),
        ("assignment", "assignment_group_id", str(group_two.id)),
        ("assignment", "assignee_id", str(agents["Resolver 2"].id)),
        ("state_change", "state", "in_progress"),
        ("state_change", "state", "resolved"),
        ("field_change", "resolution_code", "solved_permanently"),
        ("state_change", "state", "closed"),
    ]
    assert members == [agents["Resolver 2"].id]
    assert agents["Resolver 1"].role.value == "agent"
    before = _counts(database)
    more = [*good_rows(), event(number="INC0000009", state="Closed", caller_id="Caller 1")]
    assert _cli(database_url, write_log(tmp_path / "more.csv", more)) == 0
    out = capsys.readouterr().out
    assert "Imported 1 incident with 2 timeline entries" in out
    assert "skipped 2 imported before" in out
    assert "matrix" not in out
    after = _counts(database)
    assert after["incidents"] == before["incidents"] + 1
    # The caller, group and agent are found again by name.
    for table in ("callers", "users", "assignment_groups", "categories", "matrix_versions"):
        assert after[table] == before[table], table


def test_cmdb_ci_becomes_a_configuration_item_once(database: Database,
                                                    database_url: str, tmp_path: Path) -> None:
    rows = [{**row, "cmdb_ci": "SAP  server"} for row in good_rows()]
    assert _cli(database_url, write_log(tmp_path / "log.csv", rows)) == 0
    more = [*rows, event(number="INC0000009", state="Closed", cmdb_ci="SAP server")]
    assert _cli(database_url, write_log(tmp_path / "more.csv", more)) == 0
    with database.uow_factory() as uow:
        items = uow.catalog.list_configuration_items()
        services = uow.catalog.list_services()
    # Spaces tidied as for every name; found again by name on the second import.
    assert [(ci.name, ci.ci_class, ci.service_id) for ci in items] == [
        ("SAP server", "other", None)]
    assert services == []
    incidents = _incidents(database)
    assert len(incidents) == 3
    assert {i.configuration_item_id for i in incidents.values()} == {items[0].id}
    assert {i.service_id for i in incidents.values()} == {None}


def test_the_time_zone_option_shifts_times_to_utc(database: Database, database_url: str,
                                                  tmp_path: Path) -> None:
    rows = [event(number="INC0000001", state="New", opened_at="15/1/2016 10:00",
                  at="15/1/2016 10:05"),
            event(number="INC0000001", state="Closed", opened_at="15/1/2016 10:00",
                  at="15/7/2016 10:00", resolved_at="15/7/2016 09:00",
                  closed_at="15/7/2016 10:00")]
    path = write_log(tmp_path / "log.csv", rows)
    assert _cli(database_url, path, "--timezone", "America/Sao_Paulo") == 0
    incident = _incidents(database)["INC0000001"]
    # Summer time in Brazil in January (UTC-2), standard time in July (UTC-3).
    assert incident.opened_at == datetime(2016, 1, 15, 12, 0, tzinfo=UTC)
    assert incident.closed_at == datetime(2016, 7, 15, 13, 0, tzinfo=UTC)
    assert incident.resolved_at == datetime(2016, 7, 15, 12, 0, tzinfo=UTC)


def test_an_unknown_time_zone_is_one_error_line(database_url: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path / "log.csv", good_rows())
    assert _cli(database_url, path, "--timezone", "Europe/Atlantis") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("deskapp: error: 'Europe/Atlantis' is not")


def test_a_failure_while_writing_leaves_nothing_behind(
        database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _counts(database)
    monkeypatch.setattr(servicenow_module, "BATCH_SIZE", 1)
    calls = 0
    original = SqlBulkIncidentWriter.add_incidents

    def failing(self: SqlBulkIncidentWriter, *args: object, **kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlBulkIncidentWriter, "add_incidents", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_servicenow(database.uow_factory, write_log(tmp_path / "log.csv", good_rows()))
    assert calls == 2
    assert _counts(database) == before
    with database.uow_factory() as uow:
        assert uow.matrix.current().cells[(3, 3)] == 5


def test_the_review_says_what_the_source_recorded(database: Database, database_url: str,
                                                  admin: User, tmp_path: Path) -> None:
    """The log's resolved_at and made_sla are ServiceNow's record; where its events put the
    change to Resolved elsewhere, the review says which time is which."""
    rows = good_rows()
    for row in rows:
        if row["number"] == "INC0000001":
            row["resolved_at"] = "1/2/2016 16:30"  # its Resolved event is at 15:00
    assert _cli(database_url, write_log(tmp_path / "log.csv", rows)) == 0
    reports = ReportService(database.uow_factory, admin.id, zone=UTC)
    report = reports.review_report(_incidents(database)["INC0000001"].id)
    facts = report.facts
    assert facts.source == "ServiceNow"
    assert facts.resolved_at == datetime(2016, 2, 1, 16, 30, tzinfo=UTC)
    assert facts.resolved_state_at == datetime(2016, 2, 1, 15, 0, tzinfo=UTC)
    body = re.sub(r"\s+", " ", " ".join(
        page.extract_text() or "" for page in PdfReader(io.BytesIO(review_pdf(report))).pages))
    assert "Resolved 2016-02-01 16:30 (as ServiceNow recorded it)" in body
    assert "Met (as recorded by the source)" in body
    assert "the resolved time and the resolution verdict are as ServiceNow recorded" in body
    assert "state change to Resolved at 2016-02-01 15:00, from ServiceNow's event log" in body
    # Its events agree with the log's resolved_at: only what the source recorded is said.
    agreeing = reports.review_report(_incidents(database)["INC0000002"].id)
    assert agreeing.facts.source == "ServiceNow" and agreeing.facts.resolved_state_at is None
    body = re.sub(r"\s+", " ", " ".join(
        page.extract_text() or "" for page in
        PdfReader(io.BytesIO(review_pdf(agreeing))).pages))
    assert "Breached (as recorded by the source)" in body
    assert "state change to Resolved at" not in body


def test_the_matrix_version_an_import_saves_names_who_and_which_log(
        database: Database, tmp_path: Path) -> None:
    admin = ensure_admin(database.uow_factory)
    report = import_servicenow(database.uow_factory,
                               write_log(tmp_path / "march.csv", good_rows()),
                               actor_id=admin.id)
    with database.uow_factory() as uow:
        newest = uow.matrix.history()[0]
    assert newest.version == report.matrix_version
    assert (newest.author, newest.comment) == (
        admin.full_name, "Imported with the ServiceNow log march.csv")
