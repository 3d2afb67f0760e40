"""Reading a ServiceNow incident event log (a CSV file, or a zip holding one) into plain data.

The log has one row per update of an incident, the rows of an incident one after another and
the last of them holding its final state. Timestamps are day-first ``d/m/YYYY HH:MM`` in the
instance's local time, without a zone; a missing value is a literal ``?``. Nothing here knows
the database: the whole file is read and checked before the importer writes anything, so a
broken file changes nothing.

How the log's vocabulary maps to Deskapp's:

- States: New -> New; Active (and In Progress) -> In Progress; Awaiting User Info and
  Awaiting Evidence -> On Hold awaiting the caller (the evidence asked for comes from the
  caller); Awaiting Vendor -> On Hold awaiting a vendor; Awaiting Problem -> On Hold awaiting
  a change (the fix comes through the problem record's change); Resolved, Closed and
  Canceled -> the same. Anything else is an error, except the junk state ``-100`` (see
  ``JUNK_STATE``).
- Contact types: Phone and IVR -> Phone; Email -> Email; Self service (and Web) -> Web
  portal; Chat -> Chat; Walk-in and Direct opening (an agent opens it for someone in front
  of them) -> Walk-in; Monitoring, Event and Alert -> Monitoring.
- Close codes: ServiceNow's named ones ("Solved (Permanently)", "Not Solved (Too Costly)",
  ...) -> the matching resolution code. Others (the anonymised ``code 6`` of the public log)
  say nothing about how the incident was solved: they become "Solved permanently", and the
  original code is kept in the resolution notes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskapp.domain.enums import Channel, HoldReason, ResolutionCode, State
from deskapp.domain.errors import ValidationError

MISSING = "?"
"""How the log writes a missing value."""
JUNK_STATE = "-100"
"""A state value ServiceNow wrote on a few updates of the public log; it names no state.

Such a row is kept for everything but its state: it is a real update (its ``sys_mod_count``
fits the sequence, its other fields agree with the rows around it), so an assignment made
in it still counts, and the state of the row before it carries over, with a warning. Where
the state cannot be explained that way - the junk is on an incident's last row, which must
hold its final state - the row is an error and nothing is imported.
"""
MAX_PROBLEMS = 1000
"""Problems kept for the report; beyond it they are only counted (a wrong file would
otherwise give one per row)."""
MAX_NAME = 120
"""The longest name of a caller, group, agent, category or location the database keeps."""
MAX_SERVICE = 160
PROGRESS_ROWS = 5000
"""Rows between two progress reports while reading."""

REQUIRED_COLUMNS = (
    "number", "incident_state", "reassignment_count", "reopen_count", "made_sla",
    "caller_id", "opened_at", "sys_updated_by", "sys_updated_at", "contact_type", "category",
    "subcategory", "impact", "urgency", "priority", "assignment_group", "assigned_to",
    "closed_code", "resolved_at", "closed_at",
)
OPTIONAL_COLUMNS = (
    "opened_by", "location", "u_symptom", "cmdb_ci", "resolved_by", "problem_id", "rfc",
    "vendor", "caused_by", "knowledge",
)
"""Read when present; the log is still whole without them."""

STATES: Mapping[str, tuple[State, HoldReason | None]] = {
    "new": (State.NEW, None),
    "active": (State.IN_PROGRESS, None),
    "in progress": (State.IN_PROGRESS, None),
    "awaiting user info": (State.ON_HOLD, HoldReason.AWAITING_CALLER),
    "awaiting evidence": (State.ON_HOLD, HoldReason.AWAITING_CALLER),
    "awaiting vendor": (State.ON_HOLD, HoldReason.AWAITING_VENDOR),
    "awaiting problem": (State.ON_HOLD, HoldReason.AWAITING_CHANGE),
    "on hold": (State.ON_HOLD, HoldReason.AWAITING_CALLER),
    "resolved": (State.RESOLVED, None),
    "closed": (State.CLOSED, None),
    "canceled": (State.CANCELLED, None),
    "cancelled": (State.CANCELLED, None),
}
"""The log's states (lower case) as a Deskapp state and, for On Hold, the reason."""

