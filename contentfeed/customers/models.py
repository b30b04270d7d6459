"""Customer development ("hunter after"): the cards its queue works (a new customer's
handover, a contract coming up for renewal), each customer's plan (contracts, goals, next
steps) and the events the CRM sends about deals and contracts.

The customer is a routing ``Account`` (its domains route its people's leads to customer
development); this domain adds what happens after the signature.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contentfeed.accounts.models import User
from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l
from contentfeed.routing.models import Account


class CardKind(enum.StrEnum):
    """What a customer development card asks for."""

    HANDOVER = "handover"  # a new customer: take them by the hand right after the signature
    RENEWAL = "renewal"  # a contract ends within the renewal window

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(CARD_KIND_LABELS[self])


CARD_KIND_LABELS = {CardKind.HANDOVER: _l("Handover"), CardKind.RENEWAL: _l("Renewal")}


class CardStatus(enum.StrEnum):
    OPEN = "open"  # waiting in the queue for someone to accept it
    ACCEPTED = "accepted"  # a rep of the queue has it (a handover's account is theirs)
    DONE = "done"  # handled: the customer is onboarded, the contract renewed or ended

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(CARD_STATUS_LABELS[self])


CARD_STATUS_LABELS = {
    CardStatus.OPEN: _l("Waiting"),
    CardStatus.ACCEPTED: _l("Accepted"),
    CardStatus.DONE: _l("Done"),
}


class CustomerCard(Base):
    """A piece of customer development's work in its queue: a handover or a renewal.

    ``key`` makes each card happen once however often its cause is seen (a lead converted
    twice by a retried request, a CRM event redelivered, the renewal job run by two
    schedulers): ``handover:lead:<id>``, ``handover:account:<id>:<event>``,
    ``renewal:<contract id>:<end date>``.
    """

    __tablename__ = "customer_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    kind: Mapped[CardKind] = mapped_column(str_enum(CardKind))
    status: Mapped[CardStatus] = mapped_column(
        str_enum(CardStatus), default=CardStatus.OPEN, index=True
    )
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    queue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead_queue.id", ondelete="SET NULL"), index=True
    )
    # A handover: the lead that converted (None when the CRM reported a deal we had no lead
    # for), who won it, and the seller and content that brought the account's first lead.
    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    won_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    seller_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    content_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("content.id", ondelete="SET NULL"), index=True
    )
    # A renewal: the contract and the end date it was raised for.
    contract_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customer_contract.id", ondelete="CASCADE"), index=True
    )
    # When the deal was signed (handover) or the contract ends (renewal), and when the card
    # must be accepted by (the handover SLA) or handled by (the contract's end).
    signed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    accepted_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # How it was handled: onboarded (handover), renewed or ended (renewal).
    outcome: Mapped[str] = mapped_column(sa.String(20), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    account: Mapped[Account] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    won_by: Mapped[User | None] = relationship(foreign_keys=[won_by_id])
    seller: Mapped[User | None] = relationship(foreign_keys=[seller_id])
    contract: Mapped[Contract | None] = relationship()


class Contract(Base):
    """A contract a customer holds, with the date it ends (the renewal's date)."""

    __tablename__ = "customer_contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    ends_on: Mapped[date] = mapped_column(sa.Date, index=True)
    # The CRM's id of the contract, so that its contract.renewed / contract.ending events
    # find it.
    crm_id: Mapped[str] = mapped_column(sa.String(120), default="", index=True)
    # ended: the customer let it run out (no renewal card any more).
    ended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GoalStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(GOAL_STATUS_LABELS[self])


GOAL_STATUS_LABELS = {
    GoalStatus.OPEN: _l("Open"),
    GoalStatus.WON: _l("Won"),
    GoalStatus.DROPPED: _l("Dropped"),
}


class Goal(Base):
    """A goal for more of the customer's business: a product or service not yet bought."""

    __tablename__ = "customer_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    product: Mapped[str] = mapped_column(sa.String(200))
    target_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[GoalStatus] = mapped_column(str_enum(GoalStatus), default=GoalStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NextStep(Base):
    """A next step of a customer's plan, with who does it and by when."""

    __tablename__ = "customer_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.String(500))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User | None] = relationship()


class CrmEventStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class CrmEvent(Base):
    """An event the CRM sent (deal.won, deal.lost, contract.renewed, contract.ending),
    kept as received before it is processed; unique per webhook-id."""

    __tablename__ = "crm_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(40), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[CrmEventStatus] = mapped_column(
        str_enum(CrmEventStatus), default=CrmEventStatus.RECEIVED, index=True
    )
    error: Mapped[str] = mapped_column(sa.Text, default="")
    # What it changed: the account and the lead it was about.
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id", ondelete="SET NULL"))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    processed_at: Mapped[datetime | None]
