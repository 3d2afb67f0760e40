"""Import callers or incidents from any CSV file, its columns mapped to Deskapp's fields.

A mapping names, for each field, the file's column that holds it (``name`` <- ``Full Name``);
fields left out take their default. The whole file is read and checked before anything is
written, against the database as it is (the priority matrix, categories, services, groups,
agents, callers): a file with any error changes nothing, and the report names every row
that cannot be imported with its line and the reason. A dry run does all of that and writes
nothing, telling what an import would create.

Callers: a caller whose name is already known (compared case-insensitively) is skipped, so
importing a list again adds only the new people. Incidents: each is opened as a new incident
by the importing user, at its ``opened_at`` (or now), its priority and due times from the
current matrix. Its caller is found by name or created; its category, subcategory, service,
group and agent must exist (a typo must not grow the catalogue), and the agent must belong
to the group. With a ``reference`` column, each incident remembers where it came from
(``csv:<source>:<reference>``) and importing the file again skips those already imported.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any

from deskapp.domain.enums import Channel
from deskapp.domain.errors import DeskappError, ValidationError
from deskapp.domain.incident import Incident, format_number
from deskapp.domain.people import Caller, User
from deskapp.domain.priority import Level, PriorityMatrix
from deskapp.domain.text import is_email
from deskapp.services import audit
from deskapp.services.importing.servicenow_log import (
    CHANNELS,
    ImportProblem,
    open_log,
    parse_timestamp,
)
from deskapp.services.permissions import CSV_IMPORT, require_all
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory

REF_PREFIX = "csv:"
"""External references of incidents imported from CSV start with this, then the source."""
BATCH_SIZE = 2_000
"""Rows sent to the database at a time, inside the one transaction."""
MAX_PROBLEMS = 1000
"""Problems kept for the report; beyond it they are only counted."""
MAX_PLANNED = 500
"""Lines of "what would be created" kept for the report."""
PREVIEW_ROWS = 10
_SNIFF_BYTES = 64 * 1024
_TRUE = frozenset({"yes", "y", "true", "1", "x", "vip", "ja", "oui", "sí", "si"})
_FALSE = frozenset({"no", "n", "false", "0", "", "nein", "non"})
_NORMALISE = re.compile(r"[^a-z0-9]+")
_CALLER_LIMITS = {"name": 120, "email": 200, "phone": 40, "department": 120, "location": 120}


class CsvKind(StrEnum):
    """What the rows of a file are."""

    CALLERS = "callers"
    INCIDENTS = "incidents"


@dataclass(frozen=True)
class CsvField:
    """A field a column can be mapped to."""

    name: str
    label: str
    required: bool = False
    hint: str = ""
    """What the values look like, for the mapping dialog."""
    synonyms: tuple[str, ...] = ()
    """Column names that mean this field, for guessing a mapping."""


FIELDS: Mapping[CsvKind, tuple[CsvField, ...]] = {
    CsvKind.CALLERS: (
        CsvField("name", "Name", True, "First and last name",
                 ("full name", "caller", "person", "contact", "display name")),
        CsvField("email", "Email", False, "name@example.com", ("e-mail", "mail", "email address")),
        CsvField("phone", "Phone", False, "Any format", ("telephone", "phone number", "tel",
                                                        "mobile")),
        CsvField("department", "Department", False, "", ("dept", "team", "unit")),
        CsvField("location", "Location", False, "", ("site", "office", "building")),
        CsvField("vip", "VIP", False, "yes / no", ("is vip", "vip caller")),
    ),
    CsvKind.INCIDENTS: (
        CsvField("short_description", "Short description", True, "At most 160 characters",
                 ("summary", "title", "subject")),
        CsvField("caller", "Caller", True, "A caller's name; new names become callers",
                 ("caller name", "caller id", "reported by", "requester", "customer")),
        CsvField("caller_email", "Caller's email", False, "For callers the import creates",
                 ("caller e-mail", "requester email", "email")),
        CsvField("description", "Description", False, "", ("details", "body", "notes")),
        CsvField("channel", "Channel", False, "Phone, Email, Web portal, Chat...",
                 ("contact type", "source", "via")),
        CsvField("impact", "Impact", False, "1, 2, 3 or their names (High...)"),
        CsvField("urgency", "Urgency", False, "1, 2, 3 or their names (High...)"),
        CsvField("category", "Category", False, "An existing category"),
        CsvField("subcategory", "Subcategory", False, "An existing subcategory of it"),
        CsvField("service", "Service or CI", False, "An existing service",
                 ("configuration item", "ci", "cmdb ci", "affected service")),
        CsvField("group", "Assignment group", False, "An existing group",
                 ("assignment group", "team")),
        CsvField("assignee", "Assigned to", False, "A member of the group (user or full name)",
                 ("assigned to", "agent", "owner")),
        CsvField("opened_at", "Opened", False, "2026-03-02 14:30 (or 2/3/2026 14:30)",
                 ("opened", "created", "created at", "date", "opened at")),
        CsvField("reference", "Reference", False, "The source's own id; skips re-imports",
                 ("number", "id", "ticket", "ticket id", "incident number", "external id")),
    ),
}


def fields_for(kind: CsvKind) -> tuple[CsvField, ...]:
    """The fields of one kind of import, in the order the mapping dialog shows them."""
    return FIELDS[CsvKind(kind)]


def parse_mapping(text: str) -> dict[str, str]:
    """A mapping written as ``field=Column,field=Column`` (for the command line).

    Raises:
        ValidationError: If an entry is not ``field=Column``.
    """
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, column = entry.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ValidationError(f"'{entry.strip()}' in the mapping is not field=Column.",
                                  field="mapping")
        mapping[name.strip().casefold()] = column.strip()
    return mapping


def format_mapping(mapping: Mapping[str, str]) -> str:
    """The mapping as ``parse_mapping`` reads it."""
    return ",".join(f"{name}={column}" for name, column in mapping.items())


def _normal(text: str) -> str:
    return _NORMALISE.sub(" ", text.casefold()).strip()


def guess_mapping(kind: CsvKind, columns: Sequence[str]) -> dict[str, str]:
    """The columns that plainly hold a field, by their name, label or a usual synonym."""
    by_name = {_normal(column): column for column in reversed(columns)}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for candidate in fields_for(kind):
        for word in (candidate.name, candidate.label, *candidate.synonyms):
            column = by_name.get(_normal(word))
            if column is not None and column not in used:
                mapping[candidate.name] = column
                used.add(column)
                break
    return mapping


# --- reading the file --------------------------------------------------------------------


@dataclass(frozen=True)
class CsvPreview:
    """The first rows of a file, for choosing a mapping."""

    source: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    delimiter: str


def preview_csv(path: Path | str, rows: int = PREVIEW_ROWS) -> CsvPreview:
    """The header and first ``rows`` rows of a CSV file.

    Raises:
        ValidationError: If the file cannot be opened, or is not UTF-8 CSV text.
    """
    with _reader(Path(path)) as (reader, source, delimiter):
        try:
            header = next(reader, None)
            if header is None:
                raise ValidationError(f"{source} is empty.")
            first = []
            for values in reader:
                if values:
                    first.append(tuple(values))
                if len(first) >= rows:
                    break
        except UnicodeDecodeError:
            raise _not_utf8(source) from None
        except csv.Error as exc:
            raise ValidationError(f"{source} is not readable CSV: {exc}.") from None
    return CsvPreview(source, tuple(h.strip() for h in header), tuple(first), delimiter)


@contextmanager
def _reader(path: Path) -> Iterator[tuple[Any, str, str]]:
    """A csv reader over a CSV file (or a zip holding one), its name, and its delimiter."""
    with open_log(path) as (raw, _size, source):
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            # Whole lines for the sniffer; they are read again from memory.
            sample = text.read(_SNIFF_BYTES) + text.readline()
        except UnicodeDecodeError:
            raise _not_utf8(source) from None
        delimiter = _delimiter(sample)
        lines = itertools.chain(io.StringIO(sample, newline=""), text)
        yield csv.reader(lines, delimiter=delimiter), source, delimiter


def _delimiter(sample: str) -> str:
    """Comma, semicolon (what Excel writes where the comma is a decimal mark) or tab."""
    first_line = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: first_line.count(d) for d in ",;\t"}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _not_utf8(source: str) -> ValidationError:
    return ValidationError(f"{source} is not UTF-8 text; save it as \"CSV UTF-8\" and try "
                           "again.")


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvImportReport:
    """What an import did (or a dry run would do), or why it did nothing."""

    kind: CsvKind
    source: str
    dry_run: bool
    rows: int
    """Data rows of the file, the header left out."""
    created: int
    """Callers or incidents created (or that would be)."""
    skipped: int
    """Rows left out as already there (a known caller, an incident imported before)."""
    callers_created: int
    """For incidents: callers created (or that would be) for names not known yet."""
    problems: tuple[ImportProblem, ...]
    errors: int
    warnings: int
    planned: tuple[str, ...]
    """What is (or would be) created, one line each, the first MAX_PLANNED only."""
    seconds: float

    @property
    def ok(self) -> bool:
        """True when no row has an error (so the file is, or can be, imported)."""
        return self.errors == 0

    def summary(self) -> str:
        """One line on what happened."""
        noun = "caller" if self.kind == CsvKind.CALLERS else "incident"
        if not self.ok:
            verb = "would be" if self.dry_run else "was"
            return (f"Nothing {verb} imported from {self.source}: "
                    f"{_count(self.errors, 'row problem')} (listed below); "
                    "fix the file or the mapping and try again.")
        made = _count(self.created, noun)
        if self.dry_run:
            text = f"Dry run of {self.source}: {made} would be created"
        else:
            text = f"Imported {made} from {self.source}"
        if self.callers_created:
            text += f", with {_count(self.callers_created, 'new caller')}"
        if self.skipped:
            text += f"; {self.skipped:,} already there"
        text += f" ({_count(self.rows, 'row')}"
        text += ", nothing written)." if self.dry_run else f", {self.seconds:.1f} s)."
        return text


def _count(count: int, one: str) -> str:
    return f"{count:,} {one if count == 1 else one + 's'}"


class _Problems:
    def __init__(self) -> None:
        self.items: list[ImportProblem] = []
        self.errors = 0
        self.warnings = 0
        self.planned: list[str] = []

    def add(self, line: int | None, message: str, *, error: bool = True,
            ref: str | None = None) -> None:
        if error:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(ImportProblem(line, ref, message, error))

    def plan(self, line: int, text: str) -> None:
        if len(self.planned) < MAX_PLANNED:
            self.planned.append(f"line {line}: {text}")


# --- importing ---------------------------------------------------------------------------


def import_csv(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    kind: CsvKind,
    mapping: Mapping[str, str] | None = None,
    *,
    dry_run: bool = False,
    source: str | None = None,
    zone: tzinfo | None = None,
    actor_id: int | None = None,
    clock: Clock | None = None,
) -> CsvImportReport:
    """Import callers or incidents from a CSV file; all of it, or nothing when it has errors.

    Args:
        uow_factory: Opens the unit of work the import runs in (a read-only one for a dry
            run).
        path: The CSV file (UTF-8; comma, semicolon or tab separated), or a zip holding it.
        kind: Callers or incidents.
        mapping: Field name -> the file's column; None guesses it from the header.
        dry_run: Check everything and report what would be created, writing nothing.
        source: Where the file comes from, for the incidents' references (default: the
            file's name without extension).
        zone: The time zone of ``opened_at`` values that name none (None: this
            computer's, summer time included).
        actor_id: Who opens the imported incidents; they need ``permissions.CSV_IMPORT``
            (None: the command line, run by someone who may open the database itself).
        clock: "Now": the opening time of incidents without ``opened_at``.

    Returns:
        What was (or would be) created and skipped, and every row's problem. With errors,
        nothing is written and ``ok`` is False.

    Raises:
        ValidationError: If the file cannot be read as CSV, or the mapping names unknown
            fields or columns the file lacks, or leaves a required field out.
        PermissionDeniedError: If the actor may not import.
    """
    started = time.perf_counter()
    kind = CsvKind(kind)
    now = (clock or (lambda: datetime.now(UTC)))()
    file = Path(path)
    source = source or file.stem
    problems = _Problems()
    with _reader(file) as (reader, name, _delimiter):
        try:
            header = [h.strip() for h in next(reader, None) or []]
            if not header:
                raise ValidationError(f"{name} is empty.")
            columns = _columns(kind, header, mapping)
            rows: list[tuple[int, list[str]]] = []
            last = reader.line_num
            for values in reader:
                # A row's line is where it starts; a quoted value may span several.
                first, last = last + 1, reader.line_num
                if any(value.strip() for value in values):
                    rows.append((first, values))
        except UnicodeDecodeError:
            raise _not_utf8(name) from None
        except csv.Error as exc:
            raise ValidationError(f"{name} is not readable CSV: {exc}.") from None
    with uow_factory(write=not dry_run) as uow:
        if actor_id is not None:
            require_all(uow.users.get(actor_id), CSV_IMPORT)
        if kind == CsvKind.CALLERS:
            created, skipped, callers = _callers(uow, rows, columns, len(header), problems,
                                                 dry_run)
        else:
            created, skipped, callers = _incidents(
                uow, rows, columns, len(header), problems, dry_run,
                _Context(uow, source, zone, now, actor_id))
        if not dry_run and problems.errors == 0:
            uow.audit.record(audit.IMPORTED, actor_id=actor_id, entity="import",
                             entity_id="csv", details={
                                 "source": "csv", "kind": kind.value, "file": name,
                                 "rows": len(rows), "skipped": skipped,
                                 "incidents": created if kind == CsvKind.INCIDENTS else 0,
                                 "callers": callers if kind == CsvKind.INCIDENTS
                                 else created})
            uow.commit()
    if problems.errors and not dry_run:
        created, skipped, callers = 0, 0, 0
        problems.planned.clear()
    return CsvImportReport(
        kind=kind, source=name, dry_run=dry_run, rows=len(rows), created=created,
        skipped=skipped, callers_created=callers, problems=tuple(problems.items),
        errors=problems.errors, warnings=problems.warnings, planned=tuple(problems.planned),
        seconds=time.perf_counter() - started,
    )


def _columns(kind: CsvKind, header: list[str],
             mapping: Mapping[str, str] | None) -> dict[str, int]:
    """Each mapped field's position in a row."""
    known = {f.name: f for f in fields_for(kind)}
    if mapping is None:
        mapping = guess_mapping(kind, header)
    unknown = [name for name in mapping if name not in known]
    if unknown:
        raise ValidationError(
            f"{', '.join(repr(n) for n in unknown)}: not a field of {kind.value} "
            f"(the fields are {', '.join(known)}).", field="mapping")
    position: dict[str, int] = {}
    folded = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}
    for name, column in mapping.items():
        index = folded.get(column.strip().casefold())
        if index is None:
            raise ValidationError(f"The file has no column '{column}' (for {name}); its "
                                  f"columns are {', '.join(header)}.", field="mapping")
        position[name] = index
    missing = [f.label for f in known.values() if f.required and f.name not in position]
    if missing:
        raise ValidationError(f"Map a column to {' and '.join(missing)}: "
                              f"{'it is' if len(missing) == 1 else 'they are'} required.",
                              field="mapping")
    return position


