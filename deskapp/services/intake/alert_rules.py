"""The alert mapping: label matchers that turn a monitoring alert into impact, urgency,
service and assignment group, first matching rule first; and the ports alert intake needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from deskapp.domain.enums import ResolutionCode
from deskapp.domain.errors import ConflictError, DeskappError, ValidationError
from deskapp.domain.priority import PriorityMatrix
from deskapp.domain.text import natural_sort_key
from deskapp.services.permissions import Permission, allowed, require
from deskapp.services.ports import UnitOfWork, acting_as

MAX_RULES = 200
"""A mapping is read on every alert; a few dozen rules is plenty."""


class MatchOp(StrEnum):
    """Alertmanager's matcher operators; regular expressions match the whole value."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)


@dataclass(frozen=True)
class Matcher:
    """One condition on an alert label, such as ``severity="critical"`` or ``team=~"db.*"``.

    A missing label counts as the empty string, as in Alertmanager.
    """

    label: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValidationError(
                    f"'{self.value}' in {self.label}{self.op.value} is not a regular "
                    f"expression: {exc}.", field="matchers") from None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """A matcher from ``label=value``, ``label!=value``, ``label=~regex``, ``label!~regex``
        (the value may be in double quotes)."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValidationError(
                f"'{text}' is not a matcher; write label=value, label!=value, label=~regex "
                "or label!~regex.", field="matchers")
        label, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return cls(label, MatchOp(op), value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the alert's labels satisfy this condition."""
        actual = labels.get(self.label, "")
        if self.op == MatchOp.EQUAL:
            return actual == self.value
        if self.op == MatchOp.NOT_EQUAL:
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op == MatchOp.REGEX else not hit

    def __str__(self) -> str:
        return f'{self.label}{self.op.value}"{self.value}"'


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Matchers separated by commas (``severity="critical", team=~"db|storage"``); an empty
    text matches every alert. Commas inside double quotes belong to the value."""
    parts: list[str] = []
    current, quoted = "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(Matcher.parse(p) for p in parts if p.strip())


def format_matchers(matchers: Sequence[Matcher]) -> str:
    """The text ``parse_matchers`` reads back."""
    return ", ".join(str(m) for m in matchers)


@dataclass(frozen=True)
class AlertRule:
    """A row of the mapping: alerts whose labels satisfy every matcher get these fields."""

    name: str
    matchers: tuple[Matcher, ...]
    impact: int
    urgency: int
    service_id: int | None = None
    group_id: int | None = None
    auto_resolve: bool = True
    """Whether the alert's resolution resolves the incident (else only a note is added)."""
    resolution_code: ResolutionCode = ResolutionCode.SOLVED_REMOTELY
    id: int | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds (a rule without matchers catches every alert)."""
        return all(m.matches(labels) for m in self.matchers)


FALLBACK_RULE = AlertRule("No rule matched", (), impact=3, urgency=3, auto_resolve=False)
"""What an alert gets when no rule matches: the matrix's lowest cell of ITIL's 3x3, and no
automatic resolution, so that a person looks at it."""

DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule("Critical alerts", (Matcher("severity", MatchOp.REGEX, "critical|page"),), 1, 1),
    AlertRule("Warnings", (Matcher("severity", MatchOp.REGEX, "warning|major"),), 2, 2),
    AlertRule("Everything else", (), 3, 3),
)
"""The mapping a new database starts with (migration 0010 seeds the same rows)."""


def first_match(rules: Sequence[AlertRule], labels: Mapping[str, str]) -> AlertRule:
    """The first rule, in order, whose matchers the labels satisfy; else FALLBACK_RULE."""
    return next((rule for rule in rules if rule.matches(labels)), FALLBACK_RULE)


def fit_to_matrix(impact: int, urgency: int, matrix: PriorityMatrix) -> tuple[int, int]:
    """The matrix's levels nearest to a rule's impact and urgency.

    A rule written for a 3x3 matrix must not stop alerts after the matrix became 4x4: an
    alert is worth an incident even when its mapping is out of date.
    """
    def nearest(value: int, levels: Sequence[int]) -> int:
        return min(levels, key=lambda level: (abs(level - value), level))

    return (nearest(impact, [lvl.value for lvl in matrix.impact_levels]),
            nearest(urgency, [lvl.value for lvl in matrix.urgency_levels]))


# --- ports ----------------------------------------------------------------------------


class AlertLinkTakenError(DeskappError):
    """Another delivery linked the same firing alert to an incident first (a race)."""


@dataclass
class AlertLink:
    """Which incident a firing alert (by fingerprint) is recorded as.

    A link is open while its incident is the one the alert's notifications go to; it closes
    when the incident is resolved by the alert or found no longer open.
    """

    fingerprint: str
    incident_id: int
    alertname: str
    status: str
    """The alert's state at its last notification: firing or resolved."""
    notifications: int
    first_seen: datetime
    last_seen: datetime
    closed_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class RuleSet:
    """The mapping as stored, with the revision a save must name."""

    rules: tuple[AlertRule, ...]
    revision: int


