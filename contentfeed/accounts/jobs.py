"""Scheduled account housekeeping."""

from __future__ import annotations

from contentfeed.accounts.signin import purge_login_failures
from contentfeed.scheduler import Job

__all__ = ["JOBS", "purge_login_failures"]

JOBS = [
    Job(
        id="accounts.purge_login_failures",
        run=purge_login_failures,
        trigger="interval",
        trigger_args={"hours": 1},
        description="Forget old failed sign-ins",
    )
]
