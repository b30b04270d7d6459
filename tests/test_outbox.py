"""The CRM outbox: written with the change it reports, delivered at least once against a real
local HTTP server that fails, answers 410 Gone or never answers, and nothing is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from contentfeed import config, db
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.leads.service import new_secret_value
from contentfeed.routing import jobs, outbox, service, work
from contentfeed.routing.models import OutboxMessage, OutboxStatus
from tests.conftest import make_test_app

SECRET = new_secret_value()
TIMEOUT = 0.3  # seconds the sender waits for an answer in these tests


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> tuple[int, str]:
        payload = Webhook(SECRET).verify(self.body, self.headers)  # raises unless signed right
        return payload["data"]["lead_id"], payload["type"]


@dataclass
class Crm:
    """A CRM endpoint on 127.0.0.1: answers the planned statuses in turn (then 200), or,
    while ``hanging``, accepts the request and never answers."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    hanging: bool = False
    received: list[Request] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def crm() -> Iterator[Crm]:
    state = Crm()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Request(dict(self.headers.items()), body))
            if state.hanging:
                state.released.wait(10)
                return  # the sender has given up by now
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/contentfeed"
    yield state
    state.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def crm_app(app: Flask, database_url: str, tmp_path: Path, crm: Crm) -> Flask:
    """The app sending to the local CRM (same database as ``app``), giving up after 3 tries."""
    return make_test_app(
        database_url,
        tmp_path,
        crm_webhook_url=crm.url,
        crm_webhook_secret=SECRET,
        outbox_max_attempts=3,
        http_timeout_seconds=TIMEOUT,
    )


def routed_leads(app: Flask, *emails: str, now: datetime) -> list[int]:
    """Store and route leads; return their ids."""
    with app.app_context():
        s = db.session()
        leads = [
            Lead(email=email, email_domain=email.rpartition("@")[2], submitted_at=now)
            for email in emails
        ]
        s.add_all(leads)
        s.flush()
        service.route_pending(s, service.RoutingSettings(), now)
        s.commit()
        return [lead.id for lead in leads]


def deliver(app: Flask, now: datetime) -> outbox.DeliveryResult:
    with app.app_context():
        s = db.session()
        result = outbox.deliver_due(s, config.settings_of(app).crm, now)
        s.commit()
        return result


def messages(s: Session) -> list[OutboxMessage]:
    return list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def the_message(app: Flask) -> OutboxMessage:
    with app.app_context():
        [message] = messages(db.session())
        return message


# --- writing messages --------------------------------------------------------------------


def test_a_message_is_written_with_the_change_it_reports(
    app: Flask, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN, name="Ada Admin")
    now = utcnow()
    with app.app_context():
        s = db.session()
        lead = Lead(
            email="Jane@Acme.example",
            email_domain="acme.example",
            first_name="Jane",
            company="Acme",
            country="DE",
            submitted_at=now,
        )
        s.add(lead)
        s.commit()
        service.route_pending(s, service.RoutingSettings(), now)
        assert len(messages(s)) == 1
        s.rollback()  # the routing is undone, and its message with it
        assert messages(s) == []
        assert s.get(Lead, lead.id).routed_at is None  # type: ignore[union-attr]

        service.route_pending(s, service.RoutingSettings(), now)
        s.commit()
        [routed] = messages(s)
        assert (routed.event_type, routed.lead_id, routed.status) == (
            "lead.routed",
            lead.id,
            OutboxStatus.PENDING,
        )
        data = routed.payload["data"]
        assert routed.payload["type"] == "lead.routed"
        assert {k: data[k] for k in ("lead_id", "email", "first_name", "company", "country")} == {
            "lead_id": lead.id,
            "email": "jane@acme.example",
            "first_name": "Jane",
            "company": "Acme",
            "country": "DE",
        }
        assert data["status"] == "new" and data["queue_id"] == lead.queue_id

        ada = s.get(User, admin.id)
        assert ada is not None
        work.set_status(s, ada, lead.id, LeadStatus.CLAIMED, now=now)
        s.commit()
        first, claimed = messages(s)
        assert first.message_id == routed.message_id  # unchanged by later messages
        assert claimed.message_id != routed.message_id
        assert claimed.event_type == "lead.status_changed"
        assert claimed.payload["data"]["status"] == "claimed"
        assert claimed.payload["data"]["assignee_id"] == admin.id
        assert service.route_pending(s, service.RoutingSettings(), now).routed == 0
        assert len(messages(s)) == 2  # routing again sends nothing new


