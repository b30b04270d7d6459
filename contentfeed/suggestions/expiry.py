"""Expiry: pending suggestions left too long, or whose content is no longer live.

Never commits; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.content.models import Content, ContentStatus
from contentfeed.db import utcnow
from contentfeed.suggestions.models import Suggestion, SuggestionStatus


def expire_stale(s: Session, now: datetime | None = None) -> int:
    """Expire pending suggestions past their time or whose content is no longer live."""
    now = now or utcnow()
    not_live = (
        sa.select(Content.id)
        .where(
            sa.or_(
                Content.status != ContentStatus.APPROVED,
                sa.and_(Content.expires_at.is_not(None), Content.expires_at <= now),
            )
        )
        .scalar_subquery()
    )
    result = s.execute(
        sa.update(Suggestion)
        .where(
            Suggestion.status == SuggestionStatus.PENDING,
            sa.or_(Suggestion.expires_at <= now, Suggestion.content_id.in_(not_live)),
        )
        .values(status=SuggestionStatus.EXPIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
