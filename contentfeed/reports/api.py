"""Reports API under /api/v1/reports: every report's figures as JSON.

The same query functions as the report pages (reports/content.py and reports/people.py), so
the API and the pages cannot disagree. Periods are whole days in the token user's time zone
(``from`` and ``to``, both included; the last 30 days by default). Marketers and admins see
every report; reps the sales view; a seller only their own seller report (another seller's
answers 404, as if it did not exist).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.models import Role
from contentfeed.api import Timestamp, json_response, operation, parse_query
from contentfeed.content.models import Campaign
from contentfeed.db import Id
from contentfeed.errors import NotFound
from contentfeed.leads.models import LeadStatus
from contentfeed.reports import content, people
from contentfeed.reports.period import Period, parse_period
from contentfeed.suggestions.models import SuggestionStatus
from contentfeed.text import Input

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")

TAG = "reports"
STAFF = (Role.ADMIN, Role.MARKETER)
SALES = (Role.ADMIN, Role.MARKETER, Role.REP)
SELLER_REPORT = (Role.ADMIN, Role.MARKETER, Role.SELLER)
Model = Literal["first_touch", "last_touch", "linear", "u_shaped", "time_decay"]
Group = Literal["item", "campaign", "topic", "kind"]


# --- query parameters ----------------------------------------------------------------------


class PeriodQuery(Input):
    """The days a report covers, in the token user's time zone."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(
        default=None,
        alias="from",
        description="First day (YYYY-MM-DD); default: 29 days before 'to'",
    )
    to: date | None = Field(default=None, description="Last day, included; default: today")


class ModelQuery(PeriodQuery):
    """A period and the attribution model that shares each lead's credit out."""

    model: Model = Field(default="last_touch", description="How a lead's credit is shared")


class ContentQuery(ModelQuery):
    """The content dashboard's period, model and grouping."""

    group: Group = Field(default="item", description="One row per item, campaign, topic or kind")


class DailyQuery(ModelQuery):
    """The daily series' period and model, optionally for one campaign."""

    campaign_id: Id | None = Field(default=None, description="Only this campaign's items")


class LeaderboardQuery(PeriodQuery):
    """The leaderboard's period, optionally for one team."""

    team_id: Id | None = Field(default=None, description="Only this team's sellers")


class AttributionQuery(PeriodQuery):
    """The period, and whether credit is shown per seller or per item."""

    by: Literal["seller", "content"] = Field(default="seller")


def _period(query: PeriodQuery) -> Period:
    """Turn the parsed dates into a period in the caller's zone (422 for a bad range)."""
    user = access.signed_in_user()
    zone = ZoneInfo(user.timezone or current_app.config["DEFAULT_TIMEZONE"])
    args = {
        key: value.isoformat()
        for key, value in (("from", query.from_), ("to", query.to))
        if value is not None
    }
    return parse_period(args, zone, datetime.now(zone).date())


# --- shared answers ------------------------------------------------------------------------


class PeriodOut(BaseModel):
    """The days covered (both included), their time zone, and the period compared with."""

    first_day: date
    last_day: date
    days: int
    timezone: str
    previous_first_day: date
    previous_last_day: date


def _period_out(period: Period) -> PeriodOut:
    before = period.previous()
    return PeriodOut(
        first_day=period.first,
        last_day=period.last,
        days=period.days,
        timezone=period.zone.key,
        previous_first_day=before.first,
        previous_last_day=before.last,
    )


class Ref(BaseModel):
    """Something by id and name."""

    id: int
    name: str


class FiguresOut(BaseModel):
    """The funnel of a row: suggested, posted, clicks, leads, qualified, converted.

    Lead figures are the attribution model's credit (fractions under linear, U-shaped and
    time decay). Impressions and EMV are estimates from the report settings.
    """

    suggested: int
    posted: int
    clicks: int = Field(description="Human clicks (bots left out)")
    leads: float
    qualified: float = Field(description="Credit of leads that reached qualified or converted")
    converted: float
    reach: int = Field(description="Sum of the posting sellers' LinkedIn connections")
    impressions: float = Field(description="Estimate: reach x impression rate")
    emv: float = Field(
        description="Earned media value, estimate: impressions x CPM / 1000 + clicks x CPC"
    )
    post_rate: float | None = Field(
        description="Posted per suggested (0 to 1); null: none suggested"
    )
    clicks_per_post: float | None
    leads_per_100_clicks: float | None
    qualified_rate: float | None = Field(description="Qualified per lead (0 to 1)")
    converted_rate: float | None = Field(description="Converted per qualified lead (0 to 1)")


