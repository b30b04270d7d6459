"""Gated content: which items have a lead form, spam limits, and turning a form into a lead.

A submission goes through the webhook's intake path: it is stored as a raw InboundEvent
(source "gated:<content id>") and processed by ``service.process_safely``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.leads import service
from contentfeed.leads.intake import JSON_TYPE
from contentfeed.leads.models import InboundEvent

SOURCE_PREFIX = "gated:"
CONSENT_TEXT = (
    "I agree that my details may be stored and used to contact me about this content and "
    "related products. I can withdraw this consent at any time."
)
# Submissions per (hashed) client address are counted over this window; how many are
# allowed is the gated_submissions_per_hour setting.
RATE_WINDOW = timedelta(hours=1)
CLIENT_HEADER = "client"


@dataclass(frozen=True)
class Submission:
    """What a visitor typed into a gated form (already checked by the form)."""

    name: str
    email: str
    company: str
    job_title: str


def source_of(content_id: int) -> str:
    """Return the InboundEvent source for one gated item's form."""
    return f"{SOURCE_PREFIX}{content_id}"


def gated_item(s: Session, content_id: int, now: datetime | None = None) -> Content | None:
    """Return the item if it has a public gated page: approved, not expired, gated, with a file."""
    content = s.get(Content, content_id)
    now = now or utcnow()
    if (
        content is None
        or not content.is_gated
        or content.asset is None
        or content.status is not ContentStatus.APPROVED
        or (content.expires_at is not None and content.expires_at <= now)
    ):
        return None
    return content


def client_hash(address: str, *, secret: str) -> str:
    """Return a keyed hash of the client address; the raw address is never stored."""
    return hashlib.sha256(f"{secret}{address}".encode()).hexdigest()[:32]


def recent_submissions(s: Session, client: str, now: datetime | None = None) -> int:
    """Count the gated submissions from this hashed address within the rate window."""
    since = (now or utcnow()) - RATE_WINDOW
    query = (
        sa.select(sa.func.count())
        .select_from(InboundEvent)
        .where(
            InboundEvent.source.like(f"{SOURCE_PREFIX}%"),
            InboundEvent.received_at >= since,
            InboundEvent.headers[CLIENT_HEADER].as_string() == client,
        )
    )
    return int(s.scalar(query) or 0)


def is_limited(s: Session, client: str, *, limit: int, now: datetime | None = None) -> bool:
    """Tell whether this address used up its ``limit`` submissions for the past hour."""
    return recent_submissions(s, client, now) >= limit


def lead_body(
    submission: Submission, *, cf_ref: str, landing_url: str, referrer: str
) -> dict[str, object]:
    """Return the lead as the intake reads it (the same fields a website form would send)."""
    first, _, last = submission.name.strip().partition(" ")
    return {
        "email": submission.email,
        "first_name": first,
        "last_name": last.strip(),
        "company": submission.company,
        "job_title": submission.job_title,
        "consent": True,
        "consent_text": CONSENT_TEXT,
        "cf_ref": cf_ref,
        "landing_url": landing_url,
        "referrer": referrer,
    }


def submit(
    s: Session,
    content: Content,
    submission: Submission,
    settings: service.IntakeSettings,
    *,
    client: str,
    cf_ref: str = "",
    landing_url: str = "",
    referrer: str = "",
    user_agent: str = "",
) -> service.Outcome:
    """Store the submission as a raw event (committed first), then process it into a lead."""
    body = lead_body(submission, cf_ref=cf_ref, landing_url=landing_url, referrer=referrer)
    event, _is_new = service.store_event(
        s,
        source=source_of(content.id),
        external_id=secrets.token_hex(16),  # a form post has no id of its own
        content_type=JSON_TYPE,
        body=json.dumps(body),
        headers={"user-agent": user_agent, "content-type": JSON_TYPE},
    )
    event.headers = {**event.headers, CLIENT_HEADER: client}
    s.commit()  # nothing is lost: the raw event is safe before processing
    outcome = service.process_safely(s, event, settings)
    s.commit()
    return outcome
