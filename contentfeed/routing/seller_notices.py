"""Seller notices: telling sellers what became of the leads their posts brought, and queue
leads what needs their attention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import NotificationChannel, User
from contentfeed.db import utcnow
from contentfeed.leads.models import (
    Lead,
    LeadStatus,
)
from contentfeed.leads.service import last_touch
from contentfeed.routing.lead_facts import Facts
from contentfeed.routing.models import (
    Queue,
    SellerNotice,
)
from contentfeed.routing.outbox import backoff
from contentfeed.suggestions import notify

# --- telling the seller --------------------------------------------------------------------


def tell_seller(s: Session, lead: Lead, facts: Facts, now: datetime) -> None:
    """Tell the attributed (last-touch) seller their post brought a lead."""
    last = last_touch(lead)
    if last is None or last.seller_id is None:
        return
    from contentfeed.content.models import Content

    content = s.get(Content, last.content_id) if last.content_id else None
    title = content.title if content else "your post"
    who = lead.company or facts.company_domain or "someone"
    team = "customer development" if facts.account_id else "sales"
    s.add(
        SellerNotice(
            user_id=last.seller_id,
            lead_id=lead.id,
            kind="lead",
            subject=f"Your post brought a lead from {who}",
            text=(
                f"{lead.full_name} from {who} filled in a form after your post of "
                f"“{title}”. Our {team} team has it now; we will tell you how it goes."
            ),
            created_at=now,
            next_attempt_at=now,
        )
    )


def tell_seller_outcome(s: Session, lead: Lead, status: LeadStatus, now: datetime) -> None:
    """Tell the attributed seller how the lead their post brought ended."""
    last = last_touch(lead)
    if last is None or last.seller_id is None:
        return
    outcome = {
        LeadStatus.QUALIFIED: "was qualified: a real opportunity",
        LeadStatus.DISQUALIFIED: "was not a fit this time",
        LeadStatus.CONVERTED: "became a customer opportunity in the CRM",
    }[status]
    who = lead.company or lead.email_domain or "the person"
    s.add(
        SellerNotice(
            user_id=last.seller_id,
            lead_id=lead.id,
            kind="outcome",
            subject=f"The lead from {who} {outcome.split(':')[0]}",
            text=f"The lead from {who} that your post brought {outcome}. Thank you for sharing!",
            created_at=now,
            next_attempt_at=now,
        )
    )


def notices_for(
    s: Session, user: User, *, days: int = 14, now: datetime | None = None
) -> list[SellerNotice]:
    """Return a user's notices of the past ``days`` days, newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    return list(
        s.scalars(
            sa.select(SellerNotice)
            .where(SellerNotice.user_id == user.id, SellerNotice.created_at >= since)
            .order_by(SellerNotice.created_at.desc(), SellerNotice.id.desc())
            .limit(20)
        )
    )


def tell_queue_lead(s: Session, lead: Lead, text: str, now: datetime) -> None:
    """Tell a queue's lead about one of its leads (returned or overdue)."""
    queue = s.get(Queue, lead.queue_id) if lead.queue_id else None
    if queue is None or queue.lead_user_id is None:
        return
    s.add(
        SellerNotice(
            user_id=queue.lead_user_id,
            lead_id=lead.id,
            kind="queue_alert",
            subject=f"{queue.name}: lead #{lead.id} needs attention",
            text=f"{lead.full_name} ({lead.company or lead.email_domain}): {text}",
            created_at=now,
            next_attempt_at=now,
        )
    )


# --- sending them --------------------------------------------------------------------------

NOTICE_BATCH = 200


@dataclass(frozen=True)
class NoticeResult:
    """What one run of the notice job did."""

    sent: int = 0
    failed: int = 0


def send_due(
    s: Session, settings: notify.NotifySettings, feed_url: str, now: datetime | None = None
) -> NoticeResult:
    """Send the due notices through each user's channel (sellers: theirs; others: email)."""
    now = now or utcnow()
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
        lines = [notice.text, "", feed_url]
        notice.attempts += 1
        try:
            notify.send_message(channel, user, notice.subject, lines, notice.text, settings)
        except notify.DeliveryFailed as exc:
            notice.last_error = str(exc)[:2000]
            gave_up = exc.permanent or notice.attempts >= settings.max_attempts
            notice.next_attempt_at = None if gave_up else now + backoff(notice.attempts)
            failed += 1
            continue
        notice.sent_at, notice.next_attempt_at, notice.last_error = now, None, ""
        sent += 1
    s.flush()
    return NoticeResult(sent, failed)
