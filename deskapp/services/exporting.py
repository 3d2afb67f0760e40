"""Export a queue or a search result to CSV or XLSX, a keyset page at a time.

An export never holds the queue in memory: it asks the database for one keyset page of
``EXPORT_PAGE_SIZE`` rows, writes them out and lets them go, so a million incidents cost
what a thousand do. The file is written under a temporary name beside the target and moved
into place only when complete: a failed or cancelled export leaves any earlier file of that
name as it was.

Values are written as people read them in the queue, not as the database stores them:

- times in the exporting computer's local time zone (or the one given), as naive
  ``YYYY-MM-DD HH:MM:SS``: that is what spreadsheets parse as a date and time, and what the
  queue shows; an XLSX file holds real date-time cells;
- the priority as its label in the current matrix (``P3 - Moderate``), the state as its label;
- the SLA as the resolution due time (a countdown would be stale the moment it is written);
- no group and no assignee as empty cells.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a
caller can type such text into a web form: in CSV such a cell gets a leading apostrophe
(Excel's own "this is text" mark, OWASP's advice); XLSX cells are typed as text, so they
keep their text unchanged.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from deskapp.domain.errors import ValidationError
from deskapp.domain.sla import resolution_missed
from deskapp.services.dto import IncidentRow
from deskapp.services.permissions import QUEUE_EXPORT, require_all
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.services.queries import QueueFilter, QueueQuery, SortKey, cursor_after
from deskapp.services.queues import QueueKind, QueueView

EXPORT_PAGE_SIZE = 1000
"""Rows per keyset page: the most one query may ask for, and still a small, flat memory."""
XLSX_MAX_ROWS = 1_048_576
"""Rows an Excel worksheet holds, its header included; more continue on another sheet."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters XLSX (XML 1.0) cannot hold; openpyxl refuses them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExportColumn(StrEnum):
    """What an export can hold; the first ten are the queue table's columns, by name."""

    NUMBER = "number"
    PRIORITY = "priority"
    SHORT_DESCRIPTION = "short_description"
    CALLER = "caller"
    STATE = "state"
    GROUP = "group"
    ASSIGNEE = "assignee"
    OPENED = "opened"
    SLA = "sla"
    UPDATED = "updated"
    # Not in the table, for the command line and for whoever analyses the file.
    IMPACT = "impact"
    URGENCY = "urgency"
    CHANNEL = "channel"
    VIP = "vip"
    MAJOR = "major"
    BREACHED = "breached"
    RESPONSE_DUE = "response_due"
    CONFIGURATION_ITEM = "configuration_item"

    @property
    def heading(self) -> str:
        """The header of the column in the file (the queue table's title where it has one)."""
        return _TITLES[self]


_TITLES: dict[ExportColumn, str] = {
    ExportColumn.NUMBER: "Number",
    ExportColumn.PRIORITY: "Priority",
    ExportColumn.SHORT_DESCRIPTION: "Short description",
    ExportColumn.CALLER: "Caller",
    ExportColumn.STATE: "State",
    ExportColumn.GROUP: "Assignment group",
    ExportColumn.ASSIGNEE: "Assigned to",
    ExportColumn.OPENED: "Opened",
    ExportColumn.SLA: "Resolution due",
    ExportColumn.UPDATED: "Updated",
    ExportColumn.IMPACT: "Impact",
    ExportColumn.URGENCY: "Urgency",
    ExportColumn.CHANNEL: "Channel",
    ExportColumn.VIP: "VIP caller",
    ExportColumn.MAJOR: "Major incident",
    ExportColumn.BREACHED: "Resolution breached",
    ExportColumn.RESPONSE_DUE: "Response due",
    ExportColumn.CONFIGURATION_ITEM: "Configuration item",
}

TABLE_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn.NUMBER, ExportColumn.PRIORITY, ExportColumn.SHORT_DESCRIPTION,
    ExportColumn.CALLER, ExportColumn.STATE, ExportColumn.GROUP, ExportColumn.ASSIGNEE,
    ExportColumn.OPENED, ExportColumn.SLA, ExportColumn.UPDATED,
)
"""The queue table's columns in their default order: what an export holds unless told."""

