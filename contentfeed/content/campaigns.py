"""Campaigns: named groups of items whose slug becomes utm_campaign on sellers' links.

Never commits; the caller commits once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.content.models import Campaign, Content
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _, number_text
from contentfeed.text import checked_text, name_key


def slugify(text: str) -> str:
    """Turn a campaign name into a URL- and UTM-safe slug."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "campaign"


def list_campaigns(s: Session) -> list[tuple[Campaign, int]]:
    """Return campaigns (newest first) with how many library items each has."""
    rows = s.execute(
        sa.select(Campaign, sa.func.count(Content.id))
        .outerjoin(Content, Content.campaign_id == Campaign.id)
        .group_by(Campaign.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    return [(campaign, n) for campaign, n in rows]


def get_campaign(s: Session, campaign_id: int) -> Campaign:
    """Return one campaign or raise NotFound."""
    campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


def find_campaign(s: Session, name: str) -> Campaign | None:
    """Find a campaign by name or slug, ignoring case ("Équipe" is "équipe")."""
    by_slug = s.scalar(sa.select(Campaign).where(Campaign.slug == slugify(name)))
    if by_slug is not None:
        return by_slug
    # Compared in Python: SQLite's lower() folds ASCII only.
    key = name_key(name)
    return next((c for c in s.scalars(sa.select(Campaign)) if name_key(c.name) == key), None)


# How long a campaign's description may be, from the page and the API alike.
DESCRIPTION_MAX = 5000


def save_campaign(
    s: Session,
    *,
    name: str,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    campaign: Campaign | None = None,
) -> Campaign:
    """Create a campaign, or update one when given; its slug becomes utm_campaign."""
    name = checked_text("name", name).strip()
    checked_text("description", description, multiline=True)
    if len(description) > DESCRIPTION_MAX:
        message = _(
            "At most %(max)s characters (this one has %(n)s).",
            max=number_text(DESCRIPTION_MAX),
            n=number_text(len(description)),
        )
        raise Invalid(_("The description is too long."), {"description": message})
    if not name:
        message = _("A campaign name is required.")
        raise Invalid(message, {"name": message})
    if starts_at and ends_at and ends_at <= starts_at:
        raise Invalid(
            _("The campaign must end after it starts."), {"ends_at": _("Must be after the start.")}
        )
    clash = find_campaign(s, name)
    if clash is not None and clash is not campaign:
        raise Conflict(
            _("A campaign called %(name)s already exists.", name=clash.name),
            {"name": _("already in use")},
        )
    if campaign is None:
        campaign = Campaign(name=name, slug=slugify(name))
        s.add(campaign)
    else:
        campaign.name = name
    campaign.description = description.strip()
    campaign.starts_at, campaign.ends_at = starts_at, ends_at
    s.flush()
    return campaign
