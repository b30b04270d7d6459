"""Seller notices: telling sellers what became of the leads their posts brought, and queue
leads what needs their attention.

A notice is written once, when it happens, in its recipient's language (``i18n.locale_of``):
the feed shows it and the channels send it as it was written.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed import i18n
from contentfeed.accounts.models import NotificationChannel, User
from contentfeed.db import utcnow
from contentfeed.i18n import _
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


def speaking_to(s: Session, user_id: int | None) -> AbstractContextManager[None]:
    """Speak the language of the user a notice is for (unknown: the default)."""
    user = s.get(User, user_id) if user_id is not None else None
    return i18n.speaking(i18n.locale_of(user) if user is not None else None)


def tell_seller(s: Session, lead: Lead, facts: Facts, now: datetime) -> None:
    """Tell the attributed (last-touch) seller their post brought a lead, in their language."""
    last = last_touch(lead)
    if last is None or last.seller_id is None:
        return
    from contentfeed.content.models import Content

    content = s.get(Content, last.content_id) if last.content_id else None
    who = lead.company or facts.company_domain
    with speaking_to(s, last.seller_id):
        filled = _form_filled(lead.full_name, who, content.title if content else None)
        s.add(
            SellerNotice(
                user_id=last.seller_id,
                lead_id=lead.id,
                kind="lead",
                subject=(
                    _("Your post brought a lead from %(who)s", who=who)
                    if who
                    else _("Your post brought a lead from someone")
                ),
                text=f"{filled} {_who_has_it(facts)}",
                created_at=now,
                next_attempt_at=now,
            )
        )


def _form_filled(name: str, who: str | None, title: str | None) -> str:
    """Say who filled in a form after which post (each case a whole sentence to translate)."""
    if who and title:
        return str(
            _(
                "%(name)s from %(who)s filled in a form after your post of “%(title)s”.",
                name=name,
                who=who,
                title=title,
            )
        )
    if who:
        return str(_("%(name)s from %(who)s filled in a form after your post.", name=name, who=who))
    if title:
        return str(
            _(
                "%(name)s filled in a form after your post of “%(title)s”.",
                name=name,
                title=title,
            )
        )
    return str(_("%(name)s filled in a form after your post.", name=name))


def _who_has_it(facts: Facts) -> str:
    """Say which team works the lead now."""
    if facts.account_id:
        return str(_("Our customer development team has it now; we will tell you how it goes."))
    return str(_("Our sales team has it now; we will tell you how it goes."))


def tell_seller_outcome(s: Session, lead: Lead, status: LeadStatus, now: datetime) -> None:
    """Tell the attributed seller how the lead their post brought ended, in their language."""
    last = last_touch(lead)
    if last is None or last.seller_id is None:
        return
    with speaking_to(s, last.seller_id):
        # "the person" only ever follows "from": German needs it in the dative.
        who = lead.company or lead.email_domain or _("the person")
        subject, text = _outcome(status, who)
        s.add(
            SellerNotice(
                user_id=last.seller_id,
                lead_id=lead.id,
                kind="outcome",
                subject=subject,
                text=text,
                created_at=now,
                next_attempt_at=now,
            )
        )


def _outcome(status: LeadStatus, who: str) -> tuple[str, str]:
    """Return a closed lead's notice: its subject and its text."""
    if status is LeadStatus.QUALIFIED:
        return (
            _("The lead from %(who)s was qualified", who=who),
            _(
                "The lead from %(who)s that your post brought was qualified: a real "
                "opportunity. Thank you for sharing!",
                who=who,
            ),
        )
    if status is LeadStatus.DISQUALIFIED:
        return (
            _("The lead from %(who)s was not a fit this time", who=who),
            _(
                "The lead from %(who)s that your post brought was not a fit this time. "
                "Thank you for sharing!",
                who=who,
            ),
        )
    if status is LeadStatus.CONVERTED:
        return (
            _("The lead from %(who)s became a customer opportunity in the CRM", who=who),
            _(
                "The lead from %(who)s that your post brought became a customer opportunity "
                "in the CRM. Thank you for sharing!",
                who=who,
            ),
        )
    raise KeyError(status)


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


def tell_queue_lead(s: Session, lead: Lead, text: str | Any, now: datetime) -> None:
    """Tell a queue's lead about one of its leads (returned or overdue), in their language.

    ``text`` may be a lazy text (``_l(...)`` with its values): it is then written in the queue
    lead's language too.
    """
    queue = s.get(Queue, lead.queue_id) if lead.queue_id else None
    if queue is None or queue.lead_user_id is None:
        return
    with speaking_to(s, queue.lead_user_id):
        s.add(
            SellerNotice(
                user_id=queue.lead_user_id,
                lead_id=lead.id,
                kind="queue_alert",
                subject=_("%(queue)s: lead #%(id)s needs attention", queue=queue.name, id=lead.id),
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
            notify.send_message(
                channel, user, notice.subject, lines, notice.text, settings, kind="seller_notice"
            )
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
