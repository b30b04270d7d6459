"""Library: campaigns, content items, post variants, uploaded assets, the audit trail, imports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contentfeed.accounts.models import User
from contentfeed.db import Base, str_enum, utcnow
from contentfeed.i18n import _l


class ContentKind(enum.StrEnum):
    ARTICLE = "article"
    CASE_STUDY = "case_study"
    WHITEPAPER = "whitepaper"
    VIDEO = "video"
    EVENT = "event"
    PRODUCT_NEWS = "product_news"

    @property
    def label(self) -> str:
        """Return the name people see, in the language being spoken."""
        return str(KIND_LABELS[self.value])


class ContentStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        """Return the name people see, in the language being spoken."""
        return str(STATUS_LABELS[self.value])


KIND_LABELS = {
    "article": _l("Article"),
    "case_study": _l("Case study"),
    "whitepaper": _l("Whitepaper"),
    "video": _l("Video"),
    "event": _l("Event"),
    "product_news": _l("Product news"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "approved": _l("Approved"),
    "archived": _l("Archived"),
}


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[Content]] = relationship(back_populates="campaign")


# The public page of a gated item (served by leads/gated_views.py).
GATED_PAGE = "/g/{content_id}"


def shared_url(url: str, *, is_gated: bool, has_file: bool, content_id: int, base_url: str) -> str:
    """Return where a seller's link to an item leads: its URL, or for a gated file the form
    that hands the file out once the visitor has left their details."""
    if is_gated and has_file:
        return base_url.rstrip("/") + GATED_PAGE.format(content_id=content_id)
    return url


class Asset(Base):
    """An uploaded file, served at a stable public URL a seller's link can point to."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(120))
    extension: Mapped[str] = mapped_column(sa.String(16))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Audience(enum.StrEnum):
    """Whom an item is for: people who are not customers yet, customers, or both."""

    PROSPECTS = "prospects"
    CUSTOMERS = "customers"
    BOTH = "both"

    @property
    def label(self) -> str:
        """Return the name people see, in the request's language."""
        return str(AUDIENCE_LABELS[self])


AUDIENCE_LABELS = {
    Audience.PROSPECTS: _l("Prospects"),
    Audience.CUSTOMERS: _l("Customers"),
    Audience.BOTH: _l("Prospects and customers"),
}


class Content(Base):
    __tablename__ = "content"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    url: Mapped[str] = mapped_column(sa.String(2000), default="")
    asset_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    image_url: Mapped[str] = mapped_column(sa.String(2000), default="")
    site_name: Mapped[str] = mapped_column(sa.String(200), default="")
    prefill_note: Mapped[str] = mapped_column(sa.String(500), default="")
    # The LinkedIn pre-flight's facts (content/preflight.py): "page", which og: tags the page
    # served when it was read; "image", the link image's size, weight and format.
    preflight: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kind: Mapped[ContentKind] = mapped_column(str_enum(ContentKind), default=ContentKind.ARTICLE)
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="SET NULL"), index=True
    )
    # The language of the title and summary; whom the item reaches say its variants' languages.
    language: Mapped[str] = mapped_column(sa.String(8), default="en", index=True)
    topics: Mapped[list[str]] = mapped_column(default=list)
    target_team_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    target_regions: Mapped[list[str]] = mapped_column(default=list)
    # Customer development sellers are suggested items for customers, everyone else items for
    # prospects; "both" reaches every seller.
    audience: Mapped[Audience] = mapped_column(
        str_enum(Audience), default=Audience.BOTH, server_default=Audience.BOTH.value
    )
    priority: Mapped[int] = mapped_column(default=3)
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[ContentStatus] = mapped_column(
        str_enum(ContentStatus), default=ContentStatus.DRAFT, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_at: Mapped[datetime | None]
    # A gated item's uploaded asset is offered behind a lead form at GATED_PAGE (/g/<id>), and
    # sellers' links lead there instead of to the file.
    is_gated: Mapped[bool] = mapped_column(default=False)

    campaign: Mapped[Campaign | None] = relationship(back_populates="items")
    asset: Mapped[Asset | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    variants: Mapped[list[PostVariant]] = relationship(
        back_populates="content", cascade="all, delete-orphan", order_by="PostVariant.position"
    )
    events: Mapped[list[ContentEvent]] = relationship(
        back_populates="content",
        cascade="all, delete-orphan",
        order_by="(ContentEvent.created_at.desc(), ContentEvent.id.desc())",
    )
    # A change to the approved item waiting for a second person's review (four-eyes).
    revision: Mapped[ContentRevision | None] = relationship(
        back_populates="content", cascade="all, delete-orphan", uselist=False
    )

    __table_args__ = (
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        sa.Index("ix_content_status_window", "status", "starts_at", "expires_at"),
    )

    @property
    def variant_languages(self) -> list[str]:
        """Return the languages the item's variants are in (sellers of others get none)."""
        return sorted({v.language for v in self.variants if v.language})

    def is_live(self, now: datetime) -> bool:
        """Tell whether the item may be suggested now: approved and inside its window."""
        return (
            self.status is ContentStatus.APPROVED
            and (self.starts_at is None or self.starts_at <= now)
            and (self.expires_at is None or self.expires_at > now)
        )


class PostVariant(Base):
    """One text a seller may copy, as a sandboxed Jinja template."""

    __tablename__ = "post_variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("content.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    # Sellers with this among their languages may get it; no default: the author says which.
    language: Mapped[str] = mapped_column(sa.String(8))
    body: Mapped[str] = mapped_column(sa.Text)
    # What the seller posts as the first comment under the post, a template like the body
    # ("" for none); the tracked link is in exactly one of the two.
    first_comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    content: Mapped[Content] = relationship(back_populates="variants")


class ContentEvent(Base):
    """The audit trail of an item: who did what, when, with an optional comment."""

    __tablename__ = "content_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("content.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str] = mapped_column(sa.String(20), default="")
    to_status: Mapped[str] = mapped_column(sa.String(20), default="")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    content: Mapped[Content] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


# The fields of an approved item whose change waits for review (four-eyes), with its variants.
REVIEWED_FIELDS = ("url", "target_team_ids", "target_regions", "audience")


class ContentRevision(Base):
    """A change to an approved item's variants, web address or targeting (teams, regions,
    audience), waiting for review.

    The approved version stays live meanwhile; approving the revision (by someone who did not
    write it) puts it in place, rejecting it discards it. At most one per item: later edits
    change it. ``variants`` holds the proposed variants, each {"id" (None: new), "position",
    "language", "body"}; ``author_ids`` everyone who changed it.
    """

    __tablename__ = "content_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        sa.ForeignKey("content.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    target_team_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    target_regions: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[Audience] = mapped_column(
        str_enum(Audience), default=Audience.BOTH, server_default=Audience.BOTH.value
    )
    variants: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    author_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    content: Mapped[Content] = relationship(back_populates="revision")
    created_by: Mapped[User | None] = relationship()


class ImportBatch(Base):
    """A bulk import, processed a chunk at a time so a large file shows real progress."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()

    @property
    def is_finished(self) -> bool:
        """Tell whether every row has been looked at."""
        return self.processed >= self.total
