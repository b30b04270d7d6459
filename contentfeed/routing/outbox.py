"""Delivering the CRM outbox: signed JSON, at least once, with backoff and a dead letter.

Messages are written in the same transaction as the change they report (service.enqueue);
this job sends the due ones in order. Each carries a stable ``webhook-id`` (its message id),
so a receiver that sees one twice can drop the copy. A 2xx answer delivers it; 410 Gone
switches the destination off and tells the admins (nothing more is sent until they turn it
back on); anything else, a timeout included, is retried later, and after the configured
number of tries the message is dead-lettered for an admin to send again.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from contentfeed import http
from contentfeed.config import CrmSettings
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, DomainError, NotFound
from contentfeed.i18n import _
from contentfeed.leads.models import Lead
from contentfeed.leads.service import last_touch
from contentfeed.routing.models import Destination, OutboxMessage, OutboxStatus

log = logging.getLogger("contentfeed.routing")

CRM = "crm"
BATCH = 100
# Where messages go and how hard to try ([crm] in config.toml).
OutboxSettings = CrmSettings
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryResult:
    """What one run of the delivery job did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    disabled: bool = False


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed try: 30 s, 1 min, 2 min, 4 min, … at most 6 hours."""
    delay: timedelta = FIRST_DELAY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_DELAY)


def destination(s: Session, name: str = CRM) -> Destination:
    """Return a destination's state, creating it on first use."""
    found = s.scalar(sa.select(Destination).where(Destination.name == name))
    if found is None:
        found = Destination(name=name)
        s.add(found)
        s.flush()
    return found


def deliver_due(
    s: Session, settings: OutboxSettings, now: datetime | None = None
) -> DeliveryResult:
    """Send the messages that are due, oldest first; a lead's later messages wait for its
    earlier ones."""
    now = now or utcnow()
    if not settings.webhook_url:
        return DeliveryResult()
    target = destination(s)
    if target.disabled_at is not None:
        return DeliveryResult(disabled=True)
    due = s.scalars(
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.destination == CRM,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    # A lead's message waiting for its retry holds back the lead's later ones, run after run.
    retry_later = {
        lead_id: first_id
        for lead_id, first_id in s.execute(
            sa.select(OutboxMessage.lead_id, sa.func.min(OutboxMessage.id))
            .where(
                OutboxMessage.destination == CRM,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at > now,
                OutboxMessage.lead_id.is_not(None),
            )
            .group_by(OutboxMessage.lead_id)
        )
    }
    delivered = retrying = dead = 0
    held: set[int] = set()  # leads with an undelivered earlier message: keep their order
    for message in due:
        if message.lead_id is not None and (
            message.lead_id in held or retry_later.get(message.lead_id, message.id) < message.id
        ):
            continue
        status, error = _send(message, settings)
        message.attempts += 1
        if status is not None and 200 <= status < 300:
            message.status, message.delivered_at, message.last_error = (
                OutboxStatus.DELIVERED,
                now,
                "",
            )
            delivered += 1
            continue
        if status == 410:
            # Kept with the message, so said in the configured default language.
            message.last_error = _("The CRM answered 410 Gone: the destination was switched off.")
            message.next_attempt_at = now
            target.disabled_at = now
            when = f"{now:%Y-%m-%d %H:%M}"
            target.disabled_reason = _(
                "%(url)s answered 410 Gone at %(when)s UTC; nothing is sent until an admin turns "
                "it back on.",
                url=settings.webhook_url,
                when=when,
            )
            log.warning("CRM destination disabled: %s answered 410 Gone", settings.webhook_url)
            s.flush()
            return DeliveryResult(delivered, retrying, dead, disabled=True)
        message.last_error = error
        if message.lead_id is not None:
            held.add(message.lead_id)
        if message.attempts >= settings.max_attempts:
            message.status = OutboxStatus.DEAD
            message.next_attempt_at = None
            dead += 1
            log.warning(
                "outbox message %s dead after %s tries", message.message_id, message.attempts
            )
        else:
            message.next_attempt_at = now + backoff(message.attempts)
            retrying += 1
        if status is None:
            break  # no answer at all (down, unreachable, timed out): try the rest next run
    s.flush()
    return DeliveryResult(delivered, retrying, dead)


def _send(message: OutboxMessage, settings: OutboxSettings) -> tuple[int | None, str]:
    """POST one message; return the HTTP status (None when there was no answer) and an error."""
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
    sent_at = utcnow()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
    }
    if settings.webhook_secret:
        headers["webhook-signature"] = Webhook(settings.webhook_secret).sign(
            message.message_id, sent_at, body
        )
    try:
        response = http.post_to_destination(settings.webhook_url, body, headers)
    except DomainError as exc:
        return None, exc.message
    with response:
        status = response.status_code
    if 200 <= status < 300:
        return status, ""
    return status, f"The CRM answered {status}."


