"""The scheduler process: one leader, a standby taking over, jobs in their own app context."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import db
from contentfeed.accounts.jobs import purge_login_failures
from contentfeed.accounts.models import LoginFailure
from contentfeed.db import utcnow
from contentfeed.scheduler import Job, SchedulerProcess, run_job


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_only_one_of_two_schedulers_leads_and_the_standby_takes_over(app: Flask) -> None:
    first = SchedulerProcess(app, jobs=[], poll_seconds=0.05)
    second = SchedulerProcess(app, jobs=[], poll_seconds=0.05)
    first.start_in_thread()
    assert wait_until(first.is_leader.is_set)
    second.start_in_thread()
    time.sleep(0.3)
    assert not second.is_leader.is_set(), "two schedulers were active at once"
    first.stop()  # the leader dies
    assert wait_until(second.is_leader.is_set), "the standby did not take over"
    second.stop()
    assert wait_until(lambda: not second.is_leader.is_set())


def test_jobs_run_in_their_own_app_context_and_commit(app: Flask) -> None:
    ran: list[str] = []

    def record(s: Session) -> None:
        ran.append(s.bind.dialect.name if s.bind else "?")  # type: ignore[union-attr]
        s.add(LoginFailure(key="job-wrote-this", failures=1))

    run_job(app, Job(id="test.record", run=record, trigger="interval"))
    assert ran
    with app.app_context():
        assert db.session().get(LoginFailure, "job-wrote-this") is not None


def test_a_failing_job_rolls_back_and_does_not_raise(app: Flask) -> None:
    def broken(s: Session) -> None:
        s.add(LoginFailure(key="never-committed", failures=1))
        raise RuntimeError("boom")

    run_job(app, Job(id="test.broken", run=broken, trigger="interval"))
    with app.app_context():
        assert db.session().get(LoginFailure, "never-committed") is None


def test_purge_forgets_old_failures_only(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        s = db.session()
        s.add_all(
            [
                LoginFailure(key="old", failures=3, first_failed_at=now - timedelta(days=2)),
                LoginFailure(key="fresh", failures=3, first_failed_at=now),
                LoginFailure(
                    key="old-but-locked",
                    failures=9,
                    first_failed_at=now - timedelta(days=2),
                    locked_until=now + timedelta(minutes=5),
                ),
            ]
        )
        s.commit()
        assert purge_login_failures(s) == 1
        s.commit()
        keys = set(s.scalars(sa.select(LoginFailure.key)))
    assert keys == {"fresh", "old-but-locked"}


@pytest.mark.postgresql_only
def test_postgres_leader_lock_is_released_when_its_connection_dies(pg_app: Flask) -> None:
    app = pg_app
    first = SchedulerProcess(app, jobs=[], poll_seconds=0.05)
    second = SchedulerProcess(app, jobs=[], poll_seconds=0.05)
    assert first.lock.try_acquire()
    assert not second.lock.try_acquire()
    first.lock.connection.invalidate()  # type: ignore[attr-defined]  # the process "dies"
    first.lock.connection = None  # type: ignore[attr-defined]
    assert wait_until(second.lock.try_acquire)
    second.lock.release()
