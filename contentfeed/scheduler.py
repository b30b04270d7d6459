"""The scheduler process: APScheduler running each domain's jobs, exactly one active at a time.

Any number of scheduler processes may run (on several hosts, for failover); they elect one
leader. On PostgreSQL the leader holds a session-level advisory lock on a connection of its
own, so the lock disappears the moment the process or its connection dies and a standby
takes over on its next attempt. On SQLite (one machine) the leader holds an exclusive
``flock`` on ``instance/scheduler.lock``, which the kernel releases when the process dies.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import config, db, wakeup

log = logging.getLogger("contentfeed.scheduler")

# The 64-bit key for pg_try_advisory_lock of an installation in the "public" schema:
# "contentfeed" as a number. Installations in other schemas get keys of their own.
ADVISORY_LOCK_KEY = 0x636F6E74656E7466


def leader_lock_key(schema: str) -> int:
    """Return the advisory lock key of the installation in ``schema``.

    Advisory locks are the whole database's, not a schema's, so installations sharing a
    database in several schemas (as the wake-up's NOTIFY allows) would otherwise elect one
    leader among all of them, and the others' leads would never be routed. "public" keeps
    the historical key, so schedulers of the version before this one and of this one never
    lead side by side during an upgrade.
    """
    if schema == "public":
        return ADVISORY_LOCK_KEY
    digest = hashlib.blake2b(f"contentfeed scheduler {schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest()) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class Job:
    """A scheduled entry point: ``run(session)`` is called in its own app context."""

    id: str
    run: Callable[[Session], Any]
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    run_at_start: bool = False  # also run once as soon as this scheduler becomes leader
    # Also run at once whenever the intake announces a new lead (wakeup.py), between the
    # trigger's runs; ``more(result)`` tells that a run left work for another right away.
    wake: bool = False
    more: Callable[[Any], bool] | None = None


def all_jobs() -> list[Job]:
    """Collect every domain's jobs."""
    from contentfeed.accounts import jobs as accounts_jobs
    from contentfeed.customers import jobs as customers_jobs
    from contentfeed.leads import jobs as leads_jobs
    from contentfeed.reports import jobs as reports_jobs
    from contentfeed.routing import jobs as routing_jobs
    from contentfeed.suggestions import jobs as suggestions_jobs

    return [
        *accounts_jobs.JOBS,
        *suggestions_jobs.JOBS,
        *leads_jobs.JOBS,
        *routing_jobs.JOBS,
        *customers_jobs.JOBS,
        *reports_jobs.JOBS,
    ]


def run_job(app: Flask, job: Job) -> Any:
    """Run one job in a fresh app context, committing once, and return its result; failures
    are logged, not raised (the result is then None)."""
    with app.app_context():
        s = db.session()
        try:
            result = job.run(s)
            s.commit()
            # Frequent jobs mostly find nothing to do; only work done is worth a log line.
            level = logging.INFO if _did_work(result) else logging.DEBUG
            log.log(level, "job %s done: %s", job.id, result)
            return result
        except Exception as exc:
            # A job failing on a dead connection must not poison the next run: the session
            # is rolled back (a dead connection is invalidated by SQLAlchemy, and the pool's
            # pre-ping replaces the others) and the next run starts on a fresh session.
            try:
                s.rollback()
            except Exception:  # the connection is gone; the session closes below
                log.debug("rolling back job %s failed", job.id, exc_info=True)
            if db.is_database_down(exc):
                log.warning("job %s: database unavailable (%s)", job.id, _short(exc))
            else:
                log.exception("job %s failed", job.id)
            return None


class Runner:
    """One job's runs, never two at once, from any thread (the trigger's, a wake-up's).

    A run asked for while one is going is not skipped (as APScheduler skips a job at its
    ``max_instances``) but made right after it, once however many asked: a lead committed
    just after a routing run read its batch is routed by the next run, not the next poll.
    """

    def __init__(self, app: Flask, job: Job) -> None:
        self.app = app
        self.job = job
        self._state = threading.Lock()
        self._running = False
        self._pending = False
        self.runs = 0

    def run(self) -> bool:
        """Run the job now, or right after the run going on in another thread; return
        whether this call's runs did any work (False when another thread makes them)."""
        with self._state:
            self._pending = True
            if self._running:
                return False
            self._running = True
        worked = False
        try:
            while True:
                with self._state:
                    if not self._pending:
                        self._running = False
                        return worked
                    self._pending = False
                result = run_job(self.app, self.job)
                self.runs += 1
                worked = worked or _did_work(result)
                if self.job.more is not None and result is not None and self.job.more(result):
                    with self._state:
                        self._pending = True
        except BaseException:
            with self._state:
                self._running = False
            raise


# After a wake-up on PostgreSQL the router looks again every FOLLOW_POLL_SECONDS until
# FOLLOW_SECONDS after the last lead it saw: a web process announces at most one lead per
# wakeup.ANNOUNCE_GAP_SECONDS, and the leads it takes in meanwhile are found so. Longer than
# the gap by construction: a lead taken in unannounced comes within the gap after one that was.
FOLLOW_POLL_SECONDS = 0.1
FOLLOW_SECONDS = 2 * wakeup.ANNOUNCE_GAP_SECONDS


class Waker:
    """A thread that runs a job whenever a new lead is announced in this process (on
    PostgreSQL the Listener passes each NOTIFY on as such an announcement).

    With ``follow_seconds`` it keeps running the job every ``poll_seconds`` after a wake-up,
    until that long after the last wake-up or run that found work.
    """

    def __init__(
        self,
        runner: Runner,
        *,
        follow_seconds: float = 0.0,
        poll_seconds: float = FOLLOW_POLL_SECONDS,
    ) -> None:
        self.runner = runner
        self.follow_seconds = follow_seconds
        self.poll_seconds = poll_seconds
        self.event = wakeup.subscribe()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"wake-{runner.job.id}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        following_until = -math.inf
        while not self.stopping.is_set():
            following = time.monotonic() < following_until
            woken = self.event.wait(timeout=self.poll_seconds if following else 1.0)
            if self.stopping.is_set():
                return
            if woken:
                self.event.clear()  # wake-ups during the run set it again: one more run
            elif not following:
                continue
            worked = self.runner.run()
            if woken or worked:
                following_until = time.monotonic() + self.follow_seconds

    def stop(self) -> None:
        """Stop waking (a run going on is finished first)."""
        wakeup.unsubscribe(self.event)
        self.stopping.set()
        self.event.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=60)


