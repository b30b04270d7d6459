"""Scheduled routing work: route new leads, keep SLAs, deliver the CRM outbox and notices."""

from __future__ import annotations

from contentfeed import config
from contentfeed.routing import outbox, seller_notices, service, work
from contentfeed.routing.seller_notices import NoticeResult
from contentfeed.scheduler import Job
from contentfeed.suggestions import notify

__all__ = ["JOBS", "NoticeResult", "deliver_outbox", "route_leads", "send_notices", "sla_sweep"]


def route_leads(s: service.JobSession) -> service.RouteResult:
    """Route the leads that came in since the last run (woken by each new lead)."""
    return service.route_pending(s, config.current().routing, limit=service.JOB_BATCH)


def sla_sweep(s: service.JobSession) -> work.SlaResult:
    """Return claims not worked within the SLA and flag overdue leads."""
    return work.sla_sweep(s)


def deliver_outbox(s: service.JobSession) -> outbox.DeliveryResult:
    """Send the CRM messages that are due."""
    return outbox.deliver_due(s, config.current().crm)


def send_notices(s: service.JobSession) -> NoticeResult:
    """Send lead notices through each user's channel (sellers: theirs; others: email)."""
    settings = notify.NotifySettings.of(config.current())
    return seller_notices.send_due(s, settings, f"{config.current().public_base_url}/feed")


JOBS = [
    Job(
        id="routing.route_leads",
        run=route_leads,
        trigger="interval",
        trigger_args={"seconds": 5},
        description="Route new leads to their queues",
        run_at_start=True,
        # Woken by the intake the moment a lead is committed (wakeup.py); the interval is
        # the safety net for a lost wake-up. A full batch is followed by another run at once.
        wake=True,
        more=lambda result: result.routed + result.merged >= service.JOB_BATCH,
    ),
    Job(
        id="routing.sla_sweep",
        run=sla_sweep,
        trigger="interval",
        trigger_args={"minutes": 1},
        description="Return stale claims and flag overdue leads",
    ),
    Job(
        id="routing.deliver_outbox",
        run=deliver_outbox,
        trigger="interval",
        trigger_args={"seconds": 15},
        description="Deliver routed leads and status changes to the CRM",
    ),
    Job(
        id="routing.send_notices",
        run=send_notices,
        trigger="interval",
        trigger_args={"minutes": 1},
        description="Tell sellers about their leads and queue leads about overdue ones",
    ),
]
