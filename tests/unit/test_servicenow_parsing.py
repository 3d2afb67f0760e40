"""Reading ServiceNow incident event logs: values, states, junk rows, broken files, the matrix."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import PriorityMatrix, default_matrix
from deskapp.services.importing.servicenow import matrix_from_log
from deskapp.services.importing.servicenow_log import (
    ServiceNowLog,
    parse_level,
    parse_timestamp,
    read_log,
    resolution_for,
    time_zone,
)

HEADER = [
    "number", "incident_state", "active", "reassignment_count", "reopen_count", "sys_mod_count",
    "made_sla", "caller_id", "opened_by", "opened_at", "sys_created_by", "sys_created_at",
    "sys_updated_by", "sys_updated_at", "contact_type", "location", "category", "subcategory",
    "u_symptom", "cmdb_ci", "impact", "urgency", "priority", "assignment_group", "assigned_to",
    "knowledge", "u_priority_confirmation", "notify", "problem_id", "rfc", "vendor",
    "caused_by", "closed_code", "resolved_by", "resolved_at", "closed_at",
]
"""The columns of the public log, in its order."""


def event(number: str = "INC0000001", state: str = "New", at: str = "1/2/2016 10:00",
          **values: str) -> dict[str, str]:
    """One row of a log, as the public log writes it; ``values`` override columns."""
    row = {
        "number": number, "incident_state": state, "active": "true",
        "reassignment_count": "0", "reopen_count": "0", "sys_mod_count": "0",
        "made_sla": "true", "caller_id": "Caller 1", "opened_by": "Opened by  1",
        "opened_at": "1/2/2016 09:00", "sys_created_by": "Created by 1",
        "sys_created_at": "1/2/2016 09:00", "sys_updated_by": "Updated by 1",
        "sys_updated_at": at, "contact_type": "Phone", "location": "Location 1",
        "category": "Category 1", "subcategory": "Subcategory 1", "u_symptom": "Symptom 1",
        "cmdb_ci": "?", "impact": "2 - Medium", "urgency": "2 - Medium",
        "priority": "3 - Moderate", "assignment_group": "Group 1", "assigned_to": "?",
        "knowledge": "false", "u_priority_confirmation": "false", "notify": "Do Not Notify",
        "problem_id": "?", "rfc": "?", "vendor": "?", "caused_by": "?",
        "closed_code": "code 5", "resolved_by": "Resolved by 1",
        "resolved_at": "1/2/2016 15:00", "closed_at": "6/2/2016 15:00",
    }
    row.update(values)
    return row


def good_rows() -> list[dict[str, str]]:
    """Two incidents: one worked, held and closed; one resolved, reopened and closed."""
    first = {"number": "INC0000001"}
    second = {"number": "INC0000002", "impact": "3 - Low", "urgency": "3 - Low",
              "priority": "4 - Low", "opened_at": "3/2/2016 08:00",
              "caller_id": "Caller 2", "contact_type": "Self service",
              "resolved_at": "4/2/2016 12:00", "closed_at": "9/2/2016 12:00"}
    return [
        event(at="1/2/2016 09:05", **first),
        event(state="Active", at="1/2/2016 09:30", assigned_to="Resolver 1", **first),
        event(state="Awaiting User Info", at="1/2/2016 11:00", assigned_to="Resolver 1",
              **first),
        event(state="Active", at="1/2/2016 13:00", assigned_to="Resolver 2",
              assignment_group="Group 2", reassignment_count="1", **first),
        event(state="Resolved", at="1/2/2016 15:00", assigned_to="Resolver 2",
              assignment_group="Group 2", reassignment_count="1", **first),
        event(state="Closed", at="6/2/2016 15:00", assigned_to="Resolver 2",
              assignment_group="Group 2", reassignment_count="1", active="false", **first),
        event(state="New", at="3/2/2016 08:01", **second),
        event(state="Resolved", at="3/2/2016 10:00", **second),
        event(state="Active", at="3/2/2016 11:00", reopen_count="1", **second),
        event(state="Resolved", at="4/2/2016 12:00", reopen_count="1", **second),
        event(state="Closed", at="9/2/2016 12:00", reopen_count="1", made_sla="false",
              **second),
    ]


def write_log(path: Path, rows: list[dict[str, str]],
              columns: list[str] | None = None) -> Path:
    """A CSV log of ``rows`` with these ``columns`` (the public log's by default)."""
    names = columns or HEADER
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([row.get(name, "?") for name in names])
    return path


def _read(tmp_path: Path, rows: list[dict[str, str]], **kwargs: object) -> ServiceNowLog:
    return read_log(write_log(tmp_path / "log.csv", rows), **kwargs)  # type: ignore[arg-type]


def _errors(log: ServiceNowLog) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in log.problems if p.is_error]


