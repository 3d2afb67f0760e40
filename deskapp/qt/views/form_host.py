"""Opens the call form and incident forms as windows of their own, beside the main window.

Windows rather than tabs: an agent puts a caller's incident next to the queue, or two
incidents side by side, and the window manager already knows how. One window per incident:
opening it again brings the open one forward. One call form, reused call after call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWidgets import QMainWindow, QWidget

from deskapp.domain.people import User
from deskapp.qt.drafts import CALL_KEY, Draft, DraftKeeper, DraftStore, ask_about
from deskapp.qt.runner import DbRunner
from deskapp.services.catalog import CatalogService
from deskapp.services.incidents import IncidentService, utc_now
from deskapp.services.permissions import Permission, allowed
from deskapp.services.ports import Clock
from deskapp.user_settings import CallFormDefaults

if TYPE_CHECKING:
    # Imported when the first form opens: the forms are not part of the queue window's start.
    from deskapp.qt.views.call_form import CallForm
    from deskapp.qt.views.incident_form import IncidentForm

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
                 clock: Clock = utc_now, drafts: DraftStore | None = None,
                 call_defaults: CallFormDefaults | None = None) -> None:
        super().__init__(window)
        self._drafts = drafts
        self._keepers: dict[str, DraftKeeper] = {}
        self.call_defaults = call_defaults or CallFormDefaults()
        """What a new call starts with (Settings > Call form)."""
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

    def open_call_form(self) -> CallForm | None:
        """Show the call form (Ctrl+N), building it the first time.

        None, with a word in the status bar, for a role that may not log calls (managers):
        the form would only fail on Save.
        """
        if not allowed(self._user, Permission.LOG):
            if isinstance(self._window, QMainWindow):
                self._window.statusBar().showMessage(
                    f"Your role ({self._user.role.value}) does not log calls.", 8000)
            return None
        form = self._call_form
        if form is None:
            from deskapp.qt.views.call_form import CallForm

            form = CallForm(incidents=self._incidents, catalog=self._catalog,
                            runner=self._runner, user=self._user, clock=self._clock,
                            parent=self._window)
            form.resize(*CALL_FORM_SIZE)
            form.defaults = self.call_defaults
            form.saved.connect(self.changed)
            form.open_incident_requested.connect(self.open_incident)
            form.closed.connect(self._call_form_closed)
            self._keep_drafts(form, CALL_KEY, lambda: "call", None)
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
            from deskapp.qt.views.incident_form import IncidentForm

            form = IncidentForm(incident_id, incidents=self._incidents, catalog=self._catalog,
                                runner=self._runner, user=self._user, clock=self._clock,
                                parent=self._window)
            form.resize(*INCIDENT_FORM_SIZE)
            form.saved.connect(self.changed)
            form.open_incident_requested.connect(self.open_incident)
            form.closed.connect(lambda i=incident_id: self._incident_form_closed(i))
            self._keep_drafts(form, f"incident-{incident_id}", _number_of(form), incident_id)
            self._incident_forms[incident_id] = form
            form.show()
            form.activateWindow()
            self._runner.spawn(form.start(), name=f"open incident {incident_id}")
        else:
            form.bring_forward()
        return form

    def check_open_incidents(self) -> None:
        """Changes were made or heard of: each open incident form looks whether its incident
        is one of them (a form with nothing unsaved shows the new version, one with unsaved
        changes says who changed what)."""
        for form in self._incident_forms.values():
            form.check_for_changes()

    def close_all(self) -> None:
        """Close every form without asking (the application is quitting).

        What a form holds unsaved is kept as a draft, offered back at the next start.
        """
        for keeper in list(self._keepers.values()):
            keeper.write()
            keeper.stop()
        self._keepers.clear()
        if self._call_form is not None:
            self._call_form.discard()
        for form in list(self._incident_forms.values()):
            form.discard()

    def _call_form_closed(self) -> None:
        self._drop_keeper(CALL_KEY)
        if self._call_form is not None:
            self._call_form.deleteLater()
        self._call_form = None

    def _incident_form_closed(self, incident_id: int) -> None:
        self._drop_keeper(f"incident-{incident_id}")
        form = self._incident_forms.pop(incident_id, None)
        if form is not None:
            form.deleteLater()

    # --- drafts -------------------------------------------------------------------------

    def keeper(self, key: str) -> DraftKeeper | None:
        """The draft keeper of an open form ("call", "incident-<id>"), for tests."""
        return self._keepers.get(key)

    def set_call_defaults(self, defaults: CallFormDefaults) -> None:
        """Start new calls with ``defaults`` from now on."""
        self.call_defaults = defaults
        if self._call_form is not None:
            self._call_form.defaults = defaults

    def _keep_drafts(self, form: CallForm | IncidentForm, key: str,
                     title: Callable[[], str], incident_id: int | None) -> None:
        if self._drafts is None:
            return
        keeper = DraftKeeper(form, self._drafts, key, title, incident_id=incident_id)
        # Saved: nothing is unsaved any more (typing on starts a new draft).
        form.saved.connect(lambda _change: keeper.forget())
        self._keepers[key] = keeper

    def _drop_keeper(self, key: str) -> None:
        # Closed by the agent: saved, or its work discarded on purpose. (Quitting keeps
        # drafts: close_all stops the keepers first.)
        keeper = self._keepers.pop(key, None)
        if keeper is not None:
            keeper.forget()
            keeper.stop()

    async def offer_drafts(self) -> list[Draft]:
        """Ask about each draft left by an earlier run; restore the ones the agent wants.

        Returns:
            The drafts restored into forms.
        """
        if self._drafts is None:
            return []
        restored = []
        for draft in self._drafts.all():
            if draft.incident_id is None and not allowed(self._user, Permission.LOG):
                continue  # a call the role may no longer log: kept, not offered
            answer = await ask_about(self._window, draft)
            if answer is None:
                continue  # "Later": asked again at the next start
            if not answer:
                self._drafts.delete(draft.key)
                continue
            if draft.incident_id is None:
                await self._restore_call(draft)
            else:
                await self._restore_incident(draft, draft.incident_id)
            restored.append(draft)
        return restored

    async def _restore_call(self, draft: Draft) -> None:
        existing = self._call_form is not None
        form = self.open_call_form()
        if form is None:
            return  # kept, for when the role may log calls again
        if not existing and not await _next(form.ready):
            return
        keeper = self._keepers.get(CALL_KEY)
        if keeper is not None:
            keeper.restore(draft)

    async def _restore_incident(self, draft: Draft, incident_id: int) -> None:
        existing = incident_id in self._incident_forms
        form = self.open_incident(incident_id)
        if not existing and not await _next(form.loaded):
            return
        keeper = self._keepers.get(draft.key)
        if keeper is not None:
            keeper.restore(draft)


def _number_of(form: IncidentForm) -> Callable[[], str]:
    def number() -> str:
        detail = form.detail
        return detail.number if detail is not None else "the incident"
    return number


async def _next(signal: SignalInstance, timeout_s: float = 60) -> bool:
    """Wait for ``signal``'s next emission; False if it did not come in time."""
    fired: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(*_args: object) -> None:
        if not fired.done():
            fired.set_result(None)

    signal.connect(done)
    try:
        await asyncio.wait_for(fired, timeout_s)
    except TimeoutError:
        return False
    finally:
        signal.disconnect(done)
    return True
