"""What every reports API handler shares: the blueprint, who may read what, the period
query parameters and the period, reference and estimates answers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import config
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.reports import funnel
from contentfeed.reports.period import Period, parse_period
from contentfeed.text import Input

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")

TAG = "reports"
STAFF = (Role.ADMIN, Role.MARKETER)
SALES = (Role.ADMIN, Role.MARKETER, Role.REP)
SELLER_REPORT = (Role.ADMIN, Role.MARKETER, Role.SELLER)


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


def read_period(query: PeriodQuery) -> Period:
    """Turn the parsed dates into a period in the caller's zone (422 for a bad range)."""
    user = access.signed_in_user()
    zone = ZoneInfo(user.timezone or config.current().default_timezone)
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


def period_out(period: Period) -> PeriodOut:
    """Answer a period with the one it is compared with."""
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


class Estimates(BaseModel):
    """The settings behind the estimated figures."""

    currency: str
    cpm: float = Field(description="Cost of 1,000 paid impressions")
    cpc: float = Field(description="Cost of one paid click")
    impression_rate: float = Field(description="Share of a seller's connections who see a post")


def estimates_out(est: funnel.Estimates) -> Estimates:
    """Answer the estimate settings."""
    return Estimates(
        currency=est.currency, cpm=est.cpm, cpc=est.cpc, impression_rate=est.impression_rate
    )
