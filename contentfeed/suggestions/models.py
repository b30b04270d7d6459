"""Suggestions: a post suggested to one seller, rendered for them, with why it was chosen."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contentfeed.accounts.models import User
from contentfeed.content.models import Content, PostVariant
from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l

# Why a seller sets a suggestion aside; it tells marketing what doesn't work. The labels are
# lazy: each request renders them in its language (str() them outside a template).
SKIP_REASONS: dict[str, Any] = {
    "not_relevant": _l("Not relevant for my network"),
    "already_shared": _l("I already shared something similar"),
    "too_salesy": _l("Too promotional"),
    "wrong_language": _l("Wrong language or region"),
    "bad_timing": _l("Bad timing"),
    "other": _l("Something else"),
}


class SuggestionStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    SKIPPED = "skipped"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """Return the name people see, in the current language."""
        return str(_STATUS_LABELS[self])


_STATUS_LABELS = {
    SuggestionStatus.PENDING: _l("Pending"),
    SuggestionStatus.POSTED: _l("Posted"),
    SuggestionStatus.SKIPPED: _l("Skipped"),
    SuggestionStatus.EXPIRED: _l("Expired"),
}


class Suggestion(Base):
    __tablename__ = "suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("content.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("post_variant.id", ondelete="SET NULL"), index=True
    )
    # The seller's local day this suggestion belongs to, and its slot on that day: together
    # they make the scheduler idempotent (a second run finds the slot taken).
    day: Mapped[date] = mapped_column(sa.Date)
    slot: Mapped[int] = mapped_column(default=0)
    rendered_text: Mapped[str] = mapped_column(sa.Text)
    # The variant's first comment rendered for the seller ("" when it has none).
    rendered_comment: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[SuggestionStatus] = mapped_column(
        str_enum(SuggestionStatus), default=SuggestionStatus.PENDING, index=True
    )
    score: Mapped[float] = mapped_column(default=0.0)
    score_parts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    skipped_at: Mapped[datetime | None]
    skip_reason: Mapped[str] = mapped_column(sa.String(40), default="")
    skip_note: Mapped[str] = mapped_column(sa.String(500), default="")
    notified_at: Mapped[datetime | None]
    # A verified post: the LinkedIn post the seller named when marking it posted (its
    # canonical address, its id, and the time read from the id; ``post_url.py``). One post
    # counts for one suggestion only: the id is unique.
    post_url: Mapped[str | None] = mapped_column(sa.String(120))
    post_activity_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True, index=True)
    post_time: Mapped[datetime | None]

    seller: Mapped[User] = relationship()
    content: Mapped[Content] = relationship()
    variant: Mapped[PostVariant | None] = relationship()

    __table_args__ = (
        # Never the same content twice to one seller.
        sa.UniqueConstraint("seller_id", "content_id"),
        # One suggestion per slot of a seller's day: reruns and rival schedulers collide here.
        sa.UniqueConstraint("seller_id", "day", "slot"),
        sa.Index("ix_suggestion_seller_status", "seller_id", "status"),
    )

    @property
    def verified(self) -> bool:
        """Whether the seller named the LinkedIn post (its address checked, nothing fetched)."""
        return self.post_activity_id is not None


class NotificationAttempt(Base):
    """One try at telling a seller about new suggestions, kept for retries and for admins."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(16))
    suggestion_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    given_up_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentEmail(Base):
    """An email the service would have sent while no mail server is set up, kept for admins
    to read (Admin → Sent email): a quickstart shows its digests and invitations."""

    __tablename__ = "sent_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
