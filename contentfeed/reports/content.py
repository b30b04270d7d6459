"""Content figures for the marketer dashboard: per item, campaign, topic and kind.

Every figure comes from a handful of set-based queries per period (one GROUP BY per
measure, all at item level), then items are folded into the requested grouping in
Python: there are thousands of items but millions of clicks, so the database does the
heavy counting and Python only adds small numbers. Click figures read the click rollups for
the whole UTC days (hours, for the daily series) the job has finished and raw clicks for
the rest (``rollups.py``), so they are exact in any zone and current. Functions take a
session, a Period and settings, and return plain dataclasses, so pages, the API and the
benchmark share them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed.accounts.models import SellerProfile, User
from contentfeed.content.models import Campaign, Content, ContentKind
from contentfeed.db import Id
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _, _l
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links import ledger
from contentfeed.links.models import Click
from contentfeed.reports import rollups
from contentfeed.reports.funnel import (
    DEFAULT_MODEL,
    DEFAULT_SORT,
    Compared,
    DayPoint,
    Estimates,
    Figures,
    Model,
    Row,
    check_model,
    sort_rows,
)
from contentfeed.reports.period import Period
from contentfeed.suggestions.models import Suggestion
from contentfeed.text import Input

GROUPS: dict[str, Any] = {  # lazy texts: said in each request's language
    "item": _l("Content item"),
    "campaign": _l("Campaign"),
    "topic": _l("Topic"),
    "kind": _l("Kind"),
}
QUALIFIED = (LeadStatus.QUALIFIED.value, LeadStatus.CONVERTED.value)
NO_CAMPAIGN = _l("No campaign")
NO_TOPIC = _l("No topic")
Group = Literal["item", "campaign", "topic", "kind"]


# --- what a content report is asked for ---------------------------------------------------


class ContentInput(Input):
    """A content report's period (already read in the viewer's zone), model and row order.

    The page reads it from its filters, the CSV download from the same filters, the API
    from its query parameters; each report below takes one.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    model: Model = DEFAULT_MODEL
    sort: str = Field(default=DEFAULT_SORT, description="A column of funnel.SORTS")
    descending: bool = True


class DashboardInput(ContentInput):
    """The dashboard's filters: a period, a model, a grouping and the rows' order."""

    group: Group = "item"


class DailyInput(Input):
    """The daily series: a period, a model, and optionally only one campaign's items."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    model: Model = DEFAULT_MODEL
    campaign_id: Id | None = None


@dataclass
class ContentReport(Compared):
    """The dashboard: rows in one grouping, the totals now and before, the daily series."""

    period: Period
    group: str
    model: str
    estimates: Estimates
    rows: list[Row]
    total: Figures
    previous_total: Figures
    daily: list[DayPoint]
    # Every recorded request of the period by reason: human clicks and the filtered ones.
    requests: ledger.Breakdown


# --- queries -------------------------------------------------------------------------------


def _in(column: Any, period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.start, column < period.end)


def only_campaign(stmt: Any, content_id: Any, campaign_id: int | None) -> Any:
    """Narrow a statement to one campaign's items (all items when campaign_id is None)."""
    if campaign_id is None:
        return stmt
    return stmt.join(Content, Content.id == content_id).where(Content.campaign_id == campaign_id)


def item_figures(
    s: Session,
    period: Period,
    model: str = DEFAULT_MODEL,
    estimates: Estimates | None = None,
    *,
    campaign_id: int | None = None,
) -> dict[int, Figures]:
    """Return the figures of every content item with any activity in the period (4 queries)."""
    figures, _days = collect(s, period, model, estimates, campaign_id, by_day=False)
    return figures


