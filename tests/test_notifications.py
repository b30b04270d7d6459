"""Telling sellers about new posts: a real SMTP server, Slack and Teams webhooks, a failing
channel retried with backoff without holding up anyone else."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.suggestions import notify
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import NotificationAttempt
from tests.conftest import make_test_app


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == b"mailer"
            and data.password == b"s3cret"
        )
        return AuthResult(success=ok)

    with socket.socket() as probe:  # aiosmtpd needs a concrete port: find a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    yield inbox, port
    controller.stop()


class Hooks(BaseHTTPRequestHandler):
    received: list[tuple[str, Any]] = []
    failures_left: dict[str, int] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hooks.received.append((self.path, body))
        if Hooks.failures_left.get(self.path, 0) > 0:
            Hooks.failures_left[self.path] -= 1
            self.send_response(500)
        elif self.path == "/gone":
            self.send_response(410)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[str]:
    Hooks.received, Hooks.failures_left = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def mailing_app(database_url: str, tmp_path: Path, smtp_port: int, **overrides: Any) -> Flask:
    """An app whose mail goes to the test's SMTP server (``smtp_server``) on ``smtp_port``."""
    return make_test_app(
        database_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_username="mailer",
        smtp_password="s3cret",
        **overrides,
    )


@pytest.fixture
def notify_app(database_url: str, tmp_path: Path, smtp_server: tuple[Inbox, int]) -> Flask:
    return mailing_app(
        database_url,
        tmp_path,
        smtp_server[1],
        http_allow_private_addresses=True,
        public_base_url="https://cf.example.com",
    )


def suggest_to(app: Flask, *sellers: User) -> None:
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[x.id for x in sellers],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(minutes=1),
        )
        s.commit()


def run_notify(app: Flask, at_minutes: int = 0) -> notify.SendResult:
    with app.app_context():
        s = db.session()
        notify.queue_new(s)
        s.flush()
        result = notify.send_due(
            s,
            notify.NotifySettings.of(config.settings_of(app)),
            now=utcnow() + timedelta(minutes=at_minutes),
        )
        s.commit()
        return result


@pytest.fixture
def factories(
    notify_app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> Any:
    # the shared factories write through `app`; point them at the same database
    return make_user, make_content


def test_email_digest_reaches_a_real_smtp_server(
    notify_app: Flask, app: Flask, factories: Any, smtp_server: tuple[Inbox, int]
) -> None:
    make_user, make_content = factories
    make_content(title="Zero-downtime migrations")
    seller = make_user("seller", name="Sam Seller", notification_channel="email")
    suggest_to(notify_app, seller)
    result = run_notify(notify_app)
    assert (result.sent, result.failed) == (1, 0)
    [envelope] = smtp_server[0].messages
    assert envelope.rcpt_tos == [seller.email]
    text = envelope.content.decode()
    assert "Subject: contentfeed: 1 post ready to share" in text
    assert "Hi Sam," in text and "Zero-downtime migrations" in text
    assert "https://cf.example.com/feed" in text
    assert run_notify(notify_app).sent == 0  # told once, not again


def test_slack_and_teams_messages_go_to_the_webhook(
    notify_app: Flask, factories: Any, hooks: str
) -> None:
    make_user, make_content = factories
    make_content(title="Webinar: AI copilots")
    slack = make_user("seller", notification_channel="slack", notification_target=hooks + "/slack")
    teams = make_user("seller", notification_channel="teams", notification_target=hooks + "/teams")
    suggest_to(notify_app, slack, teams)
    assert run_notify(notify_app).sent == 2
    bodies = dict(Hooks.received)
    assert "Webinar: AI copilots" in bodies["/slack"]["text"]
    assert bodies["/teams"]["@type"] == "MessageCard"


def test_a_failing_channel_is_retried_later_and_does_not_stop_others(
    notify_app: Flask, factories: Any, hooks: str, smtp_server: tuple[Inbox, int]
) -> None:
    make_user, make_content = factories
    make_content()
    flaky = make_user("seller", notification_channel="slack", notification_target=hooks + "/flaky")
    gone = make_user("seller", notification_channel="slack", notification_target=hooks + "/gone")
    mail = make_user("seller", notification_channel="email")
    Hooks.failures_left["/flaky"] = 2
    suggest_to(notify_app, flaky, gone, mail)
    first = run_notify(notify_app)
    assert (first.sent, first.failed, first.given_up) == (
        1,
        1,
        1,
    )  # email ok, flaky later, gone never
    assert len(smtp_server[0].messages) == 1
    assert run_notify(notify_app).sent == 0  # not due yet: backing off
    assert run_notify(notify_app, at_minutes=2).failed == 1  # second failure, waits longer
    assert run_notify(notify_app, at_minutes=10).sent == 1  # third try gets through
    with notify_app.app_context():
        rows = {a.seller_id: a for a in db.session().scalars(sa.select(NotificationAttempt))}
    assert rows[flaky.id].attempts == 3 and rows[flaky.id].sent_at is not None
    assert rows[gone.id].given_up_at is not None and "410" in rows[gone.id].last_error


def test_wrong_smtp_password_is_retried_not_lost(
    database_url: str, tmp_path: Path, smtp_server: tuple[Inbox, int], factories: Any
) -> None:
    make_user, make_content = factories
    app = make_test_app(
        database_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server[1],
        smtp_security="none",
        smtp_username="mailer",
        smtp_password="wrong",
        smtp_timeout_seconds=1.0,
    )
    make_content()
    seller = make_user("seller", notification_channel="email")
    suggest_to(app, seller)
    result = run_notify(app)
    assert (result.sent, result.failed) == (0, 1)
    with app.app_context():
        attempt = db.session().scalars(sa.select(NotificationAttempt)).one()
    assert "could not be sent" in attempt.last_error


def test_sellers_who_want_no_notifications_get_none(notify_app: Flask, factories: Any) -> None:
    make_user, make_content = factories
    make_content()
    quiet = make_user("seller", notification_channel="none")
    suggest_to(notify_app, quiet)
    assert run_notify(notify_app) == notify.SendResult(0, 0, 0)
