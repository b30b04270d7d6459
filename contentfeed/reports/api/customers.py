"""Reports API: the customer development report (handovers, renewals, engagement, funnel)."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import json_response, operation, parse_query
from contentfeed.reports import customers as customers_report
from contentfeed.reports.api.common import (
    SALES,
    TAG,
    PeriodOut,
    PeriodQuery,
    bp,
    period_out,
    read_period,
)


class HandoversOut(BaseModel):
    """New customers signed in a period and how fast customer development accepted them."""

    sla_hours: int = Field(description="The handover SLA ([customers] handover_sla_hours)")
    signed: int = Field(description="Handovers whose signature falls in the period")
    accepted: int
    met: int = Field(description="Accepted within the SLA")
    missed: int = Field(description="Accepted later, or still waiting past the SLA")
    pending: int = Field(description="Waiting, still within the SLA")
    within_sla: float | None = Field(description="met / (met + missed); null when neither")
    median_seconds: float | None = Field(
        description="Median from signature to accepted, over the accepted ones"
    )


class RenewalRowOut(BaseModel):
    """Renewal cards due in the period, for the team of their assignee."""

    team_id: int | None = Field(description="null: an assignee without a team, or nobody yet")
    team: str
    due: int
    renewed: int
    ended: int
    handled: int = Field(description="Done, whatever the outcome")
    open: int = Field(description="Not done yet")
    overdue: int = Field(description="Not done and past the contract's end")


class EngagementOut(BaseModel):
    """How many customer accounts' people followed a seller's link to an item."""

    content_id: int
    title: str
    accounts: int
    people: int
    touches: int


class FunnelStepOut(BaseModel):
    """One step from post to customer."""

    key: str = Field(description="posts, clicks, leads, converted or customers")
    label: str
    count: int
    rate: float | None = Field(description="Per the step before; null for the first or after 0")


class FunnelOut(BaseModel):
    """The revenue-free funnel: posts → clicks → leads → converted → new customers."""

    steps: list[FunnelStepOut]
    customers_from_posts: int = Field(
        description="New customers whose handover names the seller's post that started it"
    )


class CustomersOut(BaseModel):
    """The customer development report for a period."""

    period: PeriodOut
    handovers: HandoversOut
    previous_handovers: HandoversOut = Field(description="The same, for the period before")
    renewals: list[RenewalRowOut]
    renewals_total: RenewalRowOut
    engagement: list[EngagementOut] = Field(description="The most-engaged items first (50)")
    engaged_accounts: int = Field(description="Customer accounts that engaged with any item")
    funnel: FunnelOut


def _handovers(found: customers_report.Handovers) -> HandoversOut:
    return HandoversOut(
        sla_hours=found.sla_hours,
        signed=found.signed,
        accepted=found.accepted,
        met=found.met,
        missed=found.missed,
        pending=found.pending,
        within_sla=found.within_sla,
        median_seconds=found.median_seconds,
    )


@bp.get("/customers")
@access.require_scope("read", *SALES)
@operation(summary="Customer development report", tag=TAG, response=CustomersOut, query=PeriodQuery)
def customers() -> Response:
    """Return handovers against their SLA, renewals per team, customers' engagement per item
    and the funnel from post to customer."""
    period = read_period(parse_query(PeriodQuery))
    report = customers_report.show_customers(
        db.session(), access.signed_in_user(), customers_report.input_for(period)
    )
    body = CustomersOut(
        period=period_out(period),
        handovers=_handovers(report.handovers),
        previous_handovers=_handovers(report.previous_handovers),
        renewals=[RenewalRowOut.model_validate(r, from_attributes=True) for r in report.renewals],
        renewals_total=RenewalRowOut.model_validate(report.renewals_total, from_attributes=True),
        engagement=[
            EngagementOut.model_validate(r, from_attributes=True) for r in report.engagement
        ],
        engaged_accounts=report.engaged_accounts,
        funnel=FunnelOut(
            steps=[
                FunnelStepOut(key=st.key, label=st.label, count=st.count, rate=st.rate)
                for st in report.funnel.steps
            ],
            customers_from_posts=report.funnel.customers_from_posts,
        ),
    )
    return json_response(body)