class AlertRepository(Protocol):
    """The alert mapping and the alert-to-incident links."""

    def rules(self) -> RuleSet:
        """The mapping in order, with its revision."""
        ...

    def replace_rules(self, rules: Sequence[AlertRule], expected_revision: int) -> int:
        """Store ``rules`` as the whole mapping, in order; returns the new revision.

        Raises ConflictError if the mapping is no longer at ``expected_revision``.
        """
        ...

    def open_link(self, fingerprint: str) -> AlertLink | None:
        """The open link of this fingerprint, locked until the transaction ends; or None."""
        ...

    def add_link(self, link: AlertLink) -> None:
        """Store a new open link; raises AlertLinkTakenError if the fingerprint has one already."""
        ...

    def save_link(self, link: AlertLink) -> None:
        """Write the link's status, counts and times (closing it when ``closed_at`` is set)."""
        ...

    def latest_link(self, fingerprint: str) -> AlertLink | None:
        """The newest link of this fingerprint, open or closed; None if it never fired."""
        ...

    def links_for_incident(self, incident_id: int) -> list[AlertLink]:
        """Every link to this incident, oldest first."""
        ...


class AlertUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the alert repository."""

    @property
    def alerts(self) -> AlertRepository: ...


class AlertUnitOfWorkFactory(Protocol):
    """Opens units of work that hold the alert repository."""

    def __call__(self, *, write: bool = False) -> AlertUnitOfWork: ...


# --- editing the mapping --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A service or assignment group a rule may name."""

    id: int
    name: str


@dataclass(frozen=True)
class RuleEditorData:
    """What the mapping editor shows: the rules, and the names it offers."""

    rules: RuleSet
    services: tuple[Choice, ...]
    groups: tuple[Choice, ...]
    impact_levels: tuple[Choice, ...]
    urgency_levels: tuple[Choice, ...]
    can_edit: bool
    matrix: PriorityMatrix = field(compare=False)


# What the audit trail records for the mapping: which rules, by name, and what changed.
ALERT_RULES_SAVED = "alert_rules_saved"
ALERT_RULE_ADDED = "alert_rule_added"
ALERT_RULE_REMOVED = "alert_rule_removed"
ALERT_RULES_IMPORTED = "alert_rules_imported"


def _rule_settings(rule: AlertRule, services: Mapping[int, str],
                   groups: Mapping[int, str]) -> dict[str, Any]:
    return {"match": format_matchers(rule.matchers), "impact": rule.impact,
            "urgency": rule.urgency,
            "service": services.get(rule.service_id) if rule.service_id is not None else None,
            "group": groups.get(rule.group_id) if rule.group_id is not None else None,
            "auto_resolve": rule.auto_resolve, "resolution_code": rule.resolution_code.value}


def _record_mapping(uow: AlertUnitOfWork, action: str, actor_id: int,
                    before: Sequence[AlertRule], after: Sequence[AlertRule],
                    **extra: Any) -> None:
    """One audit row saying, by rule name, what the new mapping added, removed and changed."""
    services = {s.id: s.name for s in uow.catalog.list_services()}
    groups = {g.id: g.name for g in uow.groups.all()}
    old = {r.name: _rule_settings(r, services, groups) for r in before}
    new = {r.name: _rule_settings(r, services, groups) for r in after}
    details: dict[str, Any] = dict(extra)
    if added := [n for n in new if n not in old]:
        details["added"] = {n: new[n] for n in added}
    if removed := [n for n in old if n not in new]:
        details["removed"] = {n: old[n] for n in removed}
    changed = {n: {k: {"old": old[n][k], "new": v} for k, v in new[n].items()
                   if old[n][k] != v}
               for n in new if n in old and old[n] != new[n]}
    if changed:
        details["changed"] = changed
    kept_before = [n for n in old if n in new]
    kept_after = [n for n in new if n in old]
    if kept_before != kept_after:
        details["order"] = list(new)
    uow.audit.record(action, actor_id=actor_id, entity="alert_rules", details=details)


