"""Telling sellers about new suggestions: an email digest, or a Slack or Teams message.

New suggestions are queued as one attempt per seller; a job sends due attempts, each on its
own: a failing channel is retried later with growing delays and logged, and never stops the
others. Delivery is at least once.

Each message is written in its recipient's language (``i18n.locale_of``), whatever the job's
or the request's; why a delivery failed is kept for admins in English, like the log.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed import db, http, i18n
from contentfeed.accounts import feed_links as accounts
from contentfeed.accounts.models import NotificationChannel, User
from contentfeed.config import EmailSettings, Settings
from contentfeed.db import utcnow
from contentfeed.errors import DomainError
from contentfeed.i18n import _, ngettext
from contentfeed.suggestions.models import (
    NotificationAttempt,
    SentEmail,
    Suggestion,
    SuggestionStatus,
)

log = logging.getLogger(__name__)
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 720)


class DeliveryFailed(Exception):
    """A channel refused or could not take the message; ``permanent`` means don't retry."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class NotifySettings:
    """What telling sellers needs: their feed's address, the mail server, how hard to try,
    and whether (and for how long) a message carries a one-click link into the feed."""

    feed_url: str
    email: EmailSettings
    max_attempts: int
    base_url: str = ""
    feed_links: bool = False
    feed_link_hours: int = 72

    @classmethod
    def of(cls, settings: Settings) -> NotifySettings:
        """Take them from the service's settings."""
        return cls(
            feed_url=f"{settings.public_base_url}/feed",
            email=settings.email,
            max_attempts=settings.notifications.max_attempts,
            base_url=settings.public_base_url,
            feed_links=settings.accounts.feed_links,
            feed_link_hours=settings.accounts.feed_link_hours,
        )

    def link_for(self, s: Session, seller: User, now: datetime | None = None) -> str:
        """Return the address a seller's message points to: a one-click feed link when they
        are on and the seller may have one, else the plain feed address."""
        if self.feed_links and self.base_url and accounts.may_get_feed_link(seller):
            return accounts.feed_link_url(
                s, seller, base_url=self.base_url, hours=self.feed_link_hours, now=now
            )
        return self.feed_url


def queue_new(s: Session, now: datetime | None = None) -> int:
    """Queue one notification per seller for pending suggestions nobody has told them about."""
    now = now or utcnow()
    rows = s.execute(
        sa.select(Suggestion.id, Suggestion.seller_id)
        .where(Suggestion.status == SuggestionStatus.PENDING, Suggestion.notified_at.is_(None))
        .order_by(Suggestion.seller_id, Suggestion.id)
    ).all()
    by_seller: dict[int, list[int]] = defaultdict(list)
    for suggestion_id, seller_id in rows:
        by_seller[seller_id].append(suggestion_id)
    if not by_seller:
        return 0
    sellers = s.scalars(
        sa.select(User).where(User.id.in_(by_seller)).options(selectinload(User.seller_profile))
    ).all()
    queued = 0
    for seller in sellers:
        profile = seller.seller_profile
        channel = profile.notification_channel if profile else NotificationChannel.NONE
        if channel is not NotificationChannel.NONE:
            s.add(
                NotificationAttempt(
                    seller_id=seller.id,
                    channel=channel.value,
                    suggestion_ids=by_seller[seller.id],
                    next_attempt_at=now,
                )
            )
            queued += 1
    s.execute(
        sa.update(Suggestion)
        .where(Suggestion.id.in_([i for ids in by_seller.values() for i in ids]))
        .values(notified_at=now)
    )
    return queued


@dataclass(frozen=True)
class SendResult:
    sent: int
    failed: int
    given_up: int

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.failed} to retry, {self.given_up} given up"


def send_due(s: Session, settings: NotifySettings, now: datetime | None = None) -> SendResult:
    """Send every notification that is due; each failure is retried later on its own."""
    now = now or utcnow()
    attempts = s.scalars(
        sa.select(NotificationAttempt)
        .where(
            NotificationAttempt.sent_at.is_(None),
            NotificationAttempt.given_up_at.is_(None),
            NotificationAttempt.next_attempt_at <= now,
        )
        .order_by(NotificationAttempt.next_attempt_at, NotificationAttempt.id)
        .limit(500)
    ).all()
    sent = failed = given_up = 0
    for attempt in attempts:
        seller = s.get(User, attempt.seller_id)
        posts = s.scalars(
            sa.select(Suggestion)
            .where(
                Suggestion.id.in_(attempt.suggestion_ids),
                Suggestion.status == SuggestionStatus.PENDING,
            )
            .options(selectinload(Suggestion.content))
        ).all()
        if seller is None or not seller.is_active or not posts:
            attempt.given_up_at, attempt.last_error = now, "nothing left to tell"
            given_up += 1
            continue
        attempt.attempts += 1
        try:
            deliver(attempt.channel, seller, posts, settings, settings.link_for(s, seller, now))
        except DeliveryFailed as exc:
            attempt.last_error = str(exc)[:1000]
            log.warning(
                "notifying %s by %s failed (try %d): %s",
                seller.email,
                attempt.channel,
                attempt.attempts,
                exc,
            )
            if exc.permanent or attempt.attempts >= settings.max_attempts:
                attempt.given_up_at = now
                given_up += 1
            else:
                delay = BACKOFF_MINUTES[min(attempt.attempts - 1, len(BACKOFF_MINUTES) - 1)]
                attempt.next_attempt_at = now + timedelta(minutes=delay)
                failed += 1
            continue
        attempt.sent_at, attempt.last_error = now, ""
        sent += 1
    s.flush()
    return SendResult(sent, failed, given_up)


