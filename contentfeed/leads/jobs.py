"""Scheduled lead work: retry failed inbound events, purge old raw event bodies.

Each job is the use case called with the settings it needs; ``scheduler.run_job`` gives it
the job's session and commits once at the end.
"""

from __future__ import annotations

from contentfeed import config
from contentfeed.leads import gated, service
from contentfeed.scheduler import Job

JOBS = [
    Job(
        id="leads.retry_events",
        run=lambda s: service.retry_due(s, config.current().leads, after=gated.confirm_after_retry),
        trigger="interval",
        trigger_args={"seconds": 30},
        description="Retry failed lead deliveries with backoff, and take over abandoned ones",
    ),
    Job(
        id="leads.purge_raw_events",
        run=lambda s: service.purge_raw_events(
            s, retention_days=int(config.current().leads.raw_event_retention_days)
        ),
        trigger="cron",
        trigger_args={"hour": 3, "minute": 17},
        description="Purge raw lead event bodies past the retention period",
    ),
]