class _Row:
    """One row's mapped values, trimmed; absent ones are empty."""

    def __init__(self, values: list[str], columns: Mapping[str, int]) -> None:
        self._values = values
        self._columns = columns

    def __getitem__(self, name: str) -> str:
        index = self._columns.get(name)
        if index is None or index >= len(self._values):
            return ""
        return self._values[index].strip()


def _width_problem(values: list[str], width: int) -> str | None:
    if len(values) == width:
        return None
    return f"the row has {len(values)} fields where the header has {width}"


# --- callers -----------------------------------------------------------------------------


def _callers(uow: UnitOfWork, rows: list[tuple[int, list[str]]], columns: dict[str, int],
             width: int, problems: _Problems, dry_run: bool) -> tuple[int, int, int]:
    parsed: list[tuple[int, Caller]] = []
    first_line: dict[str, int] = {}
    for line, values in rows:
        row = _Row(values, columns)
        found: list[str] = []
        if (width_problem := _width_problem(values, width)) is not None:
            found.append(width_problem)
        caller = _caller_from(row, found)
        if found:
            problems.add(line, "; ".join(found))
            continue
        assert caller is not None
        key = caller.name.casefold()
        if key in first_line:
            problems.add(line, f"{caller.name} is on line {first_line[key]} already; this "
                         "row is left out", error=False)
            continue
        first_line[key] = line
        parsed.append((line, caller))
    known = uow.bulk.callers_by_name([c.name for _, c in parsed])
    new = [(line, c) for line, c in parsed if c.name not in known]
    for line, caller in new:
        problems.plan(line, _describe_caller(caller))
    if not dry_run and problems.errors == 0:
        for start in range(0, len(new), BATCH_SIZE):
            uow.bulk.add_callers([c for _, c in new[start:start + BATCH_SIZE]])
    return len(new), len(parsed) - len(new), 0