def resend(s: Session, message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Send a dead-lettered message again (its tries start over; its id stays the same)."""
    message = s.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(_("No outbox message has this id."))
    if message.status is OutboxStatus.DELIVERED:
        raise Conflict(_("This message was delivered already."))
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    message.last_error = ""
    s.flush()
    return message


def enable(s: Session, name: str = CRM) -> Destination:
    """Turn a switched-off destination back on (after the CRM side is fixed)."""
    target = destination(s, name)
    target.disabled_at = None
    target.disabled_reason = ""
    s.flush()
    return target


@dataclass(frozen=True)
class OutboxSummary:
    """Counts per status, for the admin page and the API."""

    pending: int
    delivered: int
    dead: int
    disabled_reason: str


def summary(s: Session) -> OutboxSummary:
    """Count the messages by status and say whether the destination is switched off."""
    counts = dict(
        s.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    target = s.scalar(sa.select(Destination).where(Destination.name == CRM))
    return OutboxSummary(
        pending=int(counts.get(OutboxStatus.PENDING, 0)),
        delivered=int(counts.get(OutboxStatus.DELIVERED, 0)),
        dead=int(counts.get(OutboxStatus.DEAD, 0)),
        disabled_reason=target.disabled_reason if target and target.disabled_at else "",
    )


def list_messages(
    s: Session, status: OutboxStatus | None = None, *, limit: int = 100, offset: int = 0
) -> list[OutboxMessage]:
    """Return outbox messages, newest first, optionally of one status."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(s.scalars(query))


# --- the CRM outbox ------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def lead_payload(lead: Lead, event_type: str, now: datetime) -> dict[str, Any]:
    """The JSON the CRM receives about a lead (personal fields; erased with the lead)."""
    last = last_touch(lead)
    return {
        "type": event_type,
        "timestamp": now.isoformat(),
        "data": {
            "lead_id": lead.id,
            "status": lead.status.value,
            "email": lead.email,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "company": lead.company,
            "job_title": lead.job_title,
            "country": lead.country,
            "phone": lead.phone,
            "consent": lead.consent,
            # What was agreed and when: the wording's version and language, given (the form)
            # and confirmed (double opt-in); state none, given, pending or confirmed.
            "consent_state": lead.consent_state,
            "consent_version": lead.consent_version,
            "consent_locale": lead.consent_locale,
            "consent_given_at": _iso(lead.submitted_at) if lead.consent else None,
            "consent_confirmed_at": _iso(lead.consent_confirmed_at),
            "score": lead.score,
            "queue_id": lead.queue_id,
            "assignee_id": lead.assignee_id,
            "account_id": lead.account_id,
            "submitted_at": lead.submitted_at.isoformat() if lead.submitted_at else None,
            "utm_source": lead.utm_source,
            "utm_campaign": lead.utm_campaign,
            "attributed_seller_id": last.seller_id if last else None,
            "attributed_content_id": last.content_id if last else None,
            "attributed_campaign_id": last.campaign_id if last else None,
            "disqualify_reason": lead.disqualify_reason,
        },
    }


def enqueue(s: Session, lead: Lead, event_type: str, now: datetime) -> OutboxMessage:
    """Write a message for the CRM in the caller's transaction (delivered by a job)."""
    message = OutboxMessage(
        message_id=f"msg_{uuid.uuid4().hex}",
        destination="crm",
        event_type=event_type,
        lead_id=lead.id,
        payload=lead_payload(lead, event_type, now),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    s.add(message)
    return message
