"""Live updates: a thread listens to the database's change feed and tells the GUI thread."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from deskapp.domain.errors import DatabaseUnavailableError, LoginRefusedError
from deskapp.services.ports import ChangeFeed

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.5
"""How long one wait blocks: also how long stopping can take."""
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0)
"""Pauses between reconnection attempts; the last one repeats."""


class LiveUpdates(QObject):
    """Hears changes committed by anyone and reports them on the GUI thread.

    The feed is opened and used only in the listener thread (a psycopg connection is not
    shared between threads); results cross to the GUI thread through the event loop.

    Signals:
        changed(ChangeNotice): incidents changed in the database.
        connection_lost(str): the feed lost its connection; the argument says why. It keeps
            trying to reconnect.
        connection_restored(): connected again; changes in between were not heard, so
            everything shown should be reloaded.
        login_refused(str): the server refuses the login (the person was deactivated); the
            argument says so in words. The listener has stopped: retrying cannot help.
    """

    changed = Signal(object)
    connection_lost = Signal(str)
    connection_restored = Signal()
    login_refused = Signal(str)

    def __init__(self, open_feed: Callable[[], ChangeFeed],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_feed = open_feed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = True

    @property
    def connected(self) -> bool:
        """False from a lost connection until it is back."""
        return self._connected

    def start(self) -> None:
        """Start listening (needs a running event loop to deliver to)."""
        if self._thread is not None:
            return  # one listener per window, started once
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="deskapp live updates",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; the thread ends on its own within one wait (or one connect).

        Never joined here: this runs on the GUI thread (a window closing), and a connect to
        a server that went away can block for seconds. Nothing is delivered once stopped.
        """
        self._stop.set()

    @property
    def running(self) -> bool:
        """True while the listener thread is alive (it may still be ending after stop())."""
        return self._thread is not None and self._thread.is_alive()

    # --- the listener thread --------------------------------------------------------------

    def _listen(self) -> None:
        feed: ChangeFeed | None = None
        attempt = 0
        try:
            while not self._stop.is_set():
                if feed is None:
                    feed = self._connect(attempt)
                    if feed is None:
                        attempt += 1
                        self._stop.wait(RETRY_SECONDS[min(attempt - 1, len(RETRY_SECONDS) - 1)])
                        continue
                    if attempt:
                        self._deliver(self._on_restored)
                    attempt = 0
                try:
                    notice = feed.wait(WAIT_SECONDS)
                except DatabaseUnavailableError as exc:
                    log.warning("Live updates lost the database: %s", exc)
                    self._close(feed)
                    feed = None
                    attempt = 1
                    self._deliver(functools.partial(self._on_lost, str(exc)))
                    continue
                if notice is not None and not self._stop.is_set():
                    self._deliver(functools.partial(self.changed.emit, notice))
        except Exception:  # a bug: log it rather than die silently in a thread
            log.exception("Live updates stopped")
        finally:
            if feed is not None:
                self._close(feed)

    def _connect(self, attempt: int) -> ChangeFeed | None:
        try:
            return self._open_feed()
        except LoginRefusedError as exc:
            log.warning("Live updates: the database refuses this login: %s", exc)
            self._deliver(functools.partial(self._on_refused, str(exc)))
            self._stop.set()  # ends the loop: the login stays refused however often we try
            return None
        except DatabaseUnavailableError as exc:
            if attempt == 0:
                self._deliver(functools.partial(self._on_lost, str(exc)))
            return None

    @staticmethod
    def _close(feed: ChangeFeed) -> None:
        try:
            feed.close()
        except Exception:  # closing a broken connection may fail in many ways
            log.debug("Closing the change feed failed", exc_info=True)

    def _deliver(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the application is ending
            loop.call_soon_threadsafe(callback)

    # --- the GUI thread -----------------------------------------------------------------

    def _on_lost(self, message: str) -> None:
        self._connected = False
        self.connection_lost.emit(message)

    def _on_restored(self) -> None:
        self._connected = True
        self.connection_restored.emit()

    def _on_refused(self, message: str) -> None:
        self._connected = False
        self.login_refused.emit(message)
