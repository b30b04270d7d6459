"""The scheduler process: one leader, a standby taking over, jobs in their own app context."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import db, scheduler
from contentfeed.accounts.jobs import purge_login_failures
from contentfeed.accounts.models import LoginFailure
from contentfeed.db import utcnow
from contentfeed.scheduler import Job, PostgresLeaderLock, SchedulerProcess, run_job


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
def test_installations_in_two_schemas_of_one_database_each_have_a_leader(pg_app: Flask) -> None:
    """Advisory locks are the database's: each schema's installation needs a key of its own,
    or one installation's scheduler would lead for all and the others' leads wait forever."""
    other = f"cfother_{uuid.uuid4().hex[:8]}"
    with pg_app.app_context():
        url = db.engine().url
    admin = sa.create_engine(url.update_query_dict({"options": "-csearch_path=public"}))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{other}"'))
    there = sa.create_engine(url.update_query_dict({"options": f"-csearch_path={other}"}))
    here = SchedulerProcess(pg_app, jobs=[], poll_seconds=0.05).lock
    neighbour = PostgresLeaderLock(there)
    rival = SchedulerProcess(pg_app, jobs=[], poll_seconds=0.05).lock
    try:
        assert here.try_acquire()
        assert neighbour.try_acquire(), "another schema's installation could not lead"
        assert here.still_held() and neighbour.still_held()
        assert not rival.try_acquire(), "two schedulers of one installation led at once"
    finally:
        here.release()
        neighbour.release()
        there.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{other}" CASCADE'))
        admin.dispose()
    assert scheduler.leader_lock_key("public") == scheduler.ADVISORY_LOCK_KEY


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
