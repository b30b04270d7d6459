"""Scheduled report work: keep the daily click rollup current."""

from __future__ import annotations

from contentfeed.reports import rollups
from contentfeed.scheduler import Job

# Recompute today's and yesterday's click rollup, and any older day not rolled up yet; the
# scheduler commits the run (scheduler.run_job).
roll_up_clicks = rollups.roll_up_clicks

JOBS = [
    Job(
        id="reports.roll_up_clicks",
        run=roll_up_clicks,
        trigger="interval",
        trigger_args={"minutes": 5},
        description="Roll up human clicks per day for the report dashboards",
        run_at_start=True,
    ),
]