def _caller_from(row: _Row, found: list[str]) -> Caller | None:
    values = {name: row[name] for name in _CALLER_LIMITS}
    values["name"] = " ".join(values["name"].split())
    if not values["name"]:
        found.append("the name is empty")
    for name, limit in _CALLER_LIMITS.items():
        if len(values[name]) > limit:
            found.append(f"{name} is {len(values[name])} characters long; at most {limit}")
    if values["email"] and not is_email(values["email"]):
        found.append(f"email '{values['email']}' is not an email address")
    vip_text = row["vip"].casefold()
    if vip_text not in _TRUE and vip_text not in _FALSE:
        found.append(f"vip '{row['vip']}' is neither yes nor no")
    if found:
        return None
    return Caller(0, values["name"], values["email"], values["phone"], values["department"],
                  values["location"], vip_text in _TRUE)


def _describe_caller(caller: Caller) -> str:
    extra = ", ".join(v for v in (caller.email, caller.phone, caller.department,
                                  caller.location) if v)
    text = f"caller {caller.name}" + (f" ({extra})" if extra else "")
    return text + (", VIP" if caller.vip else "")


# --- incidents ---------------------------------------------------------------------------


@dataclass
class _Context:
    """What rows of incidents are checked against, read once."""

    uow: UnitOfWork
    source: str
    zone: tzinfo | None
    now: datetime
    actor_id: int | None
    matrix: PriorityMatrix = field(init=False)
    categories: dict[tuple[str | None, str], tuple[int, str]] = field(init=False)
    services: dict[str, int] = field(init=False)
    groups: dict[str, tuple[int, str]] = field(init=False)
    users: dict[str, User] = field(init=False)
    _members: dict[int, set[int]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        uow = self.uow
        self.matrix = uow.matrix.current()
        self.categories = {}
        names = uow.bulk.categories()
        for (parent, name), category_id in names.items():
            self.categories[(parent.casefold() if parent else None, name.casefold())] = (
                category_id, name)
        self.services = {name.casefold(): sid for name, sid in uow.bulk.services().items()}
        self.groups = {g.name.casefold(): (g.id, g.name) for g in uow.groups.all()}
        users = uow.users.all()
        self.users = {u.username.casefold(): u for u in users}
        for user in users:
            self.users.setdefault(user.full_name.casefold(), user)

    def members(self, group_id: int) -> set[int]:
        if group_id not in self._members:
            self._members[group_id] = set(self.uow.groups.member_ids(group_id))
        return self._members[group_id]


@dataclass
class _Planned:
    line: int
    caller: str
    caller_email: str
    reference: str | None
    make: Callable[[int], Incident]
    """Opens the incident for the caller's id."""
    text: str


def _incidents(uow: UnitOfWork, rows: list[tuple[int, list[str]]], columns: dict[str, int],
               width: int, problems: _Problems, dry_run: bool,
               context: _Context) -> tuple[int, int, int]:
    prefix = f"{REF_PREFIX}{context.source}:"
    existing = uow.bulk.external_refs(prefix) if "reference" in columns else set()
    planned: list[_Planned] = []
    references: dict[str, int] = {}
    skipped = 0
    for line, values in rows:
        row = _Row(values, columns)
        found: list[str] = []
        if (width_problem := _width_problem(values, width)) is not None:
            problems.add(line, width_problem)
            continue
        reference: str | None = None
        if "reference" in columns:
            reference = row["reference"]
            if not reference:
                found.append("the reference is empty")
            elif reference in references:
                found.append(f"reference {reference} is on line {references[reference]} "
                             "already")
            else:
                references[reference] = line
                if prefix + reference in existing:
                    skipped += 1
                    continue
        item = _incident_from(row, line, found, context)
        if found or item is None:
            problems.add(line, "; ".join(found), ref=reference)
            continue
        item.reference = reference
        planned.append(item)
    known = uow.bulk.callers_by_name({p.caller for p in planned})
    new_callers: dict[str, str] = {}
    for item in planned:
        if item.caller not in known:
            new_callers.setdefault(item.caller, item.caller_email)
        fresh = " (new caller)" if item.caller not in known else ""
        problems.plan(item.line, item.text.replace("{new}", fresh))
    if dry_run or problems.errors:
        return len(planned), skipped, len(new_callers)
    added = uow.bulk.add_callers([Caller(0, name, email) for name, email in
                                  new_callers.items()])
    known.update((caller.name, caller.id) for caller in added)
    # Numbers first (see services.demo): ids then follow numbers.
    first_number = uow.bulk.reserve_numbers(len(planned)) if planned else 0
    ids = uow.bulk.reserve_ids(len(planned))
    for start in range(0, len(planned), BATCH_SIZE):
        chunk = planned[start:start + BATCH_SIZE]
        batch = []
        for k, item in enumerate(chunk):
            incident = item.make(known[item.caller])
            incident.id = ids[start + k]
            incident.number = format_number(first_number + start + k)
            batch.append(incident)
        refs = ([prefix + str(item.reference) for item in chunk]
                if "reference" in columns else None)
        uow.bulk.add_incidents(batch, refs)
    return len(planned), skipped, len(added)


def _incident_from(row: _Row, line: int, found: list[str],
                   context: _Context) -> _Planned | None:
    matrix = context.matrix
    short = " ".join(row["short_description"].split())
    caller = " ".join(row["caller"].split())
    if not short:
        found.append("the short description is empty")
    if not caller:
        found.append("the caller is empty")
    elif len(caller) > _CALLER_LIMITS["name"]:
        found.append(f"the caller's name is longer than {_CALLER_LIMITS['name']} characters")
    caller_email = row["caller_email"]
    if caller_email and not is_email(caller_email):
        found.append(f"caller_email '{caller_email}' is not an email address")
    channel = _channel(row["channel"], found)
    impact = _level(row["impact"], "impact", matrix.impact_levels, found)
    urgency = _level(row["urgency"], "urgency", matrix.urgency_levels, found)
    category_id, subcategory_id = _category(row["category"], row["subcategory"], context, found)
    service_id = _named(row["service"], context.services, "service", found)
    group_id, group_name = _group(row["group"], context, found)
    assignee = _assignee(row["assignee"], row["group"], group_id, context, found)
    opened_at = _opened_at(row["opened_at"], context, found)
    if found:
        return None
    description = row["description"]

    def make(caller_id: int) -> Incident:
        return Incident.open(
            caller_id=caller_id, channel=channel, short_description=short,
            description=description, impact=impact, urgency=urgency, matrix=matrix,
            opened_at=opened_at, opened_by_id=context.actor_id, category_id=category_id,
            subcategory_id=subcategory_id, service_id=service_id,
            assignment_group_id=group_id, assignee_id=assignee.id if assignee else None)

    try:
        # Opened once now, so that every rule of the domain (lengths, levels) is checked
        # with the row; the real one is opened again with the caller's id when written.
        probe = make(0)
    except DeskappError as exc:
        found.append(str(exc).rstrip("."))
        return None
    priority = matrix.definition(probe.priority).label
    where = f", {group_name}" + (f" / {assignee.full_name}" if assignee else "") \
        if group_name else ""
    text = f"incident “{short}” for {caller}{{new}}, {priority}{where}"
    return _Planned(line, caller, caller_email, None, make, text)


def _channel(text: str, found: list[str]) -> Channel:
    if not text:
        return Channel.PHONE
    folded = " ".join(text.casefold().replace("_", " ").split())
    for channel in Channel:
        if folded in (channel.value.replace("_", " "), channel.label.casefold()):
            return channel
    mapped = CHANNELS.get(folded)
    if mapped is None:
        found.append(f"channel '{text}' is not one of "
                     f"{', '.join(c.label for c in Channel)}")
        return Channel.PHONE
    return mapped


def _level(text: str, what: str, levels: Sequence[Level], found: list[str]) -> int:
    values = {level.value for level in levels}
    if not text:
        # The middle level: an unknown impact is neither the worst nor the least.
        return sorted(values)[len(values) // 2]
    head = text.split("-")[0].strip()
    if head.isdigit() and int(head) in values:
        return int(head)
    for level in levels:
        if level.name.casefold() == text.casefold():
            return level.value
    names = ", ".join(f"{level.value} ({level.name})" for level in levels)
    found.append(f"{what} '{text}' is not a level of the matrix: {names}")
    return min(values)


def _category(category: str, subcategory: str, context: _Context,
              found: list[str]) -> tuple[int | None, int | None]:
    if not category:
        if subcategory:
            found.append(f"subcategory '{subcategory}' needs its category")
        return None, None
    top = context.categories.get((None, category.casefold()))
    if top is None:
        found.append(f"category '{category}' does not exist")
        return None, None
    if not subcategory:
        return top[0], None
    sub = context.categories.get((top[1].casefold(), subcategory.casefold()))
    if sub is None:
        found.append(f"'{subcategory}' is not a subcategory of {top[1]}")
        return top[0], None
    return top[0], sub[0]


def _named(text: str, known: Mapping[str, int], what: str, found: list[str]) -> int | None:
    if not text:
        return None
    found_id = known.get(text.casefold())
    if found_id is None:
        found.append(f"{what} '{text}' does not exist")
    return found_id


def _group(text: str, context: _Context, found: list[str]) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    group = context.groups.get(text.casefold())
    if group is None:
        found.append(f"group '{text}' does not exist")
        return None, None
    return group


def _assignee(text: str, group_text: str, group_id: int | None, context: _Context,
              found: list[str]) -> User | None:
    if not text:
        return None
    user = context.users.get(text.casefold())
    if user is None:
        found.append(f"agent '{text}' does not exist")
        return None
    if not user.active:
        found.append(f"{user.full_name} is no longer active")
    elif group_id is None:
        if not group_text:  # an unknown group has its own problem already
            found.append(f"{user.full_name} needs an assignment group")
    elif user.id not in context.members(group_id):
        found.append(f"{user.full_name} is not a member of {group_text}")
    return user


def _opened_at(text: str, context: _Context, found: list[str]) -> datetime:
    if not text:
        return context.now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parse_timestamp(text)
        except ValueError:
            found.append(f"opened_at '{text}' is not a time such as 2026-03-02 14:30")
            return context.now
    if moment.tzinfo is None:
        # A naive astimezone() reads the time as the system's local time.
        moment = moment.replace(tzinfo=context.zone) if context.zone else moment.astimezone()
    moment = moment.astimezone(UTC)
    if moment > context.now + timedelta(minutes=5):
        found.append(f"opened_at '{text}' is in the future")
    return moment