# --- values ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("29/2/2016 01:16", datetime(2016, 2, 29, 1, 16)),
    ("5/3/2016 12:00", datetime(2016, 3, 5, 12, 0)),
    ("05/03/2016 9:07:30", datetime(2016, 3, 5, 9, 7, 30)),
    (" 1/12/2016 23:59 ", datetime(2016, 12, 1, 23, 59)),
])
def test_timestamps_are_day_first(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2016-02-29 01:16", "29/2/16 01:16", "30/2/2016 10:00",
                                  "29/2/2016", "13/13/2016 10:00", "1/1/2016 24:00",
                                  "1/1/2016 1_0:00", "?", ""])
def test_other_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_levels_carry_a_value_and_maybe_a_name() -> None:
    assert parse_level("2 - Medium") == (2, "Medium")
    assert parse_level("1 - Critical") == (1, "Critical")
    assert parse_level("3") == (3, None)
    for text in ("High", "0 - None", "6 - Huge", "?", "-1", ""):
        with pytest.raises(ValueError):
            parse_level(text)


def test_time_zones_are_iana_names() -> None:
    assert time_zone("UTC") is UTC
    assert str(time_zone("Europe/Oslo")) == "Europe/Oslo"
    for name in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(ValidationError, match="not a time zone"):
            time_zone(name)


def test_named_close_codes_map_and_anonymised_ones_do_not() -> None:
    assert resolution_for("Solved (Permanently)") == ResolutionCode.SOLVED_PERMANENTLY
    assert resolution_for("Solved (Work Around)") == ResolutionCode.SOLVED_WORKAROUND
    assert resolution_for("Solved Remotely (Permanently)") == ResolutionCode.SOLVED_REMOTELY
    assert resolution_for("not solved (too  costly)") == ResolutionCode.NOT_SOLVED_TOO_COSTLY
    assert resolution_for("Closed/Resolved by Caller") == ResolutionCode.CLOSED_BY_CALLER
    assert resolution_for("code 6") is None
    assert resolution_for(None) is None


# --- whole logs -------------------------------------------------------------------------


def test_a_good_log_gives_incidents_with_their_updates(tmp_path: Path) -> None:
    log = _read(tmp_path, good_rows())
    assert (log.rows, log.errors, log.warnings) == (11, 0, 0)
    first, second = log.incidents
    assert first.number == "INC0000001" and first.line == 2 and second.line == 8
    assert first.state == State.CLOSED and first.reassignment_count == 1
    assert [e.state for e in first.events] == [
        State.NEW, State.IN_PROGRESS, State.ON_HOLD, State.IN_PROGRESS, State.RESOLVED,
        State.CLOSED]
    assert first.events[2].hold_reason == HoldReason.AWAITING_CALLER
    assert [e.assignee for e in first.events] == [None, "Resolver 1", "Resolver 1",
                                                  "Resolver 2", "Resolver 2", "Resolver 2"]
    assert (first.group, first.assignee) == ("Group 2", "Resolver 2")
    assert first.opened_at == datetime(2016, 2, 1, 9, 0, tzinfo=UTC)
    assert first.opened_by == "Opened by 1"  # the log's double space tidied
    assert first.resolution_code == ResolutionCode.SOLVED_PERMANENTLY
    assert first.close_code == "code 5"
    assert ("Location", "Location 1") in first.details
    assert second.channel == Channel.WEB_PORTAL
    assert (second.impact, second.urgency, second.priority) == (3, 3, 4)
    assert second.reopen_count == 1 and not second.made_sla
    assert second.closed_at == datetime(2016, 2, 9, 12, 0, tzinfo=UTC)
    assert log.cells == {(2, 2): 3, (3, 3): 4}
    assert log.impact_names == {2: "Medium", 3: "Low"}
    assert log.unnamed_close_codes == 2


def test_states_map_to_ours_with_a_hold_reason(tmp_path: Path) -> None:
    states = ["New", "Active", "Awaiting User Info", "Awaiting Evidence", "Awaiting Vendor",
              "Awaiting Problem", "Resolved", "Closed"]
    rows = [event(state=s, at=f"1/2/2016 1{k}:00") for k, s in enumerate(states)]
    (incident,) = _read(tmp_path, rows).incidents
    assert [(e.state, e.hold_reason) for e in incident.events] == [
        (State.NEW, None), (State.IN_PROGRESS, None),
        (State.ON_HOLD, HoldReason.AWAITING_CALLER), (State.ON_HOLD, HoldReason.AWAITING_CALLER),
        (State.ON_HOLD, HoldReason.AWAITING_VENDOR), (State.ON_HOLD, HoldReason.AWAITING_CHANGE),
        (State.RESOLVED, None), (State.CLOSED, None)]


