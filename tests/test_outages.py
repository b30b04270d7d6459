"""Database outages: connections killed, a database stopped and started again, a database
that refuses connections. Nothing answers 500, nothing is lost, the scheduler never dies.

Tests that stop a database do it to a PostgreSQL cluster of their own (``own_cluster``),
made for the run on a free port and dropped afterwards; killed connections on the shared
server are only this test's own (matched by their application_name).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from contentfeed import config, db
from contentfeed.accounts.models import LoginFailure, User
from contentfeed.db import Base, utcnow
from contentfeed.leads import jobs as leads_jobs
from contentfeed.leads import service
from contentfeed.leads.models import EventStatus, InboundEvent, Lead
from contentfeed.routing import jobs as routing_jobs
from contentfeed.scheduler import Job, SchedulerProcess
from tests.conftest import IN_CI, make_test_app, sign_in

WEBHOOK = "/api/v1/webhooks/leads"


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    """Poll a condition until it holds or the time is up (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


# --- a PostgreSQL cluster of our own, to stop and start -----------------------------------


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster (Debian's postgresql-common tools) on its own port."""

    version: str
    name: str
    port: int

    def url(self, database: str, application_name: str = "") -> str:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}?connect_timeout=3"
        return url + (f"&application_name={application_name}" if application_name else "")

    def _ctl(self, *args: str) -> None:
        run_tool("pg_ctlcluster", "--skip-systemctl-redirect", *args, self.version, self.name)

    def stop(self) -> None:
        """Stop the server the way an operator or a crash would: connections are cut."""
        self._ctl("--mode", "fast", "stop")

    def start(self) -> None:
        self._ctl("start")

    def admin(self) -> sa.Engine:
        return sa.create_engine(self.url("postgres"), poolclass=sa.pool.NullPool)


def run_tool(*command: str, check: bool = True) -> None:
    """Run one of postgresql-common's cluster tools (fixed names and our own arguments)."""
    subprocess.run(command, check=check, capture_output=True, timeout=120)  # noqa: S603


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cannot_make_cluster(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the outage tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster this run may stop; skipped (failed on CI) when none can be made."""
    if os.geteuid() != 0 or shutil.which("pg_createcluster") is None:
        _cannot_make_cluster("stopping a database needs root and pg_createcluster")
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=int)
    _drop_abandoned_clusters()
    cluster = Cluster(versions[-1], f"cffault_{os.getpid()}", _free_port())
    run_tool(
        "pg_createcluster",
        cluster.version,
        cluster.name,
        "-p",
        str(cluster.port),
        "--",
        "--auth=trust",
    )
    try:
        cluster.start()
        yield cluster
    finally:
        run_tool("pg_dropcluster", "--stop", cluster.version, cluster.name, check=False)


def _drop_abandoned_clusters() -> None:
    """Drop clusters left by earlier runs that were killed before their teardown."""
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    for line in listing.stdout.splitlines():
        version, name, *_ = line.split()
        pid = name.removeprefix("cffault_")
        if name.startswith("cffault_") and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            run_tool("pg_dropcluster", "--stop", version, name, check=False)


@pytest.fixture
def cluster_app(
    own_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app on a fresh database in our own cluster, its connections named for this test."""
    for name in list(os.environ):
        if name.startswith("CONTENTFEED_") and name != "CONTENTFEED_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    database = f"t_{uuid.uuid4().hex[:10]}"
    admin = own_cluster.admin()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    engine = sa.create_engine(own_cluster.url(database), poolclass=sa.pool.NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = make_test_app(own_cluster.url(database, f"cf_{database}"), tmp_path)
    yield app
    db.dispose(app)
    if wait_until(lambda: _reachable(own_cluster), timeout=30):
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def _reachable(cluster: Cluster) -> bool:
    try:
        with cluster.admin().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        return False
    return True


def kill_connections(app: Flask) -> int:
    """pg_terminate_backend every connection of this app (and only its, by application_name)."""
    url = sa.make_url(config.settings_of(app).database_url)
    name = url.query["application_name"]
    admin = sa.create_engine(url.set(query={}), poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        killed = conn.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
    admin.dispose()
    return int(killed or 0)


# --- posting signed leads ------------------------------------------------------------------


def make_secret(app: Flask) -> str:
    with app.app_context():
        s = db.session()
        _secret, value = service.create_secret(s, name="Website")
        s.commit()
        return value


def signed(secret: str, msg_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers for one delivery (signed anew for every redelivery)."""
    now = utcnow()
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


def lead_body(n: int) -> str:
    return json.dumps({"email": f"person{n}@example.com", "first_name": f"P{n}"})


def post_lead(client: FlaskClient, secret: str, n: int) -> Any:
    body = lead_body(n)
    return client.post(WEBHOOK, data=body, headers=signed(secret, f"msg_{n}", body))


def leads_by_email(url: str) -> dict[str, list[tuple[int, datetime | None]]]:
    """Each stored lead's email with its ids and routing times, read on a connection of its own."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    found: dict[str, list[tuple[int, datetime | None]]] = {}
    with Session(engine) as s:
        for lead in s.scalars(sa.select(Lead).order_by(Lead.id)):
            found.setdefault(lead.email, []).append((lead.id, lead.routed_at))
    engine.dispose()
    return found


def route_jobs(seconds: float) -> list[Job]:
    """The real jobs that route leads and retry deliveries, run more often than in production."""
    wanted = {"routing.route_leads", "leads.retry_events"}
    return [
        replace(job, trigger="interval", trigger_args={"seconds": seconds})
        for job in (*routing_jobs.JOBS, *leads_jobs.JOBS)
        if job.id in wanted
    ]


def assert_unavailable(response: Any, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.get_data()[:300])
    assert response.headers.get("Retry-After") == "30", what


# --- a dead pooled connection is replaced: no 500, no 503 -----------------------------------


@pytest.fixture
def tracked_code(make_tracked_link: Callable[..., str]) -> str:
    return make_tracked_link(url="https://acme.example/guide")


@pytest.mark.postgresql_only
def test_killed_connections_are_replaced_and_every_request_served(
    pg_app: Flask,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    tracked_code: str,
) -> None:
    # The same database as pg_app, through an app whose connections carry a name of their own.
    name = f"cfkill_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(config.settings_of(pg_app).database_url).update_query_dict(
        {"application_name": name}
    )
    app = make_test_app(url.render_as_string(hide_password=False), tmp_path / "killable")
    admin = make_user("admin")
    token = make_token(admin, "read")
    secret = make_secret(app)
    page = sign_in(app.test_client(), admin)
    api, webhook, visitor = app.test_client(), app.test_client(), app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    def lead_taken(n: int) -> None:
        response = post_lead(webhook, secret, n)
        assert response.status_code == 202, response.get_data(as_text=True)

    def link_followed() -> None:
        assert visitor.get(f"/r/{tracked_code}").status_code == 302

    def lists_read() -> None:
        assert api.get("/api/v1/leads", headers=auth).status_code == 200
        assert page.get("/leads").status_code == 200

    link_followed()  # the redirect keeps a connection of its own ...
    lead_taken(1)  # ... and the webhook's goes back to the hot pool
    lists_read()
    assert kill_connections(app) >= 3
    lead_taken(2)  # its pooled connection was dead: replaced, and the delivery tried again
    link_followed()  # its idle connection was dead too
    lists_read()
    lead_taken(3)
    assert kill_connections(app) >= 3
    link_followed()  # the dead idle one, and the dead pooled one it would take next
    lead_taken(4)
    lists_read()
    assert sorted(leads_by_email(config.settings_of(pg_app).database_url)) == [
        f"person{n}@example.com" for n in (1, 2, 3, 4)
    ]


def test_a_lost_connection_on_the_webhooks_hot_path_is_retried_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the driver: the first statement failing on a dead connection is tried again."""
    from contentfeed.leads import store

    secret = make_secret(app)
    client = app.test_client()
    real = store.insert_event_finding_touches
    failures = iter([True])

    def dies_once(conn: sa.Connection, *args: Any) -> Any:
        if next(failures, False):
            conn.invalidate()  # the connection is gone, as after pg_terminate_backend
            raise sa.exc.OperationalError(
                "INSERT", {}, Exception("server closed"), connection_invalidated=True
            )
        return real(conn, *args)

    monkeypatch.setattr(store, "insert_event_finding_touches", dies_once)
    response = post_lead(client, secret, 7)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json is not None and response.json["lead_id"] is not None
    assert list(leads_by_email(config.settings_of(app).database_url)) == ["person7@example.com"]


# --- a database that is unavailable answers 503 with Retry-After everywhere -----------------


def test_an_unreachable_database_answers_503_on_pages_api_webhook_and_links(
    app: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    tracked_code: str,
) -> None:
    admin = make_user("admin")
    token = make_token(admin, "read")
    secret = make_secret(app)
    page = sign_in(app.test_client(), admin)
    client = app.test_client()
    assert client.get(f"/r/{tracked_code}").status_code == 302
    # From now on every new connection is refused (SQLite: locked), as in an outage.
    db.dispose(app)
    with app.app_context():
        engines = {db.engine(), db.hot_engine()}
    dialect = next(iter(engines)).dialect
    error = dialect.loaded_dbapi.OperationalError

    def refuse(*args: Any) -> None:
        raise error("connection refused" if dialect.name == "postgresql" else "database is locked")

    for engine in engines:
        sa.event.listen(engine, "do_connect", refuse)
    assert_unavailable(page.get("/leads"), "page")
    assert_unavailable(
        client.get("/api/v1/leads", headers={"Authorization": f"Bearer {token}"}), "API"
    )
    response = post_lead(client, secret, 1)
    assert_unavailable(response, "webhook")
    assert response.json is not None and response.json["error"] == "unavailable"
    assert_unavailable(client.get(f"/r/{tracked_code}"), "redirect")
    for engine in engines:
        sa.event.remove(engine, "do_connect", refuse)
    assert post_lead(client, secret, 1).status_code == 202  # and back when the database is


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.InterfaceError("the connection is closed"),
        sqlite3.OperationalError("database is locked"),
        sa.exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back"),
        sa.exc.TimeoutError("QueuePool limit reached, connection timed out"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_way_an_outage_shows_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    app = make_test_app(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)

    @app.get("/outage-page")
    def outage_page() -> str:
        raise error

    @app.get("/api/v1/outage")
    def outage_api() -> str:
        raise error

    client = app.test_client()
    page = client.get("/outage-page")
    assert_unavailable(page, "page")
    assert "briefly unavailable" in page.get_data(as_text=True)
    api = client.get("/api/v1/outage")
    assert_unavailable(api, "API")
    assert api.json is not None and api.json["error"] == "unavailable"


# --- the scheduler outlives every failure -------------------------------------------------


def test_the_scheduler_loop_survives_failing_jobs_and_a_failing_lock(app: Flask) -> None:
    runs: list[str] = []

    def flaky(s: Session) -> None:
        s.add(LoginFailure(key=f"run-{len(runs)}", failures=1))
        s.flush()
        if len(runs) < 2:
            runs.append("failed")
            raise sa.exc.OperationalError("UPDATE", {}, sqlite3.OperationalError("locked"))
        runs.append("ok")

    job = Job(id="test.flaky", run=flaky, trigger="interval", trigger_args={"seconds": 0.1})
    process = SchedulerProcess(app, jobs=[job], poll_seconds=0.05, max_backoff_seconds=0.2)
    # The lock fails too, in every way: once while competing, then twice while leading.
    failures: list[Exception] = [
        RuntimeError("unexpected"),
        sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection")),
        OSError("no space left on device"),
    ]
    real_held, real_acquire = process.lock.still_held, process.lock.try_acquire

    def acquire() -> bool:
        if len(failures) == 3:
            raise failures.pop(0)
        return real_acquire()

    def held() -> bool:
        if failures and "ok" in runs:
            raise failures.pop(0)
        return real_held()

    process.lock.still_held = held  # type: ignore[method-assign]
    process.lock.try_acquire = acquire  # type: ignore[method-assign]
    thread = process.start_in_thread()
    try:
        assert wait_until(lambda: "ok" in runs and not failures)
        assert wait_until(process.is_leader.is_set), "the scheduler did not lead again"
        assert thread.is_alive()
    finally:
        process.stop()
        thread.join(timeout=10)
    with app.app_context():
        keys = set(db.session().scalars(sa.select(LoginFailure.key)))
    assert "run-2" in keys and not keys & {"run-0", "run-1"}  # failed runs left nothing


@pytest.mark.postgresql_only
def test_the_scheduler_rides_out_killed_connections_and_a_restart(
    cluster_app: Flask, own_cluster: Cluster
) -> None:
    app = cluster_app
    secret = make_secret(app)
    process = SchedulerProcess(app, jobs=route_jobs(0.2), poll_seconds=0.1, max_backoff_seconds=0.5)
    thread = process.start_in_thread()
    client = app.test_client()
    url = config.settings_of(app).database_url

    def routed(n: int) -> bool:
        found = leads_by_email(url).get(f"person{n}@example.com", [])
        return len(found) == 1 and found[0][1] is not None

    try:
        assert wait_until(process.is_leader.is_set)
        assert post_lead(client, secret, 1).status_code == 202
        assert wait_until(lambda: routed(1))

        assert kill_connections(app) >= 1  # the leader's lock connection among them
        assert post_lead(client, secret, 2).status_code == 202
        assert wait_until(lambda: routed(2)), "a lead taken in after the kill was not routed"
        # The jobs may route before the loop notices the lost lock and competes again.
        assert wait_until(process.is_leader.is_set), "it did not lead again after the kill"
        assert thread.is_alive()

        own_cluster.stop()
        assert wait_until(lambda: not process.is_leader.is_set()), "it kept leading blind"
        assert_unavailable(post_lead(client, secret, 3), "webhook while stopped")
        own_cluster.start()
        assert wait_until(process.is_leader.is_set, timeout=30), "it did not lead again"
        assert post_lead(client, secret, 3).status_code == 202
        assert wait_until(lambda: routed(3)), "a lead taken in after the restart was not routed"
        assert thread.is_alive()
    finally:
        process.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


# --- done when: a steady trickle of leads through a stop and a start ------------------------


@dataclass
class Delivery:
    """One lead a sender delivers until it is accepted, and every answer it got."""

    n: int
    answers: list[tuple[int, str | None]]


@pytest.mark.postgresql_only
def test_a_trickle_of_leads_through_a_database_restart_loses_nothing(
    cluster_app: Flask, own_cluster: Cluster
) -> None:
    app = cluster_app
    secret = make_secret(app)
    url = config.settings_of(app).database_url
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    process = SchedulerProcess(app, jobs=route_jobs(0.5), poll_seconds=0.2, max_backoff_seconds=1.0)
    scheduler = process.start_in_thread()
    deliveries = [Delivery(n, []) for n in range(30)]
    senders_done = threading.Event()

    def send(mine: list[Delivery]) -> None:
        with requests.Session() as http:
            for delivery in mine:
                body = lead_body(delivery.n)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    headers = signed(secret, f"msg_{delivery.n}", body)
                    answer = http.post(base + WEBHOOK, data=body, headers=headers, timeout=10)
                    delivery.answers.append((answer.status_code, answer.headers.get("Retry-After")))
                    if answer.ok:
                        break
                    time.sleep(0.3)  # a sender honouring Retry-After, sped up for the test
                time.sleep(0.8)  # a steady trickle: one lead per sender every ~0.8 s

    senders = [threading.Thread(target=send, args=(deliveries[k::3],)) for k in range(3)]
    try:
        assert wait_until(process.is_leader.is_set)
        for sender in senders:
            sender.start()
        assert wait_until(lambda: sum(bool(d.answers) for d in deliveries) >= 6)
        own_cluster.stop()
        time.sleep(4)  # the outage: senders keep sending meanwhile
        own_cluster.start()
        for sender in senders:
            sender.join(timeout=120)
        senders_done.set()
        answers = [answer for d in deliveries for answer in d.answers]
        assert {status for status, _ in answers} <= {202, 503}, answers
        assert all(retry == "30" for status, retry in answers if status == 503), answers
        assert any(status == 503 for status, _ in answers), "the outage was never noticed"
        assert all(d.answers[-1][0] == 202 for d in deliveries), "a lead was never accepted"
        _recover_abandoned(app)

        def all_routed() -> bool:
            found = leads_by_email(url)
            return len(found) == 30 and all(
                routed_at is not None for rows in found.values() for _, routed_at in rows
            )

        assert wait_until(all_routed, timeout=30), leads_by_email(url)
        found = leads_by_email(url)
        assert sorted(found) == sorted(f"person{n}@example.com" for n in range(30))
        assert all(len(rows) == 1 for rows in found.values()), "a lead was stored twice"
        assert scheduler.is_alive() and process.is_leader.is_set()
    finally:
        process.stop()
        scheduler.join(timeout=10)
        server.shutdown()


def _recover_abandoned(app: Flask) -> None:
    """Process events whose lead write was cut off by the stop, as the retry job does later.

    A delivery whose event was stored just before the database went down, and whose lead
    write failed with it, is kept as received; the retry job takes such events up once they
    are ten minutes old. The test runs that job now, as if the ten minutes had passed.
    """
    with app.app_context():
        s = db.session()
        stranded = s.scalar(
            sa.select(sa.func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.status == EventStatus.RECEIVED)
        )
        if stranded:
            settings = config.settings_of(app).leads
            service.retry_due(s, settings, now=utcnow() + service.ABANDONED_AFTER * 2)
            s.commit()