def _short(exc: BaseException) -> str:
    """The first line of an error, for a log line that repeats during an outage."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _did_work(result: object) -> bool:
    """Tell whether a job's result counts anything (numbers, or a dataclass of numbers)."""
    if result is None:
        return False
    if isinstance(result, bool):
        return result
    if isinstance(result, int):
        return result != 0
    fields = getattr(result, "__dataclass_fields__", None)
    if fields:
        return any(_did_work(getattr(result, name)) for name in fields)
    return True


class LeaderLock(Protocol):
    """Leadership among scheduler processes; each method may raise when the database is down."""

    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLeaderLock:
    """Leadership as a PostgreSQL advisory lock held by a dedicated connection.

    A lost connection (the database restarted, the backend was terminated) is never used
    again: it is invalidated, so the pool drops it and the next attempt connects afresh.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.connection: sa.Connection | None = None
        self.key: int | None = None  # leader_lock_key of the connection's schema, once read

    def try_acquire(self) -> bool:
        connection = self.engine.connect()
        try:
            if self.key is None:
                self.key = leader_lock_key(
                    str(connection.scalar(sa.select(sa.func.current_schema())))
                )
            got = connection.scalar(sa.select(sa.func.pg_try_advisory_lock(self.key)))
            connection.commit()
        except BaseException:
            _discard(connection)
            raise
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self.connection is None:
            return False
        held = self.connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": self.key},
        )
        self.connection.commit()
        return bool(held)

    def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.scalar(sa.select(sa.func.pg_advisory_unlock(self.key)))
            connection.commit()
        except Exception:
            # The connection is gone or in a failed transaction; the server drops the lock
            # with the session, so there is nothing left to release.
            _discard(connection)
        else:
            connection.close()


def _discard(connection: sa.Connection) -> None:
    """Drop a connection that failed: invalidated, it never goes back to the pool."""
    try:
        connection.invalidate()
        connection.close()
    except Exception:  # it is being thrown away; nothing to do about it
        log.debug("closing a failed scheduler connection raised", exc_info=True)


class FileLeaderLock:
    """Leadership as an exclusive flock on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def still_held(self) -> bool:
        return self.handle is not None

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def leader_lock(app: Flask) -> LeaderLock:
    """Return the right kind of leader lock for the app's database."""
    with app.app_context():
        engine = db.engine()
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    return FileLeaderLock(Path(config.settings_of(app).instance_path) / "scheduler.lock")


