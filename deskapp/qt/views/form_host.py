"""Opens the call form and incident forms as windows of their own, beside the main window.

Windows rather than tabs: an agent puts a caller's incident next to the queue, or two
incidents side by side, and the window manager already knows how. One window per incident:
opening it again brings the open one forward. One call form, reused call after call.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from deskapp.domain.people import User
from deskapp.qt.runner import DbRunner
from deskapp.qt.views.call_form import CallForm
from deskapp.qt.views.incident_form import IncidentForm
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService, utc_now
from deskapp.services.ports import Clock

log = logging.getLogger(__name__)

CALL_FORM_SIZE = (1180, 760)
INCIDENT_FORM_SIZE = (1320, 860)


class FormHost(QObject):
    """Keeps the open forms; their windows are children of ``window`` and close with it.

    Signals:
        changed(object): a form saved something; the argument is the service's Change.
    """

    changed = Signal(object)

    def __init__(self, *, incidents: IncidentService, catalog: CatalogService,
                 runner: DbRunner, user: User, window: QWidget,
                 clock: Clock = utc_now) -> None:
        super().__init__(window)
        self._incidents = incidents
        self._catalog = catalog
        self._runner = runner
        self._user = user
        self._window = window
        self._clock = clock
        self._call_form: CallForm | None = None
        self._incident_forms: dict[int, IncidentForm] = {}

    @property
    def call_form(self) -> CallForm | None:
        return self._call_form

    @property
    def incident_forms(self) -> dict[int, IncidentForm]:
        """The open detail forms, by incident id."""
        return dict(self._incident_forms)

    def open_call_form(self) -> CallForm:
        """Show the call form (Ctrl+N), building it the first time."""
        form = self._call_form
        if form is None:
            form = CallForm(incidents=self._incidents, catalog=self._catalog,
                            runner=self._runner, user=self._user, clock=self._clock,
                            parent=self._window)
            form.resize(*CALL_FORM_SIZE)
            form.saved.connect(self.changed)
            form.open_incident_requested.connect(self.open_incident)
            form.closed.connect(self._call_form_closed)
            self._call_form = form
            form.show()
            self._runner.spawn(form.start(), name="call form start")
            form.begin_call(bring_forward=False)
        else:
            form.begin_call()
        return form

    def open_incident(self, incident_id: int) -> IncidentForm:
        """Show the incident's detail form (Enter in the queue); bring it forward if open."""
        form = self._incident_forms.get(incident_id)
        if form is None:
            form = IncidentForm(incident_id, incidents=self._incidents, catalog=self._catalog,
                                runner=self._runner, user=self._user, clock=self._clock,
                                parent=self._window)
            form.resize(*INCIDENT_FORM_SIZE)
            form.saved.connect(self.changed)
            form.open_incident_requested.connect(self.open_incident)
            form.closed.connect(lambda i=incident_id: self._incident_form_closed(i))
            self._incident_forms[incident_id] = form
            form.show()
            form.activateWindow()
            self._runner.spawn(form.start(), name=f"open incident {incident_id}")
        else:
            form.bring_forward()
        return form

    def close_all(self) -> None:
        """Close every form without asking (the application is quitting)."""
        if self._call_form is not None:
            self._call_form.discard()
        for form in list(self._incident_forms.values()):
            form.discard()

    def _call_form_closed(self) -> None:
        if self._call_form is not None:
            self._call_form.deleteLater()
        self._call_form = None

    def _incident_form_closed(self, incident_id: int) -> None:
        form = self._incident_forms.pop(incident_id, None)
        if form is not None:
            form.deleteLater()
