"""An item's audit trail: who did what to it, and what changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.content.models import Content, ContentEvent


def record_event(
    s: Session,
    content: Content,
    actor: User | None,
    action: str,
    *,
    from_status: str = "",
    to_status: str = "",
    comment: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    """Add a line to an item's audit trail."""
    s.add(
        ContentEvent(
            content=content,
            actor_id=actor.id if actor else None,
            action=action,
            from_status=from_status,
            to_status=to_status,
            comment=comment,
            changes=changes or {},
        )
    )