def collect(
    s: Session,
    period: Period,
    model: str,
    estimates: Estimates | None,
    campaign_id: int | None,
    *,
    by_day: bool,
) -> tuple[dict[int, Figures], list[DayPoint]]:
    """Count per item and, with by_day, per viewer-zone day too, in the same 4 queries:
    clicks are the big table, so they are read once for both."""
    check_model(model)
    figures: dict[int, Figures] = defaultdict(Figures)

    suggested = sa.select(Suggestion.content_id, sa.func.count()).where(
        _in(Suggestion.created_at, period)
    )
    suggested = only_campaign(suggested, Suggestion.content_id, campaign_id)
    for content_id, n in s.execute(suggested.group_by(Suggestion.content_id)):
        figures[content_id].suggested = int(n)

    # (seller, content) is unique, so summing connections sums over distinct sellers.
    posted = (
        sa.select(
            Suggestion.content_id,
            sa.func.count(),
            sa.func.count(Suggestion.post_activity_id),
            sa.func.coalesce(sa.func.sum(SellerProfile.linkedin_connections), 0),
        )
        .outerjoin(SellerProfile, SellerProfile.user_id == Suggestion.seller_id)
        .where(_in(Suggestion.posted_at, period))
    )
    posted = only_campaign(posted, Suggestion.content_id, campaign_id)
    for content_id, n, verified, reach in s.execute(posted.group_by(Suggestion.content_id)):
        figures[content_id].posted = int(n)
        figures[content_id].verified = int(verified)
        figures[content_id].reach = int(reach)

    day_of = _day_bucket(s, period)
    lead_day, lead_key = day_of(Lead.submitted_at)
    day_clicks: dict[date, int] = defaultdict(int)
    day_leads: dict[date, float] = defaultdict(float)

    clicks = _clicks_per_item(s, period)
    clicks = only_campaign(clicks, clicks.selected_columns[0], campaign_id)
    for content_id, n in s.execute(clicks):
        figures[content_id].clicks += int(n)
    if by_day:
        in_campaign = (
            None
            if campaign_id is None
            else sa.select(Content.id).where(Content.campaign_id == campaign_id)
        )
        day_clicks.update(rollups.clicks_by_day(s, period, in_campaign))

    lead_keys = [Touch.content_id, lead_key] if by_day else [Touch.content_id]
    for row in s.execute(lead_credit(period, model, campaign_id, *lead_keys)):
        leads, qualified, converted = (float(v) for v in row[-3:])
        f = figures[row[0]]
        f.leads += leads
        f.qualified += qualified
        f.converted += converted
        if by_day:
            day_leads[lead_day(row[1])] += leads

    est = estimates or Estimates()
    days = (
        [DayPoint(d, day_clicks.get(d, 0), day_leads.get(d, 0.0)) for d in period.each_day()]
        if by_day
        else []
    )
    return {cid: f.estimate(est) for cid, f in figures.items()}, days


def _clicks_per_item(s: Session, period: Period) -> sa.Select[Any]:
    """Human clicks per content item in the period (rollup for whole UTC days, raw clicks
    for the rest; see rollups.human_clicks)."""
    clicks = rollups.human_clicks(s, period)
    return (
        sa.select(clicks.c.content_id, sa.func.sum(clicks.c.clicks))
        .select_from(clicks)
        .group_by(clicks.c.content_id)
    )


def period_totals(
    s: Session,
    period: Period,
    model: str = DEFAULT_MODEL,
    estimates: Estimates | None = None,
    *,
    campaign_id: int | None = None,
) -> Figures:
    """Return the totals of a period without splitting them by item (for the comparison).

    Equal to adding up item_figures, but cheaper: without a campaign the clicks are one
    range count on the click table (every link belongs to a suggestion), no join.
    """
    check_model(model)
    total = Figures()
    suggested = sa.select(sa.func.count()).select_from(Suggestion)
    suggested = only_campaign(suggested, Suggestion.content_id, campaign_id)
    total.suggested = int(s.scalar(suggested.where(_in(Suggestion.created_at, period))) or 0)
    posted = (
        sa.select(
            sa.func.count(),
            sa.func.count(Suggestion.post_activity_id),
            sa.func.coalesce(sa.func.sum(SellerProfile.linkedin_connections), 0),
        )
        .select_from(Suggestion)
        .outerjoin(SellerProfile, SellerProfile.user_id == Suggestion.seller_id)
        .where(_in(Suggestion.posted_at, period))
    )
    n, verified, reach = s.execute(only_campaign(posted, Suggestion.content_id, campaign_id)).one()
    total.posted, total.verified, total.reach = int(n), int(verified), int(reach)
    if campaign_id is None:
        clicks = (
            sa.select(sa.func.count())
            .select_from(Click)
            .where(_in(Click.clicked_at, period), Click.counted)
        )
    else:
        per_item = _clicks_per_item(s, period).subquery()
        clicks = sa.select(sa.func.coalesce(sa.func.sum(per_item.c[1]), 0)).select_from(per_item)
        clicks = only_campaign(clicks, per_item.c.content_id, campaign_id)
    total.clicks = int(s.scalar(clicks) or 0)
    leads, qualified, converted = s.execute(lead_credit(period, model, campaign_id)).one()
    total.leads, total.qualified, total.converted = float(leads), float(qualified), float(converted)
    return total.estimate(estimates or Estimates())


