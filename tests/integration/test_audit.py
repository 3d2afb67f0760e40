"""The audit trail: written with the change, append-only, chained, verifiable, on both databases."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from deskapp import cli
from deskapp.domain.audit import GENESIS
from deskapp.domain.enums import Channel, Role, State
from deskapp.domain.errors import ConflictError, PermissionDeniedError
from deskapp.domain.people import User
from deskapp.persistence.database import Database, open_database
from deskapp.services import audit
from deskapp.services.audit import AuditService, verify_chain
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.matrix_admin import MatrixAdminService, MatrixDraft
from tests.conftest import FakeClock, add_user


def _caller(service: IncidentService) -> int:
    return service.add_caller("Ada Lovelace", "ada@example.com").id


def _call(caller_id: int, text_: str = "Printer on fire") -> LogCallRequest:
    return LogCallRequest(caller_id=caller_id, channel=Channel.PHONE,
                          short_description=text_, impact=2, urgency=2)


def _rows(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            text("SELECT * FROM audit_log ORDER BY id")).mappings()]


def test_each_change_is_one_chained_row_written_with_it(
        database: Database, service: IncidentService, admin: User) -> None:
    caller_id = _caller(service)
    detail, _ = service.log_call(_call(caller_id))
    service.transition(detail.id, detail.version, State.IN_PROGRESS)
    service.add_work_note(detail.id, "Looked at it")

    rows = _rows(database)
    actions = [r["action"] for r in rows]
    assert actions[-4:] == [audit.CALLER_CREATED, audit.INCIDENT_CREATED,
                            audit.INCIDENT_UPDATED, audit.INCIDENT_NOTE]
    updated = rows[-2]
    assert updated["actor_id"] == admin.id and updated["actor"] == admin.username
    assert updated["entity"] == "incident" and updated["entity_id"] == str(detail.id)
    changes = json.loads(str(updated["details"]))["changes"]
    assert any(c.get("new") == State.IN_PROGRESS.value for c in changes), changes
    assert rows[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
        assert after["id"] == int(str(before["id"])) + 1
    result = verify_chain(database.uow_factory)
    assert result.ok and result.rows == len(rows)


def test_a_refused_change_leaves_no_row(database: Database, service: IncidentService) -> None:
    caller_id = _caller(service)
    detail, _ = service.log_call(_call(caller_id))
    service.update(detail.id, detail.version, short_description="Changed once")
    before = len(_rows(database))
    with pytest.raises(ConflictError):
        service.update(detail.id, detail.version, short_description="Stale")
    assert len(_rows(database)) == before


def test_a_write_no_service_recorded_still_leaves_a_row(database: Database) -> None:
    add_user(database, "quiet")
    last = _rows(database)[-1]
    assert last["action"] == "change" and last["actor_id"] is None
    assert json.loads(str(last["details"])) == {"tables": ["users"]}


def test_matrix_edits_are_audited(database: Database, admin: User) -> None:
    matrix = MatrixAdminService(database.uow_factory, admin.id)
    data = matrix.load()
    draft = MatrixDraft.of(data.matrix)
    cells = dict(draft.cells)
    cells[(1, 1)] = 2
    result = matrix.save(replace(draft, cells=cells), recompute_open=False, comment="Tune")
    row = _rows(database)[-1]
    assert row["action"] == audit.MATRIX_SAVED and row["entity_id"] == str(result.version)
    details = json.loads(str(row["details"]))
    assert details["comment"] == "Tune" and [1, 1, 2] in details["cells"]
    assert details["changes"] == ["High impact x High urgency: P1 -> P2"]


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log",
])
def test_update_and_delete_are_refused_by_the_database(
        database: Database, service: IncidentService, statement: str) -> None:
    _caller(service)
    before = _rows(database)
    assert before
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
        connection.execute(text(statement))
    assert _rows(database) == before


def test_truncate_is_refused_on_postgresql(database: Database, service: IncidentService,
                                            backend: str) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has no TRUNCATE")
    _caller(service)
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))


def _tamper(database: Database, backend: str, statement: str) -> None:
    """What someone with the owner's rights could do: lift the guard, change, put it back."""
    with database.engine.begin() as connection:
        if backend == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        connection.execute(text(statement))
        if backend != "sqlite":
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


