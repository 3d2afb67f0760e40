"""Data > Callers to review…: callers the email intake made from unknown senders, listed with
their first incident; "Mark reviewed" clears the flag in the database, with a permission check."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from deskapp.domain.enums import Role
from deskapp.domain.errors import PermissionDeniedError
from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.callers_review import (
    CallersReviewDialog,
    CallersReviewMenu,
    CallersReviewModel,
)
from deskapp.services.intake.caller_review import (
    CALLER_REVIEWED,
    CallerReviewService,
    CallerToReview,
)
from deskapp.services.intake.email_intake import EmailIntakeService, ensure_intake_user
from tests.conftest import add_user
from tests.qt.conftest import OFFSCREEN_NOISE

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
OUTPUT = Path(__file__).resolve().parent.parent / "output"


def mail_from(sender: str, subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "servicedesk@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("Please help.")
    return mail.as_bytes()


def take_in(database: Database, *messages: bytes) -> list[str]:
    actor = ensure_intake_user(database.uow_factory)
    service = EmailIntakeService(database.uow_factory, actor.id)
    return [service.take_in(raw).incident_number or "" for raw in messages]


def flags(database: Database) -> dict[str, bool]:
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT email, needs_review FROM callers")).all()
    return {email: bool(flag) for email, flag in rows}


def test_the_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = CallersReviewModel()
    model.set_rows([CallerToReview(1, "Ada Lovelace", "ada@example.com", "INC0000001",
                                   "Printer jams"),
                    CallerToReview(2, "bob@example.com", "bob@example.com")])
    qtmodeltester.check(model)
    assert model.index(0, 2).data() == "INC0000001 Printer jams"
    assert model.index(1, 2).data() == "—"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Email"


def test_the_service_lists_unknown_senders_and_clears_the_flag(
        database: Database, admin: User) -> None:
    first, _second, third = take_in(
        database, mail_from("Ada Lovelace <ada@example.com>", "VPN drops"),
        mail_from("Ada Lovelace <ada@example.com>", "VPN drops again"),
        mail_from("bob@example.com", "Mouse broken"))
    service = CallerReviewService(database.uow_factory, admin.id)
    listed = service.callers_to_review()
    assert [(c.name, c.email, c.first_incident, c.first_subject) for c in listed] == [
        ("Ada Lovelace", "ada@example.com", first, "VPN drops"),
        ("bob", "bob@example.com", third, "Mouse broken"),
    ]
    assert service.mark_reviewed(listed[0].caller_id) is True
    assert service.mark_reviewed(listed[0].caller_id) is False  # someone else was first
    assert flags(database) == {"ada@example.com": False, "bob@example.com": True}
    assert [c.email for c in service.callers_to_review()] == ["bob@example.com"]
    with database.uow_factory() as uow:
        trail = uow.audit.latest(10, action=CALLER_REVIEWED)
    assert [(e.entity, e.entity_id) for e in trail] == [("caller", str(listed[0].caller_id))]

    manager = add_user(database, "morgan", Role.MANAGER)
    as_manager = CallerReviewService(database.uow_factory, manager.id)
    assert not as_manager.may_review()
    with pytest.raises(PermissionDeniedError):
        as_manager.mark_reviewed(listed[1].caller_id)
    assert flags(database)["bob@example.com"] is True


def test_the_dialog_marks_the_selected_caller_reviewed(
        qtbot: QtBot, database: Database, runner: DbRunner, window_settings: QSettings,
        qtmodeltester: ModelTester) -> None:
    from deskapp import app

    number, _ = take_in(database, mail_from("Ada Lovelace <ada@example.com>", "VPN drops"),
                        mail_from("Grace Hopper <grace@example.com>", "Compiler crash"))
    agent = add_user(database, "alex", Role.AGENT)
    window = app.build_main_window(database, agent, runner, window_settings=window_settings)
    qtbot.addWidget(window)
    menu = window.findChild(CallersReviewMenu)
    assert menu is not None and menu.action.text() == "Callers to &review…"
    menu.action.trigger()
    dialog = menu.dialog
    assert isinstance(dialog, CallersReviewDialog)
    qtbot.waitUntil(lambda: dialog.loaded)
    qtmodeltester.check(dialog.model)
    assert dialog.model.rowCount() == 2
    assert dialog.model.index(0, 1).data() == "ada@example.com"
    assert dialog.model.index(0, 2).data() == f"{number} VPN drops"
    assert not dialog.markButton.isEnabled()  # nothing selected yet
    dialog.resize(700, 300)
    OUTPUT.mkdir(exist_ok=True)
    dialog.grab().save(str(OUTPUT / "callers-to-review.png"))

    dialog.table.selectionModel().select(
        dialog.model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    assert dialog.markButton.isEnabled()
    dialog.markButton.click()
    qtbot.waitUntil(lambda: dialog.loaded and "Marked" in dialog.statusLabel.text())
    assert dialog.statusLabel.text() == "Marked 1 caller reviewed."
    assert dialog.model.rowCount() == 1
    assert dialog.model.index(0, 1).data() == "grace@example.com"
    assert flags(database) == {"ada@example.com": False, "grace@example.com": True}
    dialog.close()
    window.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_manager_sees_the_list_read_only(
        qtbot: QtBot, database: Database, runner: DbRunner) -> None:
    take_in(database, mail_from("bob@example.com", "Mouse broken"))
    manager = add_user(database, "morgan", Role.MANAGER)
    dialog = CallersReviewDialog(CallerReviewService(database.uow_factory, manager.id), runner)
    qtbot.addWidget(dialog)
    dialog.reload()
    qtbot.waitUntil(lambda: dialog.loaded)
    dialog.table.selectRow(0)
    assert not dialog.markButton.isEnabled()
    assert "agents mark them reviewed" in dialog.statusLabel.text()
