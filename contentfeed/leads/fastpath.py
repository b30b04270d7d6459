"""The lead webhook's fast path: a signed delivery taken in below Flask.

Website forms and relays post leads in bursts, and each one should cost little more than
storing it. This WSGI middleware serves the common case (a POST to the webhook with Standard
Webhooks headers) with the same service functions as the Flask view, without building a
request context, a session or a response object. Whenever something is off before the
event is stored (a bad signature, body or content type, a token instead of a signature) it
hands the request, body intact, to the Flask view, which answers with its usual errors;
that is safe because nothing was written yet. Past that point it answers itself: 202 with
the outcome, the fields at fault (the event is kept as failed), or 503 when the database is
down. Either way the behaviour is the view's; only the overhead differs.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from contentfeed import db
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Unavailable
from contentfeed.leads import intake, service, store
from contentfeed.leads.service import IntakeSettings, Outcome

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

log = logging.getLogger("contentfeed.leads")

PATH = "/api/v1/webhooks/leads"
DATABASE_DOWN = db.DATABASE_DOWN


class WebhookFastPath:
    """Serve signed lead deliveries without entering Flask; anything else goes on to it."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner
        self._engine: sa.Engine | None = None

    def _hot_engine(self) -> sa.Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.hot_engine()
        return self._engine

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or "HTTP_WEBHOOK_SIGNATURE" not in environ
            or "HTTP_AUTHORIZATION" in environ
        ):
            return self.inner(environ, start_response)
        raw = _read_body(environ, int(self.app.config["WEBHOOK_MAX_BODY_KB"]) * 1024)
        if raw is None:
            return self.inner(environ, start_response)  # no length, or too long: Flask says so
        headers = {
            "webhook-id": environ.get("HTTP_WEBHOOK_ID", ""),
            "webhook-timestamp": environ.get("HTTP_WEBHOOK_TIMESTAMP", ""),
            "webhook-signature": environ.get("HTTP_WEBHOOK_SIGNATURE", ""),
            "content-type": environ.get("CONTENT_TYPE", ""),
            "user-agent": environ.get("HTTP_USER_AGENT", ""),
        }
        engine, settings = self._hot_engine(), IntakeSettings.from_config(self.app.config)
        for attempt in (1, 2):
            try:
                with engine.connect() as conn:
                    checked = _checked(conn, raw, headers, settings)
                    if checked is None:
                        return self.inner(environ, start_response)  # refused: Flask explains
                    outcome = service.take_in(conn, *checked, settings)
                break
            except DATABASE_DOWN as exc:
                # A pooled connection found dead (the database restarted, the backend was
                # terminated) is replaced and the delivery tried once more: a delivery is
                # idempotent by its webhook-id, so a second try never stores it twice.
                if attempt == 1 and db.is_disconnect(exc):
                    continue
                log.warning("lead webhook: database unavailable", exc_info=True)
                problem = Unavailable(service.UNAVAILABLE)
                return _answer(start_response, problem.status, _error_body(problem), retry=True)
        if outcome.problem is not None:
            return _answer(start_response, outcome.problem.status, _error_body(outcome.problem))
        return _answer(start_response, 202, _accepted_body(outcome))


def _read_body(environ: WSGIEnvironment, max_bytes: int) -> bytes | None:
    """Read the body and put it back for Flask; None when its length is missing or too big."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= max_bytes:
        return None
    raw: bytes = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return raw


def _checked(
    conn: sa.Connection, raw: bytes, headers: dict[str, str], settings: IntakeSettings
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Verify and decode a delivery into its event's values and its decoded fields; None
    when it must be refused."""
    try:
        service.verify_signature(conn, raw, headers, clock_skew_seconds=settings.clock_skew_seconds)
        conn.commit()
        text = intake.decode_body(raw)
        content_type = headers["content-type"]
        intake.check_media_type(content_type)
        data = intake.read_data(content_type, text)
    except DomainError:
        return None
    values = store.event_values(
        source=service.WEBHOOK_SOURCE,
        external_id=headers["webhook-id"].strip(),
        content_type=content_type,
        body=text,
        headers=headers,
        now=utcnow(),
    )
    return values, data


def _accepted_body(outcome: Outcome) -> dict[str, object]:
    return {
        "event_id": outcome.event_id,
        "lead_id": outcome.lead_id,
        "status": outcome.status.value,
        "attributed": outcome.attributed,
    }


def _error_body(problem: DomainError) -> dict[str, object]:
    return {"error": problem.code, "message": problem.message, "fields": problem.fields}


def _answer(
    start_response: StartResponse, status: int, body: dict[str, object], *, retry: bool = False
) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if retry:
        headers.append(("Retry-After", str(Unavailable.retry_after_seconds)))
    start_response(f"{status} {HTTPStatus(status).phrase.upper()}", headers)
    return [payload]
