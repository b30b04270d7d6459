"""The seller's feed and history, anyone's list of suggestions, and how each post did.

Never commits; the caller commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Content
from contentfeed.db import Id, PageNumber, utcnow
from contentfeed.errors import Forbidden, Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.links import service as links
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import sharing
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from contentfeed.suggestions.planning import among, chunks
from contentfeed.text import Input

MAX_PER_PAGE = 200
TOTALS_DAYS = 30  # the feed and history pages show the seller's last 30 days


@dataclass(frozen=True)
class FeedItem:
    """A suggestion as the seller sees it: the post, its link, and how it did.

    ``text`` is the post to copy; its tracked link is always ``link``, so a page never shows
    two addresses for one code. ``comment`` is what the seller posts as the first comment
    ("" for none): when it carries the link, the post does not.
    """

    suggestion: Suggestion
    link: str
    clicks: int
    text: str = ""
    comment: str = ""

    def share_url(self, default_composer: str) -> str:
        """Return where "Post on LinkedIn" opens LinkedIn for this post: the seller's choice
        of composer (their profile), else ``default_composer`` ([suggestions] linkedin_composer)."""
        profile = self.suggestion.seller.seller_profile
        composer = sharing.chosen_composer(
            profile.linkedin_composer if profile else "", default_composer
        )
        return sharing.composer_url(self.text, self.link, composer)


def _with_links(s: Session, suggestions: Sequence[Suggestion], base_url: str) -> list[FeedItem]:
    if not suggestions:
        return []
    ids = [x.id for x in suggestions]
    codes: dict[int, str] = {
        suggestion_id: code
        for suggestion_id, code in s.execute(
            sa.select(TrackedLink.suggestion_id, TrackedLink.code).where(
                TrackedLink.suggestion_id.in_(ids)
            )
        )
    }
    clicks = clicks_by_suggestion(s, ids)
    return [_item(x, codes.get(x.id), clicks.get(x.id, 0), base_url) for x in suggestions]


def _item(suggestion: Suggestion, code: str | None, clicks: int, base_url: str) -> FeedItem:
    """One address per code: the text was rendered with the base URL of its day (maybe a
    server no longer there); its link is shown, like the link beside it, with today's."""
    if code is None:
        return FeedItem(
            suggestion, "", clicks, suggestion.rendered_text, suggestion.rendered_comment
        )
    link = links.public_link(base_url, code)
    return FeedItem(
        suggestion,
        link,
        clicks,
        links.relink(suggestion.rendered_text, code, link),
        links.relink(suggestion.rendered_comment, code, link),
    )


def clicks_by_suggestion(s: Session, suggestion_ids: Sequence[int]) -> dict[int, int]:
    """Count human clicks (bots excluded) per suggestion."""
    if not suggestion_ids:
        return {}
    rows = s.execute(
        sa.select(TrackedLink.suggestion_id, sa.func.count(Click.id))
        .join(Click, Click.link_id == TrackedLink.id)
        .where(TrackedLink.suggestion_id.in_(suggestion_ids), Click.counted)
        .group_by(TrackedLink.suggestion_id)
    )
    return {suggestion_id: n for suggestion_id, n in rows}


def suggestion_query() -> sa.Select[Suggestion]:
    """Select suggestions with their content and its campaign loaded."""
    return sa.select(Suggestion).options(
        selectinload(Suggestion.content).selectinload(Content.campaign),
        selectinload(Suggestion.seller).selectinload(User.seller_profile),
    )


def pending_feed(s: Session, seller: User, base_url: str) -> list[FeedItem]:
    """Return the seller's current suggestions, newest day first."""
    rows = s.scalars(
        suggestion_query()
        .where(Suggestion.seller_id == seller.id, Suggestion.status == SuggestionStatus.PENDING)
        .order_by(Suggestion.day.desc(), Suggestion.slot)
    ).all()
    return _with_links(s, rows, base_url)


# How a seller's history can be ordered (ties: newest first).
HISTORY_SORTS: dict[str, sa.ColumnElement[Any]] = {
    "when": sa.func.coalesce(Suggestion.posted_at, Suggestion.skipped_at, Suggestion.expires_at),
    "clicks": sa.select(sa.func.count(Click.id))
    .join(TrackedLink, Click.link_id == TrackedLink.id)
    .where(TrackedLink.suggestion_id == Suggestion.id, Click.counted)
    .correlate(Suggestion)
    .scalar_subquery(),
    "post": sa.select(sa.func.lower(Content.title))
    .where(Content.id == Suggestion.content_id)
    .scalar_subquery(),
    "status": sa.case(
        {status.value: n for n, status in enumerate(SuggestionStatus)}, value=Suggestion.status
    ),
}