class AlertRuleService:
    """Read and change the alert mapping (admins and team leads change it)."""

    def __init__(self, uow_factory: AlertUnitOfWorkFactory, actor_id: int) -> None:
        self._uow = acting_as(uow_factory, actor_id)
        self._actor_id = actor_id

    def load(self) -> RuleEditorData:
        """The mapping with the services, groups and matrix levels it can name."""
        with self._uow() as uow:
            actor = uow.users.get(self._actor_id)
            matrix = uow.matrix.current()
            rules = uow.alerts.rules()
            # Inactive services are not offered, unless a rule already names one.
            used = {rule.service_id for rule in rules.rules}
            return RuleEditorData(
                rules=rules,
                services=tuple(Choice(s.id, s.name if s.active else f"{s.name} (inactive)")
                               for s in sorted(uow.catalog.list_services(),
                                               key=lambda s: natural_sort_key(s.name))
                               if s.active or s.id in used),
                groups=tuple(Choice(g.id, g.name) for g in sorted(
                    uow.groups.all(), key=lambda g: natural_sort_key(g.name))),
                impact_levels=tuple(Choice(lvl.value, lvl.name) for lvl in matrix.impact_levels),
                urgency_levels=tuple(Choice(lvl.value, lvl.name)
                                     for lvl in matrix.urgency_levels),
                can_edit=allowed(actor, Permission.EDIT_MATRIX),
                matrix=matrix,
            )

    def rules(self) -> RuleSet:
        """The mapping, in order."""
        with self._uow() as uow:
            return uow.alerts.rules()

    def save(self, rules: Sequence[AlertRule], revision: int) -> RuleSet:
        """Replace the whole mapping, if nobody saved it since ``revision``.

        Raises:
            ConflictError: someone else saved the mapping meanwhile; nothing is written.
            ValidationError: a rule names a level, service or group that does not exist.
            PermissionDeniedError: the actor may not edit the mapping.
        """
        with self._uow(write=True) as uow:
            require(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)
            before = uow.alerts.rules().rules
            checked = self._check(uow, rules)
            new_revision = uow.alerts.replace_rules(checked, revision)
            _record_mapping(uow, ALERT_RULES_SAVED, self._actor_id, before, checked)
            uow.commit()
        return RuleSet(tuple(checked), new_revision)

    def add(self, rule: AlertRule, position: int | None = None) -> RuleSet:
        """Insert a rule at ``position`` (1 is first; None: last)."""
        with self._uow(write=True) as uow:
            require(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)
            current = uow.alerts.rules()
            rules = list(current.rules)
            if position is not None and not 1 <= position <= len(rules) + 1:
                raise ValidationError(f"There is no position {position}; the mapping has "
                                      f"{len(rules)} rules.", field="position")
            rules.insert(len(rules) if position is None else position - 1, rule)
            checked = self._check(uow, rules)
            revision = uow.alerts.replace_rules(checked, current.revision)
            _record_mapping(uow, ALERT_RULE_ADDED, self._actor_id, current.rules, checked,
                            name=rule.name, position=rules.index(rule) + 1)
            uow.commit()
            return RuleSet(tuple(checked), revision)

    def remove(self, position: int) -> AlertRule:
        """Remove the rule at ``position`` (1 is first); returns it."""
        with self._uow(write=True) as uow:
            require(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)
            current = uow.alerts.rules()
            if not 1 <= position <= len(current.rules):
                raise ValidationError(f"There is no rule {position}; the mapping has "
                                      f"{len(current.rules)}.", field="position")
            rules = list(current.rules)
            removed = rules.pop(position - 1)
            uow.alerts.replace_rules(rules, current.revision)
            _record_mapping(uow, ALERT_RULE_REMOVED, self._actor_id, current.rules, rules,
                            name=removed.name, position=position)
            uow.commit()
            return removed

    def export_json(self) -> str:
        """The mapping as JSON, with services and groups by name (they differ between desks)."""
        with self._uow() as uow:
            services = {s.id: s.name for s in uow.catalog.list_services()}
            groups = {g.id: g.name for g in uow.groups.all()}
            rules = uow.alerts.rules().rules
        return json.dumps({"alert_rules": [
            {"name": r.name, "match": format_matchers(r.matchers), "impact": r.impact,
             "urgency": r.urgency,
             "service": services.get(r.service_id) if r.service_id is not None else None,
             "group": groups.get(r.group_id) if r.group_id is not None else None,
             "auto_resolve": r.auto_resolve, "resolution_code": r.resolution_code.value}
            for r in rules]}, indent=2, ensure_ascii=False) + "\n"

    def import_json(self, text: str) -> RuleSet:
        """Replace the mapping by the one ``export_json`` wrote (here or on another desk).

        Raises ValidationError naming the rule and field at fault; nothing is written then.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The file is not JSON: {exc}.") from None
        items = data.get("alert_rules") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValidationError("The file holds no \"alert_rules\" list.")
        with self._uow(write=True) as uow:
            require(uow.users.get(self._actor_id), Permission.EDIT_MATRIX)
            services = {s.name.casefold(): s.id for s in uow.catalog.list_services()}
            groups = {g.name.casefold(): g.id for g in uow.groups.all()}
            rules = [_rule_from_json(i, item, services, groups)
                     for i, item in enumerate(items, 1)]
            before = uow.alerts.rules()
            checked = self._check(uow, rules)
            revision = uow.alerts.replace_rules(checked, before.revision)
            _record_mapping(uow, ALERT_RULES_IMPORTED, self._actor_id, before.rules, checked)
            uow.commit()
        return RuleSet(tuple(checked), revision)

    def _check(self, uow: AlertUnitOfWork, rules: Sequence[AlertRule]) -> list[AlertRule]:
        if len(rules) > MAX_RULES:
            raise ValidationError(f"A mapping holds at most {MAX_RULES} rules.")
        matrix = uow.matrix.current()
        impacts = {lvl.value for lvl in matrix.impact_levels}
        urgencies = {lvl.value for lvl in matrix.urgency_levels}
        # A deactivated service may stay in the rules that name it, but not be newly chosen.
        named = {rule.service_id for rule in uow.alerts.rules().rules}
        services = {s.id for s in uow.catalog.list_services() if s.active or s.id in named}
        groups = {g.id for g in uow.groups.all()}
        checked = []
        for n, rule in enumerate(rules, 1):
            name = rule.name.strip()
            where = f"Rule {n} ({name or 'unnamed'})"
            if not name or len(name) > 120:
                raise ValidationError(f"Rule {n} needs a name of 1 to 120 characters.",
                                      field="name")
            if rule.impact not in impacts:
                raise ValidationError(f"{where}: impact {rule.impact} is not a level of the "
                                      f"priority matrix ({sorted(impacts)}).", field="impact")
            if rule.urgency not in urgencies:
                raise ValidationError(f"{where}: urgency {rule.urgency} is not a level of the "
                                      f"priority matrix ({sorted(urgencies)}).", field="urgency")
            if rule.service_id is not None and rule.service_id not in services:
                raise ValidationError(f"{where}: there is no service {rule.service_id} in "
                                      "use.",
                                      field="service_id")
            if rule.group_id is not None and rule.group_id not in groups:
                raise ValidationError(f"{where}: there is no assignment group "
                                      f"{rule.group_id}.", field="group_id")
            if len(format_matchers(rule.matchers)) > 1000:
                raise ValidationError(f"{where}: the matchers are too long.", field="matchers")
            checked.append(replace(rule, name=name))
        return checked


def _rule_from_json(n: int, item: Any, services: Mapping[str, int],
                    groups: Mapping[str, int]) -> AlertRule:
    if not isinstance(item, dict):
        raise ValidationError(f"Rule {n} is not an object.")

    def text(key: str, default: str = "") -> str:
        value = item.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ValidationError(f"Rule {n}: \"{key}\" must be text.", field=key)
        return value

    def level(key: str) -> int:
        value = item.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"Rule {n}: \"{key}\" must be a whole number.", field=key)
        return value

    def named(key: str, table: Mapping[str, int], what: str) -> int | None:
        name = text(key).strip()
        if not name:
            return None
        if name.casefold() not in table:
            raise ValidationError(f"Rule {n}: there is no {what} named '{name}'.", field=key)
        return table[name.casefold()]

    auto = item.get("auto_resolve", True)
    if not isinstance(auto, bool):
        raise ValidationError(f"Rule {n}: \"auto_resolve\" must be true or false.",
                              field="auto_resolve")
    try:
        code = ResolutionCode(text("resolution_code", ResolutionCode.SOLVED_REMOTELY.value))
    except ValueError:
        raise ValidationError(f"Rule {n}: \"resolution_code\" must be one of "
                              f"{', '.join(c.value for c in ResolutionCode)}.",
                              field="resolution_code") from None
    return AlertRule(text("name"), parse_matchers(text("match")), level("impact"),
                     level("urgency"), named("service", services, "service"),
                     named("group", groups, "assignment group"), auto, code)


def stale_rules_error(revision: int) -> ConflictError:
    """The error a save from an older revision of the mapping gets."""
    return ConflictError("The alert mapping", None, None, revision)
