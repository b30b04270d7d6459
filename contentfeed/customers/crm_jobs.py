"""Scheduled CRM event work: process again the events that failed on our side.

The use case is called with the settings; ``scheduler.run_job`` gives it the job's session and
commits once at the end.
"""

from __future__ import annotations

from contentfeed import config
from contentfeed.customers import crm_events
from contentfeed.scheduler import Job

JOBS = [
    Job(
        id="customers.retry_crm_events",
        run=lambda s: crm_events.retry_due(s, config.current()),
        trigger="interval",
        trigger_args={"minutes": 2},
        description="Retry CRM events that failed while processing, with backoff",
    ),
]
