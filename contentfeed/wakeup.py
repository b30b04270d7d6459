"""Waking the router the moment a lead is taken in, instead of on its next poll.

The intake calls ``lead_taken_in`` once a lead is committed; it never raises.

- On SQLite (one machine: the quickstart runs the web server and the scheduler in one
  process) it sets this process's wake events directly (``subscribe``).
- On PostgreSQL the request itself sends ``NOTIFY contentfeed_leads`` on its connection,
  after the lead's commit, but at most once per ``ANNOUNCE_GAP_SECONDS`` in one process:
  one round trip a second at most, and no thread beside the request's. (An announcer
  thread in each web process, sending up to 20 a second, cost the sync workers up to 14 %
  of their leads: BENCHMARKS.md.) The scheduler's leader LISTENs on a connection of its own
  (``Listener``) and sets its wake events; after a wake-up its router keeps looking every
  100 ms for longer than the gap (``scheduler.Waker``), so the leads a process took in
  without announcing them are routed within that, too. A notification carries the sender's
  schema, so installations sharing a database in several schemas wake only their own router.

A lost notification (the listener reconnecting, a web process dying before it sent) costs
only speed: the routing job still runs on its interval, which stays the safety net.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import sqlalchemy as sa

log = logging.getLogger("contentfeed.wakeup")

CHANNEL = "contentfeed_leads"
# The least time between two notifications sent by one web process: the first lead after a
# quiet second goes out at once; those after it are found by the router looking again
# (for ``scheduler.FOLLOW_SECONDS``, twice this).
ANNOUNCE_GAP_SECONDS = 1.0

# --- in this process ------------------------------------------------------------------------

_subscribers_lock = threading.Lock()
_subscribers: set[threading.Event] = set()


def subscribe() -> threading.Event:
    """Return an event set each time a lead is taken in (in this process, or announced by
    NOTIFY to a Listener that wakes it); ``unsubscribe`` it when done."""
    event = threading.Event()
    with _subscribers_lock:
        _subscribers.add(event)
    return event


def unsubscribe(event: threading.Event) -> None:
    """Stop waking an event returned by ``subscribe``."""
    with _subscribers_lock:
        _subscribers.discard(event)


def wake_local() -> None:
    """Set every subscribed event of this process."""
    with _subscribers_lock:
        events = list(_subscribers)
    for event in events:
        event.set()


# --- the intake's side ----------------------------------------------------------------------


def lead_taken_in(conn: sa.Connection) -> None:
    """Tell the router a lead was just committed on ``conn`` (outside any transaction)."""
    if conn.dialect.name != "postgresql":
        wake_local()
        return
    if _announcement.due():
        try:
            notify(conn)
            conn.commit()
        except Exception as exc:  # the lead is kept; the router's interval catches up
            with contextlib.suppress(Exception):
                conn.rollback()
            log.warning(
                "could not wake the router (%s); the routing job's interval catches up",
                type(exc).__name__,
            )


class Announcement:
    """When this process last announced a lead: ``due`` at most once per gap."""

    def __init__(self, gap_seconds: float = ANNOUNCE_GAP_SECONDS) -> None:
        self.gap_seconds = gap_seconds
        self._lock = threading.Lock()
        self._last = -math.inf
        self.announced = 0  # leads announced (a NOTIFY that then fails counts too)

    def due(self) -> bool:
        """Tell whether to announce now (and count it as announced)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.gap_seconds:
                return False
            self._last = now
            self.announced += 1
            return True


_announcement = Announcement()


def notify(conn: sa.Connection) -> None:
    """Send one wake-up notification on ``conn`` (delivered when its transaction commits)."""
    conn.execute(sa.select(sa.func.pg_notify(CHANNEL, sa.func.current_schema())))


# --- the router's side (PostgreSQL) ---------------------------------------------------------


class Listener:
    """LISTEN on a dedicated connection and call ``wake`` for each notification of this
    database schema; reconnect (with growing pauses, logged) when the connection dies.

    After a reconnect it wakes once: a notification sent while it was gone is lost. A
    connection that dies silently (a network cut) is found by a ``SELECT 1`` every
    ``check_seconds``.
    """

    def __init__(
        self,
        engine: sa.Engine,
        wake: Callable[[], None],
        *,
        timeout_seconds: float = 1.0,
        check_seconds: float = 30.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.wake = wake
        self.timeout_seconds = timeout_seconds
        self.check_seconds = check_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.stopping = threading.Event()
        self.listening = threading.Event()  # set while a LISTEN is in place
        self.connection: psycopg.Connection[Any] | None = None
        self.received = 0
        self.reconnects = 0
        self.thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        """Listen in a daemon thread."""
        self.thread = threading.Thread(target=self.run, name="contentfeed-listener", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self) -> None:
        """End the loop (within ``timeout_seconds``) and close the connection."""
        self.stopping.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=self.timeout_seconds + 5)

    def backoff_seconds(self, failures: int) -> float:
        """The pause after ``failures`` failed connections in a row: 0.5 s, doubling, capped."""
        return float(min(0.5 * 2 ** min(failures - 1, 16), self.max_backoff_seconds))

    def run(self) -> None:
        """Listen until stopped; every failure is logged and followed by a reconnect."""
        failures = 0
        while not self.stopping.is_set():
            try:
                schema = self._connect()
                if failures:
                    self.reconnects += 1
                    log.info("listening for new leads again after %d failed attempts", failures)
                    self.wake()  # what was announced while we were gone
                failures = 0
                self._listen(schema)
            except (psycopg.Error, sa.exc.DBAPIError, OSError) as exc:
                failures += 1
                delay = self.backoff_seconds(failures)
                log.warning(
                    "the new-lead listener lost its connection (%s); reconnecting in %.1f s",
                    str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc),
                    delay,
                    exc_info=failures == 1,
                )
                self.stopping.wait(delay)
            finally:
                self._close()

    def _connect(self) -> str:
        """Open the dedicated connection (outside the pool), LISTEN, and return the schema."""
        pooled = self.engine.raw_connection()
        pooled.detach()  # ours alone: it never goes back to the pool
        driver: psycopg.Connection[Any] = pooled.dbapi_connection  # type: ignore[assignment]
        self.connection = driver
        driver.rollback()
        driver.autocommit = True
        row = driver.execute("SELECT current_schema()").fetchone()
        driver.execute(f"LISTEN {CHANNEL}")
        self.listening.set()
        return str(row[0]) if row else ""

    def _listen(self, schema: str) -> None:
        driver = self.connection
        assert driver is not None
        checked = time.monotonic()
        while not self.stopping.is_set():
            for note in driver.notifies(timeout=self.timeout_seconds):
                if note.payload == schema:
                    self.received += 1
                    self.wake()
                if self.stopping.is_set():
                    return
            if time.monotonic() - checked >= self.check_seconds:
                driver.execute("SELECT 1")
                checked = time.monotonic()

    def _close(self) -> None:
        self.listening.clear()
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # it is being thrown away
                log.debug("closing the listener's connection raised", exc_info=True)
