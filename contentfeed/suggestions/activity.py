"""Content activity: who was suggested a library item, and who shared it.

Never commits; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User
from contentfeed.suggestions.listing import clicks_by_suggestion
from contentfeed.suggestions.models import Suggestion


@dataclass(frozen=True)
class ContentActivity:
    """Who was suggested an item, and who shared it."""

    seller: User
    suggestion: Suggestion
    clicks: int


def content_activity(s: Session, content_id: int) -> list[ContentActivity]:
    """List each seller suggested this content, newest first, with their clicks."""
    rows = s.scalars(
        sa.select(Suggestion)
        .where(Suggestion.content_id == content_id)
        .options(selectinload(Suggestion.seller), selectinload(Suggestion.variant))
        .order_by(Suggestion.created_at.desc(), Suggestion.id.desc())
    ).all()
    clicks = clicks_by_suggestion(s, [r.id for r in rows])
    return [ContentActivity(r.seller, r, clicks.get(r.id, 0)) for r in rows]
