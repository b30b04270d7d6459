"""Tracked links: one unguessable short code per suggestion, and the clicks on it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from contentfeed.db import Base, utcnow


class TrackedLink(Base):
    """A seller's personal link. The redirect target (content URL with UTM values) is stored
    whole, so following the link is one indexed read."""

    __tablename__ = "tracked_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    suggestion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("suggestion.id", ondelete="CASCADE"), unique=True
    )
    target_url: Mapped[str] = mapped_column(sa.String(2400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Click(Base):
    """A follow of a tracked link: when, from where, by what kind of client; never the raw IP."""

    __tablename__ = "click"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    link_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tracked_link.id", ondelete="CASCADE"), index=True
    )
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_bot: Mapped[bool] = mapped_column(default=False)
    referrer_host: Mapped[str] = mapped_column(sa.String(255), default="")
    agent_family: Mapped[str] = mapped_column(sa.String(40), default="")
    visitor_hash: Mapped[str] = mapped_column(sa.String(32), default="")

    __table_args__ = (
        # Clicks arrive in time order, so on PostgreSQL a BRIN index (a few pages, almost
        # free to keep current) serves date ranges without a B-tree update on every click.
        sa.Index("ix_click_clicked_at", "clicked_at", postgresql_using="brin"),
    )
