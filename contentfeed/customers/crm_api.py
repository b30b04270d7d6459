"""The CRM's webhook under /api/v1: deals won and lost, contracts ending and renewed."""

from __future__ import annotations

from flask import Blueprint, Response, request

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.api import operation
from contentfeed.customers import crm_events
from contentfeed.customers.crm_schema import CrmEventAccepted, CrmEventIn
from contentfeed.leads.webhook import Delivery

bp = Blueprint("crm_api", __name__, url_prefix="/api/v1")

TAG = "customers"


@bp.post("/webhooks/crm")
@access.public  # it authenticates itself: a Standard Webhooks signature with [crm] events_secret
@operation(
    summary="Receive a CRM event",
    tag=TAG,
    response=CrmEventAccepted,
    status=202,
    body=CrmEventIn,
    errors=(400, 401, 403, 413, 422, 503),
)
def receive() -> Response:
    """Take in one event from the CRM: `deal.won`, `deal.lost`, `contract.ending` or
    `contract.renewed` (docs/crm-events.md).

    Sign it with Standard Webhooks (https://www.standardwebhooks.com) using the
    `[crm] events_secret`: headers `webhook-id` (unique per event; a redelivery reuses it),
    `webhook-timestamp` (Unix seconds, within `[leads] clock_skew_seconds` of our clock) and
    `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`).

    The event is stored before it is processed, so nothing is lost; a redelivery changes
    nothing and is answered what the first copy was. 400 is a body that is no JSON object,
    422 names the fields at fault (neither is retried), 401 a signature that does not match
    or a stale timestamp, 403 that no `events_secret` is set here, 413 a body over `[leads]
    max_body_kb`, and 503 (with Retry-After) a database briefly unavailable: deliver again.
    """
    settings = config.current()
    delivery = Delivery(
        headers={name.lower(): value for name, value in request.headers.items()},
        length=request.content_length,
        read_body=lambda: request.get_data(cache=True),
    )
    reply = crm_events.receive(db.unit_of_work, delivery, settings)
    return Response(
        reply.payload(), reply.status, list(reply.headers), content_type="application/json"
    )
