"""Scheduled suggestion work: fill feeds hourly, expire stale suggestions."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from contentfeed.scheduler import Job
from contentfeed.suggestions import expiry, notify, service


def fill_feeds(s: Session) -> service.FillResult:
    """Give every seller whose local day and cadence call for it their suggestions."""
    return service.fill_feeds(s, service.feed_settings(current_app.config))


def expire_suggestions(s: Session) -> int:
    """Expire suggestions left too long, or whose content was withdrawn or expired."""
    return expiry.expire_stale(s)


JOBS = [
    Job(
        id="suggestions.fill_feeds",
        run=fill_feeds,
        trigger="cron",
        trigger_args={"minute": 2},
        description="Fill sellers' feeds at their cadence",
        run_at_start=True,
    ),
    Job(
        id="suggestions.expire",
        run=expire_suggestions,
        trigger="cron",
        trigger_args={"minute": 40},
        description="Expire stale suggestions",
    ),
]


def send_notifications(s: Session) -> notify.SendResult:
    """Queue notifications for new suggestions and send those that are due."""
    notify.queue_new(s)
    s.flush()
    return notify.send_due(s, notify.NotifySettings.from_config(current_app.config))


JOBS.append(
    Job(
        id="suggestions.notify",
        run=send_notifications,
        trigger="interval",
        trigger_args={"minutes": 5},
        description="Tell sellers about new suggestions (email, Slack, Teams)",
    )
)
