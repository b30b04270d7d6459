"""Scheduled routing work: route new leads, keep SLAs, deliver the CRM outbox and notices."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import NotificationChannel, User
from contentfeed.db import utcnow
from contentfeed.routing import outbox, service, work
from contentfeed.routing.models import SellerNotice
from contentfeed.scheduler import Job
from contentfeed.suggestions import notify

NOTICE_BATCH = 200


def route_leads(s: Session) -> service.RouteResult:
    """Route the leads that came in since the last run."""
    return service.route_pending(s, service.RoutingSettings.from_config(current_app.config))


def sla_sweep(s: Session) -> work.SlaResult:
    """Return claims not worked within the SLA and flag overdue leads."""
    return work.sla_sweep(s)


def deliver_outbox(s: Session) -> outbox.DeliveryResult:
    """Send the CRM messages that are due."""
    return outbox.deliver_due(s, outbox.OutboxSettings.from_config(current_app.config))


@dataclass(frozen=True)
class NoticeResult:
    sent: int = 0
    failed: int = 0


def send_notices(s: Session) -> NoticeResult:
    """Send lead notices through each user's channel (sellers: theirs; others: email)."""
    settings = notify.NotifySettings.from_config(current_app.config)
    now = utcnow()
    due = s.scalars(
        sa.select(SellerNotice)
        .where(SellerNotice.sent_at.is_(None), SellerNotice.next_attempt_at <= now)
        .order_by(SellerNotice.id)
        .limit(NOTICE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    recipients = {
        user.id: user
        for user in s.scalars(
            sa.select(User)
            .options(selectinload(User.seller_profile))
            .where(User.id.in_({notice.user_id for notice in due}))
        )
    }
    sent = failed = 0
    for notice in due:
        user = recipients.get(notice.user_id)
        profile = user.seller_profile if user else None
        channel = profile.notification_channel.value if profile else NotificationChannel.EMAIL.value
        if user is None or channel == NotificationChannel.NONE.value:
            notice.sent_at, notice.next_attempt_at = now, None  # shown in the app only
            continue
        lines = [notice.text, "", f"{current_app.config['PUBLIC_BASE_URL']}/feed"]
        notice.attempts += 1
        try:
            notify.send_message(channel, user, notice.subject, lines, notice.text, settings)
        except notify.DeliveryFailed as exc:
            notice.last_error = str(exc)[:2000]
            gave_up = exc.permanent or notice.attempts >= settings.max_attempts
            notice.next_attempt_at = None if gave_up else now + outbox.backoff(notice.attempts)
            failed += 1
            continue
        notice.sent_at, notice.next_attempt_at, notice.last_error = now, None, ""
        sent += 1
    s.flush()
    return NoticeResult(sent, failed)


JOBS = [
    Job(
        id="routing.route_leads",
        run=route_leads,
        trigger="interval",
        trigger_args={"seconds": 5},
        description="Route new leads to their queues",
        run_at_start=True,
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
