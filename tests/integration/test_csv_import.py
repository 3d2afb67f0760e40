"""The generic CSV import of callers and incidents, on both databases."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskapp.cli import main
from deskapp.domain.errors import ValidationError
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.services.importing.csv_import import (
    CsvKind,
    guess_mapping,
    import_csv,
    parse_mapping,
    preview_csv,
)
from deskapp.services.incidents import IncidentService
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey
from tests.conftest import FakeClock, add_user, table_count

CALLERS = [
    ["Full Name", "E-mail", "Tel.", "Dept", "Site", "VIP?"],
    ["Ada Lovelace", "ada@example.com", "+44 20 7946 0001", "Engineering", "London", "yes"],
    ["Grace Hopper", "grace@example.com", "", "Navy", "Arlington", "no"],
    ["José Ñúñez", "", "555-0199", "", "Madrid", ""],
]
CALLER_MAP = {"name": "Full Name", "email": "E-mail", "phone": "Tel.", "department": "Dept",
              "location": "Site", "vip": "VIP?"}


def write(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=delimiter).writerows(rows)
    return path


def callers(database: Database) -> dict[str, tuple[str, str, str, str, bool]]:
    with database.uow_factory() as uow:
        found = uow.callers.lookup("", 100)
    assert found == []  # an empty prefix finds nobody: look each one up instead
    out = {}
    with database.uow_factory() as uow:
        for name in ("Ada", "Grace", "José", "Linus"):
            for c in uow.callers.lookup(name, 10):
                out[c.name] = (c.email, c.phone, c.department, c.location, c.vip)
    return out


def test_callers_dry_run_then_import(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", CALLERS)
    dry = import_csv(database.uow_factory, path, CsvKind.CALLERS, CALLER_MAP, dry_run=True)
    assert dry.ok and dry.dry_run
    assert (dry.rows, dry.created, dry.skipped) == (3, 3, 0)
    assert dry.planned[0] == ("line 2: caller Ada Lovelace (ada@example.com, +44 20 7946 0001, "
                              "Engineering, London), VIP")
    assert "nothing written" in dry.summary()
    assert table_count(database, "callers") == 0

    report = import_csv(database.uow_factory, path, CsvKind.CALLERS, CALLER_MAP)
    assert report.ok and report.created == 3
    assert report.summary().startswith("Imported 3 callers from people.csv")
    assert callers(database) == {
        "Ada Lovelace": ("ada@example.com", "+44 20 7946 0001", "Engineering", "London", True),
        "Grace Hopper": ("grace@example.com", "", "Navy", "Arlington", False),
        "José Ñúñez": ("", "555-0199", "", "Madrid", False),
    }
    # Again: everyone is known by name, nothing new.
    again = import_csv(database.uow_factory, path, CsvKind.CALLERS, CALLER_MAP)
    assert (again.created, again.skipped) == (0, 3)
    assert table_count(database, "callers") == 3


def test_every_bad_row_is_listed_and_nothing_is_written(database: Database,
                                                        tmp_path: Path) -> None:
    rows = [*CALLERS,
            ["", "nobody@example.com", "", "", "", ""],
            ["Linus", "not-an-address", "", "", "", "maybe"],
            ["Too long " * 20, "", "", "", "", ""],
            ["Short row"],
            ["Ada Lovelace", "", "", "", "", ""]]
    path = write(tmp_path / "bad.csv", rows)
    report = import_csv(database.uow_factory, path, CsvKind.CALLERS, CALLER_MAP)
    assert not report.ok
    assert report.created == 0
    problems = [str(p) for p in report.problems]
    assert problems == [
        "line 5: the name is empty",
        "line 6: email 'not-an-address' is not an email address; "
        "vip 'maybe' is neither yes nor no",
        "line 7: name is 179 characters long; at most 120",
        "line 8: the row has 1 fields where the header has 6",
        "line 9: warning: Ada Lovelace is on line 2 already; this row is left out",
    ]
    assert report.errors == 4 and report.warnings == 1
    assert report.summary().startswith("Nothing was imported from bad.csv: 4 row problems")
    assert table_count(database, "callers") == 0


def test_mapping_is_guessed_and_checked(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "semi.csv", CALLERS, delimiter=";")
    preview = preview_csv(path)
    assert preview.delimiter == ";"
    assert preview.columns == tuple(CALLERS[0])
    assert preview.rows[0][0] == "Ada Lovelace"
    assert guess_mapping(CsvKind.CALLERS, preview.columns) == CALLER_MAP
    # Without a mapping the guess is used.
    assert import_csv(database.uow_factory, path, CsvKind.CALLERS, dry_run=True).created == 3
    assert parse_mapping("name=Full Name, email = E-mail,") == {"name": "Full Name",
                                                                "email": "E-mail"}
    with pytest.raises(ValidationError, match="no column 'Nom'"):
        import_csv(database.uow_factory, path, CsvKind.CALLERS, {"name": "Nom"})
    with pytest.raises(ValidationError, match="'colour': not a field of callers"):
        import_csv(database.uow_factory, path, CsvKind.CALLERS, {"name": "Full Name",
                                                                 "colour": "Dept"})
    with pytest.raises(ValidationError, match="Map a column to Name"):
        import_csv(database.uow_factory, path, CsvKind.CALLERS, {"email": "E-mail"})
    with pytest.raises(ValidationError, match="not field=Column"):
        parse_mapping("name")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Name\nJosé\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        import_csv(database.uow_factory, latin, CsvKind.CALLERS)


# --- incidents -----------------------------------------------------------------------------

INCIDENT_HEADER = ["Ticket", "Summary", "Requester", "Requester mail", "Impact", "Urgency",
                   "Team", "Agent", "Created", "Via", "Category", "Sub"]
INCIDENT_MAP = {"reference": "Ticket", "short_description": "Summary", "caller": "Requester",
                "caller_email": "Requester mail", "impact": "Impact", "urgency": "Urgency",
                "group": "Team", "assignee": "Agent", "opened_at": "Created", "channel": "Via",
                "category": "Category", "subcategory": "Sub"}


@pytest.fixture
def desk(database: Database) -> tuple[User, Group]:
    agent = add_user(database, "franziska")
    add_user(database, "outsider")
    with database.uow_factory(write=True) as uow:
        group = uow.groups.add(Group(0, "Service Desk"), [agent.id])
        hardware = uow.catalog.add_category("Hardware")
        uow.catalog.add_category("Printer", hardware)
        uow.commit()
    return agent, group


def incidents_in(service: IncidentService) -> list[tuple[str, str, int, str | None]]:
    rows = service.list_queue(QueueQuery(QueueFilter(), SortKey.NUMBER, False, limit=100))
    return [(r.short_description, r.caller_name, r.priority, r.assignee_name) for r in rows]


def test_incidents_import_with_mapping(database: Database, desk: tuple[User, Group],
                                       service: IncidentService, admin: User,
                                       clock: FakeClock, tmp_path: Path) -> None:
    rows = [INCIDENT_HEADER,
            ["T-1", "Printer jams", "Ada Lovelace", "ada@example.com", "1 - High", "High",
             "service desk", "Franziska", "2026-03-01 10:30", "E-mail", "hardware", "printer"],
            ["T-2", "VPN drops", "Grace Hopper", "", "3", "3", "", "", "", "", "", ""],
            ["T-3", "Outlook slow", "Ada Lovelace", "", "", "", "", "", "2/3/2026 08:00",
             "self service", "", ""]]
    path = write(tmp_path / "old-desk.csv", rows)
    service.add_caller("Grace Hopper")
    oslo = ZoneInfo("Europe/Oslo")

    dry = import_csv(database.uow_factory, path, CsvKind.INCIDENTS, INCIDENT_MAP,
                     dry_run=True, zone=oslo, actor_id=admin.id, clock=clock)
    assert dry.ok, dry.problems
    assert (dry.created, dry.callers_created) == (3, 1)
    assert dry.planned == (
        "line 2: incident “Printer jams” for Ada Lovelace (new caller), P1 - Critical, "
        "Service Desk / Franziska",
        "line 3: incident “VPN drops” for Grace Hopper, P5 - Planning",
        "line 4: incident “Outlook slow” for Ada Lovelace (new caller), P3 - Moderate",
    )
    assert table_count(database, "incidents") == 0

    report = import_csv(database.uow_factory, path, CsvKind.INCIDENTS, INCIDENT_MAP,
                        zone=oslo, actor_id=admin.id, clock=clock)
    assert report.ok and (report.created, report.callers_created) == (3, 1)
    assert incidents_in(service) == [("Printer jams", "Ada Lovelace", 1, "Franziska"),
                                     ("VPN drops", "Grace Hopper", 5, None),
                                     ("Outlook slow", "Ada Lovelace", 3, None)]
    first = service.get_by_number("INC0000001")
    assert first.opened_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # 10:30 in Oslo
    assert first.channel == "email" and first.category_id is not None
    assert first.subcategory_id is not None and first.opened_by_id == admin.id
    assert service.get_by_number("INC0000002").opened_at == clock.now
    assert service.get_by_number("INC0000003").opened_at == datetime(2026, 3, 2, 7, 0,
                                                                      tzinfo=UTC)
    assert table_count(database, "callers") == 2
    # The search index knows them, as it knows incidents logged by hand.
    assert [r.number for r in service.search("printer")] == ["INC0000001"]

    # Imported again with one row more: only that row is new.
    rows.append(["T-4", "Badge reader dead", "José", "", "", "", "", "", "", "", "", ""])
    write(path, rows)
    again = import_csv(database.uow_factory, path, CsvKind.INCIDENTS, INCIDENT_MAP,
                       actor_id=admin.id, clock=clock)
    assert (again.created, again.skipped, again.callers_created) == (1, 3, 1)
    assert table_count(database, "incidents") == 4


def test_incident_rows_with_problems_stop_the_import(database: Database,
                                                     desk: tuple[User, Group],
                                                     clock: FakeClock, tmp_path: Path) -> None:
    rows = [INCIDENT_HEADER,
            ["T-1", "Fine", "Ada", "", "", "", "", "", "", "", "", ""],
            ["T-2", "", "", "", "7", "urgent", "", "", "", "", "", ""],
            ["T-3", "Wrong team", "Ada", "", "", "", "Networks", "Franziska", "", "", "", ""],
            ["T-4", "Not a member", "Ada", "", "", "", "Service Desk", "outsider", "", "", "",
             ""],
            ["T-5", "No group", "Ada", "", "", "", "", "franziska", "", "", "", ""],
            ["T-1", "Twice", "Ada", "", "", "", "", "", "", "", "", ""],
            ["T-7", "Later", "Ada", "", "", "", "", "", "2099-01-01 00:00", "pigeon",
             "Software", ""],
            ["T-8", "Odd time", "Ada", "", "", "", "", "", "yesterday", "", "Hardware",
             "Toner"],
            ["", "No reference", "Ada", "not-mail", "", "", "", "", "", "", "", ""]]
    path = write(tmp_path / "bad.csv", rows)
    report = import_csv(database.uow_factory, path, CsvKind.INCIDENTS, INCIDENT_MAP,
                        clock=clock)
    assert not report.ok
    assert [str(p) for p in report.problems] == [
        "line 3 (T-2): the short description is empty; the caller is empty; impact '7' is "
        "not a level of the matrix: 1 (High), 2 (Medium), 3 (Low); urgency 'urgent' is not a "
        "level of the matrix: 1 (High), 2 (Medium), 3 (Low)",
        "line 4 (T-3): group 'Networks' does not exist",
        "line 5 (T-4): Outsider is not a member of Service Desk",
        "line 6 (T-5): Franziska needs an assignment group",
        "line 7 (T-1): reference T-1 is on line 2 already",
        "line 8 (T-7): channel 'pigeon' is not one of Phone, Email, Web portal, Monitoring, "
        "Chat, Walk in; category 'Software' does not exist; "
        "opened_at '2099-01-01 00:00' is in the future",
        "line 9 (T-8): 'Toner' is not a subcategory of Hardware; opened_at 'yesterday' is not "
        "a time such as 2026-03-02 14:30",
        "line 10: the reference is empty; caller_email 'not-mail' is not an email address",
    ]
    assert report.errors == 8
    assert table_count(database, "incidents") == 0
    assert table_count(database, "callers") == 0


def test_a_failure_while_writing_leaves_nothing(database: Database, desk: tuple[User, Group],
                                                clock: FakeClock, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [["Summary", "Caller"]] + [[f"Incident {i}", f"Caller {i}"] for i in range(5)]
    path = write(tmp_path / "five.csv", rows)
    from deskapp.persistence.bulk import SqlBulkIncidentWriter

    def broken(self: object, *args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlBulkIncidentWriter, "add_incidents", broken)
    with pytest.raises(RuntimeError):
        import_csv(database.uow_factory, path, CsvKind.INCIDENTS, clock=clock)
    assert table_count(database, "callers") == 0
    assert table_count(database, "incidents") == 0


# --- the command line ----------------------------------------------------------------------


def test_cli_imports_csv(database_url: str, database: Database, admin: User, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "people.csv", CALLERS)
    mapping = "name=Full Name,email=E-mail,vip=VIP?"
    assert main(["--database-url", database_url, "import", "csv", "--kind", "callers",
                 "--map", mapping, "--dry-run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "line 2: caller Ada Lovelace (ada@example.com), VIP" in out
    assert "3 callers would be created" in out
    assert table_count(database, "callers") == 0
    assert main(["--database-url", database_url, "import", "csv", "--kind", "callers",
                 "--map", mapping, str(path)]) == 0
    assert "Imported 3 callers" in capsys.readouterr().out
    assert table_count(database, "callers") == 3

    bad = write(tmp_path / "bad.csv", [["Summary", "Caller"], ["", "Ada"]])
    assert main(["--database-url", database_url, "import", "csv", "--kind", "incidents",
                 "--map", "short_description=Summary,caller=Caller", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("deskapp: error: Nothing was imported from bad.csv: 1 row")
    assert err[1] == "  line 2: the short description is empty"
    assert main(["--database-url", database_url, "import", "csv", "--kind", "callers",
                 "--map", "name", str(path)]) == 1
    assert capsys.readouterr().err.strip() == ("deskapp: error: 'name' in the mapping is not "
                                               "field=Column.")