@pytest.mark.parametrize(("statement", "broken_at", "why"), [
    ("UPDATE audit_log SET details = '{}' WHERE id = 2", 2, "changed after it was written"),
    ("DELETE FROM audit_log WHERE id = 2", 3, "does not follow row 1"),
])
def test_tampering_shows_at_the_first_broken_row(
        database: Database, service: IncidentService, backend: str, statement: str,
        broken_at: int, why: str, capsys: pytest.CaptureFixture[str]) -> None:
    caller_id = _caller(service)
    service.log_call(_call(caller_id))
    service.log_call(_call(caller_id, "Second"))
    url = database.engine.url.render_as_string(hide_password=False)
    assert cli.main(["--database-url", url, "audit", "verify"]) == 0
    assert "every link verified" in capsys.readouterr().out

    _tamper(database, backend, statement)
    result = verify_chain(database.uow_factory)
    assert result.broken is not None
    assert result.broken.entry_id == broken_at and why in result.broken.reason
    assert cli.main(["--database-url", url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"broken at row {broken_at}" in err and err.count("\n") == 1


def test_the_viewer_is_for_admins_and_filters(database: Database, service: IncidentService,
                                              admin: User) -> None:
    caller_id = _caller(service)
    service.log_call(_call(caller_id))
    agent = add_user(database, "agnes", Role.AGENT)
    with pytest.raises(PermissionDeniedError):
        AuditService(database.uow_factory, agent.id).latest()
    viewer = AuditService(database.uow_factory, admin.id)
    created = viewer.latest(action=audit.INCIDENT_CREATED)
    assert [e.action for e in created] == [audit.INCIDENT_CREATED]
    newest = viewer.latest(limit=2)
    assert newest[0].id > newest[1].id
    assert viewer.verify().ok


def test_concurrent_writers_keep_one_chain(database: Database, service: IncidentService,
                                           admin: User, clock: FakeClock,
                                           database_url: str) -> None:
    caller_id = _caller(service)
    writers, calls = 4, 6
    errors: list[BaseException] = []
    databases = [open_database(database_url, upgrade=False) for _ in range(writers)]
    barrier = threading.Barrier(writers)

    def work(db: Database) -> None:
        try:
            own = IncidentService(db.uow_factory, admin.id, clock)
            barrier.wait()
            for n in range(calls):
                own.log_call(_call(caller_id, f"Concurrent {n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.close()
    assert errors == []
    rows = _rows(database)
    created = [r for r in rows if r["action"] == audit.INCIDENT_CREATED]
    assert len(created) == writers * calls
    assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))
    assert verify_chain(database.uow_factory).ok


def test_the_viewers_who_and_day_filters_read_the_trail_through_indexes(
        database: Database, service: IncidentService, admin: User, clock: FakeClock,
        backend: str) -> None:
    caller_id = _caller(service)
    agnes = add_user(database, "agnes", Role.AGENT)
    as_agnes = IncidentService(database.uow_factory, agnes.id, clock)
    for n in range(6):
        (as_agnes if n % 2 else service).log_call(_call(caller_id, f"Printer {n}"))
    viewer = AuditService(database.uow_factory, admin.id)
    everything = viewer.page(100)
    hers = [r.entry.id for r in everything if r.entry.actor_id == agnes.id]
    assert hers and [r.entry.id for r in viewer.page(100, who="AGNES")] == hers
    assert [r.entry.id for r in viewer.page(100, who="agn")] == hers
    assert viewer.page(100, who="nobody") == []
    assert [e.id for e in viewer.latest(100, actor="Agnes")] == hers
    stamps = sorted({r.entry.at for r in everything})
    inside = [r.entry.id for r in everything if stamps[0] < r.entry.at <= stamps[-1]]
    window = viewer.page(100, since=stamps[0] + timedelta(microseconds=1),
                         until=stamps[-1] + timedelta(microseconds=1))
    assert [r.entry.id for r in window] == inside
    assert viewer.page(100, since=stamps[-1] + timedelta(days=1)) == []

    plans = []
    statements = [
        ("SELECT id FROM audit_log WHERE actor_id = :a ORDER BY id DESC LIMIT 200",
         {"a": agnes.id}),
        ("SELECT id FROM audit_log WHERE at >= :at ORDER BY at, id LIMIT 1",
         {"at": stamps[0]}),
    ]
    with database.engine.connect() as connection:
        if backend == "postgres":
            connection.exec_driver_sql("SET enable_seqscan = off")
        for sql, parameters in statements:
            explain = "EXPLAIN QUERY PLAN" if backend == "sqlite" else "EXPLAIN"
            plans.append(" | ".join(str(row[-1]) for row in connection.execute(
                text(f"{explain} {sql}"), parameters).all()))
        connection.rollback()
    # One person's rows newest first, and the first row of a day, each read in an index
    # without a sort or a walk of the whole trail.
    assert "ix_audit_log_actor_id_id" in plans[0], plans[0]
    assert "ix_audit_log_at_id" in plans[1], plans[1]
    for plan in plans:
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
