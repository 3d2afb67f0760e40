"""Assignment rules: which group a new incident goes to, and which of its agents takes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deskapp.domain.enums import AssignmentMethod
from deskapp.domain.errors import ValidationError

MAX_RULE_NAME = 80


def priority_weight(rank: int) -> int:
    """How much one open incident of this priority weighs in an agent's load.

    P1 counts 4, P2 3, P3 2, lower priorities 1: a critical incident is a morning's work,
    a planning one a few minutes.
    """
    return max(1, 5 - rank)


def weighted_load(open_by_priority: Mapping[int, int]) -> int:
    """An agent's load: open incidents weighted by priority (see ``priority_weight``)."""
    return sum(priority_weight(rank) * count for rank, count in open_by_priority.items())


@dataclass(frozen=True)
class AssignmentRule:
    """New incidents of a category and/or service go to a group, and perhaps to one of its agents.

    Rules are tried in ``position`` order; the first enabled one that matches wins. A rule
    names a category, a service or both (an incident matches a category through its
    subcategory too: the category is stored with it).
    """

    id: int
    name: str
    group_id: int
    method: AssignmentMethod = AssignmentMethod.GROUP_ONLY
    category_id: int | None = None
    service_id: int | None = None
    enabled: bool = False
    position: int = 0
    last_assignee_id: int | None = None
    """Whom the rule chose last (round robin carries on after them)."""
    version: int = 1

    def validate(self) -> AssignmentRule:
        """The rule with its name trimmed; ValidationError if it cannot work."""
        name = self.name.strip()
        if not name:
            raise ValidationError("Give the rule a name.", field="name")
        if len(name) > MAX_RULE_NAME:
            raise ValidationError(f"A rule's name holds at most {MAX_RULE_NAME} characters.",
                                  field="name")
        if self.category_id is None and self.service_id is None:
            raise ValidationError("A rule needs a category, a service or both to match.",
                                  field="category_id")
        return AssignmentRule(self.id, name, self.group_id, AssignmentMethod(self.method),
                              self.category_id, self.service_id, self.enabled, self.position,
                              self.last_assignee_id, self.version)

    def matches(self, category_id: int | None, subcategory_id: int | None,
                service_id: int | None) -> bool:
        """Whether a new incident with these fields falls under the rule."""
        if self.category_id is None and self.service_id is None:
            return False
        if self.category_id is not None and self.category_id not in (category_id,
                                                                      subcategory_id):
            return False
        return self.service_id is None or self.service_id == service_id


def first_match(rules: Sequence[AssignmentRule], category_id: int | None,
                subcategory_id: int | None, service_id: int | None) -> AssignmentRule | None:
    """The first enabled rule, by position, that the incident matches."""
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if rule.enabled and rule.matches(category_id, subcategory_id, service_id):
            return rule
    return None


def next_round_robin(available: Sequence[int], last: int | None) -> int | None:
    """The agent after ``last`` in id order, wrapping around; None if nobody is available."""
    if not available:
        return None
    ordered = sorted(available)
    if last is None:
        return ordered[0]
    return next((a for a in ordered if a > last), ordered[0])


def least_loaded(available: Sequence[int], loads: Mapping[int, Mapping[int, int]],
                 last: int | None = None) -> int | None:
    """The available agent with the smallest weighted load.

    Ties go to the one with fewer open incidents, then to the next in round-robin order
    after ``last``, so that a quiet group still shares new work out evenly.
    """
    if not available:
        return None
    ordered = sorted(available)
    start = next((i for i, a in enumerate(ordered) if last is not None and a > last), 0)
    turn = {agent: (i - start) % len(ordered) for i, agent in enumerate(ordered)}

    def key(agent: int) -> tuple[int, int, int]:
        load = loads.get(agent, {})
        return weighted_load(load), sum(load.values()), turn[agent]

    return min(ordered, key=key)
