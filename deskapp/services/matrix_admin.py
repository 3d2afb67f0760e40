"""Editing the priority matrix, its priority definitions and the desk's business hours.

Admins and team leads change them; everyone else may look. A save makes a new version of
the matrix (who, when) and never rewrites an old one; restoring an old version saves it
again as the newest. Before saving, ``preview`` says what the change would do to the open
incidents (counted by the database, per cell); the editor then chooses whether only new
incidents follow the new matrix or the open ones are recomputed too, each of them with an
activity entry naming the version.

Levels keep their numbers (an incident stores impact 2, not "Medium"): renaming or
reordering a level changes how it is shown, and a new level takes the next free number.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from deskapp.domain.business_hours import DEFAULT_CALENDAR, BusinessCalendar, Holiday
from deskapp.domain.errors import ConflictError, ValidationError
from deskapp.domain.matrix_document import matrix_from_document, matrix_to_document
from deskapp.domain.priority import (
    RECOMPUTED_NOTE,
    Level,
    PriorityDefinition,
    PriorityMatrix,
    format_minutes,
)
from deskapp.services.audit import MATRIX_SAVED
from deskapp.services.changes import Change, ChangeKind
from deskapp.services.incidents import utc_now
from deskapp.services.matrix_dto import MatrixVersionInfo
from deskapp.services.permissions import Permission, allowed, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as

MIN_LEVELS = 2
MAX_LEVELS = 5


@dataclass(frozen=True)
class MatrixDraft:
    """The matrix as the editor holds it: cells may still be empty (None)."""

    impact_levels: tuple[Level, ...]
    urgency_levels: tuple[Level, ...]
    cells: Mapping[tuple[int, int], int | None]
    priorities: tuple[PriorityDefinition, ...]
    calendar: BusinessCalendar
    based_on: int
    """The version the editor loaded; saving over a newer one is a ConflictError."""

    @classmethod
    def of(cls, matrix: PriorityMatrix) -> MatrixDraft:
        """A draft holding ``matrix`` as it is (the default calendar if it has none)."""
        return cls(matrix.impact_levels, matrix.urgency_levels, dict(matrix.cells),
                   matrix.priorities, matrix.calendar or DEFAULT_CALENDAR, matrix.version)

    def empty_cells(self) -> list[tuple[int, int]]:
        """(impact, urgency) of the cells without a priority, row by row."""
        return [(i.value, u.value) for i in self.impact_levels for u in self.urgency_levels
                if self.cells.get((i.value, u.value)) is None]

    def to_matrix(self) -> PriorityMatrix:
        """The draft as a matrix that may be saved; ValidationError naming every empty cell
        if there are any, or a name or code used twice."""
        empty = self.empty_cells()
        if empty:
            names = ", ".join(f"{_name(self.impact_levels, i)} impact x "
                              f"{_name(self.urgency_levels, u)} urgency" for i, u in empty)
            raise ValidationError(f"Every cell needs a priority; these are empty: {names}.",
                                  field="cells")
        keep = {(i.value, u.value) for i in self.impact_levels for u in self.urgency_levels}
        cells = {key: rank for key, rank in self.cells.items()
                 if key in keep and rank is not None}
        matrix = PriorityMatrix(self.impact_levels, self.urgency_levels, cells,
                                self.priorities, version=self.based_on, calendar=self.calendar)
        matrix.validate()  # level names, priority codes and names: each used once
        return matrix


def _name(levels: tuple[Level, ...], value: int) -> str:
    return next((lvl.name for lvl in levels if lvl.value == value), str(value))


@dataclass(frozen=True)
class PriorityMove:
    """Open incidents that would move from one priority to another."""

    from_rank: int
    to_rank: int | None
    """None: their impact or urgency level is no longer in the matrix; they keep their
    priority until someone classifies them again."""
    count: int


@dataclass(frozen=True)
class ImpactPreview:
    """What saving a draft would do to the open incidents."""

    moves: tuple[PriorityMove, ...]
    open_incidents: int
    recomputed_targets: int
    """Open incidents whose priority stays but whose SLA targets or business hours change."""

    @property
    def moved(self) -> int:
        return sum(m.count for m in self.moves if m.to_rank is not None)


@dataclass(frozen=True)
class SaveResult:
    """A saved version and what it did to open incidents."""

    version: int
    recomputed: int
    change: Change


@dataclass(frozen=True)
class MatrixEditorData:
    """Everything the editor shows when it opens."""

    matrix: PriorityMatrix
    calendar: BusinessCalendar
    history: list[MatrixVersionInfo] = field(default_factory=list)
    can_edit: bool = False


class MatrixAdminService:
    """The priority matrix editor's use cases, as the signed-in user."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    def load(self) -> MatrixEditorData:
        """The current matrix, calendar and history; ``can_edit`` says if saving may work."""
        with self._uow() as uow:
            matrix = uow.matrix.current()
            can_edit = allowed(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)
            return MatrixEditorData(matrix, matrix.calendar or DEFAULT_CALENDAR,
                                    uow.matrix.history(), can_edit)

    def history(self) -> list[MatrixVersionInfo]:
        """Every saved version, newest first."""
        with self._uow() as uow:
            return uow.matrix.history()

    def version(self, version: int) -> PriorityMatrix:
        """One saved version, to look at before restoring it."""
        with self._uow() as uow:
            return uow.matrix.version(version)

    def preview(self, draft: MatrixDraft) -> ImpactPreview:
        """What saving ``draft`` would do to open incidents; changes nothing."""
        new = draft.to_matrix()
        with self._uow() as uow:
            old = uow.matrix.current()
            counts = uow.incidents.open_cell_counts()
        moves: Counter[tuple[int, int | None]] = Counter()
        targets = 0
        for cell in counts:
            to_rank = new.cells.get((cell.impact, cell.urgency))
            if to_rank != cell.priority:
                moves[(cell.priority, to_rank)] += cell.count
            elif _targets_changed(old, new, cell.priority):
                targets += cell.count
        return ImpactPreview(
            tuple(PriorityMove(f, t, n) for (f, t), n in
                  sorted(moves.items(), key=lambda m: (m[0][0], m[0][1] or 99))),
            sum(c.count for c in counts), targets)

    def save(self, draft: MatrixDraft, *, recompute_open: bool,
             comment: str = "") -> SaveResult:
        """Save ``draft`` as the newest version.

        Args:
            draft: the edited matrix, definitions and business hours.
            recompute_open: also give open incidents the priority and due times of the new
                matrix (each gets an activity entry naming the version); otherwise only
                incidents classified from now on follow it.
            comment: why, shown in the history.

        Raises:
            PermissionDeniedError: the user is neither an admin nor a team lead.
            ValidationError: a cell is empty or a value is out of range.
            ConflictError: someone saved another version since the draft was loaded.
        """
        matrix = draft.to_matrix()
        with self._uow(write=True) as uow:
            self._require_editor(uow)
            old = uow.matrix.current()
            if old.version != draft.based_on:
                latest = uow.matrix.history()[0]
                raise ConflictError("The priority matrix", latest.author, latest.created_at,
                                    latest.version)
            version = uow.matrix.save_new_version(matrix, self._actor_id, comment.strip())
            saved = uow.matrix.current()
            ids = self._recompute(uow, old, saved) if recompute_open else []
            uow.audit.record(MATRIX_SAVED, actor_id=self._actor_id, entity="matrix",
                             entity_id=version,
                             details={"based_on": draft.based_on, "comment": comment.strip(),
                                      "recomputed": len(ids),
                                      "changes": matrix_changes(old, saved), "cells": [
                                          [i, u, p] for (i, u), p in sorted(
                                              saved.cells.items())]})
            uow.commit()
        kinds = {ChangeKind.REFERENCE_DATA} | ({ChangeKind.PRIORITY} if ids else set())
        return SaveResult(version, len(ids),
                          Change(frozenset(ids), frozenset(kinds), self._actor_id))

    def restore(self, version: int, based_on: int, *, recompute_open: bool) -> SaveResult:
        """Save an older version again as the newest (history stays as it was)."""
        with self._uow() as uow:
            old = uow.matrix.version(version)
        draft = MatrixDraft.of(old)
        draft = MatrixDraft(draft.impact_levels, draft.urgency_levels, draft.cells,
                            draft.priorities, draft.calendar, based_on)
        return self.save(draft, recompute_open=recompute_open,
                         comment=f"Restored from version {version}")

    def _require_editor(self, uow: UnitOfWork) -> None:
        require(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)

    def _recompute(self, uow: UnitOfWork, old: PriorityMatrix,
                   new: PriorityMatrix) -> list[int]:
        now = self._clock()
        touched: list[int] = []
        for cell in uow.incidents.open_cell_counts():
            to_rank = new.cells.get((cell.impact, cell.urgency))
            if to_rank is None:
                continue  # a removed level: left for an agent to classify again
            if to_rank == cell.priority and not _targets_changed(old, new, cell.priority):
                continue
            for incident_id in uow.incidents.open_ids_in_cell(cell.impact, cell.urgency):
                incident = uow.incidents.get(incident_id)
                if incident.priority != cell.priority:
                    continue  # counted in another (impact, urgency, priority) group
                before = incident.priority
                expected = incident.version
                incident.classify(incident.impact, incident.urgency, new, self._actor_id, now)
                moved = (f"{new.definition(before).code} to {new.definition(to_rank).code}"
                         if before != to_rank else f"{new.definition(to_rank).code} kept")
                incident.add_work_note(
                    f"{RECOMPUTED_NOTE} {new.version} ({moved}).", self._actor_id, now)
                uow.incidents.save(incident, expected)
                touched.append(incident_id)
        return touched

    # --- JSON ---------------------------------------------------------------------------

    @staticmethod
    def export_json(draft: MatrixDraft) -> str:
        """The draft (complete) as a JSON document for ``import_json``."""
        return json.dumps(matrix_to_document(draft.to_matrix()), indent=2,
                          ensure_ascii=False) + "\n"

    @staticmethod
    def import_json(text: str, based_on: int) -> MatrixDraft:
        """A draft from a JSON document; ValidationError says what is wrong and where.

        Nothing is saved: the editor shows the imported matrix, and saving it is the user's
        choice, with the usual preview.
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The file is not valid JSON (line {exc.lineno}, column "
                                  f"{exc.colno}: {exc.msg}).") from None
        matrix = matrix_from_document(document)
        for levels, what in ((matrix.impact_levels, "impact"),
                             (matrix.urgency_levels, "urgency")):
            if not MIN_LEVELS <= len(levels) <= MAX_LEVELS:
                raise ValidationError(f"The matrix needs {MIN_LEVELS} to {MAX_LEVELS} {what} "
                                      "levels.")
        draft = MatrixDraft.of(matrix)
        return MatrixDraft(draft.impact_levels, draft.urgency_levels, draft.cells,
                           draft.priorities, draft.calendar, based_on)


CALENDAR_NAME = "Business hours"
"""The desk's one calendar, as the editor's tab names it."""
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def matrix_changes(old: PriorityMatrix, new: PriorityMatrix) -> list[str]:
    """What differs from ``old`` to ``new``, a line each, as a person reads it.

    Levels by name, cells by their levels' names and priority codes, priorities by code,
    the calendar by its name: "P3 resolution target: 1 d -> 8 h",
    "Business hours time zone: UTC -> Europe/Oslo". Empty if nothing changed.
    """
    lines = _level_changes("Impact", old.impact_levels, new.impact_levels)
    lines += _level_changes("Urgency", old.urgency_levels, new.urgency_levels)
    for impact, urgency in sorted(set(old.cells) & set(new.cells)):
        before, after = old.cells[(impact, urgency)], new.cells[(impact, urgency)]
        if before != after:
            lines.append(f"{new.impact_name(impact)} impact x {new.urgency_name(urgency)} "
                         f"urgency: {_code(old, before)} -> {_code(new, after)}")
    for impact, urgency in sorted(set(new.cells) - set(old.cells)):
        lines.append(f"{new.impact_name(impact)} impact x {new.urgency_name(urgency)} "
                     f"urgency: none -> {_code(new, new.cells[(impact, urgency)])}")
    lines += _priority_changes(old.priorities, new.priorities)
    lines += _calendar_changes(old.calendar or DEFAULT_CALENDAR,
                               new.calendar or DEFAULT_CALENDAR)
    return lines


def _code(matrix: PriorityMatrix, rank: int) -> str:
    try:
        return matrix.definition(rank).code
    except ValidationError:
        return str(rank)


def _level_changes(what: str, old: tuple[Level, ...], new: tuple[Level, ...]) -> list[str]:
    before = {lvl.value: lvl.name for lvl in old}
    after = {lvl.value: lvl.name for lvl in new}
    lines = [f'{what} level "{before[v]}" removed' for v in before if v not in after]
    lines += [f'{what} level "{after[v]}" added' for v in after if v not in before]
    lines += [f'{what} level renamed: "{before[v]}" -> "{after[v]}"'
              for v in after if v in before and before[v] != after[v]]
    kept_before = [after[lvl.value] for lvl in old if lvl.value in after]
    kept_after = [lvl.name for lvl in new if lvl.value in before]
    if kept_before != kept_after:
        lines.append(f"{what} levels reordered: {', '.join(kept_before)} -> "
                     f"{', '.join(kept_after)}")
    return lines


def _describe_priority(p: PriorityDefinition) -> str:
    return (f"{p.label}, {p.colour}, respond in {format_minutes(p.response_minutes)}, "
            f"resolve in {format_minutes(p.resolution_minutes)}, {_clock(p.business_hours)}")


def _clock(business_hours: bool) -> str:
    return "business hours" if business_hours else "24x7"


def _priority_changes(old: tuple[PriorityDefinition, ...],
                      new: tuple[PriorityDefinition, ...]) -> list[str]:
    before = {p.rank: p for p in old}
    after = {p.rank: p for p in new}
    lines: list[str] = []
    for rank in sorted(before.keys() | after.keys()):
        if rank not in after:
            lines.append(f"Priority removed: {_describe_priority(before[rank])}")
            continue
        if rank not in before:
            lines.append(f"Priority added: {_describe_priority(after[rank])}")
            continue
        b, a = before[rank], after[rank]
        for what, was, now in (
                ("code", b.code, a.code), ("name", b.name, a.name),
                ("colour", b.colour, a.colour),
                ("response target", format_minutes(b.response_minutes),
                 format_minutes(a.response_minutes)),
                ("resolution target", format_minutes(b.resolution_minutes),
                 format_minutes(a.resolution_minutes)),
                ("clock", _clock(b.business_hours), _clock(a.business_hours))):
            if was != now:
                lines.append(f"{b.code} {what}: {was} -> {now}")
    return lines


def _days(days: frozenset[int]) -> str:
    return ", ".join(_DAYS[d] for d in sorted(days)) or "none"


def _holiday(h: Holiday) -> str:
    return f"{h.day.isoformat()} {h.name}".rstrip()


def _calendar_changes(old: BusinessCalendar, new: BusinessCalendar) -> list[str]:
    lines = [f"{CALENDAR_NAME} {what}: {was} -> {now}" for what, was, now in (
        ("working days", _days(old.working_days), _days(new.working_days)),
        ("open from", f"{old.opens:%H:%M}", f"{new.opens:%H:%M}"),
        ("open until", f"{old.closes:%H:%M}", f"{new.closes:%H:%M}"),
        ("time zone", old.time_zone, new.time_zone)) if was != now]
    before = {h.day: h for h in old.holidays}
    after = {h.day: h for h in new.holidays}
    for day in sorted(before.keys() | after.keys()):
        if day not in after:
            lines.append(f"{CALENDAR_NAME} holiday removed: {_holiday(before[day])}")
        elif day not in before:
            lines.append(f"{CALENDAR_NAME} holiday added: {_holiday(after[day])}")
        elif before[day].name != after[day].name:
            lines.append(f"{CALENDAR_NAME} holiday renamed: {_holiday(before[day])} -> "
                         f"{_holiday(after[day])}")
    return lines


def _targets_changed(old: PriorityMatrix, new: PriorityMatrix, rank: int) -> bool:
    """Whether incidents of priority ``rank`` would get other due times under ``new``."""
    try:
        before, after = old.definition(rank), new.definition(rank)
    except ValidationError:
        return False
    if (before.response_minutes, before.resolution_minutes, before.business_hours) != (
            after.response_minutes, after.resolution_minutes, after.business_hours):
        return True
    return after.business_hours and old.calendar != new.calendar


NO_COMMENT = "\u2014"
"""What the history shows for a version saved without a comment (an em dash)."""


def describe_version(info: MatrixVersionInfo) -> str:
    """"Version 4, 2026-03-02 09:00 UTC, by Ann Admin: Restored from version 2".

    Every version names its author ("the system" for those made without a person: the
    first one, a command-line import) and its comment ("\u2014" if it has none).
    """
    when: datetime = info.created_at
    return (f"Version {info.version}, {when:%Y-%m-%d %H:%M} UTC, by "
            f"{info.author or 'the system'}: {info.comment or NO_COMMENT}")
