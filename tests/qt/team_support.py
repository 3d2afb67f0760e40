"""A small team for the Team menu's GUI tests: a lead, agents, two groups, their incidents."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.app import build_main_window
from deskapp.domain.enums import Role
from deskapp.domain.people import Group, User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.views.team_menu import TeamMenu
from deskapp.services.incidents import IncidentService, LogCallRequest
from tests.conftest import FakeClock

PER_SLOT = 4
"""Incidents for each (group, assignee) slot."""


@dataclass
class Team:
    """Who is who, and the incidents by number."""

    lead: User
    ann: User
    bob: User
    carl: User
    desk: Group
    network: Group
    numbers: list[str]


def make_team(database: Database, service: IncidentService, clock: FakeClock) -> Team:
    """Lena leads the Service Desk (Ann, and Bob who is away); Carl is in Network."""
    with database.uow_factory(write=True) as uow:
        def user(name: str, full: str, role: Role, away: bool = False) -> User:
            return uow.users.add(User(0, name, full, f"{name}@example.com", role, away=away))
        lead = user("lena", "Lena Lead", Role.LEAD)
        ann = user("ann", "Ann Agent", Role.AGENT)
        bob = user("bob", "Bob Away", Role.AGENT, away=True)
        carl = user("carl", "Carl Cable", Role.AGENT)
        desk = uow.groups.add(Group(0, "Service Desk", lead_id=lead.id), [ann.id, bob.id, lead.id])
        network = uow.groups.add(Group(0, "Network"), [carl.id])
        uow.commit()
    caller = service.add_caller("Grace Hopper", email="grace@example.com")
    slots = [(desk.id, None), (desk.id, ann.id), (desk.id, bob.id), (network.id, carl.id)]
    numbers = []
    for i in range(PER_SLOT * len(slots)):
        clock.advance(minutes=5)
        group_id, assignee_id = slots[i % len(slots)]
        detail, _ = service.log_call(LogCallRequest(
            caller_id=caller.id, short_description=f"Team incident {i}: laptop will not boot",
            impact=1 + i % 3, urgency=1 + (i // 4) % 3,
            assignment_group_id=group_id, assignee_id=assignee_id))
        numbers.append(detail.number)
    return Team(lead, ann, bob, carl, desk, network, numbers)


def open_window(qtbot: QtBot, database: Database, user: User, runner: DbRunner,
                settings: QSettings, clock: FakeClock, *,
                live_updates: bool = False) -> tuple[MainWindow, TeamMenu]:
    """The main window as ``user``, shown, with its Team menu (no tray in tests)."""
    window = build_main_window(database, user, runner, window_settings=settings, clock=clock,
                               live_updates=live_updates)
    qtbot.addWidget(window)
    window.resize(1500, 800)
    window.show()
    team = window.findChild(TeamMenu)
    assert team is not None
    return window, team


def select_rows(window: MainWindow, rows: list[int]) -> None:
    """Select these queue rows as a user would with Ctrl+click."""
    selection = window.table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(window.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)


def assignee_counts(database: Database) -> dict[tuple[int | None, int | None], int]:
    """Open incidents by (group, assignee), counted directly in SQL."""
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT assignment_group_id, assignee_id, count(*) FROM incidents "
            "WHERE state IN ('new', 'in_progress', 'on_hold') "
            "GROUP BY assignment_group_id, assignee_id")).all()
    return {(g, a): int(n) for g, a, n in rows}


def assignee_of(database: Database, number: str) -> tuple[int | None, int | None, int]:
    """(group, assignee, version) of an incident, read directly."""
    with database.engine.connect() as connection:
        g, a, v = connection.execute(text(
            "SELECT assignment_group_id, assignee_id, version FROM incidents "
            "WHERE number = :n"), {"n": number}).one()
    return g, a, int(v)