CHANNELS: Mapping[str, Channel] = {
    "phone": Channel.PHONE,
    "ivr": Channel.PHONE,
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "self service": Channel.WEB_PORTAL,
    "self-service": Channel.WEB_PORTAL,
    "web": Channel.WEB_PORTAL,
    "chat": Channel.CHAT,
    "virtual agent": Channel.CHAT,
    "walk-in": Channel.WALK_IN,
    "walk in": Channel.WALK_IN,
    "direct opening": Channel.WALK_IN,
    "monitoring": Channel.MONITORING,
    "event": Channel.MONITORING,
    "alert": Channel.MONITORING,
}
"""The log's contact types (lower case) as channels."""

CLOSE_CODES: Mapping[str, ResolutionCode] = {
    "solved (permanently)": ResolutionCode.SOLVED_PERMANENTLY,
    "solved permanently": ResolutionCode.SOLVED_PERMANENTLY,
    "solved (work around)": ResolutionCode.SOLVED_WORKAROUND,
    "solved (workaround)": ResolutionCode.SOLVED_WORKAROUND,
    "solved remotely (permanently)": ResolutionCode.SOLVED_REMOTELY,
    "solved remotely (work around)": ResolutionCode.SOLVED_REMOTELY,
    "not solved (not reproducible)": ResolutionCode.NOT_SOLVED_NOT_REPRODUCIBLE,
    "not solved (too costly)": ResolutionCode.NOT_SOLVED_TOO_COSTLY,
    "closed/resolved by caller": ResolutionCode.CLOSED_BY_CALLER,
    "closed/resolved by user": ResolutionCode.CLOSED_BY_CALLER,
    "duplicate": ResolutionCode.DUPLICATE,
}
"""ServiceNow's named close codes (lower case) as resolution codes."""
DEFAULT_RESOLUTION = ResolutionCode.SOLVED_PERMANENTLY
"""For close codes that name no way of solving (anonymised or custom ones)."""

_TIMESTAMP = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?")
_LEVEL = re.compile(r"(\d+)(?:\s*-\s*(.*))?")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class ImportProblem:
    """Something in the file the importer could not use (an error) or worked around."""

    line: int | None
    """The line of the file the row starts on (1 is the header); None for the whole file."""
    number: str | None
    """The incident the row belongs to, when known."""
    message: str
    is_error: bool = True
    """Errors stop the import; warnings say what was done instead."""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        if self.number:
            where += f" ({self.number})"
        return f"{where}: {'' if self.is_error else 'warning: '}{self.message}"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One update of an incident, as far as the timeline needs it."""

    line: int
    at: datetime
    """sys_updated_at, in UTC."""
    state: State | None
    """None for the junk state: the state before carries over."""
    hold_reason: HoldReason | None
    group: str | None
    assignee: str | None
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class LogIncident:
    """An incident of the log: its final row's values and its updates in order."""

    number: str
    line: int
    """Where its first row starts."""
    opened_at: datetime
    opened_by: str | None
    caller: str | None
    location: str | None
    channel: Channel
    category: str | None
    subcategory: str | None
    symptom: str | None
    configuration_item: str | None
    """The log's ``cmdb_ci``: in ServiceNow that is the configuration item, not a service."""
    impact: int
    urgency: int
    priority: int
    state: State
    hold_reason: HoldReason | None
    group: str | None
    assignee: str | None
    reassignment_count: int
    reopen_count: int
    made_sla: bool
    close_code: str | None
    """As the log writes it."""
    resolution_code: ResolutionCode
    """What ``close_code`` maps to (see CLOSE_CODES)."""
    resolved_by: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    details: tuple[tuple[str, str], ...]
    """Facts Deskapp has no field for (label, value), kept in the description."""
    events: tuple[LogEvent, ...]


@dataclass(frozen=True)
class ServiceNowLog:
    """Everything read from one log file."""

    source: str
    """The file's name (and the member's, inside a zip)."""
    rows: int
    incidents: tuple[LogIncident, ...]
    """Those read without error, in the order of the file."""
    problems: tuple[ImportProblem, ...]
    """The first MAX_PROBLEMS problems."""
    errors: int
    warnings: int
    impact_names: Mapping[int, str]
    """Each impact value's name in the file ("1 - High" -> 1: "High")."""
    urgency_names: Mapping[int, str]
    cells: Mapping[tuple[int, int], int]
    """The priority the file gives each (impact, urgency) it holds."""
    unnamed_close_codes: int = 0
    """Incidents whose close code names no resolution (see DEFAULT_RESOLUTION)."""