@pytest.mark.parametrize(("contact", "channel"), [
    ("Phone", Channel.PHONE), ("IVR", Channel.PHONE), ("Email", Channel.EMAIL),
    ("Self service", Channel.WEB_PORTAL), ("Direct opening", Channel.WALK_IN),
])
def test_contact_types_map_to_channels(tmp_path: Path, contact: str, channel: Channel) -> None:
    log = _read(tmp_path, [event(state="Closed", contact_type=contact)])
    assert log.incidents[0].channel == channel


def test_times_are_read_in_the_given_zone_and_kept_in_utc(tmp_path: Path) -> None:
    rows = [event(opened_at="15/1/2016 10:00", at="15/7/2016 10:00", state="Closed")]
    (incident,) = _read(tmp_path, rows, zone=time_zone("Europe/Oslo")).incidents
    assert incident.opened_at == datetime(2016, 1, 15, 9, 0, tzinfo=UTC)  # CET, UTC+1
    assert incident.events[0].at == datetime(2016, 7, 15, 8, 0, tzinfo=UTC)  # CEST, UTC+2


def test_a_junk_state_between_real_ones_keeps_the_state_before(tmp_path: Path) -> None:
    rows = [event(at="1/2/2016 09:05"),
            event(state="-100", at="1/2/2016 09:10", assigned_to="Resolver 3"),
            event(state="Closed", at="1/2/2016 09:20", assigned_to="Resolver 3")]
    log = _read(tmp_path, rows)
    assert log.errors == 0 and log.warnings == 1
    assert log.problems[0].line == 3 and "junk" in log.problems[0].message
    assert "(New)" in log.problems[0].message
    (incident,) = log.incidents
    assert [e.state for e in incident.events] == [State.NEW, None, State.CLOSED]
    assert incident.events[1].assignee == "Resolver 3"  # the rest of the row still counts


def test_a_junk_final_state_is_an_error(tmp_path: Path) -> None:
    rows = [event(at="1/2/2016 09:05"), event(state="-100", at="1/2/2016 09:10")]
    log = _read(tmp_path, rows)
    assert log.incidents == ()
    assert [line for line, _ in _errors(log)] == [3]
    assert "final state" in _errors(log)[0][1]


@pytest.mark.parametrize(("values", "fragment"), [
    ({"opened_at": "31/2/2016 10:00"}, "opened_at '31/2/2016 10:00' is not a day-first"),
    ({"sys_updated_at": "2016-02-01T10:00"}, "sys_updated_at '2016-02-01T10:00'"),
    ({"sys_updated_at": "?"}, "sys_updated_at is missing"),
    ({"impact": "7 - Huge"}, "impact '7 - Huge' is not a level"),
    ({"priority": "urgent"}, "priority 'urgent' is not a level"),
    ({"incident_state": "Sleeping"}, "incident_state 'Sleeping' is not a state"),
    ({"reopen_count": "-1"}, "reopen_count '-1' is not a whole number"),
    ({"made_sla": "maybe"}, "made_sla 'maybe'"),
    ({"caller_id": "x" * 121}, "caller_id is longer than 120"),
])
def test_bad_values_are_reported_with_their_line(tmp_path: Path, values: dict[str, str],
                                                 fragment: str) -> None:
    rows = good_rows()
    rows[3].update(values)
    log = _read(tmp_path, rows)
    assert log.errors == 1
    ((line, message),) = _errors(log)
    assert line == 5
    assert fragment in message
    assert [i.number for i in log.incidents] == ["INC0000002"]


def test_a_row_without_a_number_is_an_error(tmp_path: Path) -> None:
    log = _read(tmp_path, [*good_rows(), event(number="?", state="Closed")])
    assert [line for line, _ in _errors(log)] == [13]
    assert "incident number is missing" in _errors(log)[0][1]


def test_unknown_contact_types_are_errors_and_missing_ones_phone(tmp_path: Path) -> None:
    rows = [event(state="Closed", contact_type="Pigeon"),
            event(number="INC0000002", state="Closed", contact_type="?")]
    log = _read(tmp_path, rows)
    assert _errors(log) == [(2, _errors(log)[0][1])]
    assert "contact_type 'Pigeon'" in _errors(log)[0][1]
    assert [(i.number, i.channel) for i in log.incidents] == [("INC0000002", Channel.PHONE)]
    assert log.warnings == 1


def test_rows_of_an_incident_must_be_together(tmp_path: Path) -> None:
    rows = good_rows()
    rows.append(event(state="Closed", at="10/2/2016 10:00"))  # INC0000001 again
    log = _read(tmp_path, rows)
    assert [line for line, _ in _errors(log)] == [13]
    assert "began at line 2" in _errors(log)[0][1]