class SchedulerProcess:
    """Stand by until elected, then run the jobs; step down when leadership is lost."""

    def __init__(
        self,
        app: Flask,
        jobs: list[Job] | None = None,
        poll_seconds: float = 5.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.jobs = jobs if jobs is not None else all_jobs()
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max(max_backoff_seconds, poll_seconds)
        self.lock = leader_lock(app)
        self.stopping = threading.Event()
        self.is_leader = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.wakers: list[Waker] = []
        self.listener: wakeup.Listener | None = None

    def _start_jobs(self) -> None:
        scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        # The web processes announce leads by NOTIFY (at most one a second each): the
        # leader listens for them, and its router follows a wake-up with a closer look.
        listens = isinstance(self.lock, PostgresLeaderLock)
        for job in self.jobs:
            run: Callable[[], Any] = functools.partial(run_job, self.app, job)
            if job.wake:
                runner = Runner(self.app, job)
                run = runner.run
                follow = FOLLOW_SECONDS if listens else 0.0
                self.wakers.append(Waker(runner, follow_seconds=follow))
            if job.run_at_start:
                scheduler.add_job(
                    run,
                    "date",
                    id=f"{job.id}.at_start",
                    name=f"{job.description or job.id} (at start)",
                )
            scheduler.add_job(
                run, job.trigger, id=job.id, name=job.description or job.id, **job.trigger_args
            )
        scheduler.start()
        self.scheduler = scheduler
        if self.wakers and isinstance(self.lock, PostgresLeaderLock):
            self.listener = wakeup.Listener(self.lock.engine, wakeup.wake_local)
            self.listener.start()

    def _stop_jobs(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()
        wakers, self.wakers = self.wakers, []
        for waker in wakers:
            waker.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None

    def run(self) -> None:
        """Loop until stopped: try to lead, run jobs while leading, re-check leadership.

        Only stop() ends the loop. A database outage (or any other failure) makes this
        process step down, wait with growing pauses, and compete again once the database
        answers; the jobs start afresh when it leads again.
        """
        log.info("scheduler standing by (%s)", type(self.lock).__name__)
        failures = 0
        try:
            while not self.stopping.is_set():
                try:
                    self._check_leadership()
                except Exception as exc:  # the loop outlives every failure
                    failures += 1
                    delay = self.backoff_seconds(failures)
                    log.warning(
                        "scheduler %s (%s); standing by, trying again in %.1f s",
                        "cannot reach the database"
                        if db.is_database_down(exc)
                        else "failed checking its leadership",
                        _short(exc),
                        delay,
                        exc_info=failures == 1,  # the whole story once per outage
                    )
                    self._step_down()
                    self.stopping.wait(delay)
                    continue
                if failures:
                    log.info("scheduler reached the database again after %d attempts", failures)
                    failures = 0
                self.stopping.wait(self.poll_seconds)
        finally:
            self._step_down()

    def _check_leadership(self) -> None:
        if not self.is_leader.is_set():
            if self.lock.try_acquire():
                log.info("scheduler elected leader; running %d jobs", len(self.jobs))
                self.is_leader.set()
                self._start_jobs()
        elif not self.lock.still_held():
            log.warning("scheduler lost leadership; standing by")
            self._step_down()

    def _step_down(self) -> None:
        """Stop the jobs and give up the lock; never raises (the loop must go on)."""
        try:
            self._stop_jobs()
        except Exception:
            log.exception("stopping the scheduler's jobs failed")
            self.scheduler = None
        try:
            self.lock.release()
        except Exception:
            log.exception("releasing the scheduler's leadership failed")
        self.is_leader.clear()

    def backoff_seconds(self, failures: int) -> float:
        """Return how long to wait after ``failures`` failed attempts in a row: at most a
        second the first time (a restarted database is usually back by then, and a standby
        should lead again within seconds), then doubling up to the longest pause."""
        first = min(self.poll_seconds, 1.0)
        return float(min(first * 2 ** min(failures - 1, 16), self.max_backoff_seconds))

    def start_in_thread(self) -> threading.Thread:
        """Run the loop in a daemon thread (quickstart: web server and scheduler in one process)."""
        thread = threading.Thread(target=self.run, name="contentfeed-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the loop to end and release leadership."""
        self.stopping.set()