_WIDTHS: dict[ExportColumn, int] = {
    ExportColumn.SHORT_DESCRIPTION: 60, ExportColumn.CALLER: 24, ExportColumn.GROUP: 24,
    ExportColumn.ASSIGNEE: 22, ExportColumn.PRIORITY: 15, ExportColumn.OPENED: 19,
    ExportColumn.SLA: 19, ExportColumn.UPDATED: 19, ExportColumn.RESPONSE_DUE: 19,
    ExportColumn.CONFIGURATION_ITEM: 24,
}
"""XLSX column widths in characters (the rest get 12): no one has to widen them by hand."""


def parse_columns(text: str) -> tuple[ExportColumn, ...]:
    """Columns named in a comma-separated list such as ``number,priority,opened``.

    Raises:
        ValidationError: If a name is not a column, or none is given.
    """
    names = [name.strip().casefold().replace("-", "_") for name in text.split(",")]
    names = [name for name in names if name]
    if not names:
        raise ValidationError("Name at least one column to export.", field="columns")
    known = {column.value: column for column in ExportColumn}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValidationError(
            f"{', '.join(repr(n) for n in unknown)} "
            f"{'is not a column' if len(unknown) == 1 else 'are not columns'}; "
            f"the columns are {', '.join(known)}.", field="columns")
    return tuple(dict.fromkeys(known[name] for name in names))


class ExportFormat(StrEnum):
    """The file formats an export writes."""

    CSV = "csv"
    XLSX = "xlsx"

    @classmethod
    def for_path(cls, path: Path | str) -> ExportFormat:
        """The format a file name asks for by its extension.

        Raises:
            ValidationError: If the extension is neither .csv nor .xlsx.
        """
        suffix = Path(path).suffix.casefold().lstrip(".")
        try:
            return cls(suffix)
        except ValueError:
            raise ValidationError(f"{Path(path).name}: export to a .csv or an .xlsx file.",
                                  field="path") from None


@dataclass(frozen=True)
class ExportRequest:
    """What to export: which incidents, in which order, with which columns."""

    queue_filter: QueueFilter
    sort: SortKey = SortKey.OPENED_AT
    descending: bool = True
    columns: tuple[ExportColumn, ...] = TABLE_COLUMNS
    title: str = "Incidents"
    """The queue's name: the XLSX sheet is called after it."""

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValidationError("Choose at least one column to export.", field="columns")


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    path: Path
    format: ExportFormat
    rows: int
    seconds: float

    def summary(self) -> str:
        """One line for the status bar or the terminal."""
        noun = "incident" if self.rows == 1 else "incidents"
        return (f"Exported {self.rows:,} {noun} to {self.path.name} "
                f"in {self.seconds:.1f} s.")


class PageSource(Protocol):
    """Where the pages come from: a queue as of one moment."""

    def __call__(self, query: QueueQuery, now: datetime) -> list[IncidentRow]: ...


