"""Routing API: the CRM outbox, its counts and messages, and sending one again."""

from __future__ import annotations

from dataclasses import asdict

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    Link,
    Timestamp,
    json_response,
    operation,
    parse_query,
)
from contentfeed.routing import (
    outbox,
)
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    ADMIN,
    ADMIN_TAG,
    WRITE_SCOPE,
)
from contentfeed.routing.models import (
    OutboxMessage,
    OutboxStatus,
)
from contentfeed.text import Input

# --- the CRM outbox ------------------------------------------------------------------------


class OutboxQuery(Input):
    """Filters for outbox messages."""

    model_config = ConfigDict(extra="forbid")

    status: OutboxStatus | None = None
    limit: int = Field(default=100, ge=1, le=500)


class MessageOut(BaseModel):
    """A message for the CRM; its message_id stays the same across tries."""

    id: int
    message_id: str = Field(description="Sent as webhook-id, so the CRM can drop duplicates")
    destination: str
    event_type: str
    lead_id: int | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_error: str
    created_at: Timestamp
    delivered_at: Timestamp | None


class OutboxCounts(BaseModel):
    """Messages per status, and whether the CRM destination is switched off."""

    pending: int
    delivered: int
    dead: int
    disabled_reason: str = Field(description="Why the destination is off; empty when it is on")


class OutboxOut(BaseModel):
    """The outbox's counts and its latest messages, newest first."""

    summary: OutboxCounts
    items: list[MessageOut]


def message_out(message: OutboxMessage) -> MessageOut:
    """Describe an outbox message for the API (without its payload)."""
    return MessageOut(
        id=message.id,
        message_id=message.message_id,
        destination=message.destination,
        event_type=message.event_type,
        lead_id=message.lead_id,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        last_error=message.last_error,
        created_at=message.created_at,
        delivered_at=message.delivered_at,
    )


@bp.get("/outbox")
@access.require_scope("read", *ADMIN)
@operation(
    summary="The CRM outbox",
    tag=ADMIN_TAG,
    response=OutboxOut,
    query=OutboxQuery,
    links={
        "resend": Link(
            "routing_api.resend_message", "POST", {"message_id": "$response.body#/items/0/id"}
        )
    },
)
def list_outbox() -> Response:
    """Count the CRM messages by status and list the latest, optionally of one status."""
    query = parse_query(OutboxQuery)
    s = db.session()
    counts = outbox.summary(s)
    body = OutboxOut(
        summary=OutboxCounts(**asdict(counts)),
        items=[message_out(m) for m in outbox.list_messages(s, query.status, limit=query.limit)],
    )
    return json_response(body)


@bp.post("/outbox/<int:message_id>/resend")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Send an outbox message again",
    tag=ADMIN_TAG,
    response=MessageOut,
    errors=(404, 409),
)
def resend_message(message_id: int) -> Response:
    """Queue a dead (or pending) message for delivery again; its tries start over."""
    s = db.session()
    message = outbox.resend(s, message_id)
    body = message_out(message)
    return json_response(body)
