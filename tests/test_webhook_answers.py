"""The lead webhook's answers: a redelivery gets the first answer, control characters are
refused naming the field, for a body with a Content-Length and a chunked one alike."""

from __future__ import annotations

import http.client
import io
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from contentfeed import db
from contentfeed.db import utcnow
from contentfeed.leads import service, store
from contentfeed.leads.models import EventStatus, InboundEvent, Lead
from tests.test_api import check_against_spec
from tests.test_webhook import FORM, JSON, LEAD, URL, count, make_secret, signed_headers, spec_of

# A body with a Content-Length, and a chunked one (no length): both must answer alike.
ROUTES = ("length", "chunked")


def post(
    client: FlaskClient,
    secret: str,
    payload: dict[str, Any] | str,
    *,
    route: str,
    msg_id: str | None = None,
    content_type: str = JSON,
) -> TestResponse:
    """Post a signed delivery with its length or, chunked, without."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = signed_headers(secret, body, msg_id=msg_id, content_type=content_type)
    if route == "length":
        return client.post(URL, data=body.encode(), headers=headers)
    return client.post(
        URL,
        input_stream=io.BytesIO(body.encode()),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )


def the_event(app: Flask) -> InboundEvent:
    with app.app_context():
        event = db.session().scalars(sa.select(InboundEvent)).one()
        db.session().expunge(event)
        return event


# --- redeliveries ------------------------------------------------------------------------

REFUSED = {"email": "not-an-address", "country": "Atlantis", "first_name": "Jane"}


@pytest.mark.parametrize("route", ROUTES)
def test_redelivery_of_a_refused_delivery_answers_the_same_422(
    app: Flask, client: FlaskClient, route: str
) -> None:
    secret = make_secret(app)
    first = post(client, secret, REFUSED, msg_id="msg_refused", route=route)
    assert first.status_code == 422, first.get_data(as_text=True)
    assert first.json is not None
    assert set(first.json["fields"]) == {"email", "country"}
    # The sender retries (fresh timestamp and signature, same webhook-id), by either route.
    for again_route in ROUTES:
        again = post(client, secret, REFUSED, msg_id="msg_refused", route=again_route)
        assert again.status_code == 422, again.get_data(as_text=True)
        assert again.json == first.json
        check_against_spec(spec_of(client), URL, "post", 422, again.json)
    assert count(app, Lead) == 0
    assert count(app, InboundEvent) == 1


def test_redelivery_of_a_refused_token_post_answers_the_same_422(
    app: Flask, client: FlaskClient, make_user: Any, make_token: Any
) -> None:
    token = make_token(make_user("admin"), "leads:write")
    body = {**REFUSED, "external_id": "crm-77"}
    auth = {"Authorization": f"Bearer {token}"}
    first = client.post(URL, json=body, headers=auth)
    again = client.post(URL, json=body, headers=auth)
    assert first.status_code == again.status_code == 422
    assert again.json == first.json
    assert count(app, InboundEvent) == 1


class LiveServer:
    """The app behind a real threaded HTTP server, as gunicorn's threads would serve it."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def post(self, body: bytes, headers: dict[str, str], *, chunked: bool) -> tuple[int, Any]:
        """Post a body (chunked, or with its length) and return the status and JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            if chunked:
                conn.request("POST", URL, body=iter([body]), headers=headers, encode_chunked=True)
            else:
                conn.request("POST", URL, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()


@pytest.fixture
def live(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_chunked_signed_delivery_is_taken_in_as_one_with_a_length(
    app: Flask, live: LiveServer
) -> None:
    """Transfer-Encoding: chunked, no Content-Length: the same 202 and the same lead."""
    secret = make_secret(app)
    body = json.dumps(LEAD).encode()
    chunked = live.post(body, signed_headers(secret, body.decode()), chunked=True)
    with_length = live.post(
        body, signed_headers(secret, body.decode(), msg_id="msg_with_length"), chunked=False
    )
    assert chunked[0] == with_length[0] == 202, (chunked, with_length)
    assert chunked[1]["status"] == with_length[1]["status"] == "processed"
    assert chunked[1]["lead_id"] is not None
    assert chunked[1]["lead_id"] != with_length[1]["lead_id"]
    with app.app_context():
        leads = db.session().scalars(sa.select(Lead).order_by(Lead.id)).all()
        assert [lead.email for lead in leads] == ["jane.doe@example.com"] * 2
        assert (
            leads[0].extra
            == leads[1].extra
            == {
                "newsletter": "weekly",
                "answers": {"team_size": "50-200", "tools": ["crm", "erp"]},
            }
        )


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("payload", [LEAD, REFUSED], ids=["good", "refused"])
def test_concurrent_copies_all_get_the_first_answer(
    app: Flask, live: LiveServer, route: str, payload: dict[str, Any]
) -> None:
    secret = make_secret(app)
    body = json.dumps(payload)
    headers = signed_headers(secret, body, msg_id=f"msg_{uuid.uuid4().hex}")
    copies = 20
    barrier = threading.Barrier(copies)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def deliver() -> None:
        barrier.wait()
        answer = live.post(body.encode(), headers, chunked=route == "chunked")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == copies
    # Every copy is told what the first was told: the lead, or the fields at fault.
    assert all(answer == answers[0] for answer in answers), answers
    status, first = answers[0]
    if payload is LEAD:
        assert status == 202
        assert first["status"] == "processed"
        assert isinstance(first["lead_id"], int)
        assert count(app, Lead) == 1
    else:
        assert status == 422
        assert set(first["fields"]) == {"email", "country"}
        assert count(app, Lead) == 0
    assert count(app, InboundEvent) == 1


@pytest.mark.parametrize("route", ROUTES)
def test_a_copy_waits_only_briefly_for_a_first_copy_that_never_finishes(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """A first copy whose worker died leaves its event received; copies are told so."""
    monkeypatch.setattr(service, "REDELIVERY_WAIT_SECONDS", 0.1)
    with app.app_context():
        s = db.session()
        event = InboundEvent(source="webhook", external_id="msg_stuck", body="{}")
        s.add(event)
        s.commit()
        event_id = event.id
    secret = make_secret(app)
    response = post(client, secret, LEAD, msg_id="msg_stuck", route=route)
    assert response.status_code == 202
    assert response.json is not None
    assert (response.json["event_id"], response.json["status"]) == (event_id, "received")
    assert response.json["lead_id"] is None
    assert count(app, Lead) == 0


# --- control characters ------------------------------------------------------------------

NUL_CASES: list[tuple[str, str, str, str]] = [
    (
        "name",
        json.dumps({"email": "a@example.com", "first_name": "Ja\u0000ne"}),
        JSON,
        "first_name",
    ),
    ("company", "email=a%40example.com&company=Acme%00GmbH", FORM, "company"),
    ("email", json.dumps({"email": "a\u0000b@example.com"}), JSON, "email"),
    (
        "free-text",
        json.dumps({"email": "a@example.com", "consent_text": "v\u00003"}),
        JSON,
        "consent_text",
    ),
    ("extra", json.dumps({"email": "a@example.com", "message": "Hi\u0000"}), JSON, "message"),
    (
        "nested-extra",
        json.dumps({"email": "a@example.com", "answers": {"q": ["\u0000"]}}),
        JSON,
        "answers",
    ),
    ("extra-name", json.dumps({"email": "a@example.com", "no\u0000te": "x"}), JSON, "no"),
    (
        "escape",
        json.dumps({"email": "a@example.com", "utm_source": "li\u001bnk"}),
        JSON,
        "utm_source",
    ),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [case[1:] for case in NUL_CASES],
    ids=[case[0] for case in NUL_CASES],
)
def test_control_characters_are_refused_naming_the_field_and_never_retried(
    app: Flask, client: FlaskClient, route: str, body: str, content_type: str, field: str
) -> None:
    secret = make_secret(app)
    response = post(client, secret, body, route=route, content_type=content_type)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None
    assert response.json["error"] == "validation_failed"
    assert any(name.startswith(field) for name in response.json["fields"]), response.json
    assert "control character" in json.dumps(response.json["fields"])
    check_against_spec(spec_of(client), URL, "post", 422, response.json)
    assert count(app, Lead) == 0
    # Kept for the admins to see, with its reason, and not retried: it cannot do better.
    event = the_event(app)
    assert event.status is EventStatus.FAILED
    assert event.next_attempt_at is None
    assert "control character" in event.error
    with app.app_context():
        s = db.session()
        later = utcnow() + timedelta(days=3)
        result = service.retry_due(s, service.IntakeSettings(), now=later)
        s.commit()
        assert (result.processed, result.failed) == (0, 0)
        listed, total = service.list_failed_events(s, now=later)
        assert total == 1 and listed[0].id == event.id
    assert the_event(app).attempts == event.attempts


def test_a_raw_nul_byte_in_the_body_is_refused_before_storing(
    app: Flask, client: FlaskClient
) -> None:
    secret = make_secret(app)
    response = post(
        client,
        secret,
        "email=a%40example.com&company=Acme\x00",
        route="length",
        content_type=FORM,
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json is not None and "NUL" in response.json["message"]
    assert count(app, InboundEvent) == 0


def test_an_event_stuck_retrying_on_a_nul_stops_at_its_next_attempt(
    app: Flask, client: FlaskClient
) -> None:
    """Events stored before NUL was refused kept failing in the database, with retries."""
    with app.app_context():
        s = db.session()
        event = InboundEvent(
            source="webhook",
            external_id="msg_old",
            content_type=JSON,
            body=json.dumps({"email": "a@example.com", "company": "Ac\u0000me"}),
            status=EventStatus.FAILED,
            error="DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes",
            attempts=2,
            next_attempt_at=utcnow() - timedelta(minutes=1),
        )
        s.add(event)
        s.commit()
        assert service.retry_due(s, service.IntakeSettings()).failed == 1
        s.commit()
        s.refresh(event)
        assert event.next_attempt_at is None
        assert "company" in event.error
        assert service.retry_due(s, service.IntakeSettings(), now=utcnow() + timedelta(days=2)) == (
            service.RetryResult()
        )


@pytest.mark.parametrize("route", ROUTES)
def test_tabs_and_newlines_are_kept_in_free_text(
    app: Flask, client: FlaskClient, route: str
) -> None:
    secret = make_secret(app)
    message = "Hello team,\n\tplease call me back.\r\nThanks"
    payload = {
        "email": "a@example.com",
        "first_name": "Jane\tMarie",
        "company": "Acme\nGmbH",
        "consent_text": "privacy-v3\nI agree.",
        "message": message,
        "answers": {"notes": ["one\ttwo"]},
    }
    response = post(client, secret, payload, route=route)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json is not None and response.json["status"] == "processed"
    with app.app_context():
        lead = db.session().get(Lead, response.json["lead_id"])
        assert lead is not None
        assert lead.extra == {"message": message, "answers": {"notes": ["one\ttwo"]}}
        assert lead.consent_text == "privacy-v3\nI agree."
        # One-line fields take a tab or line break as a space.
        assert (lead.first_name, lead.company) == ("Jane Marie", "Acme GmbH")


@pytest.mark.parametrize("route", ROUTES)
def test_a_value_the_database_refuses_is_not_retried(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """A payload the database cannot store fails the same way at every attempt."""
    secret = make_secret(app)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.DataError("INSERT INTO lead", {}, Exception("value out of range"))

    monkeypatch.setattr(store, "write_lead", refused)
    response = post(client, secret, LEAD, route=route)
    assert response.status_code == 202
    assert response.json is not None and response.json["status"] == "failed"
    event = the_event(app)
    assert event.next_attempt_at is None
    assert "value out of range" in event.error
    # An admin's retry by hand meets the same refusal and schedules nothing either.
    with app.app_context():
        s = db.session()
        service.reprocess_event(s, event.id, service.IntakeSettings())
        s.commit()
    again = the_event(app)
    assert (again.attempts, again.next_attempt_at) == (2, None)


def test_a_control_character_in_the_token_posts_external_id_is_refused(
    app: Flask, client: FlaskClient, make_user: Any, make_token: Any
) -> None:
    token = make_token(make_user("admin"), "leads:write")
    body = {"email": "a@example.com", "external_id": "crm\u000077"}
    response = client.post(URL, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None and "external_id" in response.json["fields"]
    assert count(app, InboundEvent) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_a_control_character_in_the_webhook_id_is_refused(
    app: Flask, client: FlaskClient, route: str
) -> None:
    secret = make_secret(app)
    response = post(client, secret, LEAD, msg_id="msg\u00001", route=route)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None and "webhook-id" in response.json["fields"]
    assert count(app, InboundEvent) == 0
