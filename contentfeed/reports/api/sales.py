"""Reports API: the sales view and a campaign's attribution under every model."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import json_response, operation, parse_query
from contentfeed.reports import sales as sales_report
from contentfeed.reports.api.common import (
    SALES,
    STAFF,
    TAG,
    PeriodOut,
    PeriodQuery,
    Ref,
    bp,
    period_out,
    read_period,
)
from contentfeed.reports.sales import CreditBy, LeadStatus


class AttributionQuery(PeriodQuery):
    """The period, and whether credit is shown per seller or per item."""

    by: CreditBy = Field(default="seller")


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
    period = read_period(query)
    ask = sales_report.SalesInput(period=period)
    report = sales_report.show_sales(db.session(), access.signed_in_user(), ask)
    body = SalesOut(
        period=period_out(period),
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
    by: CreditBy
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
    period = read_period(query)
    ask = sales_report.AttributionInput(period=period, campaign_id=campaign_id, by=query.by)
    report = sales_report.show_attribution(db.session(), access.signed_in_user(), ask)
    body = AttributionOut(
        campaign=Ref(id=report.campaign_id, name=report.campaign),
        period=period_out(period),
        by=report.by,
        models=list(report.models),
        leads=report.leads,
        rows=[
            CreditRowOut(id=row.key_id, label=row.label, credits=row.credits, is_other=row.is_other)
            for row in report.rows
        ],
        totals={model: report.total(model) for model in report.models},
    )
    return json_response(body)
