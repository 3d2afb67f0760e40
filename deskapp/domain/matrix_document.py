"""The priority matrix as a plain document (JSON-ready), and back, with clear errors.

Used for export and import, and for the definitions and calendar kept with each saved
matrix version. Reading checks every field and names the one that is wrong ("priorities[2]
.colour: ..."), so that a hand-edited file can be fixed from the message alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from deskapp.domain.business_hours import BusinessCalendar, Holiday
from deskapp.domain.errors import ValidationError
from deskapp.domain.priority import (
    MAX_TARGET_MINUTES,
    MIN_TARGET_MINUTES,
    Level,
    PriorityDefinition,
    PriorityMatrix,
)

FORMAT = "deskapp-priority-matrix"
FORMAT_VERSION = 1
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def priority_to_dict(p: PriorityDefinition) -> dict[str, Any]:
    """One definition as a document."""
    return {"rank": p.rank, "code": p.code, "name": p.name, "colour": p.colour,
            "response_minutes": p.response_minutes, "resolution_minutes": p.resolution_minutes,
            "business_hours": p.business_hours}


def calendar_to_dict(c: BusinessCalendar) -> dict[str, Any]:
    """A calendar as a document: days 0 (Monday) to 6, times as HH:MM, ISO dates."""
    return {"working_days": sorted(c.working_days), "opens": f"{c.opens:%H:%M}",
            "closes": f"{c.closes:%H:%M}", "time_zone": c.time_zone,
            "holidays": [{"date": h.day.isoformat(), "name": h.name} for h in c.holidays]}


def matrix_to_document(matrix: PriorityMatrix) -> dict[str, Any]:
    """The whole matrix: levels, cells, priority definitions and business hours."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "impact_levels": [{"value": lvl.value, "name": lvl.name}
                          for lvl in matrix.impact_levels],
        "urgency_levels": [{"value": lvl.value, "name": lvl.name}
                           for lvl in matrix.urgency_levels],
        "cells": [{"impact": i, "urgency": u, "priority": p}
                  for (i, u), p in sorted(matrix.cells.items())],
        "priorities": [priority_to_dict(p) for p in sorted(matrix.priorities,
                                                           key=lambda p: p.rank)],
    }
    if matrix.calendar is not None:
        document["business_hours"] = calendar_to_dict(matrix.calendar)
    return document


def _fail(where: str, message: str) -> ValidationError:
    return ValidationError(f"{where}: {message}", field=where)


