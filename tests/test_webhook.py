"""The lead webhook: signatures, idempotent intake, bad input, failures, retries, CLI secrets."""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from standardwebhooks import Webhook
from werkzeug.test import TestResponse

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.cli import main
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.leads import jobs, service, store
from contentfeed.leads.models import EventStatus, InboundEvent, Lead, Touch, WebhookSecret
from contentfeed.links.models import TrackedLink
from contentfeed.scheduler import run_job
from contentfeed.suggestions import service as suggestions
from tests.test_api import bearer, check_against_spec

URL = "/api/v1/webhooks/leads"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


# --- helpers -----------------------------------------------------------------------------


def make_secret(app: Flask, name: str = "Website") -> str:
    with app.app_context():
        s = db.session()
        _secret, value = service.create_secret(s, name=name)
        s.commit()
        return value


def signed_headers(
    secret: str,
    body: str,
    *,
    msg_id: str | None = None,
    timestamp: datetime | None = None,
    content_type: str = JSON,
) -> dict[str, str]:
    """Sign a delivery the way a sender does, with the standardwebhooks library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, body),
        "Content-Type": content_type,
        "User-Agent": "website-forms/1.0",
    }


def post_signed(
    client: FlaskClient,
    secret: str,
    payload: dict[str, Any] | str,
    *,
    msg_id: str | None = None,
    content_type: str = JSON,
) -> TestResponse:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = signed_headers(secret, body, msg_id=msg_id, content_type=content_type)
    return client.post(URL, data=body.encode(), headers=headers)


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return db.session().scalar(sa.select(sa.func.count()).select_from(model)) or 0


def spec_of(client: FlaskClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/api/v1/openapi.json").json
    return spec


def assert_refused(
    app: Flask, client: FlaskClient, response: TestResponse, status: int, fragment: str
) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json is not None
    assert fragment in response.json["message"] + json.dumps(response.json["fields"])
    check_against_spec(spec_of(client), URL, "post", status, response.json)
    assert count(app, Lead) == 0


LEAD = {
    "email": "  Jane.Doe@Example.COM ",
    "first_name": " Jane ",
    "last_name": "Doe",
    "company": "Acme GmbH",
    "job_title": "Head of IT",
    "country": "Germany",
    "consent": True,
    "consent_text": "privacy-v3",
    "utm_source": "linkedin",
    "utm_medium": "social",
    "landing_url": "https://example.com/whitepaper",
    "newsletter": "weekly",
    "answers": {"team_size": "50-200", "tools": ["crm", "erp"]},
}


# --- signatures --------------------------------------------------------------------------


def test_signed_lead_is_stored_normalised(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    response = post_signed(client, secret, LEAD, msg_id="msg_first")
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    assert body["status"] == "processed"
    assert body["attributed"] == 0
    assert isinstance(body["lead_id"], int)
    check_against_spec(spec_of(client), URL, "post", 202, body)
    with app.app_context():
        s = db.session()
        lead = s.get(Lead, body["lead_id"])
        assert lead is not None
        assert lead.email == "jane.doe@example.com"
        assert lead.email_domain == "example.com"
        assert lead.first_name == "Jane"
        assert lead.country == "DE"
        assert lead.consent is True
        assert lead.consent_text == "privacy-v3"
        assert lead.utm_source == "linkedin"
        assert lead.extra == {"newsletter": "weekly", "answers": LEAD["answers"]}
        event = s.get(InboundEvent, body["event_id"])
        assert event is not None
        assert event.source == "webhook"
        assert event.external_id == "msg_first"
        assert event.status is EventStatus.PROCESSED
        assert event.lead_id == lead.id
        assert json.loads(event.body)["email"] == LEAD["email"]
        assert set(event.headers) == {
            "webhook-id",
            "webhook-timestamp",
            "user-agent",
            "content-type",
        }
        secret_row = s.scalar(sa.select(WebhookSecret))
        assert secret_row is not None
        assert secret_row.last_used_at is not None


def _stale(secret: str, body: str) -> dict[str, str]:
    return signed_headers(secret, body, timestamp=utcnow() - timedelta(seconds=400))


def _future(secret: str, body: str) -> dict[str, str]:
    return signed_headers(secret, body, timestamp=utcnow() + timedelta(seconds=400))


def _wrong_secret(secret: str, body: str) -> dict[str, str]:
    return signed_headers(service.new_secret_value(), body)


def _not_base64(secret: str, body: str) -> dict[str, str]:
    return {**signed_headers(secret, body), "webhook-signature": "v1,notbase64!!"}


def _no_comma(secret: str, body: str) -> dict[str, str]:
    return {**signed_headers(secret, body), "webhook-signature": "garbage"}


def _bad_timestamp(secret: str, body: str) -> dict[str, str]:
    return {**signed_headers(secret, body), "webhook-timestamp": "yesterday"}


def _missing_signature(secret: str, body: str) -> dict[str, str]:
    headers = signed_headers(secret, body)
    del headers["webhook-signature"]
    return headers


def _tampered(secret: str, body: str) -> dict[str, str]:
    return signed_headers(secret, body.replace("Jane", "John"))


@pytest.mark.parametrize(
    ("make_headers", "fragment"),
    [
        (_wrong_secret, "matches none of the active secrets"),
        (_tampered, "matches none of the active secrets"),
        (_stale, "more than 300 seconds away"),
        (_future, "more than 300 seconds away"),
        (_not_base64, "malformed"),
        (_no_comma, "malformed"),
        (_bad_timestamp, "whole seconds"),
        (_missing_signature, "Standard Webhooks headers"),
        (lambda secret, body: {"Content-Type": JSON}, "Standard Webhooks headers"),
    ],
    ids=[
        "wrong",
        "tampered",
        "stale",
        "future",
        "not-base64",
        "no-comma",
        "bad-timestamp",
        "no-signature",
        "unsigned",
    ],
)
def test_bad_signatures_are_refused_without_side_effects(
    app: Flask,
    client: FlaskClient,
    make_headers: Callable[[str, str], dict[str, str]],
    fragment: str,
) -> None:
    secret = make_secret(app)
    body = json.dumps(LEAD)
    response = client.post(URL, data=body.encode(), headers=make_headers(secret, body))
    assert_refused(app, client, response, 401, fragment)
    assert response.json is not None
    assert response.json["error"] == "unauthorized"
    assert count(app, InboundEvent) == 0


def test_clock_skew_follows_the_setting(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    body = json.dumps(LEAD)
    # Ten minutes old: beyond the library's fixed five minutes, within a 15-minute setting.
    headers = signed_headers(secret, body, timestamp=utcnow() - timedelta(minutes=10))
    config.override(app, webhook_clock_skew_seconds=900)
    assert client.post(URL, data=body.encode(), headers=headers).status_code == 202
    config.override(app, webhook_clock_skew_seconds=60)
    late = signed_headers(secret, body, timestamp=utcnow() - timedelta(seconds=90))
    assert client.post(URL, data=body.encode(), headers=late).status_code == 401


def test_rotated_secrets_each_work_and_a_revoked_one_does_not(
    app: Flask, client: FlaskClient
) -> None:
    old = make_secret(app, "old")
    new = make_secret(app, "new")
    assert post_signed(client, old, {"email": "a@example.com"}).status_code == 202
    assert post_signed(client, new, {"email": "b@example.com"}).status_code == 202
    with app.app_context():
        s = db.session()
        old_id = s.scalar(sa.select(WebhookSecret.id).where(WebhookSecret.name == "old"))
        assert old_id is not None
        service.revoke_secret(s, old_id)
        s.commit()
    refused = post_signed(client, old, {"email": "c@example.com"})
    assert refused.status_code == 401
    assert post_signed(client, new, {"email": "d@example.com"}).status_code == 202
    assert count(app, Lead) == 3


def test_unauthenticated_post_answers_401_json(client: FlaskClient) -> None:
    response = client.post(URL)
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "unauthorized"


# --- bearer tokens -----------------------------------------------------------------------


def test_bearer_token_with_scope_and_external_id(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    token = make_token(make_user("admin"), "leads:write")
    payload = {"email": "Relay@Example.com", "external_id": "crm-42"}
    first = client.post(URL, json=payload, headers=bearer(token))
    assert first.status_code == 202, first.get_data(as_text=True)
    again = client.post(URL, json=payload, headers=bearer(token))
    assert again.status_code == 202
    assert first.json is not None and again.json is not None
    assert again.json["event_id"] == first.json["event_id"]
    assert again.json["lead_id"] == first.json["lead_id"]
    with app.app_context():
        event = db.session().scalar(sa.select(InboundEvent))
        assert event is not None
        assert event.source.startswith("token:")
        assert event.external_id == "crm-42"
        assert "authorization" not in event.headers
    assert count(app, Lead) == 1


def test_bearer_token_without_scope_is_forbidden(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    token = make_token(make_user("admin"), "read")
    response = client.post(
        URL, json={"email": "a@example.com", "external_id": "x1"}, headers=bearer(token)
    )
    assert_refused(app, client, response, 403, "leads:write")
    assert count(app, InboundEvent) == 0


def test_bearer_token_needs_external_id(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    token = make_token(make_user("admin"), "leads:write")
    response = client.post(URL, json={"email": "a@example.com"}, headers=bearer(token))
    assert_refused(app, client, response, 422, "external_id")
    assert response.json is not None
    assert "external_id" in response.json["fields"]
    assert count(app, InboundEvent) == 0


def test_unknown_bearer_token_is_401(app: Flask, client: FlaskClient) -> None:
    response = client.post(URL, json={"email": "a@example.com"}, headers=bearer("cf_nope"))
    assert_refused(app, client, response, 401, "API token")


# --- idempotency -------------------------------------------------------------------------


def test_redelivery_answers_the_same_and_creates_nothing(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    first = post_signed(client, secret, LEAD, msg_id="msg_again")
    # The sender retries with a fresh timestamp (and so a fresh signature), same webhook-id.
    second = post_signed(client, secret, LEAD, msg_id="msg_again")
    assert first.status_code == second.status_code == 202
    assert first.json == second.json
    assert count(app, Lead) == 1
    assert count(app, InboundEvent) == 1


def test_concurrent_redelivery_gives_one_lead(pg_app: Flask) -> None:
    app = pg_app
    secret = make_secret(app)
    body = json.dumps(LEAD)
    headers = signed_headers(secret, body, msg_id="msg_storm")
    barrier = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(URL, data=body.encode(), headers=headers)
        with lock:
            answers.append((response.status_code, response.json))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 20
    assert {status for status, _ in answers} == {202}, answers
    assert len({body["event_id"] for _, body in answers}) == 1
    assert count(app, Lead) == 1
    assert count(app, InboundEvent) == 1


# --- bad input ---------------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "deep"
    for _ in range(depth):
        value = {"x": value}
    return {"email": "a@example.com", "meta": value}


BAD_INPUTS: list[tuple[str, bytes, str, int, str]] = [
    ("missing-email", b'{"first_name": "Jane"}', JSON, 422, "email"),
    ("invalid-email", b'{"email": "not-an-address"}', JSON, 422, "email"),
    (
        "wrong-types",
        b'{"email": "a@example.com", "first_name": 5, "consent": "maybe"}',
        JSON,
        422,
        "first_name",
    ),
    (
        "long-field",
        json.dumps({"email": "a@example.com", "company": "x" * 10_000}).encode(),
        JSON,
        422,
        "company",
    ),
    (
        "100kb-field",
        json.dumps({"email": "a@example.com", "notes": "x" * 100_000}).encode(),
        JSON,
        413,
        "larger than 64 KB",
    ),
    (
        "long-extra",
        json.dumps({"email": "a@example.com", "notes": "x" * 5000}).encode(),
        JSON,
        422,
        "notes",
    ),
    ("unknown-country", b'{"email": "a@example.com", "country": "Atlantis"}', JSON, 422, "country"),
    (
        "naive-time",
        b'{"email": "a@example.com", "submitted_at": "2025-05-01T10:00:00"}',
        JSON,
        422,
        "submitted_at",
    ),
    ("non-utf8", b'{"email": "\xff\xfe@example.com"}', JSON, 400, "UTF-8"),
    ("nested", json.dumps(_nested(6)).encode(), JSON, 422, "meta"),
    ("very-deep", b"[" * 5000 + b"]" * 5000, JSON, 400, "nested too deeply"),
    ("array", b'[{"email": "a@example.com"}]', JSON, 400, "object"),
    ("not-json", b'{"email": ', JSON, 400, "not valid JSON"),
    ("text-plain", b"email=a@example.com", "text/plain", 415, "text/plain"),
    ("no-content-type", b'{"email": "a@example.com"}', "", 415, "no content type"),
    ("empty", b"", JSON, 400, "empty"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_refused_and_stores_no_lead(
    app: Flask, client: FlaskClient, body: bytes, content_type: str, status: int, fragment: str
) -> None:
    secret = make_secret(app)
    text = body.decode("utf-8", errors="replace")
    headers = signed_headers(secret, text, content_type=content_type)
    if not content_type:
        del headers["Content-Type"]
    response = client.post(URL, data=body, headers=headers)
    assert_refused(app, client, response, status, fragment)
    if status == 422 and "external_id" not in fragment:
        # The raw event is kept (visible to admins) but marked failed, with no retry.
        with app.app_context():
            event = db.session().scalar(sa.select(InboundEvent))
            assert event is not None
            assert event.status is EventStatus.FAILED
            assert event.next_attempt_at is None
            assert fragment in event.error


def test_oversized_content_length_is_refused_before_reading(
    app: Flask, client: FlaskClient
) -> None:
    class Unreadable(io.BytesIO):
        def read(self, *args: Any) -> bytes:
            raise AssertionError("the body was read")

    response = client.post(
        URL,
        input_stream=Unreadable(),
        content_type=JSON,
        environ_overrides={"CONTENT_LENGTH": str(65 * 1024)},
    )
    assert response.status_code == 413
    assert response.json is not None
    assert response.json["error"] == "payload_too_large"


def test_form_encoded_lead_is_accepted(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    body = (
        "email=Jo%40Example.com&first_name=Jo&consent=on&country=fr"
        "&utm_source=linkedin&newsletter=weekly"
    )
    response = post_signed(client, secret, body, content_type=FORM + "; charset=UTF-8")
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json is not None
    with app.app_context():
        lead = db.session().get(Lead, response.json["lead_id"])
        assert lead is not None
        assert lead.email == "jo@example.com"
        assert lead.consent is True
        assert lead.country == "FR"
        assert lead.extra == {"newsletter": "weekly"}


# --- failures, retries, the database down ------------------------------------------------


def test_processing_failure_is_kept_and_retried(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make_secret(app)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("writing the lead failed")

    monkeypatch.setattr(store, "write_lead", broken)
    response = post_signed(client, secret, LEAD, msg_id="msg_fails")
    assert response.status_code == 202
    assert response.json is not None
    assert response.json["status"] == "failed"
    assert response.json["lead_id"] is None
    check_against_spec(spec_of(client), URL, "post", 202, response.json)
    event_id = response.json["event_id"]
    assert count(app, Lead) == 0
    with app.app_context():
        s = db.session()
        event = s.get(InboundEvent, event_id)
        assert event is not None
        assert event.status is EventStatus.FAILED
        assert "writing the lead failed" in event.error
        assert event.attempts == 1
        assert event.next_attempt_at is not None
        assert event.next_attempt_at > utcnow()
        # A redelivery meanwhile tells the sender it is kept (and creates nothing).
        again = post_signed(client, secret, LEAD, msg_id="msg_fails")
        assert again.json is not None
        assert (again.json["event_id"], again.json["status"]) == (event_id, "failed")
        # The retry job waits for the backoff ...
        monkeypatch.undo()
        assert service.retry_due(s, service.IntakeSettings()).processed == 0
        event.next_attempt_at = utcnow() - timedelta(seconds=1)
        s.commit()
    # ... then processes it as the scheduler would.
    run_job(app, next(job for job in jobs.JOBS if job.id == "leads.retry_events"))
    with app.app_context():
        event = db.session().get(InboundEvent, event_id)
        assert event is not None
        assert event.status is EventStatus.PROCESSED
        assert event.lead_id is not None
        assert event.error == ""
    assert count(app, Lead) == 1
    final = post_signed(client, secret, LEAD, msg_id="msg_fails")
    assert final.json is not None
    assert final.json["status"] == "processed"
    assert final.json["lead_id"] is not None


def test_backoff_grows_and_stops_after_max_attempts(app: Flask) -> None:
    now = utcnow()
    event = InboundEvent(source="webhook", external_id="x", body="{}", attempts=0)
    delays = []
    for _ in range(3):
        service.mark_failed(event, "boom", max_attempts=4, now=now)
        assert event.next_attempt_at is not None
        delays.append(event.next_attempt_at - now)
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15)]
    service.mark_failed(event, "boom", max_attempts=4, now=now)
    assert event.next_attempt_at is None


def test_reprocess_by_hand(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make_secret(app)
    monkeypatch.setattr(store, "write_lead", lambda *a, **k: 1 / 0)
    response = post_signed(client, secret, {"email": "hand@example.com"})
    assert response.json is not None
    event_id = response.json["event_id"]
    monkeypatch.undo()
    with app.app_context():
        s = db.session()
        outcome = service.reprocess_event(s, event_id, service.IntakeSettings())
        s.commit()
        assert outcome.status is EventStatus.PROCESSED
        assert outcome.lead_id is not None
    assert count(app, Lead) == 1


def test_one_bad_event_does_not_stop_the_others(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make_secret(app)
    monkeypatch.setattr(store, "write_lead", lambda *a, **k: 1 / 0)
    for email in ("one@example.com", "two@example.com", "boom@example.com"):
        post_signed(client, secret, {"email": email})
    real = monkeypatch.undo
    real()

    original = store.write_lead

    def picky(conn: Any, event_id: int, lead: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if lead["email"].startswith("boom"):
            raise RuntimeError("still broken")
        return original(conn, event_id, lead, *args, **kwargs)

    monkeypatch.setattr(store, "write_lead", picky)
    with app.app_context():
        s = db.session()
        later = utcnow() + timedelta(minutes=2)
        result = service.retry_due(s, service.IntakeSettings(), now=later)
        s.commit()
        assert (result.processed, result.failed) == (2, 1)
        failed = s.scalar(sa.select(InboundEvent).where(InboundEvent.status == "failed"))
        assert failed is not None
        assert failed.attempts == 2
    assert count(app, Lead) == 2


def test_database_unavailable_answers_503(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make_secret(app)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("INSERT INTO inbound_event", {}, Exception("refused"))

    monkeypatch.setattr(store, "insert_event", down)
    monkeypatch.setattr(store, "insert_event_finding_touches", down)
    response = post_signed(client, secret, LEAD)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json is not None
    assert response.json["error"] == "unavailable"
    check_against_spec(spec_of(client), URL, "post", 503, response.json)
    assert count(app, Lead) == 0


def test_purge_blanks_old_raw_events_and_keeps_counts(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    old = post_signed(client, secret, {"email": "old@example.com"}).json
    new = post_signed(client, secret, {"email": "new@example.com"}).json
    assert old is not None and new is not None
    with app.app_context():
        s = db.session()
        event = s.get(InboundEvent, old["event_id"])
        assert event is not None
        event.received_at = utcnow() - timedelta(days=31)
        s.commit()
    run_job(app, next(job for job in jobs.JOBS if job.id == "leads.purge_raw_events"))
    with app.app_context():
        s = db.session()
        purged = s.get(InboundEvent, old["event_id"])
        kept = s.get(InboundEvent, new["event_id"])
        assert purged is not None and kept is not None
        assert (purged.body, purged.headers) == ("", {})
        assert purged.status is EventStatus.PROCESSED
        assert purged.lead_id == old["lead_id"]
        assert kept.body != ""


# --- the CLI -----------------------------------------------------------------------------


def test_cli_creates_a_secret_that_signs(app: Flask, client: FlaskClient) -> None:
    result = CliRunner().invoke(
        main,
        ["webhook-secret", "create", "--name", "Website forms"],
        obj=ScriptInfo(create_app=lambda: app),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    value = result.output.strip()
    assert value.startswith("whsec_")
    assert len(base64.b64decode(value.removeprefix("whsec_"))) == 24
    with app.app_context():
        row = db.session().scalar(sa.select(WebhookSecret))
        assert row is not None
        assert row.name == "Website forms"
        assert row.prefix == value[:12]
    assert post_signed(client, value, {"email": "cli@example.com"}).status_code == 202


def test_a_lead_from_a_sellers_link_is_attributed_to_seller_post_and_content(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    """The whole loop: a seller's post is suggested, someone clicks its link, fills in the
    company's form, and the lead arrives signed with the code the link put in utm_content."""
    item = make_content(title="Zero-downtime migrations", campaign="Q4 Cloud Push")
    seller = make_user("seller", name="Sam Seller")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(hours=1),
        )
        s.commit()
        code = s.scalars(sa.select(TrackedLink.code)).one()
    visit = client.get(f"/r/{code}", headers={"User-Agent": "Mozilla/5.0 Chrome/131.0"})
    landing = visit.headers["Location"]
    assert f"utm_content={code}" in landing
    secret = make_secret(app)
    response = post_signed(
        client,
        secret,
        {
            "email": "Jane.Doe@Acme-Widgets.example",
            "first_name": "Jane",
            "company": "Acme",
            "utm_source": "linkedin",
            "utm_content": code,
            "landing_url": landing,
        },
    )
    assert response.status_code == 202, response.json
    assert response.json["attributed"] == 1
    with app.app_context():
        s = db.session()
        [touch] = s.scalars(sa.select(Touch)).all()
        assert touch.seller_id == seller.id
        assert touch.content_id == item.id
        assert touch.campaign_id == item.campaign_id
        assert touch.click_id is not None  # the click that preceded the form
        assert touch.credits["last_touch"] == 1.0
        lead = s.get(Lead, response.json["lead_id"])
        assert lead is not None and lead.email == "jane.doe@acme-widgets.example"
