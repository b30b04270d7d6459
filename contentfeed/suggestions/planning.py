"""Planning a run: whose feed is due and for which slots, and which items are live to choose.

Never commits; the caller commits once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, SellerProfile, Team, TeamKind, User
from contentfeed.config import Settings
from contentfeed.content.models import Campaign, Content, ContentStatus, PostVariant, shared_url
from contentfeed.content.service import Compliance
from contentfeed.content.templating import ContentView
from contentfeed.links import service as links
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import engine
from contentfeed.suggestions.models import Suggestion

NOW_SLOT_BASE = 100  # slots for "suggest now" sit above any planned slot of the day


@dataclass(frozen=True)
class FeedSettings:
    """What filling feeds needs from config."""

    public_base_url: str
    default_timezone: str
    local_hour: int
    ttl_days: int
    rules: Compliance


def feed_settings(settings: Settings) -> FeedSettings:
    """Take what filling feeds needs from the service's settings."""
    return FeedSettings(
        public_base_url=settings.public_base_url,
        default_timezone=settings.default_timezone,
        local_hour=settings.suggestions.local_hour,
        ttl_days=settings.suggestions.ttl_days,
        rules=Compliance.of(settings),
    )


@dataclass(frozen=True)
class DueSeller:
    """A seller with the (day, slot) pairs their feed still needs."""

    facts: engine.SellerFacts
    first_name: str
    name: str
    title: str
    slots: list[tuple[date, int]]


@lru_cache(maxsize=512)
def zone_named(name: str, default: str) -> ZoneInfo:
    """Return a time zone by name, falling back to the company default."""
    try:
        return ZoneInfo(name or default)
    except (KeyError, ValueError):
        return ZoneInfo(default)


def seller_zone(user: User, default: str) -> ZoneInfo:
    """Return the seller's time zone (their own, else the company default)."""
    return zone_named(user.timezone, default)