def test_without_a_crm_url_nothing_is_sent_and_messages_wait(app: Flask) -> None:
    routed_leads(app, "jane@acme.example", now=utcnow())
    assert config.settings_of(app).crm.webhook_url == ""
    with app.app_context():
        s = db.session()
        assert jobs.deliver_outbox(s) == outbox.DeliveryResult()
        s.commit()
        [message] = messages(s)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
        assert outbox.summary(s).pending == 1


# --- delivering --------------------------------------------------------------------------


def test_a_failing_crm_gets_the_same_signed_message_until_it_takes_it(
    crm_app: Flask, crm: Crm
) -> None:
    t0 = utcnow()
    [lead_id] = routed_leads(crm_app, "jane@acme.example", now=t0)
    crm.answers = [500, 500]

    assert deliver(crm_app, t0).retrying == 1
    first = the_message(crm_app)
    assert (first.status, first.attempts, first.last_error) == (
        OutboxStatus.PENDING,
        1,
        "The CRM answered 500.",
    )
    assert first.next_attempt_at == t0 + timedelta(seconds=30)
    assert deliver(crm_app, t0 + timedelta(seconds=20)) == outbox.DeliveryResult()  # not due
    assert len(crm.received) == 1

    t1 = t0 + timedelta(seconds=31)
    assert deliver(crm_app, t1).retrying == 1
    second = the_message(crm_app)
    assert second.attempts == 2
    assert second.next_attempt_at == t1 + timedelta(seconds=60)  # the wait doubles

    t2 = t1 + timedelta(seconds=61)
    assert deliver(crm_app, t2).delivered == 1
    done = the_message(crm_app)
    assert (done.status, done.attempts, done.delivered_at, done.last_error) == (
        OutboxStatus.DELIVERED,
        3,
        t2,
        "",
    )
    assert deliver(crm_app, t2 + timedelta(hours=1)) == outbox.DeliveryResult()
    assert len(crm.received) == 3  # delivered once it was taken, never again
    assert {r.webhook_id for r in crm.received} == {done.message_id}
    assert [r.event for r in crm.received] == [(lead_id, "lead.routed")] * 3
    assert crm.received[0].body == crm.received[2].body  # the same message each time
    with crm_app.app_context():
        summary = outbox.summary(db.session())
        assert (summary.pending, summary.delivered, summary.dead) == (0, 1, 0)


def test_after_the_last_try_a_message_is_dead_until_an_admin_sends_it_again(
    crm_app: Flask, crm: Crm
) -> None:
    t = utcnow()
    routed_leads(crm_app, "jane@acme.example", now=t)
    crm.answers = [503, 500, 502]
    waits = []
    for _ in range(3):
        result = deliver(crm_app, t)
        message = the_message(crm_app)
        if message.next_attempt_at is not None:
            waits.append(message.next_attempt_at - t)
            t = message.next_attempt_at
    assert (result.retrying, result.dead) == (0, 1)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    dead = the_message(crm_app)
    assert (dead.status, dead.attempts, dead.next_attempt_at) == (OutboxStatus.DEAD, 3, None)
    assert dead.last_error == "The CRM answered 502."
    assert deliver(crm_app, t + timedelta(days=1)) == outbox.DeliveryResult()
    assert len(crm.received) == 3

    with crm_app.app_context():
        s = db.session()
        assert outbox.summary(s).dead == 1
        again = outbox.resend(s, dead.id, now=t)
        s.commit()
        assert (again.status, again.attempts, again.last_error) == (OutboxStatus.PENDING, 0, "")
    assert deliver(crm_app, t).delivered == 1
    assert the_message(crm_app).status is OutboxStatus.DELIVERED
    assert {r.webhook_id for r in crm.received} == {dead.message_id}
    assert len(crm.received) == 4