def _figures(f: content.Figures) -> FiguresOut:
    return FiguresOut.model_validate(f, from_attributes=True)  # rates are properties


class DayOut(BaseModel):
    """Human clicks and lead credit on one day of the period."""

    day: date
    clicks: int
    leads: float


def _days(points: list[content.DayPoint]) -> list[DayOut]:
    return [DayOut.model_validate(p, from_attributes=True) for p in points]


class RowOut(BaseModel):
    """One row of the content dashboard."""

    key: str = Field(
        description="item:<id>, campaign:<id>, campaign:none, topic:<name>, kind:<kind>"
    )
    label: str
    detail: str = Field(description="An item's kind and campaign; empty for other groupings")
    content_id: int | None
    campaign_id: int | None
    figures: FiguresOut


def _row(row: content.Row) -> RowOut:
    return RowOut(
        key=row.key,
        label=row.label,
        detail=row.detail,
        content_id=row.content_id,
        campaign_id=row.campaign_id,
        figures=_figures(row.figures),
    )


def _rows(rows: list[content.Row]) -> list[RowOut]:
    return [_row(r) for r in content.sort_rows(rows, content.DEFAULT_SORT, descending=True)]


class Estimates(BaseModel):
    """The settings behind the estimated figures."""

    currency: str
    cpm: float = Field(description="Cost of 1,000 paid impressions")
    cpc: float = Field(description="Cost of one paid click")
    impression_rate: float = Field(description="Share of a seller's connections who see a post")


def _estimates(est: content.Estimates) -> Estimates:
    return Estimates(
        currency=est.currency, cpm=est.cpm, cpc=est.cpc, impression_rate=est.impression_rate
    )


# --- content dashboard ---------------------------------------------------------------------


class ContentReportOut(BaseModel):
    """The marketer dashboard: rows (most clicks first), totals now and before, daily series."""

    period: PeriodOut
    group: Group
    model: Model
    estimates: Estimates
    rows: list[RowOut]
    total: FiguresOut = Field(description="Every item once (a topic row repeats multi-topic items)")
    previous_total: FiguresOut
    daily: list[DayOut]


@bp.get("/content")
@access.require_scope("read", *STAFF)
@operation(summary="Content dashboard", tag=TAG, response=ContentReportOut, query=ContentQuery)
def content_dashboard() -> Response:
    """Return the funnel per content item, campaign, topic or kind for a period."""
    query = parse_query(ContentQuery)
    period = _period(query)
    s = db.session()
    est = content.Estimates.from_config(current_app.config)
    report = content.content_report(s, period, query.group, query.model, est)
    body = ContentReportOut(
        period=_period_out(period),
        group=query.group,
        model=query.model,
        estimates=_estimates(est),
        rows=_rows(report.rows),
        total=_figures(report.total),
        previous_total=_figures(report.previous_total),
        daily=_days(report.daily),
    )
    s.commit()
    return json_response(body)


class DailyOut(BaseModel):
    """Human clicks and lead credit for every day of the period (days with none show 0)."""

    period: PeriodOut
    model: Model
    campaign_id: int | None
    days: list[DayOut]


@bp.get("/daily")
@access.require_scope("read", *STAFF)
@operation(
    summary="Daily clicks and leads", tag=TAG, response=DailyOut, query=DailyQuery, errors=(404,)
)
def daily() -> Response:
    """Return the daily series of clicks and leads, of every item or one campaign's."""
    query = parse_query(DailyQuery)
    period = _period(query)
    s = db.session()
    if query.campaign_id is not None and s.get(Campaign, query.campaign_id) is None:
        raise NotFound("That campaign doesn't exist (any more).")
    points = content.daily_series(s, period, query.model, campaign_id=query.campaign_id)
    body = DailyOut(
        period=_period_out(period),
        model=query.model,
        campaign_id=query.campaign_id,
        days=_days(points),
    )
    s.commit()
    return json_response(body)


class SellerPostOut(BaseModel):
    """A seller's post of an item, their reach, and what it brought in the period."""

    seller: Ref
    posted_at: Timestamp | None
    connections: int
    clicks: int
    leads: float


class CampaignItemOut(RowOut):
    """A campaign's item with its figures and the sellers who posted it."""

    sellers: list[SellerPostOut] = Field(description="Most clicks first")


class CampaignReportOut(BaseModel):
    """A campaign's drill-down: its items, per item who posted it, totals and the series."""

    campaign: Ref
    period: PeriodOut
    model: Model
    estimates: Estimates
    items: list[CampaignItemOut]
    total: FiguresOut
    previous_total: FiguresOut
    daily: list[DayOut]


