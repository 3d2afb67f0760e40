"""Exporting queues to CSV and XLSX on both databases: round trips, streaming, the command."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import text as sql

from deskapp.cli import main
from deskapp.domain.enums import OPEN_STATES, ResolutionCode, Role
from deskapp.domain.errors import ValidationError
from deskapp.domain.people import Group
from deskapp.persistence.database import Database
from deskapp.persistence.tables import ConfigurationItemRecord
from deskapp.services import exporting
from deskapp.services.dto import CallerView, IncidentRow
from deskapp.services.exporting import (
    TABLE_COLUMNS,
    ExportColumn,
    ExportFormat,
    ExportRequest,
    ExportService,
    find_queue,
    parse_columns,
)
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.queries import QueueFilter, QueueQuery, SlaCondition, SortKey
from deskapp.services.queues import BUILT_IN_QUEUES, FilterConditions, QueueService
from tests.conftest import FakeClock, add_user

OSLO = ZoneInfo("Europe/Oslo")
FORMULA = "=HYPERLINK(\"http://evil.example\",\"click\")"
OPEN = 7
RESOLVED = 2


@pytest.fixture
def caller(service: IncidentService) -> CallerView:
    return service.add_caller("Zoë Ångström", email="zoe@example.com", vip=True)


@pytest.fixture
def logged(database: Database, service: IncidentService, clock: FakeClock,
           caller: CallerView) -> list[IncidentRow]:
    """Seven open incidents (one assigned, one with formula-like text) and two resolved."""
    agent = add_user(database, "franziska")
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Réseau & Sécurité"), [agent.id])
        uow.commit()
    texts = ["Café printer jams on floor 2", FORMULA, "-5 degrees in the server room",
             "VPN drops every hour", "Outlook: “quota” exceeded", "Laptop won't boot",
             "Badge reader dead"]
    for i, text in enumerate(texts):
        clock.advance(minutes=37)
        service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=text, impact=1 + i % 3,
            urgency=1 + (i // 3) % 3,
            assignment_group_id=group.id if i == 0 else None,
            assignee_id=agent.id if i == 0 else None))
    for i in range(RESOLVED):
        clock.advance(minutes=5)
        service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"Resolved at once {i}", impact=3,
            urgency=3, resolution_code=ResolutionCode.SOLVED_REMOTELY,
            resolution_notes="Done."))
    return service.list_queue(QueueQuery(QueueFilter(), SortKey.NUMBER, False, limit=100))


def exporter(database: Database, clock: FakeClock, **kwargs: object) -> ExportService:
    return ExportService(database.uow_factory, clock, OSLO, **kwargs)  # type: ignore[arg-type]


def local(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_csv_round_trip(database: Database, clock: FakeClock, logged: list[IncidentRow],
                        tmp_path: Path) -> None:
    path = tmp_path / "all.csv"
    request = ExportRequest(QueueFilter(), SortKey.NUMBER, False, tuple(ExportColumn))
    report = exporter(database, clock).export(request, path)

    assert report.rows == len(logged) == OPEN + RESOLVED
    assert report.format == ExportFormat.CSV
    # Excel needs the byte-order mark to read UTF-8 (or accents come out as mojibake).
    assert path.read_bytes().startswith(b"\xef\xbb\xbfNumber,Priority,")
    rows = read_csv(path)
    assert list(rows[0]) == [c.heading for c in ExportColumn]
    labels = {1: "P1 - Critical", 2: "P2 - High", 3: "P3 - Moderate", 4: "P4 - Low",
              5: "P5 - Planning"}
    for row, incident in zip(rows, logged, strict=True):
        description = row["Short description"]
        if incident.short_description.startswith(("=", "-")):
            # A spreadsheet would run it as a formula: it is marked as text.
            assert description == "'" + incident.short_description
        else:
            assert description == incident.short_description
        assert row["Number"] == incident.number
        assert row["Priority"] == labels[incident.priority]
        assert row["Caller"] == "Zoë Ångström"
        assert row["State"] == incident.state.label
        assert row["Assignment group"] == (incident.group_name or "")
        assert row["Assigned to"] == (incident.assignee_name or "")
        assert row["Opened"] == local(incident.opened_at)
        assert row["Resolution due"] == local(incident.resolution_due_at)
        assert row["Updated"] == local(incident.updated_at)
        assert row["Response due"] == local(incident.response_due_at)
        assert row["Impact"] == str(incident.impact)
        assert row["Channel"] == "Phone"
        assert row["VIP caller"] == "yes"
        assert row["Major incident"] == "no"
        assert row["Configuration item"] == ""
    assert rows[0]["Assignment group"] == "Réseau & Sécurité"
    assert rows[0]["Assigned to"] == "Franziska"
    # Read back as times, the local wall clock gives the stored moment again.
    first = datetime.fromisoformat(rows[0]["Opened"]).replace(tzinfo=OSLO)
    assert first == logged[0].opened_at


def test_xlsx_opens_with_openpyxl(database: Database, clock: FakeClock,
                                  logged: list[IncidentRow], tmp_path: Path) -> None:
    path = tmp_path / "queue.xlsx"
    columns = (ExportColumn.NUMBER, ExportColumn.SHORT_DESCRIPTION, ExportColumn.OPENED,
               ExportColumn.PRIORITY, ExportColumn.SLA)
    request = ExportRequest(QueueFilter.open_incidents(), SortKey.OPENED_AT, True, columns,
                            title="All open: mine/yours")
    report = exporter(database, clock).export(request, path)

    assert report.rows == OPEN
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["All open mine yours"]
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header == ["Number", "Short description", "Opened", "Priority", "Resolution due"]
    assert all(cell.font.b for cell in sheet[1])
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    expected = sorted((r for r in logged if r.state in OPEN_STATES),
                      key=lambda r: r.opened_at, reverse=True)
    assert [v[0] for v in values] == [r.number for r in expected]
    for value, row in zip(values, expected, strict=True):
        assert value[1] == row.short_description  # kept as it is, formula-like or not
        assert value[2] == row.opened_at.astimezone(OSLO).replace(tzinfo=None)
        assert value[4] == row.resolution_due_at.astimezone(OSLO).replace(tzinfo=None)
    formula_cells = [row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == FORMULA]
    assert len(formula_cells) == 1 and formula_cells[0].data_type == "s"


def test_export_streams_keyset_pages(database: Database, clock: FakeClock,
                                     logged: list[IncidentRow], tmp_path: Path) -> None:
    """Pages of two: the rows arrive and leave a page at a time, each page after the last."""
    queries: list[QueueQuery] = []
    largest: list[int] = []
    service = exporter(database, clock, page_size=2)
    export = service.start(ExportRequest(QueueFilter(), SortKey.NUMBER, False,
                                         (ExportColumn.NUMBER,)), tmp_path / "paged.csv")
    source = service._page

    def spy(query: QueueQuery, now: datetime) -> list[IncidentRow]:
        queries.append(query)
        page = source(query, now)
        largest.append(len(page))
        return page

    export._source = spy
    assert export.total == len(logged)
    while not export.done:
        before = export.rows
        export.write_page()
        assert export.rows - before <= 2
    export.finish()

    assert len(queries) == len(logged) // 2 + 1
    assert all(q.limit == 2 for q in queries) and max(largest) == 2
    assert queries[0].after is None
    assert [q.after for q in queries[1:]] == [
        (logged[i].number, logged[i].id) for i in range(1, len(logged), 2)]
    assert [r["Number"] for r in read_csv(tmp_path / "paged.csv")] == [r.number for r in logged]


def test_failed_export_keeps_the_old_file(database: Database, clock: FakeClock,
                                          logged: list[IncidentRow], tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "report.csv"
    path.write_text("the old report")
    calls = 0

    def failing(query: QueueQuery, now: datetime) -> list[IncidentRow]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        return logged[:2]

    service = exporter(database, clock, page_size=2)
    service._page = failing  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        service.export(ExportRequest(QueueFilter()), path)
    assert path.read_text() == "the old report"
    assert list(path.parent.iterdir()) == [path]


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(
        database: Database, clock: FakeClock, logged: list[IncidentRow], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 4)  # a header and three rows a sheet
    path = tmp_path / "big.xlsx"
    exporter(database, clock).export(
        ExportRequest(QueueFilter(), SortKey.NUMBER, False, (ExportColumn.NUMBER,)), path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Incidents", "Incidents (2)", "Incidents (3)"]
    numbers = []
    for sheet in book.worksheets:
        rows = [row[0].value for row in sheet.iter_rows()]
        assert rows[0] == "Number"
        numbers += rows[1:]
    assert numbers == [r.number for r in logged]


def test_an_empty_queue_gives_a_header(database: Database, clock: FakeClock,
                                       tmp_path: Path) -> None:
    for name in ("none.csv", "none.xlsx"):
        report = exporter(database, clock).export(ExportRequest(QueueFilter(empty=True)),
                                                  tmp_path / name)
        assert report.rows == 0
    assert read_csv(tmp_path / "none.csv") == []
    sheet = openpyxl.load_workbook(tmp_path / "none.xlsx").active
    assert [c.value for c in sheet[1]] == [c.heading for c in TABLE_COLUMNS]


def test_bad_requests_are_validation_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\.csv or an \.xlsx"):
        ExportFormat.for_path(tmp_path / "out.pdf")
    with pytest.raises(ValidationError, match="'colour' is not a column"):
        parse_columns("number, colour")
    assert parse_columns("Number,opened,number,response-due") == (
        ExportColumn.NUMBER, ExportColumn.OPENED, ExportColumn.RESPONSE_DUE)
    with pytest.raises(ValidationError):
        ExportRequest(QueueFilter(), columns=())


def test_queues_are_found_by_key_short_key_and_name(database: Database, admin: object,
                                                    clock: FakeClock) -> None:
    queues = QueueService(database.uow_factory, admin.id, clock)  # type: ignore[attr-defined]
    queues.save_filter("Printers", FilterConditions(text="printer"))
    every = queues.queues()
    assert find_queue(every, "all_open").key == "built_in:all_open"
    assert find_queue(every, "built_in:major").key == "built_in:major"
    assert find_queue(every, "printers").title == "Printers"
    assert find_queue(every, "all").conditions == FilterConditions()
    with pytest.raises(ValidationError, match="saved filters 'Printers'"):
        find_queue(every, "toasters")
    assert len(BUILT_IN_QUEUES) == 9  # "all" is one of them


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_url(database_url: str, logged: list[IncidentRow]) -> Iterator[str]:
    yield database_url


def test_cli_exports_a_queue_with_chosen_columns(cli_url: str, logged: list[IncidentRow],
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "open.csv"
    code = main(["--database-url", cli_url, "export", "--queue", "all_open",
                 "--columns", "number,state,priority", "--sort", "number", str(path)])
    assert code == 0, capsys.readouterr().err
    assert f"Exported {OPEN} incidents to open.csv" in capsys.readouterr().out
    rows = read_csv(path)
    assert list(rows[0]) == ["Number", "State", "Priority"]
    open_rows = [r for r in logged if r.state in OPEN_STATES]
    assert [r["Number"] for r in rows] == [r.number for r in open_rows]  # ascending

    path = tmp_path / "all.xlsx"
    assert main(["--database-url", cli_url, "export", "--queue", "all", str(path)]) == 0
    sheet = openpyxl.load_workbook(path).active
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2)]
    # Newest first by default, like the queue.
    assert numbers == [r.number for r in reversed(logged)]
    assert sheet.title == "All incidents"


def test_cli_exports_a_search(cli_url: str, logged: list[IncidentRow], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "found.csv"
    assert main(["--database-url", cli_url, "export", "--search", "printer", str(path)]) == 0
    assert [r["Short description"] for r in read_csv(path)] == [
        "Café printer jams on floor 2"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--queue", "toasters", "x.csv"], "There is no queue 'toasters'"),
    (["--queue", "all_open", "x.pdf"], "export to a .csv or an .xlsx file"),
    (["--queue", "all_open", "--columns", "number,colour", "x.csv"], "'colour' is not"),
    (["--search", " ", "x.csv"], "--search needs some text"),
    (["--queue", "all_open", "--timezone", "Mars/Olympus", "x.csv"], "is not a time zone"),
    (["--queue", "all_open", "missing-folder/x.csv"], "Cannot write"),
])
def test_cli_bad_input_is_one_line(cli_url: str, tmp_path: Path, args: list[str],
                                   expected: str, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    assert main(["--database-url", cli_url, "export", *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deskapp: error: ")
    assert expected in err[0]
    assert list((tmp_path / "out").iterdir()) == []


def test_cli_user_picks_whose_queues(cli_url: str, database: Database,
                                     logged: list[IncidentRow], tmp_path: Path) -> None:
    add_user(database, "grace", Role.LEAD)
    with database.engine.begin() as connection:  # leads export; agents do not
        connection.execute(sql("UPDATE users SET role = 'lead' WHERE username = 'franziska'"))
    mine = tmp_path / "mine.csv"
    assert main(["--database-url", cli_url, "--user", "grace", "export", "--queue", "my_open",
                 str(mine)]) == 0
    assert read_csv(mine) == []
    assert main(["--database-url", cli_url, "--user", "franziska", "export", "--queue",
                 "My open incidents", str(mine)]) == 0
    assert [r["Number"] for r in read_csv(mine)] == [logged[0].number]


def test_sla_conditions_use_the_clock_at_the_start(database: Database, clock: FakeClock,
                                                   logged: list[IncidentRow],
                                                   tmp_path: Path) -> None:
    request = ExportRequest(QueueFilter(states=OPEN_STATES, sla=SlaCondition.BREACHED))
    assert exporter(database, clock).export(request, tmp_path / "late.csv").rows == 0
    clock.advance(days=30)  # every open incident is past its resolution time now
    assert exporter(database, clock).export(request, tmp_path / "late.csv").rows == OPEN


def test_the_configuration_item_is_exported_by_name(database: Database, clock: FakeClock,
                                                    service: IncidentService,
                                                    caller: CallerView, tmp_path: Path) -> None:
    with database.uow_factory(write=True) as uow:
        printing = uow.catalog.add_service("Printing")
        uow.commit()
    with database.uow_factory(write=True) as uow:
        uow.session.add(ConfigurationItemRecord(name="=prt-floor2", ci_class="other",
                                                service_id=printing, description="",
                                                active=True, version=1))
        uow.commit()
    with database.uow_factory() as uow:
        [item] = uow.catalog.list_configuration_items()
    service.log_call(LogCallRequest(caller.id, "Printer jammed", 2, 2, service_id=printing,
                                    configuration_item_id=item.id))
    service.log_call(LogCallRequest(caller.id, "No item", 2, 2))
    columns = (ExportColumn.NUMBER, ExportColumn.CONFIGURATION_ITEM)
    assert parse_columns("number,configuration-item") == columns
    path = tmp_path / "items.csv"
    exporter(database, clock).export(
        ExportRequest(QueueFilter(), SortKey.NUMBER, False, columns), path)
    assert [row["Configuration item"] for row in read_csv(path)] == ["'=prt-floor2", ""]
    xlsx = tmp_path / "items.xlsx"
    exporter(database, clock).export(
        ExportRequest(QueueFilter(), SortKey.NUMBER, False, columns), xlsx)
    sheet = openpyxl.load_workbook(xlsx).active
    assert [c.value for c in sheet["B"]] == ["Configuration item", "=prt-floor2", None]


def test_an_open_incident_past_its_due_time_is_exported_as_breached(
        database: Database, clock: FakeClock, logged: list[IncidentRow],
        tmp_path: Path) -> None:
    """The one SLA rule: the queue and the form say overdue, so the export says breached."""
    request = ExportRequest(QueueFilter(states=OPEN_STATES), SortKey.NUMBER, False,
                            (ExportColumn.NUMBER, ExportColumn.BREACHED))
    path = tmp_path / "sla.csv"
    exporter(database, clock).export(request, path)
    assert {r[ExportColumn.BREACHED.heading] for r in read_csv(path)} == {"no"}
    clock.advance(days=30)  # past every open incident's due time; no flag stored yet
    exporter(database, clock).export(request, path)
    assert {r[ExportColumn.BREACHED.heading] for r in read_csv(path)} == {"yes"}
