"""The rep sees a lead arrive: an open queue page asks "anything new?" and refreshes itself.

/queue/changes answers 204 while nothing the page shows changed (one aggregate query), and
the new version with the leads that arrived when something did; a rep outside the queue
learns nothing of it. In a real browser the lead a website form sends appears on the open
page within seconds, routed by the scheduler the webhook woke, and the rep who allowed it
gets a notification naming the person and the company.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import Role, User
from contentfeed.routing import jobs
from contentfeed.scheduler import SchedulerProcess
from tests.conftest import PASSWORD, sign_in
from tests.test_queue_ui import rep_in, route
from tests.test_scheduler import wait_until
from tests.test_webhook import make_secret, post_signed, signed_headers

CHANGES = "/queue/changes"


def version_of(client: FlaskClient) -> str:
    page = client.get("/queue")
    assert page.status_code == 200
    found = re.search(r'id="queue-live" data-version="([^"]+)"', page.get_data(as_text=True))
    assert found, "the queue page carries no version"
    return found.group(1)


def lead(email: str, first: str, company: str) -> dict[str, Any]:
    return {"email": email, "first_name": first, "last_name": "Doe", "company": company}


@contextmanager
def counting_statements(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_nothing_new_is_a_204_of_one_aggregate_then_a_lead_arrives_by_name(
    app: Flask, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    client = sign_in(app.test_client(), rep)
    version = version_of(client)
    client.get(f"{CHANGES}?since={version}")  # the session's first request loads more
    with counting_statements(app) as statements:
        quiet = client.get(f"{CHANGES}?since={version}")
    assert quiet.status_code == 204
    assert quiet.get_data() == b""
    assert quiet.headers["Cache-Control"] == "no-store"
    # The signed-in user, their queues, and the one aggregate over what the page shows.
    assert len(statements) <= 3, statements

    secret = make_secret(app)
    response = post_signed(
        app.test_client(), secret, lead("jane@acme.example", "Jane", "Acme Widgets")
    )
    assert response.status_code == 202
    assert client.get(f"{CHANGES}?since={version}").status_code == 204  # not routed yet
    assert route(app).routed == 1
    changed = client.get(f"{CHANGES}?since={version}")
    assert changed.status_code == 200
    body = changed.json
    assert body is not None
    assert [(a["name"], a["company"]) for a in body["arrived"]] == [("Jane Doe", "Acme Widgets")]
    assert body["arrived"][0]["url"] == f"/leads/{response.json['lead_id']}"  # type: ignore[index]
    assert body["version"] != version
    assert body["version"] == version_of(client)
    # Told once: the page's new version has nothing new.
    assert client.get(f"{CHANGES}?since={body['version']}").status_code == 204

    # Claiming it changes what the page shows (not an arrival).
    client.post(f"/leads/{response.json['lead_id']}/claim")  # type: ignore[index]
    claimed = client.get(f"{CHANGES}?since={body['version']}")
    assert claimed.status_code == 200
    assert claimed.json is not None and claimed.json["arrived"] == []


def test_a_rep_outside_the_queue_learns_nothing(app: Flask, make_user: Callable[..., User]) -> None:
    rep_in(app, make_user, "Digital sales", name="Riley Rep")
    outsider = rep_in(app, make_user, "Customer development", name="Olive Outside")
    loner = make_user(Role.REP, name="Lonny Nowhere")  # in no queue at all
    clients = [sign_in(app.test_client(), user) for user in (outsider, loner)]
    versions = [version_of(c) for c in clients]
    secret = make_secret(app)
    assert (
        post_signed(app.test_client(), secret, lead("sam@x.example", "Sam", "X")).status_code == 202
    )
    assert route(app).routed == 1
    for client, version in zip(clients, versions, strict=True):
        assert client.get(f"{CHANGES}?since={version}").status_code == 204
        assert version_of(client) == version


def test_a_version_that_is_not_one_refreshes_the_page_and_names_nobody(
    app: Flask, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    secret = make_secret(app)
    post_signed(app.test_client(), secret, lead("a@b.example", "Ann", "B"))
    route(app)
    client = sign_in(app.test_client(), rep)
    for since in ("", "x", "a" * 5000, "abc.99999999999999999999999", "abc.-1", "\u0661.\u0662"):
        answer = client.get(CHANGES, query_string={"since": since})
        assert answer.status_code == 200, since
        assert answer.json is not None and answer.json["arrived"] == []
    # A NUL is refused before any view, as in every query string.
    assert client.get(CHANGES, query_string={"since": "abc.\x00"}).status_code == 422


def test_only_queue_workers_ask(client_as: Callable[[str], FlaskClient]) -> None:
    assert client_as("seller").get(f"{CHANGES}?since=x").status_code == 403


def test_the_page_wires_the_script_and_the_notify_texts_in_german(
    app: Flask, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales")
    client = sign_in(app.test_client(), rep)
    page = client.get("/queue", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "js/queue.js" in page
    assert 'data-changes-url="/queue/changes"' in page
    assert "Benachrichtigen" in page


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_an_open_queue_page_shows_a_new_lead_without_a_reload_and_notifies(
    app: Flask, live_server: str, browser: Any, make_user: Callable[..., User]
) -> None:
    rep = rep_in(app, make_user, "Digital sales", name="Riley Rep")
    secret = make_secret(app)
    (routing,) = [job for job in jobs.JOBS if job.id == "routing.route_leads"]
    # Polling once an hour: the lead can only be routed in time by the webhook's wake-up.
    process = SchedulerProcess(
        app, jobs=[dataclasses.replace(routing, trigger_args={"hours": 1})], poll_seconds=0.05
    )
    process.start_in_thread()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        assert wait_until(process.is_leader.is_set)
        if process.listener is not None:
            assert wait_until(process.listener.listening.is_set)
        context.grant_permissions(["notifications"], origin=live_server)
        context.add_init_script(
            "window.__notes = []; const Real = window.Notification;"
            "window.Notification = function (title, options) {"
            "  window.__notes.push({ title: title, body: options.body }); return { close() {} }; };"
            "window.Notification.permission = 'granted';"
            "window.Notification.requestPermission = () => Promise.resolve('granted');"
        )
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(rep.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server}/queue")
        assert "Jane Doe" not in page.content()
        page.get_by_role("button", name="Notify me").click()
        page.get_by_role("button", name="Notifications on").wait_for()
        page.evaluate("window.__marker = 'same page'")

        body = json.dumps(lead("jane@acme.example", "Jane", "Acme Widgets"))
        answer = requests.post(
            f"{live_server}/api/v1/webhooks/leads",
            data=body.encode(),
            headers=signed_headers(secret, body),
            timeout=10,
        )
        assert answer.status_code == 202
        # It appears by the page's own polling (how fast is bench/speed_to_lead.py's and the
        # page's one-second poll's to say; a busy machine must not fail the test).
        page.get_by_role("link", name="Jane Doe").wait_for(timeout=20_000)
        assert page.evaluate("window.__marker") == "same page", "the page was reloaded"
        page.wait_for_function("() => window.__notes.length > 0", timeout=3000)
        assert page.evaluate("window.__notes") == [
            {"title": "New lead", "body": "Jane Doe · Acme Widgets"}
        ]
        # The status line is written 50 ms after it is cleared, so screen readers announce it.
        page.wait_for_function(
            "() => document.querySelector('[data-queue-status]').textContent.length > 0",
            timeout=3000,
        )
        assert "New in your queue: Jane Doe" in page.locator("[data-queue-status]").inner_text()
    finally:
        context.close()
        process.stop()
        assert wait_until(lambda: not process.is_leader.is_set())
