"""Hostile text through the services: stored and read back exactly, never executed.

SQL metacharacters, very long text, control characters, right-to-left and emoji text go in
through every text field of a call, a caller, notes and comments, and through search, on
SQLite and PostgreSQL. Each value either comes back exactly as the domain keeps it (trimmed)
or is refused with a ValidationError that says why; the database is never an error, and no
table goes missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from deskapp.domain.errors import ValidationError
from deskapp.domain.incident import MAX_DESCRIPTION, MAX_SHORT_DESCRIPTION
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.services.caller_admin import CallerAdminService
from deskapp.services.caller_admin_dto import CallerEdit
from deskapp.services.catalog_admin import CatalogAdminService, CatalogAdminUnitOfWorkFactory
from deskapp.services.incidents import IncidentService, LogCallRequest
from deskapp.services.people_admin import PeopleAdminService

T = TypeVar("T")

SQL = ["'", '"', ";", "--", "/*", "*/", "\\", "%", "_", "' OR '1'='1", "'); DROP TABLE "
       "incidents; --", "\" OR \"\"=\"", "$$", "E'\\x00'", "NEAR(", "AND", "*", "^", ":",
       "{", "}", "(", ")"]
RTL_EMOJI = ["\u202e", "\u200f", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\u05e2\u05d1",
             "\U0001f525", "\U0001f469\u200d\U0001f4bb", "\ufe0f", "\u0301", "Z\u0351\u0334"]
CONTROL = ["\t", "\n", "\r", "\x07", "\x1b[31m", "\x7f", "\u2028", "\ufeff", "\x00"]

hostile = st.lists(
    st.one_of(st.sampled_from(SQL + RTL_EMOJI + CONTROL),
              st.text(min_size=0, max_size=20)),
    min_size=1, max_size=12).map("".join) | st.builds(
    lambda piece, n: piece * n, st.sampled_from(SQL + RTL_EMOJI + ["a"]),
    st.integers(min_value=100, max_value=2000))

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _kept(value: str) -> str:
    return value.strip()


def _tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names())


@SETTINGS
@given(short=hostile, description=hostile, note=hostile, name=hostile)
def test_hostile_text_is_stored_and_read_back_exactly(
        database: Database, service: IncidentService, short: str, description: str,
        note: str, name: str) -> None:
    tables = _tables(database)
    try:
        caller = service.add_caller(name, department=name[:120], location=name[:120])
    except ValidationError as exc:
        assert not _kept(name) or len(_kept(name)) > 120 or "\x00" in name, str(exc)
        caller = service.add_caller("Plain Caller")
    else:
        assert caller.name == _kept(name)
        assert service.lookup_callers(caller.name[:30], 50) is not None
    try:
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=short, description=description,
            impact=2, urgency=2))
    except ValidationError:
        assert (not _kept(short) or len(_kept(short)) > MAX_SHORT_DESCRIPTION
                or len(_kept(description)) > MAX_DESCRIPTION
                or "\x00" in short + description)
    else:
        stored = service.get(detail.id)
        assert stored.short_description == _kept(short)
        assert stored.description == _kept(description)
        try:
            service.add_work_note(detail.id, note)
            service.add_comment(detail.id, note)
        except ValidationError:
            assert not _kept(note) or "\x00" in note or len(_kept(note)) > 32000
        else:
            bodies = [a.body for a in service.activity(detail.id) if a.body is not None]
            assert bodies[-2:] == [_kept(note), _kept(note)]
    for words in (short, note, name):
        service.search(words)
    assert _tables(database) == tables


@pytest.mark.parametrize("value", [
    "'); DROP TABLE incidents; --", "Robert'); DELETE FROM users; --",
    "\u202eevil\u202c \U0001f525 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "tab\there\r\nline \x1b[31mred\x1b[0m \x07bell"])
def test_known_attacks_are_plain_text(database: Database, service: IncidentService,
                                      value: str) -> None:
    caller = service.add_caller(value)
    detail, _ = service.log_call(LogCallRequest(caller_id=caller.id, short_description=value,
                                                description=value, impact=3, urgency=3))
    assert service.get(detail.id).short_description == value.strip()
    assert service.lookup_callers(value[:10], 5)[0].name == value.strip()
    service.search(value)
    assert {"incidents", "users"} <= _tables(database)


def _stored_or_refused(act: Callable[[], T]) -> T | None:
    """What ``act`` returns, or None when it refused the text with a sentence saying why."""
    try:
        return act()
    except ValidationError as exc:
        assert str(exc).strip(), "a refusal says why"
        return None


@SETTINGS
@given(name=hostile, description=hostile)
def test_hostile_text_through_the_administration_screens_services(
        database: Database, admin: User, service: IncidentService, name: str,
        description: str) -> None:
    """Groups, categories, services, configuration items and callers, as the admin windows
    send them: stored exactly as the rules keep them (trimmed; catalogue names with their
    whitespace folded), or refused with a message; never a database error."""
    tables = _tables(database)
    people = PeopleAdminService(database.uow_factory, admin.id)
    catalog = CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, database.uow_factory),
                                  admin.id)
    folded = " ".join(name.split())

    group_id = _stored_or_refused(lambda: people.create_group(name, description))
    if group_id is not None:
        group = next(g for g in people.groups() if g.id == group_id)
        assert (group.name, group.description) == (name.strip(), description.strip())

    category = _stored_or_refused(lambda: catalog.add_category(name))
    if category is not None:
        assert category.name == folded
        assert [c.name for c in catalog.load().categories if c.id == category.id] == [folded]

    entry = _stored_or_refused(lambda: catalog.add_service(name, description))
    if entry is not None:
        stored = next(s for s in catalog.load().services if s.id == entry.id)
        assert (stored.name, stored.description) == (folded, description.strip())

    item = _stored_or_refused(
        lambda: catalog.add_configuration_item(name, "server", None, description))
    if item is not None:
        stored_item = next(c for c in catalog.load().configuration_items if c.id == item.id)
        assert (stored_item.name, stored_item.description) == (folded, description.strip())

    callers = CallerAdminService(database.uow_factory, admin.id)
    caller = service.add_caller("Plain Caller")
    edited = _stored_or_refused(lambda: callers.edit(
        caller.id, caller_version(callers, caller.id),
        CallerEdit(name, department=description[:120], location=name[:120])))
    if edited is not None:
        assert callers.get(caller.id).name == edited.name == name.strip()
    assert _tables(database) == tables


def caller_version(callers: CallerAdminService, caller_id: int) -> int:
    """The version the admin window would hold for the caller."""
    return callers.get(caller_id).version


@pytest.mark.parametrize("value", [
    "'); DROP TABLE assignment_groups; --", "nul\x00inside", "\u202eevil\u202c \U0001f525",
    "x" * 5000])
def test_known_attacks_on_the_administration_services(database: Database, admin: User,
                                                      value: str) -> None:
    people = PeopleAdminService(database.uow_factory, admin.id)
    catalog = CatalogAdminService(cast(CatalogAdminUnitOfWorkFactory, database.uow_factory),
                                  admin.id)
    group_id = _stored_or_refused(lambda: people.create_group(value))
    category = _stored_or_refused(lambda: catalog.add_category(value))
    if "\x00" in value or len(value) > 1000:
        assert group_id is None and category is None
    else:
        assert [g.name for g in people.groups() if g.id == group_id] == [value]
        assert category is not None and category.name == value
    assert {"assignment_groups", "categories"} <= _tables(database)
