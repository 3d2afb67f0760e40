"""The audit trail in words: ids shown as names, the priority matrix's cells readable."""

from __future__ import annotations

from datetime import UTC, datetime

from deskapp.domain.audit import GENESIS, AuditEntry, canonical_json
from deskapp.services.audit_text import Names, details_text, record_text, wanted

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _entry(action: str, entity: str, entity_id: str, details: object) -> AuditEntry:
    return AuditEntry(1, AT, 1, "admin", action, entity, entity_id, canonical_json(details),
                      GENESIS, "a" * 64)


def test_ids_become_names_and_unknown_ones_say_what_they_were() -> None:
    entries = [
        _entry("user_groups_set", "user", "63", {"group_ids": [2, 10, 3],
                                                 "username": "resolver.2"}),
        _entry("incident_updated", "incident", "24922", {"changes": [
            {"kind": "assignment", "field": "assignment_group_id", "old": None, "new": "2"},
            {"kind": "assignment", "field": "assignee_id", "old": "1", "new": "99"}]}),
        _entry("matrix_saved", "matrix", "7", {"cells": [[1, 1, 1], [1, 2, 2]]}),
    ]
    want = wanted(entries)
    assert want["group"] == {2, 3, 10} and want["user"] == {63, 1, 99}
    assert want["incident"] == {24922}
    names = Names({"group": {2: "Group 2", 3: "Group 3", 10: "Group 10"},
                   "user": {63: "Resolver 2", 1: "Ann Agent"},
                   "incident": {24922: "INC0024922"}})
    groups_set, updated, matrix = entries
    assert record_text(groups_set, names) == "user Resolver 2"
    assert details_text(groups_set, names) == \
        "groups: Group 2, Group 3, Group 10; username: resolver.2"
    assert record_text(updated, names) == "INC0024922"
    assert details_text(updated, names) == (
        "assignment group: — → Group 2; assignee: Ann Agent → user #99")
    assert details_text(matrix, names) == "cells: I1/U1: P1, I1/U2: P2"
