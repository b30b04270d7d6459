"""The customer development report: after the signature.

How fast new customers are taken by the hand (signature to handover accepted, against the
handover SLA), the renewals due and how each team handled them, which content customers'
people engage with, and the revenue-free funnel from a seller's post to a new customer.

Set-based GROUP BY statements; only the handovers of the period (a few per day, not millions)
are read row by row for their median. Leads merged into another lead never count.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed import config
from contentfeed.accounts.models import Team, User
from contentfeed.content.models import Content
from contentfeed.customers.models import CardKind, CardStatus, CustomerCard
from contentfeed.db import utcnow
from contentfeed.i18n import _l
from contentfeed.leads.models import Lead, Touch
from contentfeed.reports import content as content_report
from contentfeed.reports.funnel import CustomerFunnel
from contentfeed.reports.measures import between, share_of
from contentfeed.reports.period import Period
from contentfeed.routing.models import Account
from contentfeed.text import Input

NO_TEAM = _l("Not assigned to a team")
UNASSIGNED = _l("Nobody assigned yet")
ENGAGEMENT_ROWS = 50  # the most-engaged items the report lists
# A renewal card's outcomes, as customers/cards.py records them when it is done.
RENEWED, ENDED = "renewed", "ended"


class CustomersInput(Input):
    """The customer report's period (read in the viewer's zone) and the handover SLA."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    handover_sla_hours: int = Field(default=24, ge=1, le=24 * 90)


def input_for(period: Period) -> CustomersInput:
    """The report's input for a period, with the handover SLA of [customers] in config."""
    return CustomersInput(
        period=period, handover_sla_hours=config.current().customers.handover_sla_hours
    )


# --- handovers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handovers:
    """New customers signed in a period and how fast customer development accepted them.

    A handover met the SLA when accepted within ``sla_hours`` of the signature; it missed
    when accepted later, or is still waiting past it. Handovers waiting within the SLA are
    ``pending`` and left out of the share.
    """

    sla_hours: int
    signed: int
    accepted: int
    met: int
    missed: int
    pending: int
    median_seconds: float | None

    @property
    def within_sla(self) -> float | None:
        """The share of decided handovers accepted within the SLA (None: none decided)."""
        return share_of(self.met, self.met + self.missed)


def _signed_at() -> sa.ColumnElement[datetime]:
    # A card raised for a won deal without a signature date counts from when it was raised.
    return sa.func.coalesce(CustomerCard.signed_at, CustomerCard.created_at)


def handovers(s: Session, period: Period, sla_hours: int, now: datetime) -> Handovers:
    """Count the handovers signed in the period; their median time to acceptance and how
    many were accepted within the handover SLA."""
    rows = s.execute(
        sa.select(_signed_at(), CustomerCard.accepted_at).where(
            CustomerCard.kind == CardKind.HANDOVER, between(_signed_at(), period)
        )
    ).all()
    sla = timedelta(hours=sla_hours)
    waits: list[float] = []
    met = missed = pending = 0
    for signed_at, accepted_at in rows:
        if accepted_at is not None:
            wait = max(accepted_at - signed_at, timedelta(0))
            waits.append(wait.total_seconds())
            met, missed = (met + 1, missed) if wait <= sla else (met, missed + 1)
        elif now - signed_at > sla:
            missed += 1
        else:
            pending += 1
    median = statistics.median(waits) if waits else None
    return Handovers(sla_hours, len(rows), len(waits), met, missed, pending, median)


# --- renewals per team ----------------------------------------------------------------------


