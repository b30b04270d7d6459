"""Reports API: the content dashboard, the daily series and a campaign's drill-down."""

from __future__ import annotations

from datetime import date

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.api import Timestamp, json_response, operation, parse_query
from contentfeed.db import Id
from contentfeed.links.api import RequestsOut, requests_out
from contentfeed.reports import campaigns, content, funnel
from contentfeed.reports.api.common import (
    STAFF,
    TAG,
    Estimates,
    PeriodOut,
    PeriodQuery,
    Ref,
    bp,
    estimates_out,
    period_out,
    read_period,
)
from contentfeed.reports.content import Group
from contentfeed.reports.funnel import Model


class ModelQuery(PeriodQuery):
    """A period and the attribution model that shares each lead's credit out."""

    model: Model = Field(default="last_touch", description="How a lead's credit is shared")


class ContentQuery(ModelQuery):
    """The content dashboard's period, model and grouping."""

    group: Group = Field(default="item", description="One row per item, campaign, topic or kind")


class DailyQuery(ModelQuery):
    """The daily series' period and model, optionally for one campaign."""

    campaign_id: Id | None = Field(default=None, description="Only this campaign's items")


class FiguresOut(BaseModel):
    """The funnel of a row: suggested, posted, clicks, leads, qualified, converted.

    Lead figures are the attribution model's credit (fractions under linear, U-shaped and
    time decay). Impressions and EMV are estimates from the report settings.
    """

    suggested: int
    posted: int
    verified: int = Field(
        description="Of the posted, those verified: the seller named the LinkedIn post"
    )
    clicks: int = Field(description="Human clicks (requests with reason human only)")
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


def _figures(f: funnel.Figures) -> FiguresOut:
    return FiguresOut.model_validate(f, from_attributes=True)  # rates are properties


class DayOut(BaseModel):
    """Human clicks and lead credit on one day of the period."""

    day: date
    clicks: int
    leads: float


def _days(points: list[funnel.DayPoint]) -> list[DayOut]:
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


def _row(row: funnel.Row) -> RowOut:
    return RowOut(
        key=row.key,
        label=row.label,
        detail=row.detail,
        content_id=row.content_id,
        campaign_id=row.campaign_id,
        figures=_figures(row.figures),
    )


def _rows(rows: list[funnel.Row]) -> list[RowOut]:
    return [_row(r) for r in rows]


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
    requests: RequestsOut = Field(
        description="Every recorded request of the period: human clicks and the filtered ones"
    )


@bp.get("/content")
@access.require_scope("read", *STAFF)
@operation(summary="Content dashboard", tag=TAG, response=ContentReportOut, query=ContentQuery)
def content_dashboard() -> Response:
    """Return the funnel per content item, campaign, topic or kind for a period."""
    query = parse_query(ContentQuery)
    period = read_period(query)
    est = config.current().reports
    ask = content.DashboardInput(period=period, group=query.group, model=query.model)
    report = content.show_dashboard(db.session(), access.signed_in_user(), ask, est)
    body = ContentReportOut(
        period=period_out(period),
        group=query.group,
        model=query.model,
        estimates=estimates_out(est),
        rows=_rows(report.rows),
        total=_figures(report.total),
        previous_total=_figures(report.previous_total),
        daily=_days(report.daily),
        requests=requests_out(report.requests),
    )
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
    period = read_period(query)
    ask = content.DailyInput(period=period, model=query.model, campaign_id=query.campaign_id)
    points = content.show_daily(db.session(), access.signed_in_user(), ask)
    body = DailyOut(
        period=period_out(period),
        model=query.model,
        campaign_id=query.campaign_id,
        days=_days(points),
    )
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
    period = read_period(query)
    est = config.current().reports
    ask = campaigns.CampaignInput(period=period, campaign_id=campaign_id, model=query.model)
    report = campaigns.show_campaign(db.session(), access.signed_in_user(), ask, est)
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
        for row in report.items
    ]
    body = CampaignReportOut(
        campaign=Ref(id=report.campaign_id, name=report.campaign_name),
        period=period_out(period),
        model=query.model,
        estimates=estimates_out(est),
        items=items,
        total=_figures(report.total),
        previous_total=_figures(report.previous_total),
        daily=_days(report.daily),
    )
    return json_response(body)