def _get(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise _fail(f"{where}.{key}" if where else key, "is missing")
    return obj[key]


def _int(obj: Mapping[str, Any], key: str, where: str, low: int, high: int) -> int:
    value = _get(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{where}.{key}", f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise _fail(f"{where}.{key}", f"must be from {low} to {high}, not {value}")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, limit: int, *,
         required: bool = True) -> str:
    value = _get(obj, key, where) if required else obj.get(key, "")
    if not isinstance(value, str):
        raise _fail(f"{where}.{key}", f"must be text, not {value!r}")
    value = value.strip()
    if required and not value:
        raise _fail(f"{where}.{key}", "must not be empty")
    if len(value) > limit:
        raise _fail(f"{where}.{key}", f"is longer than {limit} characters")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be an object, not {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, f"must be a list, not {type(value).__name__}")
    return value


def priority_from_dict(value: Any, where: str = "priority") -> PriorityDefinition:
    """One definition from a document; ValidationError names the bad field."""
    obj = _object(value, where)
    colour = _str(obj, "colour", where, 16)
    if not _COLOUR.match(colour):
        raise _fail(f"{where}.colour", f"must be a colour like #d32f2f, not {colour!r}")
    business_hours = obj.get("business_hours", False)
    if not isinstance(business_hours, bool):
        raise _fail(f"{where}.business_hours", "must be true or false")
    response = _int(obj, "response_minutes", where, MIN_TARGET_MINUTES, MAX_TARGET_MINUTES)
    resolution = _int(obj, "resolution_minutes", where, MIN_TARGET_MINUTES,
                      MAX_TARGET_MINUTES)
    if resolution < response:
        raise _fail(f"{where}.resolution_minutes",
                    "must not be shorter than the response target")
    return PriorityDefinition(
        rank=_int(obj, "rank", where, 1, 99), code=_str(obj, "code", where, 16),
        name=_str(obj, "name", where, 60), colour=colour.lower(),
        response_minutes=response, resolution_minutes=resolution,
        business_hours=business_hours)


def _time(obj: Mapping[str, Any], key: str, where: str) -> time:
    text = _str(obj, key, where, 5)
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise _fail(f"{where}.{key}", f"must be a time like 08:00, not {text!r}") from None


def calendar_from_dict(value: Any, where: str = "business_hours") -> BusinessCalendar:
    """A calendar from a document; ValidationError names the bad field."""
    obj = _object(value, where)
    days = _list(_get(obj, "working_days", where), f"{where}.working_days")
    if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise _fail(f"{where}.working_days", "must list days 0 (Monday) to 6 (Sunday)")
    holidays = []
    for n, item in enumerate(_list(obj.get("holidays", []), f"{where}.holidays")):
        at = f"{where}.holidays[{n}]"
        holiday = _object(item, at)
        text = _str(holiday, "date", at, 10)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _fail(f"{at}.date", f"must be a date like 2026-12-25, not {text!r}") from None
        holidays.append(Holiday(day, _str(holiday, "name", at, 120, required=False)))
    try:
        return BusinessCalendar(frozenset(days), _time(obj, "opens", where),
                                _time(obj, "closes", where),
                                _str(obj, "time_zone", where, 64), tuple(holidays))
    except ValidationError as exc:
        raise _fail(where, str(exc)) from None


def _levels(value: Any, where: str) -> tuple[Level, ...]:
    levels = []
    for n, item in enumerate(_list(value, where)):
        obj = _object(item, f"{where}[{n}]")
        levels.append(Level(_int(obj, "value", f"{where}[{n}]", 1, 99),
                            _str(obj, "name", f"{where}[{n}]", 60)))
    return tuple(levels)


def matrix_from_document(document: Any) -> PriorityMatrix:
    """Read a document made by ``matrix_to_document`` (or by hand); ValidationError if bad."""
    doc = _object(document, "document")
    if doc.get("format") != FORMAT:
        raise ValidationError(f"This is not a Deskapp priority matrix (its \"format\" is "
                              f"{doc.get('format')!r}, not {FORMAT!r}).")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValidationError(f"This matrix file has format version "
                              f"{doc.get('format_version')!r}; this Deskapp reads version "
                              f"{FORMAT_VERSION}.")
    impact = _levels(_get(doc, "impact_levels", ""), "impact_levels")
    urgency = _levels(_get(doc, "urgency_levels", ""), "urgency_levels")
    cells: dict[tuple[int, int], int] = {}
    for n, item in enumerate(_list(_get(doc, "cells", ""), "cells")):
        at = f"cells[{n}]"
        obj = _object(item, at)
        key = (_int(obj, "impact", at, 1, 99), _int(obj, "urgency", at, 1, 99))
        if key in cells:
            raise _fail(at, f"impact {key[0]} x urgency {key[1]} is given twice")
        cells[key] = _int(obj, "priority", at, 1, 99)
    priorities = tuple(priority_from_dict(item, f"priorities[{n}]")
                       for n, item in enumerate(_list(_get(doc, "priorities", ""),
                                                      "priorities")))
    ranks = [p.rank for p in priorities]
    if len(set(ranks)) != len(ranks):
        raise _fail("priorities", "two priorities share a rank")
    calendar = (calendar_from_dict(doc["business_hours"])
                if doc.get("business_hours") is not None else None)
    level_keys = {(i.value, u.value) for i in impact for u in urgency}
    stray = sorted(set(cells) - level_keys)
    if stray:
        raise _fail("cells", f"impact x urgency {stray} are not levels of the matrix")
    matrix = PriorityMatrix(impact, urgency, cells, priorities, calendar=calendar)
    matrix.validate()  # a code or a name given twice is refused on import, not at saving
    return matrix