def notify_sellers(s: Session, settings: NotifySettings) -> SendResult:
    """Queue notifications for new suggestions and send those that are due.

    Each attempt is marked sent in the job's session as its message goes out; the job commits
    once at the end, so a crash before that sends it again on the next run (at least once).
    """
    queue_new(s)
    s.flush()
    return send_due(s, settings)


def deliver(
    channel: str,
    seller: User,
    posts: Sequence[Suggestion],
    settings: NotifySettings,
    feed_url: str | None = None,
) -> None:
    """Send one digest of waiting posts through the seller's channel, in the seller's
    language, or raise DeliveryFailed. ``feed_url`` is where it points (a one-click link),
    the plain feed address when not given."""
    feed_url = feed_url or settings.feed_url
    with i18n.speaking(i18n.locale_of(seller)):
        count = len(posts)
        lines = [
            ngettext(
                "You have %(count)s post ready to share. Copy it from your feed:",
                "You have %(count)s posts ready to share. Copy them from your feed:",
                count,
                count=i18n.number_text(count),
            ),
            feed_url,
        ]
        if feed_url != settings.feed_url:  # a one-click link: say how long it lasts
            lines.append(
                ngettext(
                    "The link signs you in once and works for %(num)d hour; after that, "
                    "sign in as usual.",
                    "The link signs you in once and works for %(num)d hours; after that, "
                    "sign in as usual.",
                    settings.feed_link_hours,
                )
            )
        lines.append("")
        for post in posts:
            lines += [f"— {post.content.title}", post.rendered_text, ""]
        titles = "\n".join(f"• {p.content.title}" for p in posts)
        short = ngettext(
            "%(name)s, you have %(count)s post ready to share:",
            "%(name)s, you have %(count)s posts ready to share:",
            count,
            name=seller.first_name,
            count=i18n.number_text(count),
        )
        short = f"{short}\n{titles}\n{feed_url}"
        subject = _("contentfeed: %(summary)s", summary=summary_line(posts))
        send_message(channel, seller, subject, lines, short, settings)


def send_message(
    channel: str,
    user: User,
    subject: str,
    lines: Sequence[str],
    short: str,
    settings: NotifySettings,
    *,
    kind: str = "digest",
) -> None:
    """Send a message through a channel: email gets ``lines``, Slack and Teams ``short``; what
    the message adds (the email's greeting) is in the recipient's language.

    Raises DeliveryFailed (``permanent`` when retrying cannot help).
    """
    profile = user.seller_profile
    target = profile.notification_target if profile else ""
    if channel == NotificationChannel.EMAIL.value:
        with i18n.speaking(i18n.locale_of(user)):
            send_email(target or user.email, user, subject, lines, settings, kind=kind)
    elif channel in (NotificationChannel.SLACK.value, NotificationChannel.TEAMS.value):
        if not target:
            raise DeliveryFailed(
                f"No {channel} webhook URL in the seller's profile.", permanent=True
            )
        post_webhook(channel, target, subject, short, settings)
    else:
        raise DeliveryFailed(f"Unknown channel {channel!r}.", permanent=True)


def summary_line(posts: Sequence[Suggestion]) -> str:
    """Say how many posts are waiting, in the current language."""
    text: str = ngettext(
        "%(count)s post ready to share",
        "%(count)s posts ready to share",
        len(posts),
        count=i18n.number_text(len(posts)),
    )
    return text


def send_email(
    address: str,
    user: User,
    subject: str,
    lines: Sequence[str],
    settings: NotifySettings,
    *,
    kind: str = "digest",
) -> None:
    """Send a user their message by email, greeted by their first name."""
    greeting = _("Hi %(name)s,", name=user.first_name)
    send_text_email(address, subject, "\n".join([greeting, "", *lines]), settings.email, kind=kind)


def keep_email(address: str, subject: str, body: str, *, kind: str) -> SentEmail:
    """Keep an email that no mail server could take, for admins to read."""
    kept = SentEmail(to=address[:320], subject=subject[:500], body=body, kind=kind[:32])
    s = db.session()
    s.add(kept)
    s.flush()
    log.info("no mail server: %s email to %s kept under Sent email", kind or "an", address)
    return kept


