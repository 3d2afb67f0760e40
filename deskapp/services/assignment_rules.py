"""Assignment rules: list, write, switch on and off, and apply them to a new incident.

A rule sends new incidents of a category and/or service to a group, and within the group to
an agent by round robin or by least load, skipping agents marked away. Rules are off until
someone switches them on; the first enabled rule that matches wins, and its name is written
into the incident's activity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from deskapp.domain.assignment import (
    AssignmentRule,
    first_match,
    least_loaded,
    next_round_robin,
)
from deskapp.domain.enums import AssignmentMethod
from deskapp.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from deskapp.domain.incident import Incident
from deskapp.domain.people import User
from deskapp.services.catalog import require_in_use
from deskapp.services.permissions import Permission, may_manage_group, require
from deskapp.services.ports import Clock, UnitOfWork, UnitOfWorkFactory, acting_as


@dataclass(frozen=True)
class RuleView:
    """A rule as the admin screen lists it, with names rather than ids."""

    rule: AssignmentRule
    group_name: str
    category_name: str | None
    service_name: str | None

    @property
    def summary(self) -> str:
        """ "Hardware / Printer and service Email -> Desk (round robin)"."""
        parts = []
        if self.category_name:
            parts.append(f"category {self.category_name}")
        if self.service_name:
            parts.append(f"service {self.service_name}")
        return (f"{' and '.join(parts)} -> {self.group_name} "
                f"({self.rule.method.label})")


@dataclass(frozen=True)
class RuleChoice:
    """What applying the rules to a new incident decided."""

    rule: AssignmentRule
    group_id: int
    assignee_id: int | None
    note: str
    """The activity's words: which rule, and how it chose (or why nobody)."""


def choose(uow: UnitOfWork, incident: Incident) -> RuleChoice | None:
    """The enabled rule that a new incident matches, and whom it picks; None if no rule.

    Round robin goes on after the agent the rule picked last; least loaded weighs each
    agent's open incidents by priority (domain.assignment.priority_weight). Agents marked
    away and inactive ones are skipped; if nobody is left the incident goes to the group
    alone. Rules of inactive groups are passed over (the next matching rule applies).
    """
    active_groups = {g.id for g in uow.groups.all() if g.active}
    rules = [r for r in uow.assignment.rules() if r.group_id in active_groups]
    rule = first_match(rules, incident.category_id, incident.subcategory_id,
                       incident.service_id)
    if rule is None:
        return None
    if rule.method != AssignmentMethod.GROUP_ONLY:
        # Locked (PostgreSQL) so that two desks logging calls at once do not both pick
        # the same "next" agent; SQLite's writer already holds the database.
        rule = uow.assignment.rule(rule.id, lock=True)
    members = uow.assignment.members([rule.group_id]).get(rule.group_id, [])
    available = [m.id for m in members if m.active and not m.away]
    note = f"Assigned by rule '{rule.name}' ({rule.method.label})"
    assignee: int | None = None
    if rule.method == AssignmentMethod.ROUND_ROBIN:
        assignee = next_round_robin(available, rule.last_assignee_id)
    elif rule.method == AssignmentMethod.LEAST_LOADED:
        assignee = least_loaded(available, uow.assignment.open_loads(available),
                                rule.last_assignee_id)
    if rule.method != AssignmentMethod.GROUP_ONLY:
        if assignee is None:
            note += ": no agent of the group is available, so it waits in the group's queue"
        else:
            uow.assignment.note_rule_choice(rule.id, assignee)
            away = len(members) - len(available)
            if away:
                note += f"; {away} agent{'s' if away != 1 else ''} away skipped"
    return RuleChoice(rule, rule.group_id, assignee, note + ".")


def _utc_now() -> datetime:
    return datetime.now(UTC)


# What the audit trail records (each row names the rule, and what changed in words).
RULE_ADDED = "assignment_rule_added"
RULE_CHANGED = "assignment_rule_changed"
RULE_ENABLED = "assignment_rule_enabled"
RULE_DISABLED = "assignment_rule_disabled"
RULE_MOVED = "assignment_rule_moved"
RULE_DELETED = "assignment_rule_deleted"


