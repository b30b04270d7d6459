"""Speed to lead: a lead taken in by the webhook is routed at once, not on the next poll.

The routing job's interval is set to an hour here, so a lead routed within a second was
routed by the wake-up: on SQLite the in-process scheduler is woken directly, on PostgreSQL
by NOTIFY from the web process to the leader's LISTEN (at most one a second from a process;
the router looks again for the leads after it).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import db, wakeup
from contentfeed.leads.models import Lead
from contentfeed.routing import jobs
from contentfeed.routing.models import LeadActivity
from contentfeed.scheduler import Job, Runner, SchedulerProcess
from tests.test_scheduler import wait_until
from tests.test_webhook import make_secret, post_signed


@pytest.fixture(autouse=True)
def fresh_announcement(monkeypatch: pytest.MonkeyPatch) -> wakeup.Announcement:
    """Each test starts as a web process that has announced nothing yet."""
    announcement = wakeup.Announcement()
    monkeypatch.setattr(wakeup, "_announcement", announcement)
    return announcement


def hourly_routing() -> Job:
    """The routing job as production has it, but polling only once an hour."""
    (job,) = [j for j in jobs.JOBS if j.id == "routing.route_leads"]
    return dataclasses.replace(job, trigger_args={"hours": 1}, run_at_start=False)


def routed_at(app: Flask, email: str) -> object:
    with app.app_context():
        return db.session().scalar(sa.select(Lead.routed_at).where(Lead.email == email))


def leading(app: Flask, *jobs_: Job) -> SchedulerProcess:
    process = SchedulerProcess(app, jobs=list(jobs_), poll_seconds=0.05)
    process.start_in_thread()
    assert wait_until(process.is_leader.is_set)
    if process.listener is not None:
        assert wait_until(process.listener.listening.is_set)
    return process


def stop(process: SchedulerProcess) -> None:
    """Stop a scheduler and wait until it has stepped down (its listener closed)."""
    process.stop()
    assert wait_until(lambda: not process.is_leader.is_set())


def test_a_lead_taken_in_is_routed_by_the_wake_up_not_the_poll(
    app: Flask,
) -> None:
    secret = make_secret(app)
    process = leading(app, hourly_routing())
    try:
        client = app.test_client()
        # The first run sets up the default queues and rules: a warm-up lead.
        assert post_signed(client, secret, {"email": "first@example.com"}).status_code == 202
        assert wait_until(lambda: routed_at(app, "first@example.com") is not None, 20.0)
        response = post_signed(client, secret, {"email": "quick@example.com"})
        assert response.status_code == 202
        # The job polls hourly: only the wake-up routes it. How fast is bench/speed_to_lead.py's
        # to measure (a timed assertion would fail on a busy machine, not on a regression).
        assert wait_until(lambda: routed_at(app, "quick@example.com") is not None, 20.0), (
            "the lead was not routed though the router polls only hourly"
        )
        if process.listener is not None:  # PostgreSQL: it came by NOTIFY
            assert process.listener.received >= 1
    finally:
        stop(process)


def test_without_the_wake_up_the_lead_waits_for_the_poll(app: Flask) -> None:
    """The test above fails when nothing wakes the router: the same lead stays unrouted."""
    secret = make_secret(app)
    process = leading(app, dataclasses.replace(hourly_routing(), wake=False))
    try:
        assert (
            post_signed(app.test_client(), secret, {"email": "slow@example.com"}).status_code == 202
        )
        time.sleep(1.0)
        assert routed_at(app, "slow@example.com") is None
    finally:
        stop(process)


def test_a_burst_is_routed_once_each_by_runs_that_never_overlap(app: Flask) -> None:
    secret = make_secret(app)
    process = leading(app, hourly_routing())
    try:
        client = app.test_client()
        emails = [f"burst{n}@example.com" for n in range(30)]
        for email in emails:
            assert post_signed(client, secret, {"email": email}).status_code == 202

        def all_routed() -> bool:
            with app.app_context():
                s = db.session()
                return not s.scalar(
                    sa.select(sa.func.count()).select_from(Lead).where(Lead.routed_at.is_(None))
                )

        assert wait_until(all_routed, 5.0)
        with app.app_context():
            per_lead = db.session().execute(
                sa.select(LeadActivity.lead_id, sa.func.count())
                .where(LeadActivity.kind == "routed")
                .group_by(LeadActivity.lead_id)
            )
            counts = dict(per_lead.all())
        assert len(counts) == len(emails)
        assert set(counts.values()) == {1}, "a lead was routed twice"
    finally:
        stop(process)


def test_a_run_asked_for_during_a_run_happens_right_after_it_not_beside_it(app: Flask) -> None:
    inside = threading.Event()
    release = threading.Event()
    running = 0
    overlapped = False
    runs = 0

    def slow(_s: Session) -> None:
        nonlocal running, overlapped, runs
        running += 1
        overlapped = overlapped or running > 1
        inside.set()
        release.wait(5)
        runs += 1
        running -= 1

    runner = Runner(app, Job(id="test.slow", run=slow, trigger="interval"))
    first = threading.Thread(target=runner.run)
    first.start()
    assert inside.wait(5)
    for _ in range(3):  # three wake-ups while it runs: one more run, not three, not zero
        runner.run()
    release.set()
    first.join(5)
    assert runs == 2
    assert not overlapped


def test_a_full_batch_is_followed_by_another_run_at_once(app: Flask) -> None:
    results = [5, 5, 2]

    def batch(_s: Session) -> int:
        return results.pop(0)

    runner = Runner(app, Job(id="test.batch", run=batch, trigger="interval", more=lambda n: n >= 5))
    runner.run()
    assert runner.runs == 3
    assert results == []


def test_the_intake_wakes_this_processes_subscribers_or_announces(app: Flask) -> None:
    event = wakeup.subscribe()
    heard = threading.Event()
    listener = None
    try:
        with app.app_context():
            if db.engine().dialect.name == "postgresql":
                listener = listener_on(app, heard.set)
            with db.engine().connect() as conn:
                wakeup.lead_taken_in(conn)
        if listener is not None:  # PostgreSQL: by NOTIFY, to the leader's LISTEN
            assert heard.wait(5), "the lead's NOTIFY did not arrive"
        else:
            assert event.is_set()
    finally:
        wakeup.unsubscribe(event)
        if listener is not None:
            listener.stop()


def test_a_process_announces_at_most_one_lead_a_gap() -> None:
    announcement = wakeup.Announcement(gap_seconds=0.2)
    assert [announcement.due() for _ in range(50)].count(True) == 1
    time.sleep(0.25)
    assert announcement.due(), "the first lead after a quiet gap was not announced"
    assert announcement.announced == 2


# --- PostgreSQL: NOTIFY and LISTEN -----------------------------------------------------------


def listener_on(app: Flask, wake: Callable[[], None]) -> wakeup.Listener:
    with app.app_context():
        listener = wakeup.Listener(db.engine(), wake, timeout_seconds=0.1)
    listener.start()
    assert wait_until(listener.listening.is_set)
    return listener


def send_notify(app: Flask, payload: str | None = None) -> None:
    with app.app_context(), db.engine().connect() as conn:
        if payload is None:
            wakeup.notify(conn)
        else:
            conn.execute(sa.select(sa.func.pg_notify(wakeup.CHANNEL, payload)))
        conn.commit()


@pytest.mark.postgresql_only
def test_a_notify_reaches_the_listener_and_only_from_its_own_schema(pg_app: Flask) -> None:
    woken = threading.Event()
    listener = listener_on(pg_app, woken.set)
    try:
        send_notify(pg_app, payload="some_other_installation")
        time.sleep(0.3)
        assert not woken.is_set(), "another schema's lead woke this router"
        send_notify(pg_app)
        assert woken.wait(2)
        assert listener.received == 1
    finally:
        listener.stop()


@pytest.mark.postgresql_only
def test_the_listener_reconnects_when_its_connection_is_killed(pg_app: Flask) -> None:
    wakes: list[float] = []
    listener = listener_on(pg_app, lambda: wakes.append(time.monotonic()))
    try:
        connection = listener.connection
        assert connection is not None
        pid = connection.info.backend_pid
        with pg_app.app_context(), db.engine().connect() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            conn.commit()
        assert wait_until(lambda: listener.reconnects == 1, 5.0), "the listener did not come back"
        assert wakes, "no catch-up wake after reconnecting"
        assert wait_until(listener.listening.is_set)
        before = len(wakes)
        send_notify(pg_app)
        assert wait_until(lambda: len(wakes) > before, 2.0)
    finally:
        listener.stop()
    assert listener.connection is None


@pytest.mark.postgresql_only
def test_a_lead_taken_in_unannounced_after_another_is_routed_by_the_router_looking_again(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process announces one lead a second: the router, woken by the first, looks again
    and routes the next one too, though the job polls only hourly."""
    secret = make_secret(pg_app)
    process = leading(pg_app, hourly_routing())
    try:
        client = pg_app.test_client()
        assert post_signed(client, secret, {"email": "announced@example.com"}).status_code == 202
        assert wait_until(lambda: routed_at(pg_app, "announced@example.com") is not None, 20.0)
        silent = wakeup.Announcement(gap_seconds=3600)
        silent.due()  # just announced: nothing more from this process for an hour
        monkeypatch.setattr(wakeup, "_announcement", silent)
        assert process.listener is not None
        received = process.listener.received
        assert post_signed(client, secret, {"email": "next@example.com"}).status_code == 202
        assert wait_until(lambda: routed_at(pg_app, "next@example.com") is not None, 20.0), (
            "a lead taken in without a NOTIFY waited for the poll"
        )
        assert silent.announced == 1
        assert process.listener.received == received, "the second lead was announced after all"
    finally:
        stop(process)


@pytest.mark.postgresql_only
def test_a_dead_connection_does_not_fail_the_intake(
    pg_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """The lead is committed before the NOTIFY: a NOTIFY that fails is logged, not raised."""
    with pg_app.app_context(), db.engine().connect() as conn:
        pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with db.engine().connect() as other:
            other.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            other.commit()
        wakeup.lead_taken_in(conn)  # does not raise
    assert "could not wake the router" in caplog.text
