"""What a detail form changed, and how it meets what someone else saved meanwhile.

Pure functions over IncidentDetail values: the form computes its edit from them, and after a
ConflictError it compares three versions of each field (as the form read it, as the other
person saved it, as the agent typed it) so the agent can choose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deskapp.domain.priority import PriorityMatrix
from deskapp.services.dto import IncidentDetail
from deskapp.services.incidents import IncidentEdit, StateChange

PLAIN_FIELDS = ("caller_id", "channel", "short_description", "description", "service_id",
                "configuration_item_id", "category_id", "subcategory_id", "parent_id",
                "is_major")
"""Fields ``update`` takes as they are."""
FORM_FIELDS = (*PLAIN_FIELDS, "impact", "urgency", "assignment_group_id", "assignee_id")
"""Everything a detail form edits directly (state moves go through StateChange)."""
DERIVED_FROM = ("impact", "urgency")
"""The fields the priority follows from (through the priority matrix): it is never chosen."""
INFO_FIELDS = ("state", "priority", "hold_reason", "resolution_code", "resolution_notes")
"""Fields the form does not edit, but the agent should see when someone else changed them."""

FIELD_LABELS = {
    "caller_id": "Caller", "channel": "Channel", "short_description": "Short description",
    "description": "Description", "service_id": "Service",
    "configuration_item_id": "Configuration item", "category_id": "Category",
    "subcategory_id": "Subcategory", "parent_id": "Parent", "is_major": "Major incident",
    "impact": "Impact", "urgency": "Urgency", "assignment_group_id": "Assignment group",
    "assignee_id": "Assigned to", "state": "State", "priority": "Priority",
    "hold_reason": "Hold reason", "resolution_code": "Resolution code",
    "resolution_notes": "Resolution notes",
}


def values_of(detail: IncidentDetail) -> dict[str, Any]:
    """The form fields' values (and the informative ones) of a stored incident."""
    return {name: getattr(detail, name) for name in (*FORM_FIELDS, *INFO_FIELDS)}


def changed(base: Mapping[str, Any], mine: Mapping[str, Any]) -> dict[str, Any]:
    """The form fields whose value in ``mine`` differs from ``base``."""
    return {name: mine[name] for name in FORM_FIELDS if name in mine
            and mine[name] != base.get(name)}


def edit_for(values: Mapping[str, Any], current: IncidentDetail,
             state: StateChange | None = None) -> IncidentEdit:
    """The edit that brings ``current`` to ``values`` (fields not given stay as they are)."""
    now = values_of(current)
    plain = {n: v for n, v in values.items() if n in PLAIN_FIELDS and v != now[n]}
    impact = values.get("impact", current.impact)
    urgency = values.get("urgency", current.urgency)
    group = values.get("assignment_group_id", current.assignment_group_id)
    assignee = values.get("assignee_id", current.assignee_id)
    assign = (group, assignee) != (current.assignment_group_id, current.assignee_id)
    return IncidentEdit(
        fields=plain,
        impact=impact if impact != current.impact else None,
        urgency=urgency if urgency != current.urgency else None,
        assign=assign,
        group_id=group if assign else None,
        assignee_id=assignee if assign else None,
        state=state,
    )


@dataclass(frozen=True)
class FieldConflict:
    """One field as the form read it, as it is stored now, and as the agent has it."""

    field: str
    base: Any
    theirs: Any
    mine: Any

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    @property
    def theirs_changed(self) -> bool:
        return bool(self.theirs != self.base)

    @property
    def mine_changed(self) -> bool:
        return self.field in FORM_FIELDS and bool(self.mine != self.base)

    @property
    def clash(self) -> bool:
        """Both changed the field, to different values: someone has to choose."""
        return self.theirs_changed and self.mine_changed and bool(self.theirs != self.mine)


def compare(base: Mapping[str, Any], theirs: Mapping[str, Any],
            mine: Mapping[str, Any]) -> list[FieldConflict]:
    """Every field either side changed since the form read the incident, clashes first.

    Fields the form does not edit (the state, the priority...) appear when they changed,
    with the agent's value being what the form read.
    Whenever impact or urgency appear, so does the priority: what it becomes depends on
    which of them are kept (see ``PriorityOutcome``).
    """
    rows: list[FieldConflict] = []
    for name in (*FORM_FIELDS, *INFO_FIELDS):
        row = FieldConflict(name, base.get(name), theirs.get(name), mine.get(name, base.get(name)))
        if row.theirs_changed or row.mine_changed or (
                name == "priority" and any(r.field in DERIVED_FROM for r in rows)):
            rows.append(row)
    return sorted(rows, key=lambda r: not r.clash)


def merged(rows: list[FieldConflict], use_mine: Mapping[str, bool]) -> dict[str, Any]:
    """The values to save on top of theirs: mine where chosen, theirs elsewhere."""
    return {r.field: r.mine for r in rows if r.mine_changed and use_mine.get(r.field, True)}


def resulting_priority(theirs: Mapping[str, Any], values: Mapping[str, Any],
                       matrix: PriorityMatrix) -> int:
    """The priority stored once ``values`` are saved on top of ``theirs``.

    As ``IncidentService.save_changes`` derives it: the stored priority while impact and
    urgency stay as they are, else what the matrix gives the new pair.
    """
    impact = values.get("impact", theirs["impact"])
    urgency = values.get("urgency", theirs["urgency"])
    if (impact, urgency) == (theirs["impact"], theirs["urgency"]):
        return int(theirs["priority"])
    return matrix.priority_for(impact, urgency).rank


@dataclass(frozen=True)
class PriorityOutcome:
    """How a merge's priority comes about: not chosen, derived from the impact and urgency kept.

    ``theirs`` holds the incident as stored now (at least impact, urgency and priority);
    ``matrix`` is the current priority matrix, the one saving will use.
    """

    theirs: Mapping[str, Any]
    matrix: PriorityMatrix

    def result(self, rows: list[FieldConflict], use_mine: Mapping[str, bool]) -> int:
        """The priority the incident gets if the values chosen in ``use_mine`` are saved."""
        return resulting_priority(self.theirs, merged(rows, use_mine), self.matrix)

    def mine(self, rows: list[FieldConflict]) -> int | None:
        """The priority the agent's own impact and urgency give; None if they kept both."""
        mine = {r.field: r.mine for r in rows if r.field in DERIVED_FROM and r.mine_changed}
        if not mine:
            return None
        base = {r.field: r.base for r in rows if r.field in DERIVED_FROM}
        impact = mine.get("impact", base.get("impact", self.theirs["impact"]))
        urgency = mine.get("urgency", base.get("urgency", self.theirs["urgency"]))
        return self.matrix.priority_for(impact, urgency).rank