@bp.get("/campaigns/<int:campaign_id>")
@access.require_scope("read", *STAFF)
@operation(
    summary="Campaign drill-down",
    tag=TAG,
    response=CampaignReportOut,
    query=ModelQuery,
    errors=(404,),
)
def campaign_report(campaign_id: int) -> Response:
    """Return a campaign's items with their figures and, per item, the sellers who posted it."""
    query = parse_query(ModelQuery)
    period = _period(query)
    s = db.session()
    est = content.Estimates.from_config(current_app.config)
    report = content.campaign_report(s, period, campaign_id, query.model, est)
    items = [
        CampaignItemOut(
            **_row(row).model_dump(),
            sellers=[
                SellerPostOut(
                    seller=Ref(id=post.seller_id, name=post.seller_name),
                    posted_at=post.posted_at,
                    connections=post.connections,
                    clicks=post.clicks,
                    leads=post.leads,
                )
                for post in report.sellers.get(row.content_id or 0, [])
            ],
        )
        for row in content.sort_rows(report.items, content.DEFAULT_SORT, descending=True)
    ]
    body = CampaignReportOut(
        campaign=Ref(id=report.campaign_id, name=report.campaign_name),
        period=_period_out(period),
        model=query.model,
        estimates=_estimates(est),
        items=items,
        total=_figures(report.total),
        previous_total=_figures(report.previous_total),
        daily=_days(report.daily),
    )
    s.commit()
    return json_response(body)


# --- people --------------------------------------------------------------------------------


class SellerFiguresOut(BaseModel):
    """What a seller (or several) did: posts shared, human clicks, leads (last-touch credit)."""

    posts: int
    clicks: int
    leads: float
    qualified: float


def _seller_figures(f: people.SellerFigures) -> SellerFiguresOut:
    return SellerFiguresOut.model_validate(f, from_attributes=True)


class LeaderboardRowOut(BaseModel):
    """A seller's place; ties share a rank."""

    rank: int
    seller: Ref
    team_id: int | None
    team: str
    figures: SellerFiguresOut


class TeamRowOut(BaseModel):
    """A team's sellers added up."""

    team_id: int | None
    team: str
    sellers: int
    figures: SellerFiguresOut


class LeaderboardOut(BaseModel):
    """Sellers ranked by leads, then qualified leads, clicks and posts."""

    period: PeriodOut
    team_id: int | None
    rows: list[LeaderboardRowOut]
    teams: list[TeamRowOut]
    totals: SellerFiguresOut


@bp.get("/sellers")
@access.require_scope("read", *STAFF)
@operation(summary="Sellers' leaderboard", tag=TAG, response=LeaderboardOut, query=LeaderboardQuery)
def leaderboard() -> Response:
    """Rank the sellers (all, or one team's) by what their posts brought in the period."""
    query = parse_query(LeaderboardQuery)
    period = _period(query)
    s = db.session()
    board = people.leaderboard(s, period, query.team_id)
    body = LeaderboardOut(
        period=_period_out(period),
        team_id=board.team_id,
        rows=[
            LeaderboardRowOut(
                rank=row.rank,
                seller=Ref(id=row.seller_id, name=row.name),
                team_id=row.team_id,
                team=row.team,
                figures=_seller_figures(row.figures),
            )
            for row in board.rows
        ],
        teams=[TeamRowOut.model_validate(team, from_attributes=True) for team in board.teams],
        totals=_seller_figures(board.totals),
    )
    s.commit()
    return json_response(body)


class PostOut(BaseModel):
    """One of the seller's suggestions, with what it brought in the period."""

    suggestion_id: int
    content_id: int
    title: str
    status: SuggestionStatus
    posted_at: Timestamp | None
    clicks: int
    leads: float
    qualified: float


class SellerReportOut(BaseModel):
    """A seller's totals and the posts behind them (their columns add up to the totals)."""

    seller: Ref
    team: str
    period: PeriodOut
    totals: SellerFiguresOut
    history: list[PostOut] = Field(description="Newest post first")


