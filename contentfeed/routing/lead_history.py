"""A lead's history: every routing and work step, who took it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User
from contentfeed.db import utcnow
from contentfeed.leads.models import (
    Lead,
)
from contentfeed.routing.models import (
    LeadActivity,
)

# --- a lead's history ----------------------------------------------------------------------


def record(
    s: Session,
    lead: Lead,
    kind: str,
    text: str,
    *,
    actor: User | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> LeadActivity:
    """Add a line to a lead's history."""
    entry = LeadActivity(
        lead_id=lead.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        text=text,
        detail=detail or {},
        at=now or utcnow(),
    )
    s.add(entry)
    return entry


def history(s: Session, lead_id: int) -> list[LeadActivity]:
    """Return a lead's history, oldest first."""
    return list(
        s.scalars(
            sa.select(LeadActivity)
            .options(selectinload(LeadActivity.actor))
            .where(LeadActivity.lead_id == lead_id)
            .order_by(LeadActivity.at, LeadActivity.id)
        )
    )
