"""Personal data: export everything held about one person, or erase it.

No function here commits: the request that calls them does. None logs the email address:
logs outlive erasure, so they must never hold the personal data erasure removes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.accounts.service import normalise_email
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.i18n import _, ngettext
from contentfeed.leads.models import FORM_FIELDS, InboundEvent, Lead, Touch
from contentfeed.text import Input

log = logging.getLogger("contentfeed.leads.privacy")


class PersonQuery(Input):
    """Whose personal data: the address as the person gave it (case and spaces ignored)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class ErasureIn(PersonQuery):
    """Whose personal data to erase."""


ERASED_DOMAIN = "erased.invalid"
# The Lead fields that describe the person; erasure blanks them all.
PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "consent_text",
    "landing_url",
    "referrer",
)
LEAD_FIELDS = (
    "id",
    "email",
    "email_domain",
    *(name for name in FORM_FIELDS if name != "email"),
    "extra",
    "status",
    "submitted_at",
    "created_at",
    "updated_at",
    "erased_at",
)


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure changed."""

    leads: int = 0
    events: int = 0
    messages: int = 0
    closed: int = 0  # open leads closed (they left their queue)

    def summary(self) -> str:
        """Return the result in words, in the request's language: "3 leads erased, 3 raw events
        blanked"."""
        parts = [
            ngettext("%(num)d lead erased", "%(num)d leads erased", self.leads),
            ngettext("%(num)d raw event blanked", "%(num)d raw events blanked", self.events),
        ]
        if self.closed:
            parts.append(
                ngettext(
                    "%(num)d open lead closed and taken out of the queue",
                    "%(num)d open leads closed and taken out of the queue",
                    self.closed,
                )
            )
        return ", ".join(parts)


def _plain(value: Any) -> Any:
    """Return a value as JSON-able data."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return str(value.value)
    return value


def _normalised(email: str) -> str:
    try:
        return normalise_email(email)
    except Exception:  # an unusual address may still be held as sent: match it as given
        return email.strip().lower()


def _leads(s: Session, email: str) -> list[Lead]:
    query = sa.select(Lead).where(Lead.email == email).order_by(Lead.id)
    return list(s.scalars(query))


def _events(s: Session, email: str, lead_ids: list[int]) -> list[InboundEvent]:
    """The raw events of these leads, and any other (failed) event whose body names the email."""
    conditions: list[sa.ColumnElement[bool]] = [
        InboundEvent.body.ilike(f"%{pattern}%", escape="\\")
        for pattern in {_like(email), _like(quote(email, safe="")), _like(quote(email))}
    ]
    if lead_ids:
        conditions.append(InboundEvent.lead_id.in_(lead_ids))
    query = sa.select(InboundEvent).where(sa.or_(*conditions)).order_by(InboundEvent.id)
    return list(s.scalars(query))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export_person(s: Session, email: str) -> dict[str, Any]:
    """Return everything held about one person (by email) as JSON-able data."""
    email = _normalised(email)
    leads = _leads(s, email)
    lead_ids = [lead.id for lead in leads]
    touches: list[dict[str, Any]] = []
    if lead_ids:
        query = (
            sa.select(Touch, User.name, Content.title)
            .outerjoin(User, User.id == Touch.seller_id)
            .outerjoin(Content, Content.id == Touch.content_id)
            .where(Touch.lead_id.in_(lead_ids))
            .order_by(Touch.lead_id, Touch.touched_at, Touch.id)
        )
        for touch, seller_name, content_title in s.execute(query):
            touches.append(
                {
                    "lead_id": touch.lead_id,
                    "code": touch.code,
                    "found_in": touch.found_in,
                    "seller": seller_name,
                    "content": content_title,
                    "touched_at": _plain(touch.touched_at),
                    "credits": touch.credits,
                }
            )
    events = [
        {
            "id": event.id,
            "source": event.source,
            "received_at": _plain(event.received_at),
            "status": _plain(event.status),
            "lead_id": event.lead_id,
            "content_type": event.content_type,
            "body": event.body,
        }
        for event in _events(s, email, lead_ids)
    ]
    return {
        "email": email,
        "exported_at": _plain(utcnow()),
        "leads": [{name: _plain(getattr(lead, name)) for name in LEAD_FIELDS} for lead in leads],
        "touches": touches,
        "inbound_events": events,
        **_routing_records(s, lead_ids),
    }


@dataclass(frozen=True)
class Export:
    """One person's data, and whether we hold any (the page and the API say so alike)."""

    data: dict[str, Any]
    found: bool
    message: str  # says we hold nothing, instead of handing out an empty file; "" otherwise


