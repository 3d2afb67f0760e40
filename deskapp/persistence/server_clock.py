""""Now" by the database server's clock, for desks that many desktops share.

Each desktop stamps what it writes (an incident's opening, a timeline entry, SLA due times,
who changed a caller when) with the clock the services are given. On a shared PostgreSQL
desk, desktops whose clocks disagree by a minute would order one incident's timeline wrongly
and start its SLA clock from different times. ``ServerClock`` reads the local clock plus the
offset to the server's clock, measured when the database is opened and again in the
background once the measurement is older than ``refresh_after``: reading it costs no round
trip, so it may be read anywhere (the queue's SLA column reads it on the GUI thread).

The offset is the server's time minus the midpoint of the local times before and after the
query (the server answered somewhere in between); of a few queries, the one with the
shortest round trip is kept, whose midpoint is the tightest.

A SQLite desk lives on one host: its clock is the local one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

REFRESH_SECONDS = 300.0
"""A measurement older than this is refreshed (in the background) when the clock is read."""
RETRY_SECONDS = 30.0
"""After a failed refresh (the server away), the next is tried this much later."""
SAMPLES = 3
"""Queries per measurement; the one with the shortest round trip is kept."""


def local_utc_now() -> datetime:
    """This host's clock, in UTC."""
    return datetime.now(UTC)


class ServerClock:
    """A clock that follows the database server's, read without a round trip.

    Args:
        engine: The PostgreSQL engine to measure against.
        local: This host's clock (tests give it a skewed one).
        monotonic: Seconds for the age of a measurement, immune to the local clock's steps.
        refresh_after: Seconds after which a read starts a new measurement in the background.
    """

    def __init__(self, engine: Engine, *, local: Callable[[], datetime] = local_utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 refresh_after: float = REFRESH_SECONDS) -> None:
        self._engine = engine
        self._local = local
        self._monotonic = monotonic
        self._refresh_after = refresh_after
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._round_trip: timedelta | None = None
        self._due = monotonic()  # the first read measures, unless measure() ran first
        self._refreshing: threading.Thread | None = None
        self._closed = False

    @property
    def offset(self) -> timedelta:
        """The server's clock minus the local clock, as last measured."""
        return self._offset

    @property
    def round_trip(self) -> timedelta | None:
        """The round trip of the query the offset came from (its uncertainty is half that);
        None before the first measurement."""
        return self._round_trip

    def measure(self) -> timedelta:
        """Ask the server for its time now and keep the offset; returns it.

        Raises:
            sqlalchemy.exc.DBAPIError: the server cannot be asked.
        """
        best: tuple[timedelta, timedelta] | None = None
        with self._engine.connect() as connection:
            for _ in range(SAMPLES):
                before = self._local()
                server = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
                after = self._local()
                trip = after - before
                if best is None or trip < best[1]:
                    best = (server - (before + trip / 2), trip)
            connection.rollback()
        assert best is not None
        with self._lock:
            self._offset, self._round_trip = best
            self._due = self._monotonic() + self._refresh_after
        return best[0]

    def __call__(self) -> datetime:
        if self._monotonic() >= self._due:
            self._refresh_in_background()
        return self._local() + self._offset

    def _refresh_in_background(self) -> None:
        with self._lock:
            if self._closed or self._monotonic() < self._due or (
                    self._refreshing is not None and self._refreshing.is_alive()):
                return
            self._refreshing = threading.Thread(target=self._refresh, daemon=True,
                                                name="server clock")
            self._refreshing.start()

    def _refresh(self) -> None:
        try:
            offset = self.measure()
        except Exception as exc:  # the server away: keep the offset, try again later
            log.warning("Could not read the database server's clock: %s",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            with self._lock:
                self._due = self._monotonic() + RETRY_SECONDS
        else:
            log.debug("Database server clock offset: %s", offset)

    def wait_for_refresh(self, timeout: float) -> bool:
        """Wait for a background refresh in progress; True if none is running now."""
        thread = self._refreshing
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Start no more refreshes; wait a little for one in progress (before the engine
        is disposed)."""
        with self._lock:
            self._closed = True
        self.wait_for_refresh(timeout)
