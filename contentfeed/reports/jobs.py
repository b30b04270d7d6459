"""Scheduled report work: keep the daily click rollup current."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contentfeed.reports import rollups
from contentfeed.scheduler import Job


def roll_up_clicks(s: Session) -> rollups.RollupResult:
    """Recompute today's and yesterday's click rollup, and any older day not rolled up yet."""
    return rollups.roll_up_clicks(s)


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