def _rule_terms(uow: UnitOfWork, rule: AssignmentRule) -> dict[str, Any]:
    """A rule's settings as the audit row keeps them: names, not ids (ids kept beside)."""
    category = service = None
    if rule.category_id is not None:
        category = next((c.name for c in uow.catalog.list_categories()
                         if c.id == rule.category_id), str(rule.category_id))
    if rule.service_id is not None:
        service = next((s.name for s in uow.catalog.list_services()
                        if s.id == rule.service_id), str(rule.service_id))
    group = next((g.name for g in uow.groups.all() if g.id == rule.group_id),
                 str(rule.group_id))
    return {"group": group, "method": rule.method.label, "category": category,
            "service": service, "enabled": rule.enabled}


def _record(uow: UnitOfWork, action: str, actor_id: int, rule: AssignmentRule,
            **details: Any) -> None:
    uow.audit.record(action, actor_id=actor_id, entity="assignment_rule", entity_id=rule.id,
                     details={"name": rule.name, **details})


class AssignmentRuleService:
    """Rules management for team leads (their groups), managers and admins (any group)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor_id: int,
                 clock: Clock = _utc_now) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id
        self._clock = clock

    def rules(self) -> list[RuleView]:
        """Every rule in the order they are tried, with names."""
        with self._uow() as uow:
            groups = {g.id: g.name for g in uow.groups.all()}
            categories = {c.id: c for c in uow.catalog.list_categories()}
            services = {s.id: s.name for s in uow.catalog.list_services()}

            def category_name(category_id: int | None) -> str | None:
                if category_id is None or category_id not in categories:
                    return None
                c = categories[category_id]
                parent = categories.get(c.parent_id) if c.parent_id is not None else None
                return f"{parent.name} / {c.name}" if parent else c.name

            return [RuleView(r, groups.get(r.group_id, f"group {r.group_id}"),
                             category_name(r.category_id),
                             services.get(r.service_id) if r.service_id else None)
                    for r in uow.assignment.rules()]

    def add(self, name: str, group_id: int, method: AssignmentMethod,
            category_id: int | None = None, service_id: int | None = None) -> AssignmentRule:
        """A new rule, at the end of the order and switched off."""
        rule = AssignmentRule(0, name, group_id, AssignmentMethod(method), category_id,
                              service_id, enabled=False).validate()
        with self._uow(write=True) as uow:
            self._require(uow, rule.group_id)
            self._check(uow, rule, None)
            self._unique_name(uow, rule)
            stored = uow.assignment.add_rule(rule, self._actor_id, self._clock())
            _record(uow, RULE_ADDED, self._actor_id, stored, **_rule_terms(uow, stored))
            uow.commit()
            return stored

    def save(self, rule: AssignmentRule) -> AssignmentRule:
        """Write a changed rule at the version it was read (else ConflictError)."""
        rule = rule.validate()
        with self._uow(write=True) as uow:
            old = uow.assignment.rule(rule.id)
            self._require(uow, old.group_id)
            self._require(uow, rule.group_id)
            self._check(uow, rule, old)
            self._unique_name(uow, rule)
            stored = uow.assignment.save_rule(rule, rule.version, self._actor_id, self._clock())
            before, after = _rule_terms(uow, old), _rule_terms(uow, stored)
            if old.name != stored.name:
                before["name"], after["name"] = old.name, stored.name
            changes = {k: {"old": before[k], "new": after[k]}
                       for k in after if before.get(k) != after[k]}
            _record(uow, RULE_CHANGED, self._actor_id, stored, changes=changes)
            uow.commit()
            return stored

    def set_enabled(self, rule_id: int, version: int, enabled: bool) -> AssignmentRule:
        """Switch a rule on or off, at the version it was read."""
        with self._uow(write=True) as uow:
            rule = uow.assignment.rule(rule_id)
            self._require(uow, rule.group_id)
            stored = uow.assignment.save_rule(replace(rule, enabled=enabled), version,
                                              self._actor_id, self._clock())
            _record(uow, RULE_ENABLED if enabled else RULE_DISABLED, self._actor_id, stored)
            uow.commit()
            return stored

    def move(self, rule_id: int, version: int, position: int) -> AssignmentRule:
        """Put a rule at another place in the order (lower positions are tried first)."""
        with self._uow(write=True) as uow:
            rule = uow.assignment.rule(rule_id)
            self._require(uow, rule.group_id)
            stored = uow.assignment.save_rule(replace(rule, position=position), version,
                                              self._actor_id, self._clock())
            _record(uow, RULE_MOVED, self._actor_id, stored,
                    position={"old": rule.position, "new": position})
            uow.commit()
            return stored

    def swap(self, rule_id: int, version: int, other_id: int,
             other_version: int) -> tuple[AssignmentRule, AssignmentRule]:
        """Exchange two rules' places in the order, both at the versions they were read.

        One transaction: the order never ends up half moved, as two ``move`` calls could if
        the second met a conflict.
        """
        with self._uow(write=True) as uow:
            rule = uow.assignment.rule(rule_id)
            other = uow.assignment.rule(other_id)
            self._require(uow, rule.group_id)
            self._require(uow, other.group_id)
            first = uow.assignment.save_rule(replace(rule, position=other.position), version,
                                             self._actor_id, self._clock())
            second = uow.assignment.save_rule(replace(other, position=rule.position),
                                              other_version, self._actor_id, self._clock())
            _record(uow, RULE_MOVED, self._actor_id, first,
                    position={"old": rule.position, "new": other.position},
                    swapped_with=other.name)
            uow.commit()
            return first, second

    def delete(self, rule_id: int, version: int) -> None:
        """Remove a rule, at the version it was read."""
        with self._uow(write=True) as uow:
            rule = uow.assignment.rule(rule_id)
            self._require(uow, rule.group_id)
            uow.assignment.delete_rule(rule_id, version)
            _record(uow, RULE_DELETED, self._actor_id, rule, **_rule_terms(uow, rule))
            uow.commit()

    def _require(self, uow: UnitOfWork, group_id: int) -> User:
        actor = uow.users.get(self._actor_id)
        require(actor, Permission.MANAGE_ASSIGNMENT_RULES)
        group_ids = frozenset(uow.assignment.groups_of(self._actor_id))
        if not may_manage_group(actor, Permission.MANAGE_ASSIGNMENT_RULES, group_ids, group_id):
            group = uow.groups.get(group_id)
            raise PermissionDeniedError(
                f"{actor.full_name} ({actor.role.value}) may not change the assignment rules "
                f"of {group.name}: leads may change only their own groups' rules.")
        return actor

    @staticmethod
    def _check(uow: UnitOfWork, rule: AssignmentRule, old: AssignmentRule | None) -> None:
        uow.groups.get(rule.group_id)
        if rule.category_id is not None and not (
                uow.catalog.category_exists(rule.category_id, None)
                or any(c.id == rule.category_id for c in uow.catalog.list_categories())):
            raise NotFoundError(f"There is no category {rule.category_id}.")
        if rule.service_id is not None and not uow.catalog.service_exists(rule.service_id):
            raise NotFoundError(f"There is no service or configuration item {rule.service_id}.")
        # A deactivated category or service may stay in a rule, but not be newly chosen.
        if rule.category_id is not None and (old is None or old.category_id != rule.category_id):
            require_in_use(uow.catalog, categories=[rule.category_id], field="category_id")
        if rule.service_id is not None and (old is None or old.service_id != rule.service_id):
            require_in_use(uow.catalog, services=[rule.service_id], field="service_id")

    @staticmethod
    def _unique_name(uow: UnitOfWork, rule: AssignmentRule) -> None:
        if any(r.name.casefold() == rule.name.casefold() and r.id != rule.id
               for r in uow.assignment.rules()):
            raise ValidationError(f"There is a rule named '{rule.name}' already.", field="name")
