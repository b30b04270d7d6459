"""Scheduled suggestion work: fill feeds hourly, expire stale suggestions, notify sellers."""

from __future__ import annotations

from contentfeed import config
from contentfeed.scheduler import Job
from contentfeed.suggestions import expiry, notify, service


def _feed_settings() -> service.FeedSettings:
    return service.feed_settings(config.current())


def _notify_settings() -> notify.NotifySettings:
    return notify.NotifySettings.of(config.current())


# Each job is handed the scheduler's session, which scheduler.run_job commits once.
JOBS = [
    Job(
        id="suggestions.fill_feeds",
        run=lambda s: service.fill_feeds(s, _feed_settings()),
        trigger="cron",
        trigger_args={"minute": 2},
        description="Fill sellers' feeds at their cadence",
        run_at_start=True,
    ),
    Job(
        id="suggestions.expire",
        run=expiry.expire_stale,
        trigger="cron",
        trigger_args={"minute": 40},
        description="Expire stale suggestions",
    ),
    Job(
        id="suggestions.notify",
        run=lambda s: notify.notify_sellers(s, _notify_settings()),
        trigger="interval",
        trigger_args={"minutes": 5},
        description="Tell sellers about new suggestions (email, Slack, Teams)",
    ),
]