@dataclass(frozen=True)
class RenewalRow:
    """Renewal cards due in the period, for one team (the assignee's)."""

    team_id: int | None
    team: str
    due: int
    renewed: int
    ended: int
    handled: int  # done, whatever the outcome
    open: int  # not done yet
    overdue: int  # not done and past the contract's end

    @property
    def handled_rate(self) -> float | None:
        """Handled per due renewal."""
        return share_of(self.handled, self.due)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def renewals_by_team(s: Session, period: Period, now: datetime) -> list[RenewalRow]:
    """Count the renewal cards due in the period per team of their assignee: renewed,
    ended, handled, still open and overdue. Teams by name; unassigned cards last."""
    due_at = sa.func.coalesce(CustomerCard.due_at, CustomerCard.signed_at)
    done = CustomerCard.status == CardStatus.DONE
    assigned = CustomerCard.assignee_id.is_not(None)
    query = (
        sa.select(
            Team.id,
            Team.name,
            assigned.label("assigned"),
            sa.func.count(),
            _count_if(sa.and_(done, CustomerCard.outcome == RENEWED)),
            _count_if(sa.and_(done, CustomerCard.outcome == ENDED)),
            _count_if(done),
            _count_if(~done),
            _count_if(sa.and_(~done, due_at < now)),
        )
        .select_from(CustomerCard)
        .outerjoin(User, User.id == CustomerCard.assignee_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(CustomerCard.kind == CardKind.RENEWAL, between(due_at, period))
        .group_by(Team.id, Team.name, assigned)
    )
    rows: list[RenewalRow] = []
    for team_id, name, is_assigned, *counts in s.execute(query):
        label = name if team_id is not None else str(NO_TEAM if is_assigned else UNASSIGNED)
        rows.append(RenewalRow(team_id, label, *(int(n) for n in counts)))
    named = sorted((r for r in rows if r.team_id is not None), key=lambda r: r.team.lower())
    # Then the cards of assignees without a team, then the unassigned ones.
    rest = sorted((r for r in rows if r.team_id is None), key=lambda r: r.team == str(UNASSIGNED))
    return named + rest


# --- customers' content engagement ----------------------------------------------------------


@dataclass(frozen=True)
class EngagementRow:
    """How many customer accounts' people engaged with one item in the period."""

    content_id: int
    title: str
    accounts: int  # distinct customer accounts
    people: int  # distinct people (leads' email addresses)
    touches: int  # visits through sellers' links


def customer_engagement(
    s: Session, period: Period, limit: int = ENGAGEMENT_ROWS
) -> tuple[list[EngagementRow], int]:
    """Per item, the customer accounts whose people followed a seller's link to it in the
    period (while the company was a customer already: an account that became one through
    that very lead counts from its customer_since on); the most-engaged first, and how many
    accounts engaged with any item."""
    customer_touch = sa.and_(
        between(Touch.touched_at, period),
        Touch.content_id.is_not(None),
        Lead.merged_into_id.is_(None),
        sa.or_(Account.customer_since.is_(None), Touch.touched_at >= Account.customer_since),
    )
    joined = (
        sa.select()
        .select_from(Touch)
        .join(Lead, Lead.id == Touch.lead_id)
        .join(Account, Account.id == Lead.account_id)
        .where(customer_touch)
    )
    accounts = sa.func.count(sa.distinct(Lead.account_id))
    query = (
        joined.add_columns(
            Touch.content_id,
            Content.title,
            accounts,
            sa.func.count(sa.distinct(Lead.email)),
            sa.func.count(),
        )
        .join(Content, Content.id == Touch.content_id)
        .group_by(Touch.content_id, Content.title)
        .order_by(accounts.desc(), sa.func.count().desc(), Touch.content_id)
        .limit(limit)
    )
    rows = [
        EngagementRow(int(cid), title, int(a), int(p), int(t))
        for cid, title, a, p, t in s.execute(query)
    ]
    total = s.scalar(joined.add_columns(sa.func.count(sa.distinct(Lead.account_id)))) or 0
    return rows, int(total)


# --- the funnel from post to customer -------------------------------------------------------


def new_customers(s: Session, period: Period) -> tuple[int, int]:
    """Count the accounts that became customers in the period, and of them those whose
    handover names the seller's post (content) that brought their first lead."""
    from_post = sa.exists().where(
        CustomerCard.account_id == Account.id,
        CustomerCard.kind == CardKind.HANDOVER,
        CustomerCard.content_id.is_not(None),
    )
    total, posted = s.execute(
        sa.select(sa.func.count(), _count_if(from_post)).where(
            between(Account.customer_since, period)
        )
    ).one()
    return int(total), int(posted)


def customer_funnel(s: Session, period: Period) -> CustomerFunnel:
    """Posts → human clicks → leads → converted leads → new customers, for the period (the
    content dashboard's totals, by last touch: each lead counts once)."""
    figures = content_report.period_totals(s, period, "last_touch")
    customers, from_posts = new_customers(s, period)
    return CustomerFunnel(
        posts=figures.posted,
        clicks=figures.clicks,
        leads=round(figures.leads),
        converted=round(figures.converted),
        customers=customers,
        customers_from_posts=from_posts,
    )


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomersReport:
    """Everything the customer report shows for a period, and the handovers of the one before."""

    period: Period
    handovers: Handovers
    previous_handovers: Handovers
    renewals: list[RenewalRow]
    engagement: list[EngagementRow]
    engaged_accounts: int
    funnel: CustomerFunnel

    @property
    def renewals_total(self) -> RenewalRow:
        """Every team's renewals added up."""
        sums: list[Any] = [
            sum(getattr(r, name) for r in self.renewals)
            for name in ("due", "renewed", "ended", "handled", "open", "overdue")
        ]
        return RenewalRow(None, "", *sums)


def show_customers(
    s: Session, viewer: User | None, ask: CustomersInput, *, now: datetime | None = None
) -> CustomersReport:
    """Return the customer development report for the period."""
    now = now or utcnow()
    period = ask.period
    rows, engaged = customer_engagement(s, period)
    return CustomersReport(
        period=period,
        handovers=handovers(s, period, ask.handover_sla_hours, now),
        previous_handovers=handovers(s, period.previous(), ask.handover_sla_hours, now),
        renewals=renewals_by_team(s, period, now),
        engagement=rows,
        engaged_accounts=engaged,
        funnel=customer_funnel(s, period),
    )
