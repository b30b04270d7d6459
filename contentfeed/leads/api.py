"""Leads API under /api/v1: the lead webhook; the blueprint the other leads routes share."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.api import operation
from contentfeed.db import utcnow
from contentfeed.errors import Forbidden, Invalid, PayloadTooLarge, Unavailable, error_response
from contentfeed.leads import intake, service, store
from contentfeed.leads.models import EventStatus

bp = Blueprint("leads_api", __name__, url_prefix="/api/v1")

log = logging.getLogger("contentfeed.leads")

TAG = "leads"
WRITE_SCOPE = "leads:write"
DATABASE_DOWN = db.DATABASE_DOWN


class EventAccepted(BaseModel):
    """The stored event and, once processed, its lead; a redelivery answers the same."""

    event_id: int = Field(description="The raw event's id; the same for every redelivery")
    lead_id: int | None = Field(description="The lead made from it; null until processed")
    status: EventStatus = Field(
        description="processed; received when a first copy is still being processed after "
        "a short wait; failed when processing failed (the event is kept and retried)"
    )
    attributed: int = Field(description="How many tracked-link touches the lead was given")


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Response:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _accepted(outcome: service.Outcome) -> Response:
    body = EventAccepted(
        event_id=outcome.event_id,
        lead_id=outcome.lead_id,
        status=outcome.status,
        attributed=outcome.attributed,
    )
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = 202
    return response


def _read_body(max_bytes: int) -> bytes:
    """Return the raw body, refusing it (413) before reading when it says it is too large."""
    message = f"The body is larger than {max_bytes // 1024} KB."
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(message)
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(message)
    return raw


def _database_down() -> Unavailable:
    with contextlib.suppress(*DATABASE_DOWN):
        db.session().rollback()
    log.warning("lead webhook: database unavailable", exc_info=True)
    return Unavailable(service.UNAVAILABLE)


@bp.post("/webhooks/leads")
@access.public  # it authenticates itself: a Standard Webhooks signature or a bearer token
@operation(
    summary="Receive a lead",
    tag=TAG,
    response=EventAccepted,
    status=202,
    body=intake.LeadIn,
    errors=(400, 401, 403, 413, 415, 422, 503),
)
def receive() -> Response:
    """Take in one lead from a website form or a form relay.

    Send the fields as `application/json` or `application/x-www-form-urlencoded` (UTF-8);
    fields not listed in the schema are kept with the lead as extra data.

    Authenticate with either:

    - a Standard Webhooks signature (https://www.standardwebhooks.com): headers
      `webhook-id` (unique per lead; a redelivery reuses it), `webhook-timestamp` (Unix
      seconds; refused when further from our clock than the configured skew) and
      `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`) made
      with a `whsec_...` secret an admin created. Several secrets may be active at once,
      so they can be rotated; or
    - `Authorization: Bearer <token>` with the `leads:write` scope; the body must then carry
      `external_id`, which makes redelivery safe.

    The raw event is stored before it is processed, so nothing is lost and a redelivery
    answers the first delivery's result without creating anything: the same lead, or the
    same 422 naming the same fields. Control characters are refused (422 naming the field),
    except tabs and line breaks in free text (`consent_text`, extra fields). 503 (with
    Retry-After) means the database is briefly unavailable: deliver again.
    """
    config = current_app.config
    settings = service.IntakeSettings.from_config(config)
    raw = _read_body(int(config["WEBHOOK_MAX_BODY_KB"]) * 1024)
    headers = {name.lower(): value for name, value in request.headers.items()}
    plaintext = access.bearer_token()
    try:
        # The hot path runs on its own connection (autocommit on PostgreSQL) with Core
        # statements; only the rarer bearer-token check goes through the ORM session.
        with db.hot_engine().connect() as conn:
            if plaintext is not None:
                s = db.session()
                token = accounts.token_for(s, plaintext)
                s.commit()
                g.api_token = token
                if WRITE_SCOPE not in token.scopes:
                    raise Forbidden(f"This token lacks the '{WRITE_SCOPE}' scope.")
            else:
                service.verify_signature(
                    conn, raw, headers, clock_skew_seconds=settings.clock_skew_seconds
                )
                conn.commit()
            text = intake.decode_body(raw)
            content_type = headers.get("content-type", "")
            intake.check_media_type(content_type)
            data = intake.read_data(content_type, text)
            source, external_id = _event_key(data, headers)
            values = store.event_values(
                source=source,
                external_id=external_id,
                content_type=content_type,
                body=text,
                headers=headers,
                now=utcnow(),
            )
            outcome = service.take_in(conn, values, data, settings)
    except DATABASE_DOWN:
        raise _database_down() from None
    if outcome.problem is not None:
        raise outcome.problem
    return _accepted(outcome)


def _event_key(data: dict[str, Any], headers: dict[str, str]) -> tuple[str, str]:
    """Return the (source, id) that makes a delivery unique: the webhook-id for signed
    deliveries, the body's external_id for token posts."""
    token = g.get("api_token")
    if token is None:
        return service.WEBHOOK_SOURCE, headers["webhook-id"].strip()
    external_id = data.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        message = "Send an external_id (your id of this lead) with a bearer token."
        raise Invalid(message, {"external_id": "required with a bearer token"})
    if len(external_id.strip()) > 200:
        raise Invalid("Some fields need attention.", {"external_id": "at most 200 characters"})
    if (problem := intake.control_character(external_id)) is not None:
        # It becomes the stored event's key, which cannot hold a NUL on PostgreSQL.
        raise Invalid("Some fields need attention.", {"external_id": problem})
    return f"token:{token.id}", external_id.strip()


# The other resources' routes live beside their schemas, on this same blueprint.
from contentfeed.leads import api_leads, api_privacy  # noqa: E402, F401
