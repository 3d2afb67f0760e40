"""How a caller edit meets what someone else saved meanwhile: a three-way merge.

Pure functions over CallerAdminRow values, shared by the two places that edit a caller
(Edit caller… in the forms, and Admin → Callers): after a ConflictError they compare each
detail as the view read it, as the user typed it and as it is stored now, take the other
person's value where the user left a field alone, and name the fields both changed.
"""

from __future__ import annotations

from deskapp.services.caller_admin_dto import MERGE_FIELDS, CallerAdminRow, CallerEdit


def shown_value(value: str | bool) -> str:
    """A detail in words: “text”, empty, yes or no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”" if value else "empty"


def _label(name: str) -> str:
    return "VIP" if name == "vip" else name


def changes_between(before: CallerAdminRow, after: CallerAdminRow) -> str:
    """What someone else changed, in words ("email is now “x@y”, VIP is now yes")."""
    parts = [f"{_label(name)} is now {shown_value(after.value(name))}"
             for name in MERGE_FIELDS if before.value(name) != after.value(name)]
    return ", ".join(parts)


def merge_edit(read: CallerAdminRow, typed: CallerEdit, stored: CallerAdminRow,
               ) -> tuple[CallerEdit, list[str]]:
    """The user's changes (``typed`` against ``read``) on top of the caller as ``stored``.

    Returns the details to save and, in words, each field both sides changed to different
    values ("phone: yours “1”, theirs “2”"); there the typed value is kept.
    """
    merged: dict[str, str | bool] = {}
    clashes: list[str] = []
    for name in MERGE_FIELDS:
        mine, base, theirs = getattr(typed, name), read.value(name), stored.value(name)
        merged[name] = mine if mine != base else theirs
        if mine != base and theirs != base and mine != theirs:
            clashes.append(f"{_label(name)}: yours {shown_value(mine)}, "
                           f"theirs {shown_value(theirs)}")
    return CallerEdit(str(merged["name"]), str(merged["email"]), str(merged["phone"]),
                      str(merged["department"]), str(merged["location"]),
                      bool(merged["vip"])), clashes