def test_a_row_with_too_few_fields_is_an_error(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.csv", good_rows())
    with path.open("a", encoding="utf-8") as out:
        out.write("INC0000003,New,true\n")
    log = read_log(path)
    assert [(line, message) for line, message in _errors(log)] == [
        (13, "the row has 3 fields where the header has 36")]


def test_missing_columns_are_reported_on_the_header(tmp_path: Path) -> None:
    columns = [c for c in HEADER if c not in ("impact", "closed_at")]
    log = read_log(write_log(tmp_path / "log.csv", good_rows(), columns))
    assert log.incidents == () and log.rows == 0
    assert _errors(log) == [(1, "the header lacks the columns impact, closed_at; is this a "
                                "ServiceNow incident event log?")]


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    columns = [c for c in HEADER if c not in ("location", "cmdb_ci", "u_symptom", "opened_by")]
    log = read_log(write_log(tmp_path / "log.csv", good_rows(), columns))
    assert log.errors == 0 and len(log.incidents) == 2
    assert log.incidents[0].location is None and log.incidents[0].opened_by is None


def test_a_priority_that_disagrees_with_the_rest_is_an_error(tmp_path: Path) -> None:
    rows = good_rows()
    rows[8]["priority"] = "5 - Planning"  # impact 3 x urgency 3 gives 4 on the other rows
    log = _read(tmp_path, rows)
    assert [line for line, _ in _errors(log)] == [10]
    assert "impact 3 x urgency 3 gives priority 4" in _errors(log)[0][1]
    assert log.cells[(3, 3)] == 4


def test_problems_beyond_the_limit_are_only_counted(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from deskapp.services.importing import servicenow_log

    monkeypatch.setattr(servicenow_log, "MAX_PROBLEMS", 3)
    rows = [event(number=f"INC{k:07d}", state="Closed", impact="x") for k in range(10)]
    log = _read(tmp_path, rows)
    assert log.errors == 10 and len(log.problems) == 3


# --- files ----------------------------------------------------------------------------


def test_a_zip_is_read_without_its_macos_entries(tmp_path: Path) -> None:
    csv_path = write_log(tmp_path / "incident_event_log.csv", good_rows())
    archive = tmp_path / "log.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.write(csv_path, "incident_event_log.csv")
        out.writestr("__MACOSX/._incident_event_log.csv", b"\x00\x05\x16\x07junk")
    progress: list[tuple[int, int]] = []
    log = read_log(archive, progress=lambda done, total: progress.append((done, total)))
    assert log.source == "log.zip:incident_event_log.csv"
    assert len(log.incidents) == 2 and log.errors == 0
    assert progress[-1] == (csv_path.stat().st_size, csv_path.stat().st_size)


def test_a_zip_must_hold_one_csv(tmp_path: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a.csv", "number\n")
        out.writestr("b.csv", "number\n")
    with pytest.raises(ValidationError, match=re.escape("one CSV file; it holds a.csv, b.csv")):
        read_log(archive)


@pytest.mark.parametrize(("content", "message"), [
    (None, "There is no file"),
    (b"", "is empty"),
    (b"number,incident_state\n\xff\xfe\x00junk\n", "not UTF-8 text"),
])
def test_unreadable_files_raise_one_clear_error(tmp_path: Path, content: bytes | None,
                                                message: str) -> None:
    path = tmp_path / "log.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationError, match=message):
        read_log(path)


# --- the matrix -----------------------------------------------------------------------


def test_the_logs_cells_replace_the_current_ones(tmp_path: Path) -> None:
    log = _read(tmp_path, good_rows())
    current = default_matrix()
    fitted = matrix_from_log(log, current)
    assert fitted.cells[(3, 3)] == 4 and current.cells[(3, 3)] == 5
    assert {k: v for k, v in fitted.cells.items() if k != (3, 3)} == {
        k: v for k, v in current.cells.items() if k != (3, 3)}
    assert fitted.impact_levels == current.impact_levels


def test_a_log_with_undefined_priorities_or_half_levels_is_refused(tmp_path: Path) -> None:
    current = default_matrix()
    log = _read(tmp_path, [event(state="Closed", priority="3 - Moderate", impact="4 - Tiny")])
    with pytest.raises(ValidationError, match="gives no priority for impact 4 x urgency 1"):
        matrix_from_log(log, current)
    smaller = PriorityMatrix(current.impact_levels, current.urgency_levels,
                             {cell: min(rank, 3) for cell, rank in current.cells.items()},
                             current.priorities[:3])
    log = _read(tmp_path, [event(state="Closed", priority="4 - Low", impact="3 - Low",
                                 urgency="3 - Low")])
    with pytest.raises(ValidationError, match="priority 4, which the database does not"):
        matrix_from_log(log, smaller)
