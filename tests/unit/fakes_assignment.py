"""The AssignmentStore port in memory, over the fake store of tests.unit.fakes."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from deskapp.domain.assignment import AssignmentRule
from deskapp.domain.enums import OPEN_STATES
from deskapp.domain.errors import ConflictError, NotFoundError
from deskapp.domain.incident import Incident
from deskapp.domain.people import User
from deskapp.services.dto import ActivityView


class FakeAssignmentStore:
    """AssignmentStore in memory; ``store`` is a tests.unit.fakes.FakeStore (its staging copy)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        # Kept on the store itself, so that commit and rollback carry them like the rest.
        self._rules: dict[int, AssignmentRule] = store.__dict__.setdefault(
            "assignment_rules", {})

    def load_many(self, incident_ids: Sequence[int]) -> dict[int, Incident]:
        return {i: copy.deepcopy(self._store.incidents[i]) for i in incident_ids
                if i in self._store.incidents}

    def save_assignments(self, incidents: Sequence[Incident],
                         expected_versions: Sequence[int]) -> list[int]:
        for incident, expected in zip(incidents, expected_versions, strict=True):
            assert incident.id is not None
            current = self._store.incidents[incident.id]
            if current.version != expected:
                raise ConflictError(f"Incident {current.number}", None, current.updated_at,
                                    current.version)
        for incident, expected in zip(incidents, expected_versions, strict=True):
            assert incident.id is not None
            incident.version = expected + 1
            for entry in incident.take_pending():
                self._store.activity.append((incident.id, ActivityView(
                    len(self._store.activity) + 1, entry.kind.value, entry.at, None,
                    entry.field, entry.old_value, entry.new_value, entry.body,
                    entry.call_started_at, entry.call_seconds)))
            self._store.incidents[incident.id] = copy.deepcopy(incident)
        return [v + 1 for v in expected_versions]

    def user_names(self, user_ids: Collection[int]) -> dict[int, str]:
        return {u: self._store.users[u].full_name for u in user_ids if u in self._store.users}

    def groups_of(self, user_id: int) -> list[int]:
        return sorted(gid for gid, (group, members) in self._store.groups.items()
                      if user_id in members or group.lead_id == user_id)

    def members(self, group_ids: Collection[int] | None) -> dict[int, list[User]]:
        found: dict[int, list[User]] = {}
        for gid, (_, members) in self._store.groups.items():
            if group_ids is not None and gid not in group_ids:
                continue
            users = [self._store.users[m] for m in members
                     if m in self._store.users and self._store.users[m].active]
            if users:
                found[gid] = sorted(users, key=lambda u: (u.full_name, u.id))
        return found

    def set_away(self, user_id: int, away: bool) -> None:
        if user_id not in self._store.users:
            raise NotFoundError(f"There is no user with id {user_id}.")
        self._store.users[user_id] = replace(self._store.users[user_id], away=away)

    def open_loads(self, user_ids: Collection[int]) -> dict[int, dict[int, int]]:
        loads: dict[int, dict[int, int]] = {u: {} for u in user_ids}
        for incident in self._store.incidents.values():
            if incident.assignee_id in loads and incident.state in OPEN_STATES:
                by_priority = loads[incident.assignee_id]
                by_priority[incident.priority] = by_priority.get(incident.priority, 0) + 1
        return loads

    def rules(self) -> list[AssignmentRule]:
        return sorted(self._rules.values(), key=lambda r: (r.position, r.id))

    def rule(self, rule_id: int, *, lock: bool = False) -> AssignmentRule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise NotFoundError(f"There is no assignment rule with id {rule_id}.") from None

    def add_rule(self, rule: AssignmentRule, actor_id: int, now: datetime) -> AssignmentRule:
        rule_id = max(self._rules, default=0) + 1
        position = max((r.position for r in self._rules.values()), default=0) + 1
        stored = replace(rule, id=rule_id, position=position, version=1)
        self._rules[rule_id] = stored
        return stored

    def save_rule(self, rule: AssignmentRule, expected_version: int, actor_id: int,
                  now: datetime) -> AssignmentRule:
        current = self.rule(rule.id)
        if current.version != expected_version:
            raise ConflictError(f"Assignment rule '{current.name}'", None, None,
                                current.version)
        stored = replace(rule, version=expected_version + 1,
                         last_assignee_id=current.last_assignee_id)
        self._rules[rule.id] = stored
        return stored

    def delete_rule(self, rule_id: int, expected_version: int) -> None:
        current = self.rule(rule_id)
        if current.version != expected_version:
            raise ConflictError(f"Assignment rule '{current.name}'", None, None,
                                current.version)
        del self._rules[rule_id]

    def note_rule_choice(self, rule_id: int, assignee_id: int) -> None:
        self._rules[rule_id] = replace(self.rule(rule_id), last_assignee_id=assignee_id)
