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
from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.accounts.service import normalise_email
from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.leads import service
from contentfeed.leads.intake import JSON_TYPE
from contentfeed.leads.models import InboundEvent
from contentfeed.text import Input

SOURCE_PREFIX = "gated:"
CONSENT_TEXT = (
    "I agree that my details may be stored and used to contact me about this content and "
    "related products. I can withdraw this consent at any time."
)
# Submissions per (hashed) client address are counted over this window; how many are
# allowed is the gated_submissions_per_hour setting.
RATE_WINDOW = timedelta(hours=1)
CLIENT_HEADER = "client"


class Submission(Input):
    """What a visitor typed into a gated form."""

    name: str = Field(default="", max_length=200)
    email: str = Field(max_length=254)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)

    @field_validator("email")
    @classmethod
    def _normalised(cls, value: str) -> str:
        try:
            return normalise_email(value)
        except Invalid:
            raise ValueError("Enter a valid email address, like name@company.com.") from None


@dataclass(frozen=True)
class Visit:
    """Where a submission came from: the facts of the request, none of them stored raw."""

    client: str  # the keyed hash of the address (client_hash)
    cf_ref: str = ""  # the tracked-link cookie, if the visitor followed one
    landing_url: str = ""
    referrer: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class GatedItem:
    """A library item offered behind the lead form, and its file's download address parts."""

    content: Content
    public_id: str
    filename: str


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


def open_item(s: Session, content_id: int) -> GatedItem:
    """Return the item behind a public gated page, or raise NotFound when it has none."""
    content = gated_item(s, content_id)
    if content is None or content.asset is None:
        raise NotFound("This download is not available.")
    return GatedItem(content, content.asset.public_id, content.asset.filename)


def toggle_gated(s: Session, actor: User, content_id: int) -> bool:
    """Gate an item's uploaded file behind the lead form, or open it again; return whether
    it is gated now."""
    content = s.get(Content, content_id)
    if content is None:
        raise NotFound("No library item has this id.")
    if content.asset is None and not content.is_gated:
        raise Conflict("Only an item with an uploaded file can be gated.")
    content.is_gated = not content.is_gated
    return content.is_gated


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
    item: GatedItem, submission: Submission, visit: Visit, settings: service.IntakeSettings
) -> service.Outcome:
    """Keep the submission as a raw event, then process it into a lead.

    Each step is its own unit of work: the raw event is safe before it is processed, and
    what processing made of it (a lead, or the refusal the visitor is shown with a 422) is
    kept whatever the page answers.
    """
    body = lead_body(
        submission, cf_ref=visit.cf_ref, landing_url=visit.landing_url, referrer=visit.referrer
    )
    with db.unit_of_work() as own:
        event, _is_new = service.store_event(
            own,
            source=source_of(item.content.id),
            external_id=secrets.token_hex(16),  # a form post has no id of its own
            content_type=JSON_TYPE,
            body=json.dumps(body),
            headers={"user-agent": visit.user_agent, "content-type": JSON_TYPE},
        )
        event.headers = {**event.headers, CLIENT_HEADER: visit.client}
        event_id = event.id
    with db.unit_of_work() as own:
        kept = own.get(InboundEvent, event_id)
        assert kept is not None  # committed by the unit of work above
        return service.process_safely(own, kept, settings)