ReadProgress = Callable[[int, int], None]
"""Called with (bytes read, bytes in all) while reading."""


def time_zone(name: str) -> tzinfo:
    """The IANA time zone called ``name``; ValidationError if there is none."""
    if name.strip().upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"'{name}' is not a time zone; use an IANA name such as "
                              "Europe/Oslo or America/Sao_Paulo.", field="timezone") from None


def parse_timestamp(text: str) -> datetime:
    """A day-first ``d/m/YYYY HH:MM`` (seconds optional) as a naive datetime.

    Raises:
        ValueError: If the text is not such a time, or names a day that does not exist.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    day, month, year, hour, minute, second = match.groups()
    return datetime(int(year), int(month), int(day), int(hour), int(minute),
                    int(second or 0))


def parse_level(text: str) -> tuple[int, str | None]:
    """An impact, urgency or priority such as ``2 - Medium``: (2, "Medium").

    Raises:
        ValueError: Unless it is a number from 1 to 5, with or without a name.
    """
    match = _LEVEL.fullmatch(text.strip())
    if match is None:
        raise ValueError(text)
    value = int(match.group(1))
    if not 1 <= value <= 5:
        raise ValueError(text)
    name = (match.group(2) or "").strip()
    return value, name or None


def resolution_for(close_code: str | None) -> ResolutionCode | None:
    """The resolution code a ServiceNow close code names; None if it names none."""
    if close_code is None:
        return None
    return CLOSE_CODES.get(" ".join(close_code.split()).casefold())


@contextmanager
def open_log(path: Path) -> Iterator[tuple[IO[bytes], int, str]]:
    """The CSV's bytes, its size and its display name, from a CSV file or a zip holding one.

    A zip's ``__MACOSX/`` entries and ``._`` files (macOS resource forks) are left out.

    Raises:
        ValidationError: If the file cannot be opened, or a zip holds no CSV or several.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()
                           and not m.filename.startswith("__MACOSX/")
                           and not PurePosixPath(m.filename).name.startswith("._")]
                csvs = [m for m in members if m.filename.lower().endswith(".csv")]
                if len(csvs) != 1:
                    found = ", ".join(m.filename for m in members) or "nothing"
                    raise ValidationError(f"{path.name} should hold one CSV file; it holds "
                                          f"{found}.")
                with archive.open(csvs[0]) as raw:
                    yield raw, csvs[0].file_size, f"{path.name}:{csvs[0].filename}"
        else:
            with path.open("rb") as raw:
                yield raw, path.stat().st_size, path.name
    except FileNotFoundError:
        raise ValidationError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise ValidationError(f"{path} cannot be read: permission denied.") from None
    except zipfile.BadZipFile as exc:
        raise ValidationError(f"{path.name} is a damaged zip file: {exc}.") from None


def read_log(path: Path, zone: tzinfo = UTC,
             progress: ReadProgress | None = None) -> ServiceNowLog:
    """Read and check a whole log.

    Args:
        path: A CSV file, or a zip holding one.
        zone: The time zone the log's times are in; they come out in UTC.
        progress: Told how far reading has got, every few thousand rows.

    Returns:
        The incidents read without error, and every problem found (rows that cannot be read
        are reported, with their line, and left out).

    Raises:
        ValidationError: If the file cannot be opened or is not UTF-8 CSV text.
    """
    with open_log(path) as (raw, size, name):
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = _LogReader(name, zone)
        try:
            reader.read(text, raw, size, progress)
        except UnicodeDecodeError:
            raise ValidationError(
                f"{name} is not UTF-8 text (after line {reader.last_line}).") from None
        except csv.Error as exc:
            raise ValidationError(
                f"{name} is not readable CSV at line {reader.last_line + 1}: {exc}.") from None
    return reader.result()


class _RowError(Exception):
    """A value of a row that cannot be used; the message names it."""


class _Columns:
    """Where each column is in a row."""

    def __init__(self, header: list[str]) -> None:
        names = [name.strip().lower() for name in header]
        self.width = len(names)
        position = {name: index for index, name in enumerate(names)}
        self.missing = [name for name in REQUIRED_COLUMNS if name not in position]
        # A missing optional column reads as a missing value: one past the end.
        self.index = {name: position.get(name, self.width)
                      for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}