def kept_emails(s: Session, *, page: int = 1, per_page: int = 50) -> tuple[list[SentEmail], int]:
    """Return a page of kept emails, the newest first, and how many there are.

    ``page`` is a bounded page number (``ui.page_number`` / ``db.PageNumber``); one outside
    those bounds is refused here too, before it becomes an offset no database can take."""
    if not 1 <= page <= db.MAX_PAGE or not 1 <= per_page <= 1000:
        raise ValueError(f"page {page} (of {per_page}) is outside the listing's bounds")
    offset, limit = (page - 1) * per_page, per_page
    total = s.scalar(sa.select(sa.func.count()).select_from(SentEmail)) or 0
    items = s.scalars(
        sa.select(SentEmail)
        .order_by(SentEmail.created_at.desc(), SentEmail.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(items), total


def kept_email(s: Session, email_id: int) -> SentEmail | None:
    """Return one kept email, or None."""
    return s.get(SentEmail, email_id)


def post_webhook(channel: str, url: str, subject: str, text: str, settings: NotifySettings) -> None:
    """Post a Slack or Microsoft Teams incoming-webhook message."""
    try:
        response = http.post_json_to_user_url(url, webhook_payload(channel, subject, text))
    except DomainError as exc:
        permanent = getattr(exc, "code", "") == "blocked_address"
        raise DeliveryFailed(exc.message, permanent=permanent) from exc
    if response.status_code in (404, 410):
        raise DeliveryFailed(
            f"The {channel} webhook is gone ({response.status_code}).", permanent=True
        )
    if response.status_code >= 300:
        raise DeliveryFailed(f"The {channel} webhook answered {response.status_code}.")


def webhook_payload(channel: str, subject: str, text: str) -> dict[str, Any]:
    """Return a Slack or Microsoft Teams incoming-webhook message's JSON."""
    if channel == NotificationChannel.SLACK.value:
        return {"text": text}
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject,
        "text": text.replace("\n", "<br>"),
    }


WEBHOOK_NAMES = {"slack": "Slack", "teams": "Microsoft Teams"}


@dataclass(frozen=True)
class WebhookTest:
    """How the test message sent to a newly saved webhook fared; ``reason`` says why it did
    not arrive, in the language of whoever saved it."""

    arrived: bool
    reason: str = ""


class WebhookTrial:
    """Try a webhook a profile save newly sets: the save use case calls it (``on_new_webhook``)
    once the profile is checked and before anything is written, so the outbound call holds
    no row lock; ``result`` then says how it fared (None: nothing new to try)."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.channel = ""
        self.result: WebhookTest | None = None

    def __call__(self, channel: NotificationChannel, target: str, languages: list[str]) -> None:
        self.channel = channel.value
        self.result = send_test_message(self.user, channel, target, languages)


def send_test_message(
    user: User, channel: NotificationChannel, target: str, languages: Sequence[str]
) -> WebhookTest:
    """Send a Slack or Teams webhook a test message in the seller's language (their chosen
    one, else the first of ``languages`` we speak), so whoever saved it sees at once whether
    it works. A quick call: a short timeout and no retries, since someone waits for it."""
    if channel not in (NotificationChannel.SLACK, NotificationChannel.TEAMS):
        return WebhookTest(False, _("Only a Slack or Teams webhook gets a test message."))
    spoken = [i18n.supported(code) for code in languages]
    locale = i18n.supported(getattr(user, "locale", "")) or next(
        (code for code in spoken if code), i18n.locale_of(user)
    )
    with i18n.speaking(locale):
        subject = _("contentfeed is connected")
        text = _(
            "contentfeed is connected, %(name)s: new posts ready to share will be announced here.",
            name=user.first_name,
        )
    try:
        response = http.post_json_to_user_url(
            target, webhook_payload(channel.value, subject, text), quick=True
        )
    except DomainError as exc:
        return WebhookTest(False, exc.message)
    if response.status_code >= 300:
        return WebhookTest(
            False, _("The webhook answered %(status)s.", status=response.status_code)
        )
    return WebhookTest(True)


def send_text_email(
    address: str, subject: str, body: str, email: EmailSettings, *, kind: str = ""
) -> bool:
    """Send a plain-text email over SMTP (STARTTLS, TLS or plain, as configured): a user's
    digest, an invitation, a visitor's double opt-in; DeliveryFailed when it cannot go out.

    Without a mail server (no ``smtp_host``) the email is kept in ``sent_email`` instead, in
    the current app's session, for admins to read under Admin → Sent email. Return whether
    the email went out (False: kept, nobody received it).
    """
    if not email.host:
        keep_email(address, subject, body, kind=kind)
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = email.sender
    message["To"] = address
    message.set_content(body)
    try:
        if email.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                email.host,
                email.port,
                timeout=email.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(email.host, email.port, timeout=email.timeout_seconds)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if email.username:
                smtp.login(email.username, email.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"The mail server refused {address}: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"Email could not be sent: {exc}") from exc
    return True
