"""The main window's Reports menu: the post-incident review of the selected incident, and the
period report for management."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtGui import QAction, QGuiApplication

from deskapp.domain.people import User
from deskapp.qt.roles import ItemRole
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.main_window import MainWindow
from deskapp.qt.widgets.path_dialog import PathDialog
from deskapp.services.incidents import utc_now
from deskapp.services.ports import Clock, UnitOfWorkFactory
from deskapp.services.queues import QueueService

if TYPE_CHECKING:
    from deskapp.qt.views.report_dialogs import ReportExporter
    from deskapp.qt.views.review_form import ReviewForm
    from deskapp.services.report_data import PeriodFilters, ReportService
    from deskapp.services.reviews import ReviewService

log = logging.getLogger(__name__)

STATUS_MS = 15_000
REVIEW_FORM_SIZE = (980, 860)


class ReportsMenu(QObject):
    """The Reports menu and what its actions do; a child of the window (``findChild``)."""

    def __init__(self, window: MainWindow, *, uow_factory: UnitOfWorkFactory, runner: DbRunner,
                 user: User, clock: Clock = utc_now) -> None:
        super().__init__(window)
        self.setObjectName("reportsMenu")
        self._window = window
        self._runner = runner
        self._clock = clock
        self._uow_factory = uow_factory
        self._user = user
        self._queues = QueueService(uow_factory, user.id, clock)
        self.forms: dict[int, ReviewForm] = {}

        menu = window.menuBar().addMenu("&Reports")
        menu.setObjectName("reportsMenu")
        self.menu = menu
        self.review_action = QAction("Post-incident &review…", window)
        self.review_action.setObjectName("actionReview")
        self.review_action.setStatusTip("Write or export the review of the selected incident")
        self.review_action.triggered.connect(self.open_review_of_selected)
        self.period_action = QAction("&Period report…", window)
        self.period_action.setObjectName("actionPeriodReport")
        self.period_action.setStatusTip("A PDF report for management over a range of days")
        self.period_action.triggered.connect(
            lambda: runner.spawn(self.period_report(), name="period report"))
        menu.addAction(self.review_action)
        menu.addAction(self.period_action)
        window.closed.connect(self.close)

    # The services and the exporter (and the report modules they import) are made on first
    # use: they are no part of the queue window's start.

    @cached_property
    def reviews(self) -> ReviewService:
        """Post-incident reviews, as the signed-in user."""
        from deskapp.services.reviews import ReviewService

        return ReviewService(self._uow_factory, self._user.id, self._clock)

    @cached_property
    def reports(self) -> ReportService:
        """The data of the reports, as the signed-in user."""
        from deskapp.services.report_data import ReportService

        return ReportService(self._uow_factory, self._user.id, self._clock)

    @cached_property
    def exporter(self) -> ReportExporter:
        """Writes PDFs in the reports' own thread."""
        from deskapp.qt.views.report_dialogs import ReportExporter

        return ReportExporter(self._runner, self)

    def selected_incident(self) -> int | None:
        """The id of the incident selected in the window's table, if any."""
        value = self._window.table.currentIndex().data(ItemRole.ID)
        return int(value) if value is not None else None

    def open_review_of_selected(self) -> ReviewForm | None:
        """Open the review form of the selected incident (or say that none is selected)."""
        incident_id = self.selected_incident()
        if incident_id is None:
            self._window.statusBar().showMessage("Select an incident to review first.",
                                                 STATUS_MS)
            return None
        return self.open_review(incident_id)

    def open_review(self, incident_id: int) -> ReviewForm:
        """Open (or bring forward) the review form of an incident."""
        # reportlab and the review form load on first use: they would add about a second and
        # 13 MiB to every start.
        from deskapp.qt.views.review_form import ReviewForm

        form = self.forms.get(incident_id)
        if form is None:
            form = ReviewForm(reviews=self.reviews, reports=self.reports, runner=self._runner,
                              exporter=self.exporter, incident_id=incident_id,
                              parent=self._window)
            form.resize(*REVIEW_FORM_SIZE)
            form.changed.connect(self._window.apply_change)
            form.destroyed.connect(lambda *_: self.forms.pop(incident_id, None))
            self.forms[incident_id] = form
            self._runner.spawn(form.load(), name="load review")
        form.show()
        # Platforms without a window stack (offscreen, minimal) only warn about raising.
        if QGuiApplication.platformName() not in ("offscreen", "minimal"):
            form.raise_()
        form.activateWindow()
        return form

    async def period_report(self, path: Path | None = None,
                            filters: PeriodFilters | None = None) -> Path | None:
        """Ask for the filters and a file, then make the period report off the GUI thread."""
        from deskapp.qt.views.report_dialogs import PDF_FILTER, PeriodReportDialog

        window = self._window
        if filters is None:
            choices = await self._runner.db(self._queues.choices)
            matrix = await self._runner.db(self.reports.priority_choices)
            filters = await PeriodReportDialog.ask(window, choices, matrix,
                                                   self._clock().astimezone().date())
            if filters is None:
                return None
        if path is None:
            folder = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.DocumentsLocation)
            name = f"Incidents {filters.first_day:%Y-%m-%d} to {filters.last_day:%Y-%m-%d}.pdf"
            path = await PathDialog.ask(window, title="Save the period report",
                                        filters=[PDF_FILTER], save=True, default_suffix="pdf",
                                        start=Path(folder) / name)
            if path is None:
                return None
        from deskapp.reports.period_pdf import period_pdf

        chosen = filters
        written = await self.exporter.export(
            window, f"the report for {chosen.first_day:%Y-%m-%d} to {chosen.last_day:%Y-%m-%d}",
            lambda: self.reports.period_report(chosen), period_pdf, path)
        if written is not None:
            window.statusBar().showMessage(f"Saved {written} at {datetime.now():%H:%M}.",
                                           STATUS_MS)
        return written

    def close(self) -> None:
        """Stop the reports' thread; the forms close with the window."""
        if "exporter" in self.__dict__:  # made on first use
            self.exporter.close()


def install_reports_menu(window: MainWindow, *, uow_factory: UnitOfWorkFactory,
                         runner: DbRunner, user: User, clock: Clock = utc_now) -> ReportsMenu:
    """Add the Reports menu (Post-incident review…, Period report…) to ``window``.

    The menu's controller is a child of the window: ``window.findChild(ReportsMenu)``.
    """
    return ReportsMenu(window, uow_factory=uow_factory, runner=runner, user=user, clock=clock)
