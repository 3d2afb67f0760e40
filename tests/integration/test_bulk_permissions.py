"""Exports and imports check the permission table too (services.permissions), on both
databases; and the incident form's data says when its reader may not change it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.services.exporting import ExportRequest, ExportService
from deskapp.services.importing.csv_import import CsvKind, import_csv
from deskapp.services.importing.servicenow import import_servicenow
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.permissions import (
    CSV_IMPORT,
    QUEUE_EXPORT,
    SERVICENOW_IMPORT,
    allowed_all,
)
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey
from tests.conftest import FakeClock, add_user, table_count


def _users(database: Database, admin: User) -> dict[Role, User]:
    users = {role: add_user(database, f"some_{role.value}", role)
             for role in Role if role != Role.ADMIN}
    return {**users, Role.ADMIN: admin}


def test_only_roles_with_export_reports_export_a_queue(
        database: Database, admin: User, clock: FakeClock, tmp_path: Path) -> None:
    request = ExportRequest(queue_filter=QueueFilter(), sort=SortKey.NUMBER, title="All")
    for role, user in _users(database, admin).items():
        service = ExportService(database.uow_factory, clock, actor_id=user.id)
        path = tmp_path / f"{role.value}.csv"
        if allowed_all(user, QUEUE_EXPORT):
            service.export(request, path)
            assert path.is_file()
        else:
            with pytest.raises(PermissionDeniedError, match="may not export reports"):
                service.export(request, path)
            assert not path.exists()
    # No actor: code that exports for the desk itself (nobody signed in to check).
    ExportService(database.uow_factory, clock).export(request, tmp_path / "desk.csv")


def test_the_command_line_checks_the_user_it_names(
        database: Database, admin: User, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from deskapp import cli

    agent = add_user(database, "ann", Role.AGENT)
    url = database.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "open.csv"
    assert cli.main(["--database-url", url, "--user", agent.username, "export", "--queue",
                     "all_open", str(path)]) == 1
    assert "may not export reports" in capsys.readouterr().err
    assert not path.exists()
    assert cli.main(["--database-url", url, "--user", admin.username, "export", "--queue",
                     "all_open", str(path)]) == 0
    assert path.is_file()


def test_csv_import_needs_what_logging_a_call_needs(
        database: Database, admin: User, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["Full Name"], ["Ada Lovelace"]])
    users = _users(database, admin)
    manager = users[Role.MANAGER]
    assert not allowed_all(manager, CSV_IMPORT)
    for dry_run in (True, False):
        with pytest.raises(PermissionDeniedError, match="may not log"):
            import_csv(database.uow_factory, path, CsvKind.CALLERS, {"name": "Full Name"},
                       dry_run=dry_run, actor_id=manager.id)
    assert table_count(database, "callers") == 0
    agent = users[Role.AGENT]
    assert allowed_all(agent, CSV_IMPORT)
    report = import_csv(database.uow_factory, path, CsvKind.CALLERS, {"name": "Full Name"},
                        actor_id=agent.id)
    assert report.created == 1


def test_a_servicenow_import_is_for_admins(
        database: Database, admin: User, tmp_path: Path) -> None:
    # Refused before the file is read: this one does not even exist.
    missing = tmp_path / "incident_event_log.csv"
    for role, user in _users(database, admin).items():
        if allowed_all(user, SERVICENOW_IMPORT):
            assert role == Role.ADMIN
            continue
        with pytest.raises(PermissionDeniedError, match=f"\\({role.value}\\) may not"):
            import_servicenow(database.uow_factory, missing, actor_id=user.id)


def test_the_form_says_when_an_agent_may_not_change_an_incident(
        database: Database, admin: User, service: IncidentService, clock: FakeClock) -> None:
    ann = add_user(database, "ann")
    carl = add_user(database, "carl")
    with database.uow_factory(write=True) as uow:
        desk = uow.groups.add(Group(0, "Service Desk"), [ann.id])
        uow.commit()
    caller = service.add_caller("Grace Hopper")
    detail, _ = service.log_call(LogCallRequest(
        caller_id=caller.id, short_description="Laptop will not boot", impact=2, urgency=2,
        assignment_group_id=desk.id, assignee_id=ann.id))
    as_carl = IncidentService(database.uow_factory, carl.id, clock)
    reason = as_carl.load_form(detail.id).read_only_reason
    assert reason == (f"{detail.number} is assigned to Ann (Service Desk), outside your "
                      "groups: agents may read it and add notes, not change it.")
    assert IncidentService(database.uow_factory, ann.id, clock).load_form(
        detail.id).read_only_reason is None
    assert service.load_form(detail.id).read_only_reason is None  # admins reach everything
    assert service.load_form(detail.id).reassign_refusal is None
    # Carl may not move it either; Ann, whose incident it is, may.
    assert "may not reassign" in (as_carl.load_form(detail.id).reassign_refusal or "")
    assert IncidentService(database.uow_factory, ann.id, clock).load_form(
        detail.id).reassign_refusal is None
    # The queue's rows carry who holds them, for the window to judge the same way.
    [row] = as_carl.list_queue(QueueQuery(QueueFilter()))
    assert (row.assignment_group_id, row.assignee_id) == (desk.id, ann.id)
