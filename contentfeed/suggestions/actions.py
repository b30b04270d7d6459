"""The seller's actions on a suggestion (mark it posted, skip it) and an admin's suggest now.

Never commits; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.suggestions.listing import suggestion_query
from contentfeed.suggestions.models import SKIP_REASONS, Suggestion, SuggestionStatus
from contentfeed.suggestions.planning import FeedSettings, live_content_facts
from contentfeed.suggestions.service import fill_feeds
from contentfeed.text import checked_text


def suggest_now(
    s: Session,
    settings: FeedSettings,
    seller_id: int,
    *,
    now: datetime | None = None,
    seed: int | None = None,
) -> list[Suggestion]:
    """Give one seller a suggestion today, whatever their cadence; say why when none fits."""
    seller = s.get(User, seller_id)
    if seller is None or seller.role is not Role.SELLER:
        raise NotFound("No such seller.")
    if not seller.is_active:
        raise Conflict(f"{seller.name} is deactivated; reactivate them before suggesting.")
    now = now or utcnow()
    before = (
        s.scalar(sa.select(sa.func.max(Suggestion.id)).where(Suggestion.seller_id == seller.id))
        or 0
    )
    result = fill_feeds(s, settings, now=now, seed=seed, only=[seller.id], ignore_cadence=True)
    if result.created == 0:
        facts, _contents = live_content_facts(s, now, base_url=settings.public_base_url)
        if not any(f.variant_ids for f in facts):
            raise Conflict("The library has no live content with a post variant to suggest.")
        raise Conflict(
            f"No live content fits {seller.name}: every live item aimed at their team, "
            "region and language has already been suggested to them."
        )
    return list(
        s.scalars(
            suggestion_query()
            .options(selectinload(Suggestion.seller))
            .where(Suggestion.seller_id == seller.id, Suggestion.id > before)
            .order_by(Suggestion.id)
        )
    )


def mark_posted(
    s: Session, suggestion: Suggestion, *, actor: User, now: datetime | None = None
) -> Suggestion:
    """Record that the seller shared the post (marking twice changes nothing)."""
    if actor.id != suggestion.seller_id and actor.role not in (Role.ADMIN, Role.MARKETER):
        raise Forbidden("Only the seller can mark their post shared.")
    if suggestion.status is SuggestionStatus.POSTED:
        return suggestion
    suggestion.status = SuggestionStatus.POSTED
    suggestion.posted_at = now or utcnow()
    suggestion.skipped_at, suggestion.skip_reason, suggestion.skip_note = None, "", ""
    s.flush()
    return suggestion


def skip(
    s: Session,
    suggestion: Suggestion,
    *,
    actor: User,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> Suggestion:
    """Set a suggestion aside with a reason (it tells marketing what doesn't work)."""
    if actor.id != suggestion.seller_id and actor.role not in (Role.ADMIN, Role.MARKETER):
        raise Forbidden("Only the seller can skip their suggestion.")
    if reason not in SKIP_REASONS:
        message = "Choose a reason: " + ", ".join(SKIP_REASONS.values()) + "."
        raise Invalid(message, {"reason": message})
    checked_text("note", note, multiline=True)
    if suggestion.status is SuggestionStatus.POSTED:
        raise Conflict("This post is already marked shared.")
    suggestion.status = SuggestionStatus.SKIPPED
    suggestion.skipped_at = now or utcnow()
    suggestion.skip_reason = reason
    suggestion.skip_note = note.strip()[:500]
    s.flush()
    return suggestion