def export(s: Session, data: PersonQuery) -> Export:
    """Export everything held about one person, saying so when we hold nothing about them.

    Found means a lead or a raw delivery names the address (touches, history and CRM messages
    hang off the leads). It changes nothing."""
    email = data.email
    held = export_person(s, email)
    if held["leads"] or held["inbound_events"]:
        return Export(held, found=True, message="")
    message = _(
        "We hold no personal data about %(email)s: no lead and no raw delivery names this address.",
        email=_normalised(email),
    )
    return Export(held, found=False, message=message)


def _routing_records(s: Session, lead_ids: list[int]) -> dict[str, Any]:
    """The history notes and CRM messages about the person's leads."""
    from contentfeed.routing.models import LeadActivity, OutboxMessage

    if not lead_ids:
        return {"activity": [], "crm_messages": []}
    activity = s.scalars(
        sa.select(LeadActivity)
        .where(LeadActivity.lead_id.in_(lead_ids))
        .order_by(LeadActivity.at, LeadActivity.id)
    )
    messages = s.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.lead_id.in_(lead_ids))
        .order_by(OutboxMessage.id)
    )
    return {
        "activity": [
            {"lead_id": a.lead_id, "kind": a.kind, "text": a.text, "at": _plain(a.at)}
            for a in activity
        ],
        "crm_messages": [
            {
                "message_id": m.message_id,
                "event_type": m.event_type,
                "status": _plain(m.status),
                "payload": m.payload,
                "created_at": _plain(m.created_at),
            }
            for m in messages
        ],
    }


def erase_person(s: Session, email: str, *, actor: User | None) -> ErasureReport:
    """Blank the personal fields of one person's leads and raw events, and close their open
    leads (reason "erased"); keep anonymous counts.

    Touches and credits stay, so reports still count the lead; who it was does not. An open
    lead leaves every queue: nobody is to call a person who asked to be forgotten.
    """
    from contentfeed.routing import work

    email = _normalised(email)
    now = utcnow()
    leads = _leads(s, email)
    lead_ids = [lead.id for lead in leads]
    events = _events(s, email, lead_ids)
    for lead in leads:
        lead.email = f"erased-{lead.id}@{ERASED_DOMAIN}"
        lead.email_domain = ERASED_DOMAIN
        for name in PERSONAL_FIELDS:
            setattr(lead, name, "")
        lead.extra = {}
        lead.erased_at = now
    for event in events:
        event.body = ""
        event.headers = {}
    messages = _blank_routing_records(s, lead_ids)
    # After the blanking: the CRM's message about the close is anonymous from the start.
    closed = sum(work.close_erased(s, lead, now) for lead in leads)
    s.flush()
    log.info(
        "personal data erased by user %s: %d leads, %d raw events",
        actor.id if actor else None,
        len(leads),
        len(events),
    )
    return ErasureReport(leads=len(leads), events=len(events), messages=messages, closed=closed)


def erase(s: Session, actor: User | None, data: ErasureIn) -> ErasureReport:
    """Erase one person's personal data (see ``erase_person``) on an admin's request."""
    return erase_person(s, data.email, actor=actor)


def _blank_routing_records(s: Session, lead_ids: list[int]) -> int:
    """Blank what routing wrote about the person: pending CRM messages, notes and notices.

    Pending outbox messages keep their id and type but lose the person (the CRM receives
    an anonymous record); activity and notices keep their kind and time, not their words.
    Returns how many outbox messages were blanked.
    """
    from contentfeed.routing.models import LeadActivity, OutboxMessage, OutboxStatus, SellerNotice

    if not lead_ids:
        return 0
    pending = s.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.lead_id.in_(lead_ids), OutboxMessage.status != OutboxStatus.DELIVERED
        )
    ).all()
    for message in pending:
        data = dict((message.payload or {}).get("data", {}))
        for name in (*PERSONAL_FIELDS, "email"):
            if name in data:
                data[name] = ""
        data["erased"] = True
        message.payload = {**(message.payload or {}), "data": data}
    for entry in s.scalars(sa.select(LeadActivity).where(LeadActivity.lead_id.in_(lead_ids))):
        if entry.kind in ("note", "came_back"):
            entry.text = "(erased)"
    for notice in s.scalars(sa.select(SellerNotice).where(SellerNotice.lead_id.in_(lead_ids))):
        notice.text = "A lead your post brought (personal details erased)."
        notice.subject = "A lead from your post"
    return len(pending)
