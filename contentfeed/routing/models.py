"""Routing: known customer accounts, queues and their reps, ordered rules, lead activity and
the CRM outbox."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contentfeed.accounts.models import User
from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l


class Strategy(enum.StrEnum):
    """How a queue's leads reach a rep."""

    CLAIM = "claim"  # reps pull the next lead themselves
    ROUND_ROBIN = "round_robin"  # each available rep in turn
    WEIGHTED = "weighted"  # in proportion to each rep's weight

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(STRATEGY_LABELS[self])


STRATEGY_LABELS = {
    Strategy.CLAIM: _l("Reps claim"),
    Strategy.ROUND_ROBIN: _l("Round-robin"),
    Strategy.WEIGHTED: _l("Weighted by capacity"),
}


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the configured tries; an admin may send it again


class Account(Base):
    """A known customer, imported from the CRM: its leads go to customer development."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    crm_id: Mapped[str] = mapped_column(sa.String(120), default="", index=True)
    owner_team_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("team.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # When the company became a customer through contentfeed (a lead converted, the CRM
    # reported a won deal); None for accounts imported as customers already.
    customer_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    domains: Mapped[list[AccountDomain]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountDomain.domain"
    )
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def domain_names(self) -> list[str]:
        """Return the account's domains, sorted."""
        return [d.domain for d in self.domains]


class AccountDomain(Base):
    """One domain of an account (a company may have several); unique across accounts."""

    __tablename__ = "account_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)

    account: Mapped[Account] = relationship(back_populates="domains")


class Queue(Base):
    """A queue of leads worked by a set of reps, with its SLA and calendar."""

    __tablename__ = "lead_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    strategy: Mapped[Strategy] = mapped_column(str_enum(Strategy), default=Strategy.CLAIM)
    sla_minutes: Mapped[int] = mapped_column(default=60)
    # A rep who claims a lead (or is handed one) contacts the person within this many minutes
    # of the claim, or the SLA sweep gives the lead back. Separate from the SLA: a lead
    # claimed after its SLA ran out still gets its full claim window.
    claim_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    # Count the SLA (and the claim window) in business hours: only workdays between day_start
    # and day_end, in the queue's time zone. Otherwise it runs around the clock.
    business_hours: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    workdays: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [0, 1, 2, 3, 4])
    day_start: Mapped[str] = mapped_column(sa.String(5), default="09:00")
    day_end: Mapped[str] = mapped_column(sa.String(5), default="17:00")
    # Told when a lead goes overdue or a claim is returned.
    lead_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[QueueMember]] = relationship(
        back_populates="queue", cascade="all, delete-orphan", order_by="QueueMember.id"
    )
    lead_user: Mapped[User | None] = relationship(foreign_keys=[lead_user_id])


class QueueMember(Base):
    """A rep in a queue, with a weight, a capacity and a persisted assignment counter."""

    __tablename__ = "queue_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lead_queue.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    weight: Mapped[int] = mapped_column(default=1)
    capacity: Mapped[int] = mapped_column(default=0)  # open leads at most; 0 = no limit
    available: Mapped[bool] = mapped_column(default=True)
    assigned_count: Mapped[int] = mapped_column(default=0)  # fairness: leads given so far
    last_assigned_at: Mapped[datetime | None]

    queue: Mapped[Queue] = relationship(back_populates="members")
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("queue_id", "user_id"),)


class RoutingRule(Base):
    """An ordered rule: when all its conditions hold, the lead goes to its queue.

    ``conditions`` keys (all optional; an empty rule matches every lead):
    customer (bool), free_mail (bool), countries (ISO codes), regions (names),
    companies (substrings), title_keywords (words), min_score / max_score (int),
    seller_team_ids (team ids of the attributed seller).
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0, index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    enabled: Mapped[bool] = mapped_column(default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queue_id: Mapped[int] = mapped_column(sa.ForeignKey("lead_queue.id", ondelete="CASCADE"))
    strategy: Mapped[Strategy | None] = mapped_column(str_enum(Strategy))  # None: the queue's
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    queue: Mapped[Queue] = relationship()


class LeadActivity(Base):
    """One thing that happened to a lead: routed, claimed, a note, a status change, …"""

    __tablename__ = "lead_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(sa.String(30))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class Destination(Base):
    """An outbound webhook destination's state (the URL and secret live in config)."""

    __tablename__ = "outbox_destination"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(sa.Text, default="")


class OutboxMessage(Base):
    """A message for the CRM, written in the same transaction as the change it reports.

    Delivered at least once; ``message_id`` stays the same across tries so the receiver
    can drop duplicates.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    destination: Mapped[str] = mapped_column(sa.String(40), default="crm")
    event_type: Mapped[str] = mapped_column(sa.String(60))
    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)


class SellerNotice(Base):
    """A message for one user: a seller whose post brought a lead (and later how it ended),
    or a queue's lead about an overdue or returned lead. Shown in the app and sent through
    the user's notification channel by a job."""

    __tablename__ = "seller_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))  # lead, outcome, queue_alert
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