@bp.get("/sellers/<int:seller_id>")
@access.require_scope("read", *SELLER_REPORT)
@operation(
    summary="A seller's report",
    tag=TAG,
    response=SellerReportOut,
    query=PeriodQuery,
    errors=(404,),
)
def seller_report(seller_id: int) -> Response:
    """Return a seller's totals and post history. Sellers may ask only for their own."""
    query = parse_query(PeriodQuery)
    period = _period(query)
    s = db.session()
    caller = access.signed_in_user()
    seller = people.visible_seller(s, caller, seller_id)
    page = people.seller_page(s, seller, period)
    body = SellerReportOut(
        seller=Ref(id=page.seller_id, name=page.name),
        team=page.team,
        period=_period_out(period),
        totals=_seller_figures(page.totals),
        history=[PostOut.model_validate(post, from_attributes=True) for post in page.history],
    )
    s.commit()
    return json_response(body)


class QueueStatusOut(BaseModel):
    """Leads submitted in the period that sit in one queue, by status."""

    queue_id: int | None = Field(description="null: leads not routed to a queue")
    queue: str
    counts: dict[LeadStatus, int]
    total: int


class QueueSpeedOut(BaseModel):
    """SLA compliance and median times of the leads routed to a queue in the period."""

    queue_id: int | None
    queue: str
    sla_minutes: int | None
    routed: int
    met: int = Field(description="First contacted by the due time")
    missed: int = Field(description="Contacted late, or uncontacted past the due time")
    pending: int = Field(description="Not contacted and not yet due")
    compliance: float | None = Field(description="met / (met + missed); null when neither")
    claimed: int
    median_claim_seconds: float | None
    contacted: int
    median_contact_seconds: float | None


class SourceOut(BaseModel):
    """Leads from one source: sellers' posts (any touch) or a utm_source value."""

    source: str
    is_attributed: bool = Field(description="true: the row of leads with a seller's touch")
    leads: int
    qualified: int
    converted: int
    qualified_rate: float | None
    converted_rate: float | None


class SalesOut(BaseModel):
    """The sales view: leads per queue and status, SLA and speed, conversion by source."""

    period: PeriodOut
    total: int
    by_queue: list[QueueStatusOut]
    speed: list[QueueSpeedOut]
    sources: list[SourceOut]


@bp.get("/sales")
@access.require_scope("read", *SALES)
@operation(summary="Sales view", tag=TAG, response=SalesOut, query=PeriodQuery)
def sales() -> Response:
    """Return leads per queue and status, SLA compliance and medians, conversion by source."""
    query = parse_query(PeriodQuery)
    period = _period(query)
    s = db.session()
    report = people.sales(s, period)
    body = SalesOut(
        period=_period_out(period),
        total=report.total,
        by_queue=[
            QueueStatusOut(
                queue_id=row.queue_id,
                queue=row.queue,
                counts={status: row.counts.get(status, 0) for status in report.statuses},
                total=row.total,
            )
            for row in report.by_queue
        ],
        speed=[QueueSpeedOut.model_validate(row, from_attributes=True) for row in report.speed],
        sources=[SourceOut.model_validate(row, from_attributes=True) for row in report.sources],
    )
    s.commit()
    return json_response(body)


class CreditRowOut(BaseModel):
    """A seller's (or item's) credit under every model."""

    id: int | None = Field(description="The seller or item; null for the row of other credit")
    label: str
    credits: dict[str, float] = Field(description="Credit per model")
    is_other: bool = Field(description="Credit of these leads' touches outside the campaign")


class AttributionOut(BaseModel):
    """The leads a campaign's posts touched, credited under each model side by side.

    Each model's column adds up to ``leads``.
    """

    campaign: Ref
    period: PeriodOut
    by: Literal["seller", "content"]
    models: list[str]
    leads: int
    rows: list[CreditRowOut]
    totals: dict[str, float] = Field(description="Each model's credit over every row")


@bp.get("/campaigns/<int:campaign_id>/attribution")
@access.require_scope("read", *STAFF)
@operation(
    summary="A campaign's attribution under every model",
    tag=TAG,
    response=AttributionOut,
    query=AttributionQuery,
    errors=(404,),
)
def campaign_attribution(campaign_id: int) -> Response:
    """Return each seller's (or item's) credit for a campaign's leads under all five models."""
    query = parse_query(AttributionQuery)
    period = _period(query)
    s = db.session()
    campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("That campaign doesn't exist (any more).")
    report = people.campaign_attribution(s, campaign, period, query.by)
    body = AttributionOut(
        campaign=Ref(id=campaign.id, name=campaign.name),
        period=_period_out(period),
        by=report.by,
        models=list(report.models),
        leads=report.leads,
        rows=[
            CreditRowOut(id=row.key_id, label=row.label, credits=row.credits, is_other=row.is_other)
            for row in report.rows
        ],
        totals={model: report.total(model) for model in report.models},
    )
    s.commit()
    return json_response(body)
