"""Leads API under /api/v1: the lead webhook; the blueprint the other leads routes share."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.api import (
    operation,
)
from contentfeed.errors import Unavailable, error_response
from contentfeed.leads import intake, webhook

bp = Blueprint("leads_api", __name__, url_prefix="/api/v1")

log = logging.getLogger("contentfeed.leads")

TAG = "leads"
WRITE_SCOPE = "leads:write"


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Response:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


@bp.post("/webhooks/leads")
@access.public  # it authenticates itself: a Standard Webhooks signature or a bearer token
@operation(
    summary="Receive a lead",
    tag=TAG,
    response=webhook.EventAccepted,
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
    settings = config.current().leads
    delivery = webhook.Delivery(
        headers={name.lower(): value for name, value in request.headers.items()},
        length=request.content_length,
        read_body=lambda: request.get_data(cache=True),
        bearer=access.bearer_token(),
    )
    reply = webhook.receive_delivery(
        db.hot_engine(),
        delivery,
        settings,
        max_body_bytes=settings.max_body_kb * 1024,
        authenticate=_token_sender,
    )
    return Response(
        reply.payload(), reply.status, list(reply.headers), content_type="application/json"
    )


def _token_sender(plaintext: str) -> webhook.Sender:
    """Authenticate a bearer token for the webhook; its last use is kept even when the
    delivery is then refused (its own unit of work, as before the request boundary)."""
    with db.unit_of_work() as own:
        token = accounts.token_for(own, plaintext)
    g.api_token = token
    return webhook.Sender(token.id, token.scopes)


# The other resources' routes live beside their schemas, on this same blueprint.
from contentfeed.leads import api_leads, api_privacy, api_secrets  # noqa: E402, F401
