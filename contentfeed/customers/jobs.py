"""Scheduled customer development work: renewal cards for contracts coming up for renewal, and
CRM events processed again after a failure on our side."""

from __future__ import annotations

from contentfeed import config
from contentfeed.customers import cards, crm_events
from contentfeed.scheduler import Job

__all__ = ["JOBS", "raise_renewals"]


def raise_renewals(s: cards.JobSession) -> int:
    """Put a renewal card into the customer queue for each contract entering the window."""
    return cards.raise_renewals(s, config.current())


JOBS = [
    Job(
        id="customers.raise_renewals",
        run=raise_renewals,
        trigger="interval",
        trigger_args={"minutes": 30},
        description="Renewal cards for contracts ending within the renewal window",
        run_at_start=True,
    ),
    Job(
        id="customers.retry_crm_events",
        run=lambda s: crm_events.retry_due(s, config.current()),
        trigger="interval",
        trigger_args={"minutes": 2},
        description="Retry CRM events that failed while processing, with backoff",
    ),
]