@dataclass(slots=True)
class _Row:
    """One row's values, checked and converted."""

    line: int
    number: str
    state: State | None
    hold_reason: HoldReason | None
    at: datetime
    opened_at: datetime
    impact: int
    urgency: int
    priority: int
    values: list[str]
    """The raw row, one missing value added at the end for absent optional columns."""


class _LogReader:
    """Reads rows one incident at a time, so only the parsed incidents stay in memory."""

    def __init__(self, source: str, zone: tzinfo) -> None:
        self._source = source
        self._zone = zone
        # Values repeat a lot (a few thousand distinct times, names and levels in 140,000
        # rows): converting each once makes reading twice as fast.
        self._times: dict[str, datetime] = {}
        self._names: dict[str, str | None] = {}
        self._levels: dict[str, tuple[int, str | None]] = {}
        self._problems: list[ImportProblem] = []
        self._errors = 0
        self._warnings = 0
        self._incidents: list[LogIncident] = []
        self._first_line: dict[str, int] = {}
        self._triples: Counter[tuple[int, int, int]] = Counter()
        self._triple_lines: dict[tuple[int, int, int], list[tuple[int, str]]] = {}
        self._impact_names: dict[int, str] = {}
        self._urgency_names: dict[int, str] = {}
        self._unnamed_close_codes = 0
        self._rows = 0
        self.last_line = 0
        self._columns: _Columns | None = None

    # --- reading ------------------------------------------------------------------------

    def read(self, text: IO[str], raw: IO[bytes], size: int,
             progress: ReadProgress | None) -> None:
        reader = csv.reader(text)
        header = next(reader, None)
        self.last_line = reader.line_num
        if header is None:
            raise ValidationError(f"{self._source} is empty.")
        columns = self._columns = _Columns(header)
        if columns.missing:
            self._problem(1, None, "the header lacks the column"
                          f"{'s' if len(columns.missing) > 1 else ''} "
                          f"{', '.join(columns.missing)}; is this a ServiceNow incident "
                          "event log?")
            return
        number_at = columns.index["number"]
        group: list[_Row] = []
        broken = False
        current: str | None = None
        for values in reader:
            line = self.last_line + 1
            self.last_line = reader.line_num
            if not values:
                continue
            self._rows += 1
            if progress is not None and self._rows % PROGRESS_ROWS == 0:
                progress(min(_tell(raw, size), size), size)
            number = values[number_at].strip() if len(values) > number_at else ""
            if number != current:
                if current is not None and not broken:
                    self._add_incident(group)
                group, broken, current = [], False, number
                if number in self._first_line:
                    self._problem(line, number, "the rows of this incident are not together: "
                                  f"they began at line {self._first_line[number]}; a log lists "
                                  "each incident's updates one after another")
                    broken = True
                else:
                    self._first_line[number] = line
            if len(values) != columns.width:
                self._problem(line, number or None, f"the row has {len(values)} fields where "
                              f"the header has {columns.width}")
                broken = True
                continue
            try:
                row = self._row(line, number, values)
            except _RowError as exc:
                self._problem(line, number or None, str(exc))
                broken = True
                continue
            group.append(row)
        if current is not None and not broken:
            self._add_incident(group)
        if progress is not None:
            progress(size, size)

    def _row(self, line: int, number: str, values: list[str]) -> _Row:
        """Check and convert the values every row must have right."""
        index = self._columns.index if self._columns else {}
        values.append(MISSING)
        problems: list[str] = []
        if not number or number == MISSING:
            problems.append("the incident number is missing")
        state_text = values[index["incident_state"]].strip()
        state: State | None = None
        hold: HoldReason | None = None
        if state_text != JUNK_STATE:
            mapped = STATES.get(state_text.casefold())
            if mapped is None:
                problems.append(f"incident_state '{state_text}' is not a state of the log "
                                f"(known: {', '.join(sorted(STATES))})")
            else:
                state, hold = mapped
        at = self._time(values, index, "sys_updated_at", problems, required=True)
        opened_at = self._time(values, index, "opened_at", problems, required=True)
        for name in ("resolved_at", "closed_at"):
            self._time(values, index, name, problems, required=False)
        levels = []
        for name, names in (("impact", self._impact_names), ("urgency", self._urgency_names),
                            ("priority", None)):
            raw = values[index[name]]
            level = self._levels.get(raw)
            if level is None:
                try:
                    level = self._levels[raw] = parse_level(raw)
                except ValueError:
                    problems.append(f"{name} '{raw}' is not a level from 1 to 5 such as "
                                    "'2 - Medium'")
                    level = (0, None)
            value, label = level
            if names is not None and label is not None and value not in names:
                names[value] = label
            levels.append(value)
        for name in ("reassignment_count", "reopen_count"):
            raw = values[index[name]].strip()
            if not raw.isdigit():
                problems.append(f"{name} '{raw}' is not a whole number")
        made_sla = values[index["made_sla"]].strip().lower()
        if made_sla not in _TRUE and made_sla not in _FALSE:
            problems.append(f"made_sla '{made_sla}' is neither true nor false")
        for name, limit in (("caller_id", MAX_NAME), ("assignment_group", MAX_NAME),
                            ("assigned_to", MAX_NAME), ("category", MAX_NAME),
                            ("subcategory", MAX_NAME), ("location", MAX_NAME),
                            ("cmdb_ci", MAX_SERVICE)):
            if len(values[index[name]]) > limit:
                problems.append(f"{name} is longer than {limit} characters")
        if problems:
            raise _RowError("; ".join(problems))
        assert at is not None and opened_at is not None
        impact, urgency, priority = levels
        triple = (impact, urgency, priority)
        self._triples[triple] += 1
        lines = self._triple_lines.setdefault(triple, [])
        if len(lines) < 5:
            lines.append((line, number))
        return _Row(line, number, state, hold, at, opened_at, impact, urgency, priority,
                    values)

    def _time(self, values: list[str], index: Mapping[str, int], name: str,
              problems: list[str], *, required: bool) -> datetime | None:
        text = values[index[name]]
        if text == MISSING or not text.strip():
            if required:
                problems.append(f"{name} is missing")
            return None
        known = self._times.get(text)
        if known is not None:
            return known
        try:
            naive = parse_timestamp(text)
        except ValueError:
            problems.append(f"{name} '{text}' is not a day-first d/m/YYYY HH:MM time")
            return None
        # fold=0: a wall time that occurs twice when the clocks go back is taken as the
        # first; one in the gap when they go forward is read with the offset before the gap.
        moment = naive.replace(tzinfo=self._zone).astimezone(UTC)
        self._times[text] = moment
        return moment

    # --- one incident -------------------------------------------------------------------

    def _add_incident(self, rows: list[_Row]) -> None:
        if not rows:
            return
        index = self._columns.index if self._columns else {}
        final = rows[-1]
        number = final.number
        if final.state is None:
            self._problem(final.line, number, f"the last row of an incident holds its final "
                          f"state, and its state here is the junk value {JUNK_STATE}")
            return
        events = []
        state = State.NEW
        for row in rows:
            values = row.values
            if row.state is None:
                self._problem(row.line, number, f"state {JUNK_STATE} is junk: this update "
                              f"keeps the state before it ({state.label}); its other values "
                              "are used", error=False)
            else:
                state = row.state
            events.append(LogEvent(
                row.line, row.at, row.state, row.hold_reason,
                self._name(values[index["assignment_group"]]),
                self._name(values[index["assigned_to"]]),
                self._name(values[index["sys_updated_by"]]),
            ))
        values = final.values
        contact = values[index["contact_type"]].strip()
        channel = CHANNELS.get(contact.casefold())
        if channel is None:
            if contact and contact != MISSING:
                self._problem(final.line, number, f"contact_type '{contact}' is not one the "
                              f"importer knows (known: {', '.join(sorted(CHANNELS))})")
                return
            channel = Channel.PHONE
            self._problem(final.line, number, "contact_type is missing; taken as Phone",
                          error=False)
        close_code = self._name(values[index["closed_code"]])
        resolution = resolution_for(close_code)
        if resolution is None:
            self._unnamed_close_codes += 1
            resolution = DEFAULT_RESOLUTION
        category = self._name(values[index["category"]])
        subcategory = self._name(values[index["subcategory"]])
        details = tuple(
            (label, value) for label, value in (
                (label, self._name(values[index[column]])) for label, column in _DETAILS)
            if value is not None
        )
        self._incidents.append(LogIncident(
            number=number, line=rows[0].line, opened_at=rows[0].opened_at,
            opened_by=self._name(values[index["opened_by"]]),
            caller=self._name(values[index["caller_id"]]),
            location=self._name(values[index["location"]]), channel=channel,
            category=category, subcategory=subcategory if category is not None else None,
            symptom=self._name(values[index["u_symptom"]]),
            configuration_item=self._name(values[index["cmdb_ci"]]),
            impact=final.impact, urgency=final.urgency, priority=final.priority,
            state=final.state, hold_reason=final.hold_reason,
            group=events[-1].group, assignee=events[-1].assignee,
            reassignment_count=int(values[index["reassignment_count"]]),
            reopen_count=int(values[index["reopen_count"]]),
            made_sla=values[index["made_sla"]].strip().lower() in _TRUE,
            close_code=close_code, resolution_code=resolution,
            resolved_by=self._name(values[index["resolved_by"]]),
            resolved_at=self._times.get(values[index["resolved_at"]]),
            closed_at=self._times.get(values[index["closed_at"]]),
            details=details, events=tuple(events),
        ))

    def _name(self, text: str) -> str | None:
        try:
            return self._names[text]
        except KeyError:
            name = self._names[text] = _name(text)
            return name

    # --- the result ---------------------------------------------------------------------

    def result(self) -> ServiceNowLog:
        cells = self._check_priorities()
        return ServiceNowLog(
            source=self._source, rows=self._rows, incidents=tuple(self._incidents),
            problems=tuple(self._problems), errors=self._errors, warnings=self._warnings,
            impact_names=dict(self._impact_names), urgency_names=dict(self._urgency_names),
            cells=cells, unnamed_close_codes=self._unnamed_close_codes,
        )

    def _check_priorities(self) -> dict[tuple[int, int], int]:
        """The file's matrix; rows that disagree with the rest of the file are errors.

        The priority follows impact and urgency by one fixed matrix on every row, so where
        one cell has two priorities, the rows with the rarer one are wrong.
        """
        by_cell: dict[tuple[int, int], Counter[int]] = {}
        for (impact, urgency, priority), count in self._triples.items():
            by_cell.setdefault((impact, urgency), Counter())[priority] = count
        cells = {}
        for (impact, urgency), priorities in sorted(by_cell.items()):
            ranked = priorities.most_common()
            majority, rows = ranked[0]
            cells[(impact, urgency)] = majority
            for priority, count in ranked[1:]:
                lines = self._triple_lines[(impact, urgency, priority)]
                for line, number in lines:
                    self._problem(line, number, f"priority {priority} disagrees with the rest "
                                  f"of the file, where impact {impact} x urgency {urgency} "
                                  f"gives priority {majority} ({rows:,} rows)")
                if count > len(lines):
                    self._problem(None, None, f"{count - len(lines):,} more rows give impact "
                                  f"{impact} x urgency {urgency} priority {priority}")
        return cells

    def _problem(self, line: int | None, number: str | None, message: str, *,
                 error: bool = True) -> None:
        if error:
            self._errors += 1
        else:
            self._warnings += 1
        if len(self._problems) < MAX_PROBLEMS:
            self._problems.append(ImportProblem(line, number, message, error))


_DETAILS = (
    ("Location", "location"), ("Symptom", "u_symptom"), ("Opened by", "opened_by"),
    ("Resolved by", "resolved_by"), ("Close code", "closed_code"),
    ("Problem", "problem_id"), ("Change", "rfc"), ("Vendor", "vendor"),
    ("Caused by", "caused_by"), ("Knowledge", "knowledge"),
)
"""Values with no field of their own, kept in the description: (label, column)."""


def _name(text: str) -> str | None:
    """A name as the log writes it, spaces tidied ("Opened by  8"); None when missing."""
    if text == MISSING:
        return None
    tidy = " ".join(text.split())
    return tidy if tidy and tidy != MISSING else None


def _tell(raw: IO[bytes], size: int) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError):
        return size // 2
