"""Scheduled account housekeeping."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import LoginFailure
from contentfeed.db import utcnow
from contentfeed.scheduler import Job


def purge_login_failures(s: Session) -> int:
    """Forget failed sign-ins older than a day whose lockout is over; return how many."""
    now = utcnow()
    result = s.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.first_failed_at < now - timedelta(days=1),
            sa.or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


JOBS = [
    Job(
        id="accounts.purge_login_failures",
        run=purge_login_failures,
        trigger="interval",
        trigger_args={"hours": 1},
        description="Forget old failed sign-ins",
    )
]
