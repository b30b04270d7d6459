"""What customer development reads about its customers: the list of accounts (owner,
customer since, the next contract to end, open cards) and one account's page (its plan,
leads, cards and the content its people engaged with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User
from contentfeed.customers import plans
from contentfeed.customers.engagement import Engagement, account_leads, engagement_for
from contentfeed.customers.models import CardStatus, Contract, CustomerCard
from contentfeed.leads.models import Lead
from contentfeed.routing.models import Account, AccountDomain

LEADS_SHOWN = 100  # an account's page lists its newest leads; the lead list has the rest
CARDS_SHOWN = 100


@dataclass(frozen=True)
class CustomerRow:
    """One customer in the list."""

    account: Account
    next_contract: Contract | None  # the running contract that ends first
    open_cards: int  # handover and renewal cards not done yet


@dataclass(frozen=True)
class CustomerList:
    """One page of customers, by name."""

    rows: list[CustomerRow]
    total: int


@dataclass(frozen=True)
class AccountPage:
    """Everything the account page shows."""

    plan: plans.Plan
    leads: list[Lead]
    more_leads: bool
    cards: list[CustomerCard]
    engagement: list[Engagement]


def list_customers(
    s: Session, actor: User, q: str = "", *, offset: int = 0, limit: int = 50
) -> CustomerList:
    """Return a page of the customers the actor may see (every customer for customer
    development and admins, else the accounts they own), searched by name or domain."""
    where: list[sa.ColumnElement[bool]] = []
    if not plans.develops_customers(s, actor):
        where.append(Account.owner_id == actor.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        where.append(
            sa.or_(
                sa.func.lower(Account.name).like(like),
                Account.id.in_(
                    sa.select(AccountDomain.account_id).where(AccountDomain.domain.like(like))
                ),
            )
        )
    total = s.scalar(sa.select(sa.func.count()).select_from(Account).where(*where)) or 0
    accounts = list(
        s.scalars(
            sa.select(Account)
            .options(selectinload(Account.domains), selectinload(Account.owner))
            .where(*where)
            .order_by(sa.func.lower(Account.name), Account.id)
            .offset(offset)
            .limit(limit)
        )
    )
    ids = [a.id for a in accounts]
    nexts: dict[int, Contract] = {}
    cards: dict[int, int] = {}
    if ids:
        for contract in s.scalars(
            sa.select(Contract)
            .where(Contract.account_id.in_(ids), Contract.ended.is_(False))
            .order_by(Contract.ends_on.desc())
        ):
            nexts[contract.account_id] = contract  # the last written ends first
        cards = dict(
            s.execute(
                sa.select(CustomerCard.account_id, sa.func.count())
                .where(CustomerCard.account_id.in_(ids), CustomerCard.status != CardStatus.DONE)
                .group_by(CustomerCard.account_id)
            ).all()
        )
    rows = [CustomerRow(a, nexts.get(a.id), cards.get(a.id, 0)) for a in accounts]
    return CustomerList(rows, total)


def account_page(s: Session, actor: User, account_id: int) -> AccountPage:
    """Return an account's plan, its newest leads, its cards and the content its people
    engaged with; NotFound when the actor may not see the account."""
    plan = plans.plan_of(s, actor, account_id)
    account = plan.account
    leads = list(
        s.scalars(
            sa.select(Lead)
            .where(
                Lead.id.in_(account_leads(account.id, account.domain_names)),
                Lead.merged_into_id.is_(None),
            )
            .order_by(Lead.submitted_at.desc(), Lead.id.desc())
            .limit(LEADS_SHOWN + 1)
        )
    )
    cards = list(
        s.scalars(
            sa.select(CustomerCard)
            .options(
                selectinload(CustomerCard.assignee),
                selectinload(CustomerCard.won_by),
                selectinload(CustomerCard.contract),
            )
            .where(CustomerCard.account_id == account.id)
            .order_by(CustomerCard.created_at.desc(), CustomerCard.id.desc())
            .limit(CARDS_SHOWN)
        )
    )
    return AccountPage(
        plan=plan,
        leads=leads[:LEADS_SHOWN],
        more_leads=len(leads) > LEADS_SHOWN,
        cards=cards,
        engagement=engagement_for(s, account.id),
    )


def open_cards(s: Session, account_id: int) -> int:
    """Count an account's handover and renewal cards not done yet."""
    query = sa.select(sa.func.count()).where(
        CustomerCard.account_id == account_id, CustomerCard.status != CardStatus.DONE
    )
    return s.scalar(query) or 0


def days_left(day: date, today: date) -> int:
    """Count the days from today to a day (negative once it has passed)."""
    return (day - today).days
