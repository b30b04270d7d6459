"""Scheduled lead work: retry failed inbound events, purge old raw event bodies."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from contentfeed.leads import service
from contentfeed.scheduler import Job


def retry_events(s: Session) -> service.RetryResult:
    """Process again the failed inbound events whose next attempt is due."""
    return service.retry_due(s, service.IntakeSettings.from_config(current_app.config))


def purge_raw_events(s: Session) -> int:
    """Blank the raw bodies and headers of inbound events past the retention period."""
    return service.purge_raw_events(
        s, retention_days=int(current_app.config["RAW_EVENT_RETENTION_DAYS"])
    )


JOBS = [
    Job(
        id="leads.retry_events",
        run=retry_events,
        trigger="interval",
        trigger_args={"minutes": 2},
        description="Retry failed lead deliveries with backoff",
    ),
    Job(
        id="leads.purge_raw_events",
        run=purge_raw_events,
        trigger="cron",
        trigger_args={"hour": 3, "minute": 17},
        description="Purge raw lead event bodies past the retention period",
    ),
]
