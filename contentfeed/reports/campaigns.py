"""A campaign's drill-down: its items with the content dashboard's figures, and per item
the sellers who posted it; the page, its two CSV downloads and the API ask for it here.

The same set-based statements as the dashboard (``content.py``), narrowed to the campaign's
items, plus one for the sellers' posts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import SellerProfile, User
from contentfeed.content.models import Campaign, Content
from contentfeed.i18n import _
from contentfeed.leads.models import Touch
from contentfeed.reports import rollups
from contentfeed.reports.content import (
    ContentInput,
    campaign_name,
    collect,
    figures_table,
    group_rows,
    item_titles,
    lead_credit,
    only_campaign,
    period_totals,
    sum_figures,
)
from contentfeed.reports.funnel import (
    DEFAULT_MODEL,
    Compared,
    DayPoint,
    Estimates,
    Figures,
    Row,
    check_model,
    sort_rows,
)
from contentfeed.reports.period import Period
from contentfeed.suggestions.models import Suggestion


class CampaignInput(ContentInput):
    """A campaign's drill-down: which campaign, its period, model and the items' order."""

    campaign_id: int  # from the URL: any number, an unknown one is NotFound


@dataclass(frozen=True)
class SellerPost:
    """One seller's post of one item: when, their reach, and what it brought in the period."""

    content_id: int
    seller_id: int
    seller_name: str
    posted_at: datetime | None
    connections: int
    clicks: int
    leads: float


@dataclass
class CampaignReport(Compared):
    """A campaign's drill-down: its items with the same figures, and who posted each."""

    campaign_id: int
    campaign_name: str
    period: Period
    model: str
    estimates: Estimates
    items: list[Row]
    sellers: dict[int, list[SellerPost]]
    total: Figures
    previous_total: Figures
    daily: list[DayPoint]


def campaign_report(
    s: Session,
    period: Period,
    campaign_id: int,
    model: str = DEFAULT_MODEL,
    estimates: Estimates | None = None,
) -> CampaignReport:
    """Build a campaign's drill-down: its items, and per item the sellers who posted it."""
    est = estimates or Estimates()
    name = campaign_name(s, campaign_id)
    now, days = collect(s, period, model, est, campaign_id, by_day=True)
    before = period_totals(s, period.previous(), model, est, campaign_id=campaign_id)
    return CampaignReport(
        campaign_id=campaign_id,
        campaign_name=name,
        period=period,
        model=model,
        estimates=est,
        items=group_rows(s, now, "item", est),
        sellers=seller_posts(s, period, campaign_id, model),
        total=sum_figures(now.values(), est),
        previous_total=before,
        daily=days,
    )


def seller_posts(
    s: Session, period: Period, campaign_id: int, model: str = DEFAULT_MODEL
) -> dict[int, list[SellerPost]]:
    """Return per item of a campaign the sellers who posted it in the period, or whose
    earlier post brought clicks or leads in it, with those clicks and leads (3 queries)."""
    check_model(model)
    clicks: dict[tuple[int, int], int] = {}
    per_post = rollups.human_clicks(s, period)
    click_stmt = sa.select(
        per_post.c.content_id, per_post.c.seller_id, sa.func.sum(per_post.c.clicks)
    ).select_from(per_post)
    click_stmt = only_campaign(click_stmt, per_post.c.content_id, campaign_id)
    for content_id, seller_id, n in s.execute(
        click_stmt.group_by(per_post.c.content_id, per_post.c.seller_id)
    ):
        if n:
            clicks[(content_id, seller_id)] = int(n)
    leads: dict[tuple[int, int], float] = {}
    for content_id, seller_id, total, _q, _c in s.execute(
        lead_credit(period, model, campaign_id, Touch.content_id, Touch.seller_id)
    ):
        if seller_id is not None:
            leads[(content_id, seller_id)] = float(total)
    active = set(clicks) | {key for key, value in leads.items() if value}
    posts = (
        sa.select(
            Suggestion.content_id,
            Suggestion.seller_id,
            User.name,
            User.email,
            Suggestion.posted_at,
            sa.func.coalesce(SellerProfile.linkedin_connections, 0),
        )
        .join(User, User.id == Suggestion.seller_id)
        .outerjoin(SellerProfile, SellerProfile.user_id == Suggestion.seller_id)
        .join(Content, Content.id == Suggestion.content_id)
        .where(Content.campaign_id == campaign_id, Suggestion.posted_at.is_not(None))
    )
    result: dict[int, list[SellerPost]] = defaultdict(list)
    for content_id, seller_id, name, email, posted_at, connections in s.execute(posts):
        key = (content_id, seller_id)
        in_period = posted_at is not None and period.start <= posted_at < period.end
        if not in_period and key not in active:
            continue
        result[content_id].append(
            SellerPost(
                content_id=content_id,
                seller_id=seller_id,
                seller_name=name or email,
                posted_at=posted_at,
                connections=int(connections),
                clicks=clicks.get(key, 0),
                leads=leads.get(key, 0.0),
            )
        )
    for posts_of_item in result.values():
        posts_of_item.sort(key=lambda p: (-p.clicks, -p.leads, p.seller_name.lower()))
    return dict(result)


def show_campaign(
    s: Session, actor: User | None, ask: CampaignInput, estimates: Estimates
) -> CampaignReport:
    """Return a campaign's drill-down, its items in the asked order (NotFound if it is gone)."""
    report = campaign_report(s, ask.period, ask.campaign_id, ask.model, estimates)
    report.items = sort_rows(report.items, ask.sort, ask.descending)
    return report


@dataclass(frozen=True)
class CampaignTable:
    """A campaign's items table for download: its name, rows in order and total row."""

    campaign_name: str
    rows: list[Row]
    total: Figures


def campaign_table(
    s: Session, actor: User | None, ask: CampaignInput, estimates: Estimates
) -> CampaignTable:
    """Return a campaign's items table in the asked order (NotFound if it is gone)."""
    name = campaign_name(s, ask.campaign_id)
    rows, total = figures_table(
        s, ask.period, "item", ask.model, estimates, campaign_id=ask.campaign_id
    )
    return CampaignTable(name, sort_rows(rows, ask.sort, ask.descending), total)


@dataclass(frozen=True)
class CampaignSellers:
    """Who posted a campaign's items, per item, with the items' titles (for download)."""

    campaign_name: str
    posts: dict[int, list[SellerPost]]
    titles: dict[int, str]


def campaign_sellers(s: Session, actor: User | None, ask: CampaignInput) -> CampaignSellers:
    """Return per item of a campaign the sellers who posted it (NotFound if it is gone)."""
    name = campaign_name(s, ask.campaign_id)
    posts = seller_posts(s, ask.period, ask.campaign_id, ask.model)
    return CampaignSellers(name, posts, item_titles(s, posts))


def campaign_label(s: Session, campaign_id: int) -> str:
    """Return a campaign's name for a page heading, "Campaign" when it is gone."""
    name = s.scalar(sa.select(Campaign.name).where(Campaign.id == campaign_id))
    return name if name is not None else _("Campaign")
