"""The three-way merge of a caller edit after a conflict (Edit caller… and Admin → Callers)."""

from __future__ import annotations

from dataclasses import replace

from deskapp.services.caller_admin_dto import CallerAdminRow, CallerEdit
from deskapp.services.caller_edit_merge import changes_between, merge_edit

READ = CallerAdminRow(7, "Ann Lee", "ann@example.com", "555-0100", "Finance", "Oslo", False,
                      True, None, False, 3, 2)


def typed(**changes: object) -> CallerEdit:
    values = {"name": READ.name, "email": READ.email, "phone": READ.phone,
              "department": READ.department, "location": READ.location, "vip": READ.vip}
    values.update(changes)
    return CallerEdit(**values)  # type: ignore[arg-type]


def test_their_changes_fill_the_fields_the_user_left_alone() -> None:
    stored = replace(READ, email="ann.lee@example.com", vip=True, version=4)
    merged, clashes = merge_edit(READ, typed(phone="555-0199"), stored)
    assert merged == typed(email="ann.lee@example.com", vip=True, phone="555-0199")
    assert clashes == []


def test_a_field_both_changed_keeps_the_typed_value_and_is_named() -> None:
    stored = replace(READ, phone="555-0200", location="", version=4)
    merged, clashes = merge_edit(READ, typed(phone="555-0300", location="Bergen"), stored)
    assert merged.phone == "555-0300" and merged.location == "Bergen"
    assert clashes == ["phone: yours “555-0300”, theirs “555-0200”",
                       "location: yours “Bergen”, theirs empty"]


def test_the_same_change_on_both_sides_is_no_clash() -> None:
    stored = replace(READ, vip=True, version=4)
    merged, clashes = merge_edit(READ, typed(vip=True), stored)
    assert merged.vip and clashes == []


def test_what_someone_else_changed_reads_in_words() -> None:
    after = replace(READ, email="x@y", vip=True, department="", version=4)
    assert changes_between(READ, after) == \
        "email is now “x@y”, department is now empty, VIP is now yes"
    assert changes_between(READ, replace(READ, version=4)) == ""
