"""The post-incident review form: its action-items model, saving, conflicts, sign-off, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot

from deskapp.domain.people import User
from deskapp.persistence.database import Database
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.report_dialogs import ReportExporter
from deskapp.qt.views.review_form import ActionItemsModel, ReviewForm
from deskapp.services.incidents import IncidentService
from deskapp.services.report_data import ReportService
from deskapp.services.report_dto import ActionItem, ActionState, ReviewContent, ReviewStatus
from deskapp.services.reviews import ReviewService
from tests.conftest import FakeClock
from tests.qt.conftest import OFFSCREEN_NOISE, Await

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_action_items_model_passes_the_model_tester(qtmodeltester: object) -> None:
    model = ActionItemsModel()
    model.set_items((ActionItem("Upgrade", "Ann", date(2026, 4, 1)),
                     ActionItem("Spare", "", None, ActionState.DONE)))
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.data(model.index(1, 3)) == "Done"
    assert model.setData(model.index(0, 2), QDate(2026, 5, 2))
    assert model.setData(model.index(0, 3), 2)
    assert model.items[0] == ActionItem("Upgrade", "Ann", date(2026, 5, 2), ActionState.DONE)
    row = model.add()
    assert model.setData(model.index(row, 0), "New one")
    model.remove(0)
    assert [i.description for i in model.items] == ["Spare", "New one"]
    qtmodeltester.check(model)  # type: ignore[attr-defined]


@pytest.fixture
def incident_id(service: IncidentService, incidents: int) -> int:
    return 3


@pytest.fixture
def exporter(runner: DbRunner) -> Iterator[ReportExporter]:
    made = ReportExporter(runner)
    made.offer_to_open = False
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def form(qtbot: QtBot, database: Database, admin: User, runner: DbRunner, clock: FakeClock,
         exporter: ReportExporter, incident_id: int, run: Await) -> ReviewForm:
    made = ReviewForm(reviews=ReviewService(database.uow_factory, admin.id, clock),
                      reports=ReportService(database.uow_factory, admin.id, clock),
                      runner=runner, exporter=exporter, incident_id=incident_id)
    qtbot.addWidget(made)
    made.show()
    run(made.load())
    return made


def test_a_first_draft_is_written_saved_and_signed_off(form: ReviewForm, run: Await,
                                                       database: Database, admin: User,
                                                       clock: FakeClock,
                                                       incident_id: int) -> None:
    assert form.review is None and "Not begun" in form.ui.statusLabel.text()
    assert "INC0000003" in form.ui.titleLabel.text()
    form.ui.summaryEdit.setPlainText("The printer queue stalled.")
    form.ui.rootCauseEdit.setPlainText("A stuck spooler.")
    row = form.actions_model.add()
    form.actions_model.setData(form.actions_model.index(row, 0), "Restart spooler nightly")
    form.actions_model.setData(form.actions_model.index(row, 1), "Иван")
    assert form.dirty and not form.ui.finalButton.isEnabled()
    assert run(form.save())
    assert form.review is not None and form.review.version == 1 and not form.dirty
    stored = ReviewService(database.uow_factory, admin.id, clock).load(incident_id).review
    assert stored is not None and stored.content.summary == "The printer queue stalled."
    assert stored.content.action_items == (ActionItem("Restart spooler nightly", "Иван"),)
    assert form.ui.finalButton.isEnabled()
    assert run(form.mark_final())
    assert form.review.status == ReviewStatus.FINAL
    assert form.ui.summaryEdit.isReadOnly() and form.ui.draftButton.isVisible()
    assert run(form.make_draft())
    assert not form.ui.summaryEdit.isReadOnly()


def test_a_stale_save_keeps_what_was_typed_and_names_who_saved(
        form: ReviewForm, run: Await, database: Database, admin: User, clock: FakeClock,
        incident_id: int, qtbot: QtBot) -> None:
    form.ui.summaryEdit.setPlainText("Mine")
    assert run(form.save())
    assert form.review is not None
    other = ReviewService(database.uow_factory, admin.id, clock)
    other.save(incident_id, ReviewContent(summary="Theirs"), review_id=form.review.id,
               version=form.review.version)
    form.ui.summaryEdit.setPlainText("Mine, improved")
    assert not run(form.save())
    assert "Desk Administrator" in form.ui.messageLabel.text()
    assert form.ui.summaryEdit.toPlainText() == "Mine, improved"
    box = form.conflict_box
    assert box is not None and box.isVisible()
    box.button(box.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: form.ui.summaryEdit.toPlainText() == "Theirs", timeout=10_000)
    assert form.review.version == 2


def test_export_writes_the_saved_review(form: ReviewForm, run: Await, tmp_path: Path) -> None:
    form.ui.summaryEdit.setPlainText("Exported summary")
    assert run(form.save())
    path = run(form.export_pdf(tmp_path / "review.pdf"))
    assert path == tmp_path / "review.pdf"
    text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Exported summary" in text and "INC0000003" in text
    assert form.ui.exportButton.isEnabled()
    assert Qt.WindowType.Window & form.windowFlags()