def due_sellers(
    s: Session,
    now: datetime,
    settings: FeedSettings,
    *,
    only: Sequence[int] | None = None,
    ignore_cadence: bool = False,
) -> list[DueSeller]:
    """Find sellers whose local day and cadence call for suggestions not made yet.

    The slots of the seller's current local week up to today are planned from their
    cadence; those without a suggestion are due (today's only from ``local_hour`` on). A
    scheduler that was down catches up within the week; one that runs twice finds nothing.
    ``ignore_cadence`` (``suggest --now``) gives each seller one extra slot today.
    """
    query = (
        sa.select(
            User.id,
            User.name,
            User.timezone,
            User.created_at,
            User.team_id,
            SellerProfile.title,
            SellerProfile.region,
            SellerProfile.languages,
            SellerProfile.topics,
            SellerProfile.weekdays,
            SellerProfile.posts_per_week,
            (Team.kind == TeamKind.CUSTOMER_DEVELOPMENT).label("serves_customers"),
        )
        .join(SellerProfile, SellerProfile.user_id == User.id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(User.is_active, User.role == Role.SELLER)
    )
    if only is not None:
        query = query.where(User.id.in_(only))
    if not ignore_cadence:
        query = query.where(~SellerProfile.is_paused, SellerProfile.posts_per_week > 0)
    rows = s.execute(query.order_by(User.id)).all()
    if not rows:
        return []
    local_now = {
        row.id: now.astimezone(zone_named(row.timezone, settings.default_timezone)) for row in rows
    }
    earliest = min(d.date() for d in local_now.values()) - timedelta(days=7)
    taken: dict[int, set[tuple[date, int]]] = defaultdict(set)
    ids = [row.id for row in rows]
    for chunk in chunks(ids, 5000):
        for seller_id, day, slot in s.execute(
            sa.select(Suggestion.seller_id, Suggestion.day, Suggestion.slot).where(
                among(s, Suggestion.seller_id, chunk), Suggestion.day >= earliest
            )
        ):
            taken[seller_id].add((day, slot))
    due: list[DueSeller] = []
    for row in rows:
        local = local_now[row.id]
        today = local.date()
        if ignore_cadence:
            used = [slot for day, slot in taken[row.id] if day == today]
            slots = [(today, max([NOW_SLOT_BASE - 1, *used]) + 1)]
        else:
            week_start = today - timedelta(days=today.weekday())
            joined = row.created_at.astimezone(local.tzinfo).date()  # no backlog for a newcomer
            slots = [
                (day, slot)
                for day, slot in engine.planned_slots(week_start, row.weekdays, row.posts_per_week)
                if joined <= day
                and (day < today or (day == today and local.hour >= settings.local_hour))
                and (day, slot) not in taken[row.id]
            ]
        if slots:
            facts = engine.SellerFacts(
                id=row.id,
                team_id=row.team_id,
                region=row.region,
                languages=tuple(row.languages or ()),
                topics=frozenset(row.topics),
                serves_customers=bool(row.serves_customers),
            )
            first_name = row.name.split()[0] if row.name.strip() else ""
            due.append(DueSeller(facts, first_name, row.name, row.title, slots))
    return due


def among(
    s: Session, column: sa.orm.InstrumentedAttribute[int], ids: Sequence[int]
) -> sa.ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``: one parameter, not thousands."""
    if s.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=ARRAY(sa.Integer)))
    return column.in_(ids)


def chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    """Yield the items a slice of ``size`` at a time (a statement takes only so many)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class LiveContent:
    """What rendering and linking need of a live item."""

    view: ContentView
    utm: links.UtmTemplate
    variants: dict[int, str]
    comments: dict[int, str] = field(default_factory=dict)  # variant id: its first comment


def live_content_facts(
    s: Session, now: datetime, *, base_url: str
) -> tuple[list[engine.ContentFacts], dict[int, LiveContent]]:
    """Load every live item with its variants and observed performance; links will lead to
    each item's URL, or for a gated file to its form page under ``base_url``."""
    items = s.execute(
        sa.select(
            Content.id,
            Content.title,
            Content.summary,
            Content.url,
            Content.is_gated,
            Content.asset_id,
            Content.priority,
            Content.topics,
            Content.target_team_ids,
            Content.target_regions,
            Content.audience,
            Content.approved_at,
            Campaign.slug,
        )
        .outerjoin(Campaign, Campaign.id == Content.campaign_id)
        .where(
            Content.status == ContentStatus.APPROVED,
            sa.or_(Content.starts_at.is_(None), Content.starts_at <= now),
            sa.or_(Content.expires_at.is_(None), Content.expires_at > now),
        )
        .order_by(Content.id)
    ).all()
    ids = [row.id for row in items]
    variants: dict[int, dict[int, str]] = defaultdict(dict)
    comments: dict[int, dict[int, str]] = defaultdict(dict)
    languages: dict[int, dict[int, str]] = defaultdict(dict)
    suggested: dict[int, int] = defaultdict(int)
    engaged: dict[int, int] = defaultdict(int)
    for chunk in chunks(ids, 5000):
        for variant_id, content_id, body, language, comment in s.execute(
            sa.select(
                PostVariant.id,
                PostVariant.content_id,
                PostVariant.body,
                PostVariant.language,
                PostVariant.first_comment,
            )
            .where(among(s, PostVariant.content_id, chunk))
            .order_by(PostVariant.content_id, PostVariant.position)
        ):
            variants[content_id][variant_id] = body
            if comment:
                comments[content_id][variant_id] = comment
            languages[content_id][variant_id] = language
        for content_id, n in s.execute(
            sa.select(Suggestion.content_id, sa.func.count())
            .where(among(s, Suggestion.content_id, chunk))
            .group_by(Suggestion.content_id)
        ):
            suggested[content_id] = n
        clicked = (
            sa.select(Suggestion.content_id, sa.func.count(sa.distinct(Suggestion.id)))
            .join(TrackedLink, TrackedLink.suggestion_id == Suggestion.id)
            .join(Click, Click.link_id == TrackedLink.id)
            .where(among(s, Suggestion.content_id, chunk), Click.counted)
            .group_by(Suggestion.content_id)
        )
        for content_id, n in s.execute(clicked):
            engaged[content_id] = n
    facts = [
        engine.ContentFacts(
            id=row.id,
            priority=row.priority,
            topics=frozenset(row.topics),
            target_team_ids=frozenset(row.target_team_ids),
            target_regions=frozenset(r.lower() for r in row.target_regions),
            approved_at=row.approved_at,
            variant_ids=tuple(variants[row.id]),
            variant_languages=languages[row.id],
            audience=row.audience.value,
            suggested=suggested[row.id],
            engaged=engaged[row.id],
        )
        for row in items
    ]
    live = {
        row.id: LiveContent(
            view=ContentView(row.title, row.summary, row.url),
            utm=links.utm_template(
                shared_url(
                    row.url,
                    is_gated=row.is_gated,
                    has_file=row.asset_id is not None,
                    content_id=row.id,
                    base_url=base_url,
                ),
                campaign_slug=row.slug,
            ),
            variants=variants[row.id],
            comments=comments[row.id],
        )
        for row in items
    }
    return facts, live
