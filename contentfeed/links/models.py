"""Tracked links: one unguessable short code per suggestion, and the clicks on it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, validates

from contentfeed.db import Base, utcnow

HUMAN = "human"  # the one counted reason (links.reasons.Reason.HUMAN)


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
    """A request for a tracked link: when, from where, by what kind of client, and why it
    counts as a human click or does not (``reason``, see links/reasons.py); never the raw IP.

    Every request is kept (the ledger); only ``counted`` ones are clicks anywhere.
    """

    __tablename__ = "click"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("tracked_link.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The client is a known machine (a bot or scanner reason); kept for old readers.
    is_bot: Mapped[bool] = mapped_column(default=False)
    referrer_host: Mapped[str] = mapped_column(sa.String(255), default="")
    agent_family: Mapped[str] = mapped_column(sa.String(40), default="")
    visitor_hash: Mapped[str] = mapped_column(sa.String(32), default="")
    # A links.reasons.Reason value: human, head, scanner, bot, repeat or early.
    reason: Mapped[str] = mapped_column(sa.String(16), default="human", server_default="human")

    @validates("is_bot")
    def _bot_is_not_human(self, _key: str, value: bool) -> bool:
        # Click(is_bot=True) without a reason (demo data, old callers) is a bot's request.
        if value and self.reason in (None, HUMAN):
            self.reason = "bot"
        return value

    @hybrid_property
    def counted(self) -> bool:
        """Whether this request counts as a human click: the one rule every count uses."""
        return self.reason == HUMAN

    @counted.inplace.expression
    @classmethod
    def _counted_expression(cls) -> sa.ColumnElement[bool]:
        return cls.reason == HUMAN

    __table_args__ = (
        # A link's requests in time order: the redirect's look-up of the visitor's last
        # request (links.repeat_seconds) and every per-link count read it.
        sa.Index("ix_click_link_time", "link_id", "clicked_at"),
        # Clicks arrive in time order, so on PostgreSQL a BRIN index (a few pages, almost
        # free to keep current) serves date ranges without a B-tree update on every click.
        sa.Index("ix_click_clicked_at", "clicked_at", postgresql_using="brin"),
    )
