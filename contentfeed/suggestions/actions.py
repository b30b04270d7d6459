"""The seller's actions on a suggestion (mark it posted, skip it) and an admin's suggest now.

Never commits; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import ConfigDict, Field, JsonValue, field_validator
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, NotFound
from contentfeed.i18n import _
from contentfeed.suggestions.listing import get_suggestion, suggestion_query
from contentfeed.suggestions.models import SKIP_REASONS, Suggestion, SuggestionStatus
from contentfeed.suggestions.planning import FeedSettings, live_content_facts
from contentfeed.suggestions.service import fill_feeds
from contentfeed.text import Input, MultiLineText


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
        raise NotFound(_("No such seller."))
    if not seller.is_active:
        raise Conflict(
            _(
                "%(name)s is deactivated; reactivate them before suggesting.",
                name=seller.name,
            )
        )
    now = now or utcnow()
    before = (
        s.scalar(sa.select(sa.func.max(Suggestion.id)).where(Suggestion.seller_id == seller.id))
        or 0
    )
    result = fill_feeds(s, settings, now=now, seed=seed, only=[seller.id], ignore_cadence=True)
    if result.created == 0:
        facts, _contents = live_content_facts(s, now, base_url=settings.public_base_url)
        if not any(f.variant_ids for f in facts):
            raise Conflict(_("The library has no live content with a post variant to suggest."))
        raise Conflict(
            _(
                "No live content fits %(name)s: every live item aimed at their team, "
                "region and language has already been suggested to them.",
                name=seller.name,
            )
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
    s: Session, actor: User, suggestion_id: int, *, now: datetime | None = None
) -> Suggestion:
    """Record that the seller shared the post (marking twice changes nothing).

    Sellers mark only their own; admins and marketers any (another's is not found).
    """
    suggestion = get_suggestion(s, suggestion_id, actor)
    if suggestion.status is SuggestionStatus.POSTED:
        return suggestion
    suggestion.status = SuggestionStatus.POSTED
    suggestion.posted_at = now or utcnow()
    suggestion.skipped_at, suggestion.skip_reason, suggestion.skip_note = None, "", ""
    s.flush()
    return suggestion


REASON_CHOICES: list[JsonValue] = list(SKIP_REASONS)


def choose_a_reason() -> str:
    """Say which reasons there are, in the current language."""
    reasons = ", ".join(str(label) for label in SKIP_REASONS.values())
    return str(_("Choose a reason: %(reasons)s.", reasons=reasons))


class SkipIn(Input):
    """Why the seller sets a suggestion aside; it tells marketing what doesn't work."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        # The API document is English, the source language of the labels.
        description=", ".join(f"{key}: {text._args[0]}" for key, text in SKIP_REASONS.items()),
        json_schema_extra={"enum": REASON_CHOICES},
    )
    note: MultiLineText = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in SKIP_REASONS:
            raise ValueError(choose_a_reason())
        return value


def skip(
    s: Session, actor: User, suggestion_id: int, data: SkipIn, *, now: datetime | None = None
) -> Suggestion:
    """Set a suggestion aside with a reason; a post already marked shared cannot be skipped.

    Sellers skip only their own; admins and marketers any (another's is not found).
    """
    suggestion = get_suggestion(s, suggestion_id, actor)
    if suggestion.status is SuggestionStatus.POSTED:
        raise Conflict(_("This post is already marked shared."))
    suggestion.status = SuggestionStatus.SKIPPED
    suggestion.skipped_at = now or utcnow()
    suggestion.skip_reason = data.reason
    suggestion.skip_note = data.note.strip()
    s.flush()
    return suggestion