def lead_credit(period: Period, model: str, campaign_id: int | None, *keys: Any) -> sa.Select[Any]:
    """Sum a model's credit per key over leads submitted in the period (merged ones left out)."""
    credit = Touch.credit(model)
    zero = sa.literal(0.0)
    stmt = (
        sa.select(
            *keys,
            sa.func.coalesce(sa.func.sum(credit), zero),
            sa.func.coalesce(
                sa.func.sum(sa.case((Lead.status.in_(QUALIFIED), credit), else_=zero)), zero
            ),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((Lead.status == LeadStatus.CONVERTED.value, credit), else_=zero)
                ),
                zero,
            ),
        )
        .select_from(Touch)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(
            _in(Lead.submitted_at, period),
            Lead.merged_into_id.is_(None),
            Touch.content_id.is_not(None),
        )
    )
    grouped: sa.Select[Any] = only_campaign(stmt, Touch.content_id, campaign_id).group_by(*keys)
    return grouped


def daily_series(
    s: Session, period: Period, model: str = DEFAULT_MODEL, *, campaign_id: int | None = None
) -> list[DayPoint]:
    """Return human clicks and lead credit for every viewer-zone day of the period."""
    _figures, days = collect(s, period, model, None, campaign_id, by_day=True)
    return days


def _day_bucket(
    s: Session, period: Period
) -> Callable[[Any], tuple[Callable[[Any], date], sa.ColumnElement[Any]]]:
    """Return, for a timestamp column, a SQL bucket key and how to turn a key into a day.

    PostgreSQL converts to the zone's calendar day itself. SQLite keeps UTC text and has no
    time-zone rules, so it groups by UTC minute (every real zone offset is whole minutes)
    and Python maps each minute to the zone's day: same days on both, DST included.
    """
    if s.get_bind().dialect.name == "postgresql":

        def pg(column: Any) -> tuple[Callable[[Any], date], sa.ColumnElement[Any]]:
            key = sa.cast(sa.func.timezone(period.zone.key, column), sa.Date).label("bucket")
            return (lambda value: value), key

        return pg

    def sqlite(column: Any) -> tuple[Callable[[Any], date], sa.ColumnElement[Any]]:
        key = sa.func.substr(column, 1, 16, type_=sa.String).label("bucket")

        def to_day(value: Any) -> date:
            moment = datetime.strptime(str(value), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            return period.day_of(moment)

        return to_day, key

    return sqlite


@dataclass(frozen=True)
class _Item:
    id: int
    title: str
    kind: ContentKind
    topics: list[str]
    campaign_id: int | None


def _items(s: Session, ids: Iterable[int]) -> dict[int, _Item]:
    wanted = sorted(ids)
    found: dict[int, _Item] = {}
    for start in range(0, len(wanted), 1000):  # keep the IN list within every driver's limit
        chunk = wanted[start : start + 1000]
        rows = s.execute(
            sa.select(
                Content.id, Content.title, Content.kind, Content.topics, Content.campaign_id
            ).where(Content.id.in_(chunk))
        )
        for cid, title, kind, topics, campaign_id in rows:
            found[cid] = _Item(cid, title, kind, list(topics or []), campaign_id)
    return found


def item_titles(s: Session, ids: Iterable[int]) -> dict[int, str]:
    """Return the titles of content items by id."""
    return {cid: item.title for cid, item in _items(s, ids).items()}


def _campaign_names(s: Session) -> dict[int, str]:
    return {cid: name for cid, name in s.execute(sa.select(Campaign.id, Campaign.name))}


def sum_figures(figures: Iterable[Figures], estimates: Estimates) -> Figures:
    """Add rows' figures up into a total row, with its estimates."""
    total = Figures()
    for f in figures:
        total.add(f)
    return total.estimate(estimates)


def group_rows(
    s: Session, figures: Mapping[int, Figures], group: str, estimates: Estimates
) -> list[Row]:
    """Fold item figures into rows of a grouping (an item with several topics counts under each)."""
    if group not in GROUPS:
        raise Invalid(_("Pick a grouping from the tabs."), {"group": _("unknown grouping")})
    items = _items(s, figures)
    campaigns = _campaign_names(s)
    if group == "item":
        rows = []
        for cid, f in figures.items():
            item = items.get(cid)
            if item is None:
                continue
            campaign = campaigns.get(item.campaign_id or 0, str(NO_CAMPAIGN))
            rows.append(
                Row(
                    f"item:{cid}",
                    item.title,
                    f,
                    detail=f"{item.kind.label} · {campaign}",
                    content_id=cid,
                    campaign_id=item.campaign_id,
                )
            )
        return rows
    grouped: dict[str, Row] = {}
    for cid, f in figures.items():
        item = items.get(cid)
        if item is None:
            continue
        for key, label, campaign_id in _keys(item, group, campaigns):
            row = grouped.get(key)
            if row is None:
                row = grouped[key] = Row(key, label, Figures(), campaign_id=campaign_id)
            row.figures.add(f)
    for row in grouped.values():
        row.figures.estimate(estimates)
    return list(grouped.values())


def _keys(
    item: _Item, group: str, campaigns: Mapping[int, str]
) -> list[tuple[str, str, int | None]]:
    if group == "campaign":
        if item.campaign_id is None or item.campaign_id not in campaigns:
            return [("campaign:none", str(NO_CAMPAIGN), None)]
        return [(f"campaign:{item.campaign_id}", campaigns[item.campaign_id], item.campaign_id)]
    if group == "topic":
        topics = sorted({t.strip() for t in item.topics if t.strip()})
        return [(f"topic:{t}", t, None) for t in topics] or [("topic:none", str(NO_TOPIC), None)]
    return [(f"kind:{item.kind.value}", item.kind.label, None)]


def content_report(
    s: Session,
    period: Period,
    group: str = "item",
    model: str = DEFAULT_MODEL,
    estimates: Estimates | None = None,
) -> ContentReport:
    """Build the dashboard: rows in a grouping, totals, previous totals and the daily series."""
    est = estimates or Estimates()
    if group not in GROUPS:
        raise Invalid(_("Pick a grouping from the tabs."), {"group": _("unknown grouping")})
    now, days = collect(s, period, model, est, None, by_day=True)
    before = period_totals(s, period.previous(), model, est)
    return ContentReport(
        period=period,
        group=group,
        model=model,
        estimates=est,
        rows=group_rows(s, now, group, est),
        # Totals come from items, not rows: a topic row repeats items with several topics.
        total=sum_figures(now.values(), est),
        previous_total=before,
        daily=days,
        requests=ledger.breakdown(s, start=period.start, end=period.end),
    )


def figures_table(
    s: Session,
    period: Period,
    group: str,
    model: str = DEFAULT_MODEL,
    estimates: Estimates | None = None,
    *,
    campaign_id: int | None = None,
) -> tuple[list[Row], Figures]:
    """Return a report's table and its total row only: what a CSV download needs, without
    the previous period and the daily series the page adds (4 queries instead of 14)."""
    est = estimates or Estimates()
    figures = item_figures(s, period, model, est, campaign_id=campaign_id)
    return group_rows(s, figures, group, est), sum_figures(figures.values(), est)


def campaign_name(s: Session, campaign_id: int) -> str:
    """Return a campaign's name, or raise NotFound."""
    name = s.scalar(sa.select(Campaign.name).where(Campaign.id == campaign_id))
    if name is None:
        raise NotFound(_("That campaign doesn't exist (any more)."))
    return name


# --- use cases: what the pages, their CSV downloads and the API ask for ---------------------


def show_dashboard(
    s: Session, actor: User | None, ask: DashboardInput, estimates: Estimates
) -> ContentReport:
    """Return the dashboard for the filters, its rows in the asked order."""
    report = content_report(s, ask.period, ask.group, ask.model, estimates)
    report.rows = sort_rows(report.rows, ask.sort, ask.descending)
    return report


def dashboard_table(
    s: Session, actor: User | None, ask: DashboardInput, estimates: Estimates
) -> tuple[list[Row], Figures]:
    """Return the dashboard's table in the asked order and its total row (the CSV)."""
    rows, total = figures_table(s, ask.period, ask.group, ask.model, estimates)
    return sort_rows(rows, ask.sort, ask.descending), total


def show_daily(s: Session, actor: User | None, ask: DailyInput) -> list[DayPoint]:
    """Return the daily series of every item or of one campaign's (NotFound if it is gone)."""
    if ask.campaign_id is not None:
        campaign_name(s, ask.campaign_id)
    return daily_series(s, ask.period, ask.model, campaign_id=ask.campaign_id)
