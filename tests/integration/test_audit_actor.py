"""The audit trail names who acted and what changed: imports, CSV imports, saved filters,
alert rules, bulk writes; and a command without a user never makes an admin on a used desk."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import text

from deskapp import cli
from deskapp.domain.enums import Role
from deskapp.domain.people import Caller, User
from deskapp.persistence.database import Database
from deskapp.services import audit
from deskapp.services.audit import verify_chain
from deskapp.services.queues import FilterConditions, QueueService
from deskapp.services.setup import NoUserGivenError, sign_in
from deskapp.settings import ENV_USER
from tests.conftest import FakeClock, add_user, table_count
from tests.unit.test_servicenow_parsing import good_rows, write_log


def _rows(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            text("SELECT * FROM audit_log ORDER BY id")).mappings()]


def _details(row: dict[str, object]) -> dict[str, object]:
    details: dict[str, object] = json.loads(str(row["details"]))
    return details


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _usernames(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.execute(text("SELECT username FROM users")).scalars())


@pytest.fixture(autouse=True)
def _no_user_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_USER, raising=False)


def _import_log(database: Database, tmp_path: Path, *user: str) -> None:
    log = write_log(tmp_path / "incident_event_log.csv", good_rows())
    assert cli.main(["--database-url", _url(database), *user, "import", "servicenow",
                     str(log)]) == 0


# --- A: who did it, and what changed ------------------------------------------------------


def test_a_servicenow_import_is_one_import_row_with_its_counts(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boss = add_user(database, "boss", Role.ADMIN)
    before = len(_rows(database))
    _import_log(database, tmp_path, "--user", "boss")

    rows = _rows(database)[before:]
    assert [r["action"] for r in rows] == [audit.IMPORTED]
    row = rows[0]
    assert row["actor_id"] == boss.id and row["actor"] == "boss"
    details = _details(row)
    assert details["source"] == "servicenow"
    assert details["file"] == "incident_event_log.csv"
    assert details["incidents"] == 2 == table_count(database, "incidents")
    assert details["callers"] == 2 == table_count(database, "callers")
    assert details["users"] == 2  # the log's two resolvers
    assert details["activity"] == table_count(database, "activity")
    assert details["matrix_version"] == 2
    assert details["matrix_changes"] == ["impact 3 x urgency 3: P5 -> P4 - Low"]
    capsys.readouterr()
    assert cli.main(["--database-url", _url(database), "audit", "verify"]) == 0
    assert "every link verified" in capsys.readouterr().out


def test_a_servicenow_import_without_a_user_is_the_systems(
        database: Database, tmp_path: Path) -> None:
    _import_log(database, tmp_path)
    (row,) = [r for r in _rows(database) if r["action"] == audit.IMPORTED]
    assert row["actor_id"] is None and _details(row)["incidents"] == 2
    assert "admin" not in _usernames(database)  # the import made no account to act as
    assert verify_chain(database.uow_factory).ok


def test_a_csv_import_names_who_imported_and_what(
        database: Database, tmp_path: Path) -> None:
    boss = add_user(database, "boss", Role.ADMIN)
    file = tmp_path / "people.csv"
    file.write_text("name,email\nAnn One,ann@example.com\nBo Two,bo@example.com\n"
                    "Cy Three,cy@example.com\n", encoding="utf-8")
    before = len(_rows(database))
    assert cli.main(["--database-url", _url(database), "--user", "boss", "import", "csv",
                     "--kind", "callers", str(file)]) == 0

    (row,) = _rows(database)[before:]
    assert row["action"] == audit.IMPORTED
    assert row["actor_id"] == boss.id and row["actor"] == "boss"
    assert _details(row) == {"source": "csv", "kind": "callers", "file": "people.csv",
                             "rows": 3, "skipped": 0, "callers": 3, "incidents": 0}
    assert verify_chain(database.uow_factory).ok


def test_a_saved_filter_names_the_user_who_saved_it(
        database: Database, clock: FakeClock) -> None:
    ann = add_user(database, "ann")
    queues = QueueService(database.uow_factory, ann.id, clock, UTC)
    before = len(_rows(database))
    saved = queues.save_filter("Mine", FilterConditions(assigned_to_me=True))
    assert saved.saved_filter_id is not None
    queues.delete_filter(saved.saved_filter_id)

    rows = _rows(database)[before:]
    assert [(r["action"], r["actor_id"], r["actor"]) for r in rows] == [
        ("change", ann.id, "ann"), ("change", ann.id, "ann")]
    assert _details(rows[0]) == {"tables": ["saved_filters"]}
    assert verify_chain(database.uow_factory).ok


def test_removing_an_alert_rule_names_who_removed_it(
        database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    odd = add_user(database, "odd", Role.ADMIN)
    url = _url(database)
    assert cli.main(["--database-url", url, "--user", "odd", "intake", "alert-rules", "add",
                     "--name", "Disk", "--match", "alertname=DiskFull", "--impact", "2",
                     "--urgency", "2"]) == 0
    before = len(_rows(database))
    assert cli.main(["--database-url", url, "--user", "odd", "intake", "alert-rules",
                     "remove", "1"]) == 0
    assert "Removed rule 1" in capsys.readouterr().out

    (row,) = _rows(database)[before:]
    assert row["actor_id"] == odd.id and row["actor"] == "odd"
    # The CLI's removal names the rule (it used to be a generic "change" row of tables).
    assert row["action"] == "alert_rule_removed" and row["entity"] == "alert_rules"
    details = _details(row)
    assert details["name"] == "Critical alerts" and details["position"] == 1
    assert verify_chain(database.uow_factory).ok


def test_the_change_row_lists_tables_written_by_bulk_statements(
        database: Database, admin: User) -> None:
    with database.uow_factory(write=True) as uow:
        uow.actor_id = admin.id
        uow.bulk.add_callers([Caller(0, "Bulk One"), Caller(0, "Bulk Two")])
        uow.commit()
    last = _rows(database)[-1]
    assert last["action"] == "change" and last["actor_id"] == admin.id
    assert "callers" in list(_details(last)["tables"])  # type: ignore[call-overload]
    assert verify_chain(database.uow_factory).ok


# --- B: no user given ---------------------------------------------------------------------


def test_a_command_without_a_user_on_a_used_desk_refuses_and_makes_no_admin(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _import_log(database, tmp_path)
    users, rows = _usernames(database), len(_rows(database))
    capsys.readouterr()

    assert cli.main(["--database-url", _url(database), "export", "--queue", "all",
                     str(tmp_path / "all.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--user NAME" in err and ENV_USER in err
    assert _usernames(database) == users and "admin" not in users
    assert len(_rows(database)) == rows
    assert not (tmp_path / "all.csv").exists()
    with pytest.raises(NoUserGivenError):
        sign_in(database.uow_factory, None)


def test_a_command_without_a_user_acts_as_the_existing_admin(
        database: Database, tmp_path: Path) -> None:
    _import_log(database, tmp_path)
    admin = add_user(database, "admin", Role.ADMIN)
    users = _usernames(database)
    assert cli.main(["--database-url", _url(database), "export", "--queue", "all",
                     str(tmp_path / "all.csv")]) == 0
    assert (tmp_path / "all.csv").exists() and _usernames(database) == users
    assert sign_in(database.uow_factory, None) == admin


def test_a_brand_new_desk_still_gets_its_admin_on_first_use(
        database: Database, tmp_path: Path) -> None:
    assert _usernames(database) == set()
    assert cli.main(["--database-url", _url(database), "export", "--queue", "all",
                     str(tmp_path / "all.csv")]) == 0
    assert _usernames(database) == {"admin"}
    admin = sign_in(database.uow_factory, None)
    assert admin.username == "admin" and admin.role is Role.ADMIN
    assert _usernames(database) == {"admin"}  # made once
    (row,) = _rows(database)
    assert (row["action"], row["actor_id"]) == (audit.USER_CREATED, admin.id)


def test_the_demo_on_a_new_desk_leaves_an_admin_to_act_as(
        database: Database, tmp_path: Path) -> None:
    assert cli.main(["--database-url", _url(database), "demo", "--incidents", "20"]) == 0
    assert "admin" in _usernames(database)
    assert cli.main(["--database-url", _url(database), "export", "--queue", "all",
                     str(tmp_path / "all.csv")]) == 0


def test_the_demo_on_a_used_desk_needs_an_admin_who_says_so(
        database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo makes people with a published password: never unasked, never by an agent."""
    _import_log(database, tmp_path)
    agent = add_user(database, "ann", Role.AGENT)
    users, rows = _usernames(database), len(_rows(database))
    incidents = table_count(database, "incidents")
    capsys.readouterr()
    for user in ([], ["--user", agent.username]):
        assert cli.main(["--database-url", _url(database), *user, "demo",
                         "--incidents", "5"]) == 1
        assert capsys.readouterr().err.count("\n") == 1
    assert _usernames(database) == users
    assert (len(_rows(database)), table_count(database, "incidents")) == (rows, incidents)
    boss = add_user(database, "boss", Role.ADMIN)
    before = len(_rows(database))
    assert cli.main(["--database-url", _url(database), "--user", "boss", "demo",
                     "--incidents", "5"]) == 0
    assert table_count(database, "incidents") == incidents + 5
    actors = {row["actor_id"] for row in _rows(database)[before:]}
    assert actors == {boss.id}  # the demo's writes are the admin's who asked for them


def test_two_first_starts_at_once_make_one_admin_and_both_act_as_it(
        database: Database) -> None:
    import threading

    from deskapp.services.setup import first_start_admin

    start = threading.Barrier(2)
    got: list[User | None] = []
    failed: list[BaseException] = []

    def first_start() -> None:
        start.wait()
        try:
            got.append(first_start_admin(database.uow_factory))
        except BaseException as exc:  # reported by the assertion below
            failed.append(exc)

    threads = [threading.Thread(target=first_start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failed == []
    assert _usernames(database) == {"admin"}
    assert len(got) == 2 and all(u is not None and u.username == "admin" for u in got)
    assert first_start_admin(database.uow_factory) == got[0]  # and so do later ones