def test_410_gone_switches_the_crm_off_and_keeps_the_messages(crm_app: Flask, crm: Crm) -> None:
    t = utcnow()
    first, second = routed_leads(crm_app, "jane@acme.example", "joe@globex.example", now=t)
    crm.answers = [410]

    assert deliver(crm_app, t).disabled
    with crm_app.app_context():
        s = db.session()
        summary = outbox.summary(s)
        assert "answered 410 Gone" in summary.disabled_reason
        assert summary.pending == 2  # nothing lost
    assert len(crm.received) == 1
    for minutes in (1, 10, 60):  # switched off: nothing is sent, however often the job runs
        assert deliver(crm_app, t + timedelta(minutes=minutes)).disabled
    assert len(crm.received) == 1

    with crm_app.app_context():
        s = db.session()
        outbox.enable(s)
        s.commit()
        assert outbox.summary(s).disabled_reason == ""
    result = deliver(crm_app, t + timedelta(hours=2))
    assert (result.delivered, result.disabled) == (2, False)
    assert [r.event for r in crm.received] == [
        (first, "lead.routed"),
        (first, "lead.routed"),
        (second, "lead.routed"),
    ]
    with crm_app.app_context():
        assert outbox.summary(db.session()).delivered == 2


def test_a_crm_that_never_answers_times_out_and_gets_the_message_later(
    crm_app: Flask, crm: Crm
) -> None:
    t = utcnow()
    routed_leads(crm_app, "jane@acme.example", now=t)
    crm.hanging = True
    started = time.monotonic()
    assert deliver(crm_app, t).retrying == 1
    assert time.monotonic() - started < TIMEOUT + 2  # gave up after the timeout, no retries
    waiting = the_message(crm_app)
    assert waiting.status is OutboxStatus.PENDING
    assert "timed out" in waiting.last_error

    crm.hanging = False
    crm.released.set()
    assert deliver(crm_app, t + timedelta(minutes=1)).delivered == 1
    assert the_message(crm_app).status is OutboxStatus.DELIVERED
    assert [r.webhook_id for r in crm.received] == [waiting.message_id] * 2


def test_an_unreachable_crm_costs_one_try_per_run_and_loses_nothing(
    crm_app: Flask, crm: Crm
) -> None:
    t = utcnow()
    routed_leads(crm_app, "a@one.example", "b@two.example", "c@three.example", now=t)
    crm.hanging = True
    assert deliver(crm_app, t).retrying == 1  # the first gets no answer: the rest wait
    with crm_app.app_context():
        tries = [m.attempts for m in messages(db.session())]
        assert tries == [1, 0, 0]
    crm.hanging = False
    crm.released.set()
    assert deliver(crm_app, t + timedelta(minutes=1)).delivered == 3
    with crm_app.app_context():
        assert {m.status for m in messages(db.session())} == {OutboxStatus.DELIVERED}


def test_a_leads_later_message_waits_for_its_earlier_one(
    crm_app: Flask, crm: Crm, make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN, name="Ada Admin")
    t = utcnow()
    jane, joe = routed_leads(crm_app, "jane@acme.example", "joe@globex.example", now=t)
    with crm_app.app_context():
        s = db.session()
        ada = s.get(User, admin.id)
        assert ada is not None
        work.set_status(s, ada, jane, LeadStatus.CLAIMED, now=t)
        s.commit()
    crm.answers = [500]  # Jane's "routed" fails once

    result = deliver(crm_app, t)
    assert (result.delivered, result.retrying) == (1, 1)
    assert [r.event for r in crm.received] == [(jane, "lead.routed"), (joe, "lead.routed")]
    # Before the retry is due, Jane's status change still waits behind her "routed".
    assert deliver(crm_app, t + timedelta(seconds=10)) == outbox.DeliveryResult()
    assert len(crm.received) == 2

    assert deliver(crm_app, t + timedelta(seconds=31)).delivered == 2
    assert [r.event for r in crm.received] == [
        (jane, "lead.routed"),
        (joe, "lead.routed"),
        (jane, "lead.routed"),
        (jane, "lead.status_changed"),
    ]
    with crm_app.app_context():
        assert outbox.summary(db.session()).delivered == 3
