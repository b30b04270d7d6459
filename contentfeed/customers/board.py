"""The customer queue's cards as the queue page and the API show them: each handover with the
customer, who won it, the seller and content that brought the first lead and the rep's notes;
each renewal with its contract and end date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.customers.models import CardKind, CardStatus, CustomerCard
from contentfeed.leads.models import Lead
from contentfeed.routing.lead_history import ERASED_TEXT
from contentfeed.routing.models import Account, LeadActivity, QueueMember

OPEN_CARD_STATUSES = (CardStatus.OPEN, CardStatus.ACCEPTED)


@dataclass(frozen=True)
class CardRow:
    """One card with the names and facts behind it."""

    card: CustomerCard
    account_name: str
    account_domains: list[str]
    lead: Lead | None
    won_by_name: str
    seller_name: str
    content_title: str
    assignee_name: str
    notes: list[str]
    contract_name: str
    ends_on: date | None
    overdue: bool

    @property
    def is_handover(self) -> bool:
        """Tell whether the card hands over a new customer (else: a renewal)."""
        return self.card.kind is CardKind.HANDOVER


def card_queue_ids(s: Session, user: User) -> list[int] | None:
    """Return the queues whose cards a user sees (None: every queue, for admins)."""
    if user.role == Role.ADMIN:
        return None
    if user.role != Role.REP:
        return []
    return list(s.scalars(sa.select(QueueMember.queue_id).where(QueueMember.user_id == user.id)))


def open_cards(
    s: Session, user: User, now: datetime, *, limit: int = 100, queue_id: int | None = None
) -> list[CardRow]:
    """Return the open and accepted cards of the user's queues, the earliest due first."""
    query = (
        sa.select(CustomerCard)
        .options(selectinload(CustomerCard.contract))
        .where(CustomerCard.status.in_(OPEN_CARD_STATUSES))
        .order_by(CustomerCard.due_at, CustomerCard.id)
        .limit(limit)
    )
    queue_ids = card_queue_ids(s, user)
    if queue_ids is not None:
        query = query.where(CustomerCard.queue_id.in_(queue_ids))
    if queue_id is not None:
        query = query.where(CustomerCard.queue_id == queue_id)
    return rows_of(s, list(s.scalars(query)), now)


def rows_of(s: Session, cards: list[CustomerCard], now: datetime) -> list[CardRow]:
    """Load what a list of cards names (accounts, people, content, notes) in a few queries."""
    if not cards:
        return []
    from contentfeed.content.models import Content

    account_ids = {c.account_id for c in cards}
    accounts = {
        a.id: a
        for a in s.scalars(
            sa.select(Account)
            .options(selectinload(Account.domains))
            .where(Account.id.in_(account_ids))
        )
    }
    lead_ids = {c.lead_id for c in cards if c.lead_id}
    leads = {lead.id: lead for lead in s.scalars(sa.select(Lead).where(Lead.id.in_(lead_ids)))}
    people = {
        uid for c in cards for uid in (c.won_by_id, c.seller_id, c.assignee_id) if uid is not None
    }
    names = dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(people))).all())
    content_ids = {c.content_id for c in cards if c.content_id}
    titles = dict(
        s.execute(sa.select(Content.id, Content.title).where(Content.id.in_(content_ids))).all()
    )
    notes: dict[int, list[str]] = {}
    for lead_id, text in s.execute(
        sa.select(LeadActivity.lead_id, LeadActivity.text)
        .where(LeadActivity.lead_id.in_(lead_ids), LeadActivity.kind == "note")
        .order_by(LeadActivity.at, LeadActivity.id)
    ):
        if text != ERASED_TEXT:
            notes.setdefault(lead_id, []).append(text)
    rows = []
    for card in cards:
        account = accounts.get(card.account_id)
        contract = card.contract
        rows.append(
            CardRow(
                card=card,
                account_name=account.name if account else "",
                account_domains=account.domain_names if account else [],
                lead=leads.get(card.lead_id) if card.lead_id else None,
                won_by_name=names.get(card.won_by_id, "") if card.won_by_id else "",
                seller_name=names.get(card.seller_id, "") if card.seller_id else "",
                content_title=titles.get(card.content_id, "") if card.content_id else "",
                assignee_name=names.get(card.assignee_id, "") if card.assignee_id else "",
                notes=notes.get(card.lead_id, []) if card.lead_id else [],
                contract_name=contract.name if contract else "",
                ends_on=contract.ends_on if contract else None,
                overdue=is_overdue(card, now),
            )
        )
    return rows


def is_overdue(card: CustomerCard, now: datetime) -> bool:
    """A handover is overdue when nobody accepted it within the handover SLA; a renewal when
    its contract's end date passed before it was handled."""
    if card.due_at is None or card.status is CardStatus.DONE:
        return False
    if card.kind is CardKind.HANDOVER:
        return card.status is CardStatus.OPEN and card.due_at <= now
    return card.due_at <= now
