"""The content a customer's people engaged with: what reached them through their leads.

A lead of the account (``Lead.account_id``, or a lead writing from one of its domains)
carries touches: the tracked links of sellers' posts that led towards it, each with the
content it shared and, when the person clicked, the click. Gated downloads are the account's
leads made by an item's download form. The account page shows this; the reports reuse it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.leads.models import InboundEvent, Lead, Touch
from contentfeed.links.models import Click
from contentfeed.routing.models import AccountDomain

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GATED_PREFIX = "gated:"  # an InboundEvent's source for an item's download form (leads.gated)


@dataclass
class Engagement:
    """One content item the account's people engaged with."""

    content_id: int
    title: str
    people: int = 0  # distinct persons (a lead and the forms merged into it are one)
    last_engaged: datetime | None = None
    sellers: list[str] = field(default_factory=list)  # whose posts brought it, by name
    clicks: int = 0  # tracked-link clicks that led to one of the account's leads
    downloads: int = 0  # gated downloads by the account's people


def account_leads(account_id: int, domains: Iterable[str]) -> sa.Select[Any]:
    """Select the ids of an account's leads: linked to it, or writing from one of its
    domains."""
    names = list(domains)
    condition = Lead.account_id == account_id
    if names:
        condition = sa.or_(condition, Lead.email_domain.in_(names))
    return sa.select(Lead.id).where(condition)


def _domains(s: Session, account_id: int) -> list[str]:
    return list(
        s.scalars(sa.select(AccountDomain.domain).where(AccountDomain.account_id == account_id))
    )


def engagement_for(s: Session, account_id: int) -> list[Engagement]:
    """Return the content an account's people engaged with, most recently engaged first:
    per item, how many people, when last, through which sellers' posts, clicks and
    gated downloads."""
    lead_ids = account_leads(account_id, _domains(s, account_id))
    person = sa.func.coalesce(Lead.merged_into_id, Lead.id)
    touches = s.execute(
        sa.select(
            Touch.content_id,
            Content.title,
            User.name,
            person,
            sa.func.coalesce(Click.clicked_at, Touch.touched_at),
            Touch.click_id.is_not(None),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .join(Content, Content.id == Touch.content_id)
        .outerjoin(User, User.id == Touch.seller_id)
        .outerjoin(Click, Click.id == Touch.click_id)
        .where(Touch.lead_id.in_(lead_ids), Touch.content_id.is_not(None))
    ).all()
    items: dict[int, Engagement] = {}
    people: dict[int, set[int]] = {}

    def seen(content_id: int, title: str, who: int, at: datetime | None) -> Engagement:
        item = items.setdefault(content_id, Engagement(content_id, title))
        people.setdefault(content_id, set()).add(who)
        if at is not None and (item.last_engaged is None or at > item.last_engaged):
            item.last_engaged = at
        return item

    for content_id, title, seller, who, at, clicked in touches:
        item = seen(content_id or 0, title, who, at)
        if seller and seller not in item.sellers:
            item.sellers.append(seller)
        item.clicks += int(bool(clicked))
    downloads = s.execute(
        sa.select(InboundEvent.source, InboundEvent.received_at, person)
        .join(Lead, Lead.id == InboundEvent.lead_id)
        .where(InboundEvent.source.like(f"{GATED_PREFIX}%"), InboundEvent.lead_id.in_(lead_ids))
    ).all()
    gated: list[tuple[int, datetime, int]] = []
    for source, at, who in downloads:
        raw = source.removeprefix(GATED_PREFIX)
        if raw.isascii() and raw.isdigit():
            gated.append((int(raw), at, who))
    titles = dict(
        s.execute(
            sa.select(Content.id, Content.title).where(Content.id.in_({g[0] for g in gated}))
        ).all()
        if gated
        else []
    )
    for content_id, at, who in gated:
        if content_id in titles:
            seen(content_id, titles[content_id], who, at).downloads += 1
    for content_id, item in items.items():
        item.people = len(people[content_id])
        item.sellers.sort(key=str.casefold)
    by_title = sorted(items.values(), key=lambda i: i.title.casefold())
    return sorted(by_title, key=lambda i: i.last_engaged or EPOCH, reverse=True)