class _Sink(Protocol):
    def write(self, values: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


class QueueExport:
    """An export in progress: call ``write_page`` until ``done``, then ``finish``.

    Each call is short (one page), so a GUI runs them one by one through its database runner
    and stays free to load other things in between, to show progress and to stop; the
    command line simply loops (``ExportService.export``). Calls must not overlap, but may
    come from different threads one after another; ``abort`` may come from another thread
    while a page is being written (a closing window), and waits for that page.
    ``abort`` removes the partial file.
    """

    def __init__(self, source: PageSource, request: ExportRequest, path: Path,
                 fmt: ExportFormat, *, priority_labels: Mapping[int, str], now: datetime,
                 zone: tzinfo | None, page_size: int = EXPORT_PAGE_SIZE,
                 total: int | None = None) -> None:
        """Open the file (under a temporary name) and write the header.

        Args:
            source: lists one keyset page of the queue.
            request: which incidents, order and columns.
            path: the file to write.
            fmt: CSV or XLSX.
            priority_labels: each priority rank's label in the current matrix.
            now: the moment the queue is taken at (for SLA conditions), the same for every
                page so that no incident changes queues between two of them.
            zone: the time zone times are written in; None for this computer's.
            page_size: rows per query.
            total: how many incidents the queue held when the export started, if counted.

        Raises:
            ValidationError: If the file cannot be created.
        """
        self._source = source
        self._request = request
        self._path = path
        self._format = fmt
        self._labels = dict(priority_labels)
        self._now = now
        self._zone = zone
        self._page_size = page_size
        self._after: tuple[Any, int] | None = None
        self._started = time.perf_counter()
        self.total = total
        self.rows = 0
        self.done = False
        self._lock = threading.Lock()
        self._closed = False
        self._partial = path.with_name(f".{path.name}.part")
        self._sink = _open_sink(self._partial, path, fmt, request)
        self._sink.write([column.heading for column in request.columns])
        self._convert = _converter(request.columns, self._labels, zone, now,
                                   for_csv=fmt == ExportFormat.CSV)

    @property
    def path(self) -> Path:
        return self._path

    def write_page(self) -> int:
        """Fetch and write the next page; returns how many rows it held."""
        with self._lock:
            if self.done or self._closed:
                return 0
            return self._write_page()

    def _write_page(self) -> int:
        query = QueueQuery(filter=self._request.queue_filter, sort=self._request.sort,
                           descending=self._request.descending, after=self._after,
                           limit=self._page_size)
        page = self._source(query, self._now)
        try:
            for row in page:
                self._sink.write(self._convert(row))
        except OSError as exc:  # a full disk, a lost network drive
            raise self._cannot_write(exc) from None
        self.rows += len(page)
        if page:
            self._after = cursor_after(page[-1], self._request.sort)
        if len(page) < self._page_size:
            self.done = True
        return len(page)

    def finish(self) -> ExportReport:
        """Close the file and put it in place (replacing one of that name)."""
        with self._lock:
            self._closed = True
            try:
                self._sink.close()
            except BaseException as exc:
                self._remove_partial()
                if isinstance(exc, OSError):
                    raise self._cannot_write(exc) from None
                raise
        try:
            os.replace(self._partial, self._path)
        except OSError as exc:
            self._remove_partial()
            raise self._cannot_write(exc) from None
        return ExportReport(self._path, self._format, self.rows,
                            time.perf_counter() - self._started)

    def _cannot_write(self, exc: OSError) -> ValidationError:
        return ValidationError(f"Cannot write {self._path}: {exc.strerror or exc}.",
                               field="path")

    def abort(self) -> None:
        """Stop: close and remove the partial file; a file already at ``path`` stays."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._sink.close()
            finally:
                self._remove_partial()

    def _remove_partial(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._partial.unlink()


ExportProgress = Callable[[int, int | None], None]
"""Called with (rows written, rows in the queue when counted) after each page."""


@dataclass
class ExportService:
    """Exports queues for one desk; each page is read in its own short unit of work."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    zone: tzinfo | None = None
    """The zone times are written in (None: this computer's, summer time included)."""
    page_size: int = EXPORT_PAGE_SIZE
    actor_id: int | None = None
    """Who exports (checked for ``permissions.QUEUE_EXPORT``); None: the command line, run by
    someone who may open the database itself."""

    def start(self, request: ExportRequest, path: Path | str,
              fmt: ExportFormat | None = None, *, count: bool = True) -> QueueExport:
        """Count the queue and open the file; nothing is fetched yet.

        Args:
            request: what to export.
            path: the file to write (its extension picks the format unless ``fmt`` does).
            fmt: CSV or XLSX.
            count: count the incidents first, so that progress can show a total.

        Raises:
            ValidationError: If the format is unknown or the file cannot be created.
            PermissionDeniedError: If the actor may not export.
        """
        path = Path(path)
        fmt = fmt or ExportFormat.for_path(path)
        now = self.clock()
        with self.uow_factory() as uow:
            if self.actor_id is not None:
                require_all(uow.users.get(self.actor_id), QUEUE_EXPORT)
            matrix = uow.matrix.current()
            total = uow.incidents.count(request.queue_filter, now) if count else None
        labels = {p.rank: p.label for p in matrix.priorities}
        return QueueExport(self._page, request, path, fmt, priority_labels=labels, now=now,
                           zone=self.zone, page_size=self.page_size,
                           total=total)

    def _page(self, query: QueueQuery, now: datetime) -> list[IncidentRow]:
        with self.uow_factory() as uow:
            return uow.incidents.list_queue(query, now)

    def export(self, request: ExportRequest, path: Path | str,
               fmt: ExportFormat | None = None,
               progress: ExportProgress | None = None) -> ExportReport:
        """Write the whole queue to ``path``; on any failure no file is left half-written.

        Raises:
            ValidationError: If the format is unknown or the file cannot be written.
            DatabaseUnavailableError: If the database fails on the way.
        """
        export = self.start(request, path, fmt, count=progress is not None)
        try:
            while not export.done:
                export.write_page()
                if progress is not None:
                    progress(export.rows, export.total)
            return export.finish()
        except BaseException:
            export.abort()
            raise


# --- values ------------------------------------------------------------------------------


def _converter(columns: Sequence[ExportColumn], labels: Mapping[int, str],
               zone: tzinfo | None, now: datetime, *,
               for_csv: bool) -> Callable[[IncidentRow], list[Any]]:
    """A function from a row to its cells, the columns' getters looked up once.

    ``now`` is the moment the queue was taken: an open incident past its due time then has
    breached its target, as the queue and the form say (``sla.resolution_missed``).
    """

    def moment(value: datetime | None) -> Any:
        if value is None:
            return ""
        # astimezone() without a zone follows the system's rules, summer time included.
        local = (value.astimezone(zone) if zone is not None
                 else value.astimezone()).replace(tzinfo=None)
        return local.isoformat(" ", "seconds") if for_csv else local

    def text(value: str | None) -> str:
        if not value:
            return ""
        if for_csv:
            return "'" + value if value.startswith(_FORMULA_START) else value
        return _XML_ILLEGAL.sub("", value)

    def yes(value: bool) -> str:
        return "yes" if value else "no"

    getters: dict[ExportColumn, Callable[[IncidentRow], Any]] = {
        ExportColumn.NUMBER: lambda r: r.number,
        ExportColumn.PRIORITY: lambda r: labels.get(r.priority, f"P{r.priority}"),
        ExportColumn.SHORT_DESCRIPTION: lambda r: text(r.short_description),
        ExportColumn.CALLER: lambda r: text(r.caller_name),
        ExportColumn.STATE: lambda r: r.state.label,
        ExportColumn.GROUP: lambda r: text(r.group_name),
        ExportColumn.ASSIGNEE: lambda r: text(r.assignee_name),
        ExportColumn.OPENED: lambda r: moment(r.opened_at),
        ExportColumn.SLA: lambda r: moment(r.resolution_due_at),
        ExportColumn.UPDATED: lambda r: moment(r.updated_at),
        ExportColumn.IMPACT: lambda r: r.impact,
        ExportColumn.URGENCY: lambda r: r.urgency,
        ExportColumn.CHANNEL: lambda r: r.channel.label,
        ExportColumn.VIP: lambda r: yes(r.caller_vip),
        ExportColumn.MAJOR: lambda r: yes(r.is_major),
        ExportColumn.BREACHED: lambda r: yes(resolution_missed(
            r.state, resolution_breached=r.resolution_breached,
            resolution_due_at=r.resolution_due_at, paused_since=r.sla_paused_since, now=now)),
        ExportColumn.RESPONSE_DUE: lambda r: moment(r.response_due_at),
        ExportColumn.CONFIGURATION_ITEM: lambda r: text(r.configuration_item_name),
    }
    chosen = [getters[column] for column in columns]
    return lambda row: [get(row) for get in chosen]


# --- files -------------------------------------------------------------------------------


def _open_sink(partial: Path, target: Path, fmt: ExportFormat,
               request: ExportRequest) -> _Sink:
    try:
        if fmt == ExportFormat.CSV:
            return _CsvSink(partial)
        return _XlsxSink(partial, request)
    except OSError as exc:
        raise ValidationError(f"Cannot write {target}: {exc.strerror}.", field="path") from None


class _CsvSink:
    """CSV as Excel reads it: UTF-8 with a byte-order mark (or accents turn to mojibake),
    commas, CRLF line ends."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)

    def write(self, values: Sequence[Any]) -> None:
        self._writer.writerow(values)

    def close(self) -> None:
        self._file.close()


class _XlsxSink:
    """An XLSX workbook in openpyxl's write-only mode: rows stream to a temporary file and
    are zipped on close, so memory does not grow with the rows."""

    def __init__(self, path: Path, request: ExportRequest) -> None:
        # Imported here: only XLSX exports need openpyxl, and it takes a while to load.
        # (It ships no type hints; its stubs are not worth a dependency for four names.)
        from openpyxl import Workbook  # type: ignore[import-untyped]
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.styles import Font  # type: ignore[import-untyped]

        self._path = path
        self._columns = request.columns
        self._title = _sheet_title(request.title)
        self._book = Workbook(write_only=True)
        self._cell = WriteOnlyCell
        self._bold = Font(bold=True)
        self._header: list[str] | None = None
        self._sheets = 0
        self._rows_in_sheet = 0
        self._sheet: Any = None
        self._closed = False
        # Fail now, not after a million rows, if the file cannot be created.
        path.touch()

    def _new_sheet(self) -> None:
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

        self._sheets += 1
        title = self._title if self._sheets == 1 else f"{self._title[:26]} ({self._sheets})"
        sheet = self._book.create_sheet(title)
        for index, column in enumerate(self._columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column, 12)
        sheet.freeze_panes = "A2"
        self._sheet = sheet
        self._rows_in_sheet = 0
        header = []
        for title_text in self._header or ():
            cell = self._cell(sheet, value=title_text)
            cell.font = self._bold
            header.append(cell)
        self._append(header)

    def write(self, values: Sequence[Any]) -> None:
        if self._header is None:
            self._header = [str(value) for value in values]
            self._new_sheet()
            return
        if self._rows_in_sheet >= XLSX_MAX_ROWS:
            self._new_sheet()
        self._append(_as_text_cells(values, self._sheet, self._cell))

    def _append(self, values: Iterable[Any]) -> None:
        self._sheet.append(values)
        self._rows_in_sheet += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._sheet is None:
            self._new_sheet()
        self._book.save(self._path)


def _as_text_cells(values: Sequence[Any], sheet: Any, cell_type: Any) -> list[Any]:
    """The row, with text that openpyxl would take for a formula made a plain text cell."""
    if not any(isinstance(v, str) and v.startswith("=") for v in values):
        return list(values)
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = cell_type(sheet, value=value)
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(value)
    return out


def _sheet_title(name: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", name).strip().strip("'")
    return " ".join(clean.split())[:31] or "Incidents"


def find_queue(queues: Sequence[QueueView], name: str) -> QueueView:
    """The queue ``name`` means: a key (``built_in:all_open``, ``saved:3``), a built-in
    queue's short key (``all_open``), or a title such as a saved filter's name (any case).

    Raises:
        ValidationError: If no queue, or more than one, goes by that name.
    """
    wanted = name.strip()
    folded = wanted.casefold()
    for queue in queues:
        if queue.key == wanted or queue.key == f"{QueueKind.BUILT_IN}:{wanted}":
            return queue
    matches = [q for q in queues if " ".join(q.title.split()).casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    if matches:
        keys = ", ".join(q.key for q in matches)
        raise ValidationError(f"Several queues are called '{wanted}'; name one by its key: "
                              f"{keys}.", field="queue")
    names = [q.key.removeprefix(f"{QueueKind.BUILT_IN}:") for q in queues
             if q.kind == QueueKind.BUILT_IN]
    saved = [f"'{q.title}'" for q in queues if q.kind == QueueKind.SAVED]
    raise ValidationError(
        f"There is no queue '{wanted}'. The queues are {', '.join(names)}"
        + (f", and your saved filters {', '.join(saved)}" if saved else "") + ".",
        field="queue")