def history(
    s: Session,
    seller: User,
    base_url: str,
    *,
    sort: str = "when",
    descending: bool = True,
    offset: int = 0,
    limit: int = 25,
) -> tuple[list[FeedItem], int]:
    """Return the seller's past suggestions (newest first unless sorted otherwise: by when,
    clicks, post title or status; ties newest first) and how many there are."""
    where = (Suggestion.seller_id == seller.id, Suggestion.status != SuggestionStatus.PENDING)
    total = s.scalar(sa.select(sa.func.count()).select_from(Suggestion).where(*where)) or 0
    key = HISTORY_SORTS.get(sort, HISTORY_SORTS["when"])
    order = [key.desc() if descending else key.asc()]
    rows = s.scalars(
        suggestion_query()
        .where(*where)
        .order_by(*order, Suggestion.day.desc(), Suggestion.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return _with_links(s, rows, base_url), total


@dataclass(frozen=True)
class SellerTotals:
    """A seller's suggestions, posts (and of them verified), human clicks and posts still
    waiting, over a period."""

    suggested: int
    posted: int
    clicks: int
    pending: int
    verified: int = 0


def recent_totals(s: Session, seller: User, now: datetime | None = None) -> SellerTotals:
    """Count what the seller was suggested, posted and brought in over the last 30 days."""
    return seller_totals(s, seller, (now or utcnow()) - timedelta(days=TOTALS_DAYS))


def seller_totals(s: Session, seller: User, since: datetime) -> SellerTotals:
    """Count a seller's suggestions, posts and human clicks since a moment."""
    counts: dict[SuggestionStatus, int] = {}
    verified = 0
    for status, n, named in s.execute(
        sa.select(Suggestion.status, sa.func.count(), sa.func.count(Suggestion.post_activity_id))
        .where(Suggestion.seller_id == seller.id, Suggestion.created_at >= since)
        .group_by(Suggestion.status)
    ):
        counts[status] = n
        verified += named
    clicks = (
        s.scalar(
            sa.select(sa.func.count(Click.id))
            .join(TrackedLink, Click.link_id == TrackedLink.id)
            .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
            .where(Suggestion.seller_id == seller.id, Click.counted, Click.clicked_at >= since)
        )
        or 0
    )
    return SellerTotals(
        suggested=sum(counts.values()),
        posted=counts.get(SuggestionStatus.POSTED, 0),
        clicks=clicks,
        pending=counts.get(SuggestionStatus.PENDING, 0),
        verified=verified,
    )


class SuggestionQuery(Input):
    """Whose suggestions, in which state, which page."""

    model_config = ConfigDict(extra="forbid")

    seller_id: Id | None = Field(
        default=None, description="Admins and marketers: one seller's; sellers: only their own"
    )
    status: SuggestionStatus | None = None
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


def list_suggestions(
    s: Session, actor: User, query: SuggestionQuery, base_url: str
) -> tuple[list[FeedItem], int]:
    """Return a page of suggestions newest first, and how many match: a seller only their own,
    admins and marketers everyone's or one seller's."""
    seller_id = query.seller_id
    if actor.role is Role.SELLER:
        if seller_id not in (None, actor.id):
            raise Forbidden(_("Sellers see only their own suggestions."))
        seller_id = actor.id
    elif seller_id is not None:
        seller = s.get(User, seller_id)
        if seller is None or seller.role is not Role.SELLER:
            message = _("No seller has this id.")
            raise Invalid(message, {"seller_id": message})
    where: list[sa.ColumnElement[bool]] = []
    if seller_id is not None:
        where.append(Suggestion.seller_id == seller_id)
    if query.status is not None:
        where.append(Suggestion.status == query.status)
    total = s.scalar(sa.select(sa.func.count()).select_from(Suggestion).where(*where)) or 0
    rows = s.scalars(
        suggestion_query()
        .options(selectinload(Suggestion.seller))
        .where(*where)
        .order_by(Suggestion.day.desc(), Suggestion.slot, Suggestion.id.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return _with_links(s, rows, base_url), total


def feed_items(s: Session, suggestions: Sequence[Suggestion], base_url: str) -> list[FeedItem]:
    """Return suggestions with their public links and human clicks."""
    return _with_links(s, suggestions, base_url)


def show_suggestion(s: Session, actor: User, suggestion_id: int, base_url: str) -> FeedItem:
    """Return one suggestion with its link and clicks: sellers only their own, staff any."""
    return _with_links(s, [get_suggestion(s, suggestion_id, actor)], base_url)[0]


def status_counts(s: Session, seller_ids: Sequence[int]) -> dict[int, dict[SuggestionStatus, int]]:
    """Count each seller's suggestions per status."""
    counts: dict[int, dict[SuggestionStatus, int]] = {
        seller_id: dict.fromkeys(SuggestionStatus, 0) for seller_id in seller_ids
    }
    for chunk in chunks(list(seller_ids), 5000):
        for seller_id, status, n in s.execute(
            sa.select(Suggestion.seller_id, Suggestion.status, sa.func.count())
            .where(among(s, Suggestion.seller_id, chunk))
            .group_by(Suggestion.seller_id, Suggestion.status)
        ):
            counts[seller_id][SuggestionStatus(status)] = n
    return counts


def get_suggestion(s: Session, suggestion_id: int, viewer: User) -> Suggestion:
    """Return a suggestion: sellers only their own; marketers and admins any."""
    suggestion = s.get(Suggestion, suggestion_id)
    if suggestion is None or (
        viewer.role not in (Role.ADMIN, Role.MARKETER) and suggestion.seller_id != viewer.id
    ):
        raise NotFound(_("No such suggestion."))
    return suggestion
