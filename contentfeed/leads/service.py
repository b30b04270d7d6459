"""Lead intake decisions: webhook secrets and signatures; storing, processing, retrying events."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Campaign, Content
from contentfeed.db import utcnow
from contentfeed.errors import BadRequest, Conflict, DomainError, Invalid, NotFound, Unauthorized
from contentfeed.leads import attribution, intake, store
from contentfeed.leads.models import (
    CLOSED_STATUSES,
    EventStatus,
    InboundEvent,
    Lead,
    LeadStatus,
    Touch,
    WebhookSecret,
)
from contentfeed.suggestions.models import Suggestion
from contentfeed.text import checked_text

log = logging.getLogger("contentfeed.leads")

WEBHOOK_SOURCE = "webhook"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
# Minutes to wait before each retry of a failed event: 1, 5, 15, 60 minutes, then longer.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720, 1440)
# An event still "received" this long after arrival lost its worker (a crash, a restart).
ABANDONED_AFTER = timedelta(minutes=10)
# What a sender is told when the database is down (with 503 and Retry-After).
UNAVAILABLE = "The database is unavailable; deliver the lead again in 30 seconds."
RETRY_BATCH = 100
# A copy of a delivery whose first copy is still being processed waits this long, looking
# again with growing pauses, so that it can be given the first copy's answer.
REDELIVERY_WAIT_SECONDS = 3.0
REDELIVERY_POLL_SECONDS = (0.01, 0.2)
USE_RECORD_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class IntakeSettings:
    """The settings intake needs, read once from the app's config."""

    clock_skew_seconds: int = 300
    max_attempts: int = 8
    lookback_days: int = 90

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IntakeSettings:
        """Read the intake settings from app.config."""
        return cls(
            clock_skew_seconds=int(config["WEBHOOK_CLOCK_SKEW_SECONDS"]),
            max_attempts=int(config["LEAD_EVENT_MAX_ATTEMPTS"]),
            lookback_days=int(config["ATTRIBUTION_LOOKBACK_DAYS"]),
        )


@dataclass(frozen=True)
class Outcome:
    """Where an event stands after an attempt: what the sender is told."""

    event_id: int
    lead_id: int | None
    status: EventStatus
    attributed: int = 0
    # The refusal when the event's fields were at fault (retrying cannot help).
    problem: DomainError | None = None


@dataclass(frozen=True)
class RetryResult:
    """What one run of the retry job did."""

    processed: int = 0
    failed: int = 0


# --- secrets -----------------------------------------------------------------------------


def new_secret_value() -> str:
    """Return a fresh Standard Webhooks secret: whsec_ and base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def create_secret(
    s: Session, *, name: str, created_by: User | None = None
) -> tuple[WebhookSecret, str]:
    """Create a signing secret and return it with its value (show the value only once)."""
    name = checked_text("name", name).strip()
    if not name:
        raise Invalid("Name the secret after the sender that uses it.", {"name": "required"})
    if len(name) > 120:
        raise Invalid("The name is too long.", {"name": "at most 120 characters"})
    value = new_secret_value()
    secret = WebhookSecret(
        name=name,
        secret=value,
        prefix=value[:12],
        created_by_id=created_by.id if created_by else None,
    )
    s.add(secret)
    s.flush()
    forget_signers()
    return secret, value


def active_secrets(s: Session) -> list[WebhookSecret]:
    """Return the secrets that may sign deliveries (all not revoked), oldest first."""
    query = (
        sa.select(WebhookSecret)
        .where(WebhookSecret.revoked_at.is_(None))
        .order_by(WebhookSecret.id)
    )
    return list(s.scalars(query))


@dataclass(frozen=True)
class Signer:
    """An active secret, ready to compute signatures."""

    id: int
    name: str
    webhook: Webhook


# Each worker keeps the active secrets for a few seconds, so a delivery costs no read for
# them. A secret made here is found at once (an unmatched signature reloads the list); a
# revoked one is refused by this process at once and by other workers within SIGNERS_TTL.
SIGNERS_TTL_SECONDS = 5.0
_SIGNERS: weakref.WeakKeyDictionary[sa.Engine, tuple[float, list[Signer]]] = (
    weakref.WeakKeyDictionary()
)
_USE_RECORDED: weakref.WeakKeyDictionary[sa.Engine, dict[int, float]] = weakref.WeakKeyDictionary()


def forget_signers() -> None:
    """Drop this process's cached secrets (after a secret is made or revoked)."""
    _SIGNERS.clear()
    _USE_RECORDED.clear()


def _signers(conn: sa.Connection, *, fresh: bool = False) -> tuple[list[Signer], bool]:
    """Return the active secrets' signers and whether they were just read."""
    cached = _SIGNERS.get(conn.engine)
    if cached is not None and not fresh and time.monotonic() - cached[0] < SIGNERS_TTL_SECONDS:
        return cached[1], False
    query = (
        sa.select(WebhookSecret.id, WebhookSecret.name, WebhookSecret.secret)
        .where(WebhookSecret.revoked_at.is_(None))
        .order_by(WebhookSecret.id)
    )
    signers = []
    for secret_id, name, value in conn.execute(query):
        try:
            signers.append(Signer(secret_id, name, Webhook(value)))
        except (binascii.Error, ValueError, EmptyWebhookSecretError):
            log.error("webhook secret %s (%s) is not a valid whsec_ value", secret_id, name)
    _SIGNERS[conn.engine] = (time.monotonic(), signers)
    return signers, True


def revoke_secret(s: Session, secret_id: int, now: datetime | None = None) -> WebhookSecret:
    """Stop accepting a secret's signatures; revoking twice changes nothing."""
    secret = s.get(WebhookSecret, secret_id)
    if secret is None:
        raise NotFound("No webhook secret has this id.")
    if secret.revoked_at is None:
        secret.revoked_at = now or utcnow()
    forget_signers()
    return secret


def _signatures(header: str) -> list[bytes]:
    """Return the v1 signatures of a webhook-signature header; malformed entries are ignored."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify_signature(
    conn: sa.Connection,
    body: bytes,
    headers: Mapping[str, str],
    *,
    clock_skew_seconds: int,
    now: datetime | None = None,
) -> Signer:
    """Return the active secret whose Standard Webhooks signature matches, or raise Unauthorized.

    The HMAC comes from ``standardwebhooks.Webhook.sign``. Its ``verify`` is not used because
    its timestamp tolerance is fixed at five minutes and ours is a setting; it would also
    raise ValueError (a 500) on a malformed signature header instead of refusing it.
    """
    now = now or utcnow()
    msg_id = headers.get("webhook-id", "").strip()
    raw_timestamp = headers.get("webhook-timestamp", "").strip()
    header = headers.get("webhook-signature", "").strip()
    if not (msg_id and raw_timestamp and header):
        raise Unauthorized(
            "Sign the request with the Standard Webhooks headers webhook-id, webhook-timestamp "
            "and webhook-signature, or send 'Authorization: Bearer <token>'."
        )
    if len(msg_id) > 200:
        raise Unauthorized("The webhook-id header is longer than 200 characters.")
    if (problem := intake.control_character(msg_id)) is not None:
        # It becomes the stored event's key, which cannot hold a NUL on PostgreSQL.
        raise Invalid("The webhook-id header needs attention.", {"webhook-id": problem})
    try:
        sent_at = datetime.fromtimestamp(int(raw_timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized(
            "The webhook-timestamp header must be whole seconds since 1970-01-01 UTC."
        ) from None
    if abs(now - sent_at) > timedelta(seconds=clock_skew_seconds):
        raise Unauthorized(
            f"The webhook-timestamp is more than {clock_skew_seconds} seconds away from our "
            "clock; sign each delivery with the current time (old deliveries are refused)."
        )
    offered = _signatures(header)
    if not offered:
        raise Unauthorized(
            "The webhook-signature header is malformed: send 'v1,<base64 signature>' entries "
            "separated by spaces."
        )
    try:
        text = body.decode("utf-8")  # the library signs text
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None
    signers, fresh = _signers(conn)
    matched = _matching(signers, msg_id, sent_at, text, offered)
    if matched is None and not fresh:  # perhaps signed with a secret made since we looked
        matched = _matching(_signers(conn, fresh=True)[0], msg_id, sent_at, text, offered)
    if matched is None:
        raise Unauthorized("The webhook signature matches none of the active secrets.")
    _record_use(conn, matched, now)
    return matched


def _matching(
    signers: Iterable[Signer], msg_id: str, sent_at: datetime, text: str, offered: list[bytes]
) -> Signer | None:
    for signer in signers:
        expected = base64.b64decode(signer.webhook.sign(msg_id, sent_at, text).partition(",")[2])
        if any(hmac.compare_digest(expected, signature) for signature in offered):
            return signer
    return None


def _record_use(conn: sa.Connection, signer: Signer, now: datetime) -> None:
    """Note when a secret was last used, at most once a minute per worker."""
    recorded = _USE_RECORDED.setdefault(conn.engine, {})
    last = recorded.get(signer.id)
    if last is not None and time.monotonic() - last < USE_RECORD_INTERVAL.total_seconds():
        return
    recorded[signer.id] = time.monotonic()
    conn.execute(
        sa.update(WebhookSecret).where(WebhookSecret.id == signer.id).values(last_used_at=now)
    )


# --- events ------------------------------------------------------------------------------


def store_event(
    s: Session,
    *,
    source: str,
    external_id: str,
    content_type: str,
    body: str,
    headers: Mapping[str, str],
) -> tuple[InboundEvent, bool]:
    """Add the raw event unless it was received before; return it and whether it is new."""
    values = store.event_values(
        source=source,
        external_id=external_id,
        content_type=content_type,
        body=body,
        headers=headers,
        now=utcnow(),
    )
    new_id = store.insert_event(s.connection(), values)
    if new_id is None:
        query = sa.select(InboundEvent).where(
            InboundEvent.source == source, InboundEvent.external_id == external_id
        )
        existing = s.scalar(query)
        if existing is None:  # pragma: no cover - the conflicting row is committed or ours
            raise RuntimeError("the conflicting inbound event could not be read")
        return existing, False
    event = InboundEvent(id=new_id, **values)
    make_transient_to_detached(event)  # it is in the database already: no SELECT to load it
    s.add(event)
    return event, True


def lead_values(fields: intake.LeadIn, received_at: datetime) -> dict[str, Any]:
    """Return the columns of the lead a checked delivery becomes."""
    return {
        "email": fields.email,
        "email_domain": fields.email.rpartition("@")[2],
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "company": fields.company,
        "job_title": fields.job_title,
        "country": fields.country,
        "phone": fields.phone,
        "consent": fields.consent,
        "consent_text": fields.consent_text,
        "landing_url": fields.landing_url,
        "referrer": fields.referrer,
        "utm_source": fields.utm_source,
        "utm_medium": fields.utm_medium,
        "utm_campaign": fields.utm_campaign,
        "utm_content": fields.utm_content,
        "utm_term": fields.utm_term,
        "extra": fields.extra_fields(),
        "submitted_at": fields.submitted_at or received_at,
    }


def process_on(
    conn: sa.Connection, event: store.EventRef, *, lookback_days: int, now: datetime
) -> Outcome:
    """Turn a stored event into a lead with its touches and mark it processed (no commit).

    Raises DomainError when the fields are at fault; anything else is unexpected.
    """
    fields = intake.parse_lead(intake.read_data(event.content_type, event.body))
    lead = lead_values(fields, event.received_at)
    touches = attribution.find_touches(
        conn,
        fields.attribution_fields(),
        email=fields.email,
        converted_at=lead["submitted_at"],
        lookback_days=lookback_days,
    )
    lead_id = store.write_lead(conn, event.id, lead, touches, now=now)
    return Outcome(event.id, lead_id, EventStatus.PROCESSED, len(touches))


def _ref(event: InboundEvent) -> store.EventRef:
    return store.EventRef(
        event.id, event.content_type, event.body, event.received_at, event.attempts
    )


def process_event(s: Session, event: InboundEvent, *, lookback_days: int, now: datetime) -> Outcome:
    """Process a stored event inside the session's transaction (the event object follows)."""
    outcome = process_on(s.connection(), _ref(event), lookback_days=lookback_days, now=now)
    # The row was written by the statement above; tell the object without another UPDATE.
    for name, value in (
        ("status", EventStatus.PROCESSED),
        ("lead_id", outcome.lead_id),
        ("processed_at", now),
        ("error", ""),
        ("next_attempt_at", None),
    ):
        set_committed_value(event, name, value)
    return outcome


def _describe(exc: DomainError) -> str:
    details = "; ".join(f"{field}: {problem}" for field, problem in exc.fields.items())
    # Escaped: the error is stored, and PostgreSQL cannot store a NUL a message might quote.
    return intake.printable(exc.message + (f" ({details})" if details else ""))


def cannot_succeed(exc: Exception) -> bool:
    """Whether the database refused a value of the event itself, so a retry cannot help."""
    return isinstance(exc, (sa.exc.DataError, psycopg.DataError))


def next_attempt_at(attempts: int, *, max_attempts: int, now: datetime) -> datetime | None:
    """When to try a failed event again after ``attempts`` tries (None once they run out)."""
    if attempts >= max_attempts:
        return None
    delay = BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1]
    return now + timedelta(minutes=delay)


def mark_failed(event: InboundEvent, error: str, *, max_attempts: int, now: datetime) -> None:
    """Record a failed attempt and when to try again (no retry once attempts run out)."""
    event.status = EventStatus.FAILED
    event.error = error[:4000]
    event.attempts += 1
    event.next_attempt_at = next_attempt_at(event.attempts, max_attempts=max_attempts, now=now)


def process_safely(
    s: Session, event: InboundEvent, settings: IntakeSettings, now: datetime | None = None
) -> Outcome:
    """Process an event in a savepoint; a failure is recorded on the event, never raised."""
    now = now or utcnow()
    try:
        with s.begin_nested():
            return process_event(s, event, lookback_days=settings.lookback_days, now=now)
    except DomainError as exc:
        # The fields are at fault: retrying the same body cannot help, so no next attempt.
        event.status = EventStatus.FAILED
        event.error = _describe(exc)[:4000]
        event.attempts += 1
        event.next_attempt_at = None
        return Outcome(event.id, None, EventStatus.FAILED, problem=exc)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise  # the database is gone: nothing can be recorded; the caller answers 503
    except Exception as exc:
        log.exception("processing inbound event %s failed", event.id)
        mark_failed(
            event, f"{type(exc).__name__}: {exc}", max_attempts=settings.max_attempts, now=now
        )
        if cannot_succeed(exc):
            event.next_attempt_at = None
        return Outcome(event.id, None, EventStatus.FAILED)


def retry_due(s: Session, settings: IntakeSettings, now: datetime | None = None) -> RetryResult:
    """Process again the failed events that are due, and those abandoned mid-processing."""
    now = now or utcnow()
    query = (
        sa.select(InboundEvent)
        .where(
            sa.or_(
                sa.and_(
                    InboundEvent.status == EventStatus.FAILED,
                    InboundEvent.next_attempt_at <= now,
                    InboundEvent.attempts < settings.max_attempts,
                ),
                sa.and_(
                    InboundEvent.status == EventStatus.RECEIVED,
                    InboundEvent.received_at < now - ABANDONED_AFTER,
                ),
            )
        )
        .order_by(InboundEvent.id)
        .limit(RETRY_BATCH)
        .with_for_update(skip_locked=True)
    )
    processed = failed = 0
    for event in s.scalars(query).all():
        outcome = process_safely(s, event, settings, now)
        if outcome.status is EventStatus.PROCESSED:
            processed += 1
        else:
            failed += 1
    return RetryResult(processed=processed, failed=failed)


def reprocess_event(
    s: Session, event_id: int, settings: IntakeSettings, now: datetime | None = None
) -> Outcome:
    """Process one failed event again by hand (an admin's retry), whatever its attempts."""
    event = s.get(InboundEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound("No inbound event has this id.")
    if event.status is EventStatus.PROCESSED:
        raise Conflict("This event was processed already.")
    if not event.body:
        raise Conflict("This event's raw body was purged; it cannot be processed again.")
    return process_safely(s, event, settings, now)


def purge_raw_events(s: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Blank the body and headers of events older than the retention; keep status and lead."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = s.execute(
        sa.update(InboundEvent)
        .where(
            InboundEvent.received_at < cutoff,
            sa.or_(InboundEvent.body != "", InboundEvent.content_type != ""),
        )
        .values(body="", headers={}, content_type="")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- reading leads -----------------------------------------------------------------------


@dataclass(frozen=True)
class LeadQuery:
    """Filters and page for lists of leads, newest first."""

    q: str = ""  # in the email, first and last name and company
    status: LeadStatus | None = None
    attributed: bool | None = None  # True: with touches; False: without
    seller_id: int | None = None  # with a touch of this seller
    queue_id: int | None = None  # routed to this queue
    assignee_id: int | None = None  # worked by this user now
    since: datetime | None = None  # submitted at or after
    until: datetime | None = None  # submitted before
    sort: str = "submitted"  # one of LEAD_SORTS
    descending: bool = True
    offset: int = 0
    limit: int = 50


# How a list of leads can be ordered; status follows the work (new first, converted last).
LEAD_SORTS: dict[str, tuple[sa.ColumnElement[Any] | sa.orm.InstrumentedAttribute[Any], ...]] = {
    "submitted": (Lead.submitted_at,),
    "name": (sa.func.lower(Lead.first_name), sa.func.lower(Lead.last_name), Lead.email),
    "company": (sa.func.lower(Lead.company),),
    "status": (sa.case({s.value: n for n, s in enumerate(LeadStatus)}, value=Lead.status),),
}


@dataclass(frozen=True)
class LeadPage:
    """One page of leads (touches loaded) and how many match in all."""

    items: list[Lead]
    total: int


@dataclass(frozen=True)
class TouchContext:
    """The names behind touches' ids: sellers, content items and campaigns."""

    sellers: dict[int, User]
    contents: dict[int, Content]
    campaigns: dict[int, Campaign]
    # the suggestion behind each link: whether (and when) the seller marked it posted
    suggestions: dict[int, Suggestion] = field(default_factory=dict)


def _lead_filters(query: LeadQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    text = query.q.strip().lower()
    if text:
        columns = (Lead.email, Lead.first_name, Lead.last_name, Lead.company)
        conditions.append(
            sa.or_(
                *(sa.func.lower(col).contains(text, autoescape=True) for col in columns),
                sa.func.lower(Lead.first_name + " " + Lead.last_name).contains(
                    text, autoescape=True
                ),
            )
        )
    if query.status is not None:
        conditions.append(Lead.status == query.status)
    has_touch = sa.exists().where(Touch.lead_id == Lead.id)
    if query.attributed is True:
        conditions.append(has_touch)
    elif query.attributed is False:
        conditions.append(~has_touch)
    if query.seller_id is not None:
        conditions.append(
            sa.exists().where(Touch.lead_id == Lead.id, Touch.seller_id == query.seller_id)
        )
    if query.queue_id is not None:
        conditions.append(Lead.queue_id == query.queue_id)
    if query.assignee_id is not None:
        conditions.append(Lead.assignee_id == query.assignee_id)
    if query.since is not None:
        conditions.append(Lead.submitted_at >= query.since)
    if query.until is not None:
        conditions.append(Lead.submitted_at < query.until)
    return conditions


# Who reads every lead. Marketers keep the access they had: the leads are what their content
# and gated forms bring in, and the lead list is where they see which item brought whom.
READS_EVERY_LEAD = frozenset({Role.ADMIN, Role.MARKETER})


def readable_by(viewer: User) -> sa.ColumnElement[bool]:
    """Return the condition on Lead that holds for the leads this user may read.

    Leads are personal data: admins and marketers read every lead; anyone else (a rep) only
    the leads of queues they work or lead, and the leads they have worked (theirs now, or
    ones with an entry of theirs in the history, after they left the queue or handed it on).
    """
    if viewer.role in READS_EVERY_LEAD:
        return sa.true()
    from contentfeed.routing.models import LeadActivity, Queue, QueueMember

    worked_queues = sa.select(QueueMember.queue_id).where(QueueMember.user_id == viewer.id)
    led_queues = sa.select(Queue.id).where(Queue.lead_user_id == viewer.id)
    has_worked = (
        sa.exists()
        .where(LeadActivity.lead_id == Lead.id, LeadActivity.actor_id == viewer.id)
        .correlate(Lead)
    )
    return sa.or_(
        Lead.queue_id.in_(worked_queues),
        Lead.queue_id.in_(led_queues),
        Lead.assignee_id == viewer.id,
        has_worked,
    )


def list_leads(s: Session, viewer: User, query: LeadQuery) -> LeadPage:
    """Return one page of the leads the viewer may read that match the filters, in the asked
    order (newest first by default; ties newest first), with their touches."""
    conditions = [readable_by(viewer), *_lead_filters(query)]
    total = s.scalar(sa.select(sa.func.count()).select_from(Lead).where(*conditions)) or 0
    keys = LEAD_SORTS.get(query.sort, LEAD_SORTS["submitted"])
    order = [key.desc() if query.descending else key.asc() for key in keys]
    items = s.scalars(
        sa.select(Lead)
        .where(*conditions)
        .options(selectinload(Lead.touches))
        .order_by(*order, Lead.submitted_at.desc(), Lead.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    return LeadPage(items=list(items), total=total)


def lead_batches(
    s: Session, viewer: User, query: LeadQuery, *, batch: int = 500
) -> Iterator[list[Lead]]:
    """Yield every lead the viewer may read that matches the filters, newest first, with
    touches, in batches.

    For exports: no count, and each batch starts after the last lead of the one before
    (submitted_at, id) instead of skipping rows with OFFSET; the session forgets each batch
    once it is read, so memory stays flat however many leads there are.
    """
    conditions = [readable_by(viewer), *_lead_filters(query)]
    after: tuple[datetime, int] | None = None
    while True:
        stmt = sa.select(Lead).where(*conditions).options(selectinload(Lead.touches))
        if after is not None:
            stmt = stmt.where(sa.tuple_(Lead.submitted_at, Lead.id) < after)
        leads = list(
            s.scalars(stmt.order_by(Lead.submitted_at.desc(), Lead.id.desc()).limit(batch))
        )
        if leads:
            yield leads
        if len(leads) < batch:
            return
        after = (leads[-1].submitted_at, leads[-1].id)
        s.expunge_all()


def get_lead(s: Session, viewer: User, lead_id: int) -> Lead:
    """Return one lead the viewer may read, with its touches, or raise NotFound (also for a
    lead they may not read, so its existence is not given away)."""
    lead = s.scalars(
        sa.select(Lead)
        .where(Lead.id == lead_id, readable_by(viewer))
        .options(selectinload(Lead.touches))
    ).first()
    if lead is None:
        raise NotFound("No lead has this id.")
    return lead


def lead_events(s: Session, lead_id: int) -> list[InboundEvent]:
    """Return the raw events a lead was made from, oldest first."""
    query = (
        sa.select(InboundEvent)
        .where(InboundEvent.lead_id == lead_id)
        .order_by(InboundEvent.received_at, InboundEvent.id)
    )
    return list(s.scalars(query))


def touch_context(s: Session, touches: Iterable[Touch]) -> TouchContext:
    """Load the sellers, content items and campaigns the touches point to, by id."""
    touches = list(touches)
    seller_ids = {t.seller_id for t in touches if t.seller_id is not None}
    content_ids = {t.content_id for t in touches if t.content_id is not None}
    campaign_ids = {t.campaign_id for t in touches if t.campaign_id is not None}
    sellers: list[User] = []
    contents: list[Content] = []
    campaigns: list[Campaign] = []
    if seller_ids:
        sellers = list(s.scalars(sa.select(User).where(User.id.in_(seller_ids))))
    if content_ids:
        contents = list(s.scalars(sa.select(Content).where(Content.id.in_(content_ids))))
    if campaign_ids:
        campaigns = list(s.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids))))
    suggestion_ids = {t.suggestion_id for t in touches if t.suggestion_id is not None}
    posts: list[Suggestion] = []
    if suggestion_ids:
        posts = list(s.scalars(sa.select(Suggestion).where(Suggestion.id.in_(suggestion_ids))))
    return TouchContext(
        sellers={u.id: u for u in sellers},
        contents={c.id: c for c in contents},
        campaigns={c.id: c for c in campaigns},
        suggestions={p.id: p for p in posts},
    )


def last_touch(lead: Lead) -> Touch | None:
    """Return the touch that gets the credit under the last-touch model, if any."""
    if not lead.touches:
        return None
    return max(
        lead.touches,
        key=lambda t: (t.credit_last_touch, t.touched_at),
    )


def stuck_before(now: datetime | None = None) -> datetime:
    """Return the time before which a still-received event counts as stuck."""
    return (now or utcnow()) - ABANDONED_AFTER


def list_failed_events(
    s: Session, *, offset: int = 0, limit: int = 50, now: datetime | None = None
) -> tuple[list[InboundEvent], int]:
    """Return failed events and ones stuck in 'received', newest first, and their count."""
    condition = sa.or_(
        InboundEvent.status == EventStatus.FAILED,
        sa.and_(
            InboundEvent.status == EventStatus.RECEIVED,
            InboundEvent.received_at < stuck_before(now),
        ),
    )
    total = s.scalar(sa.select(sa.func.count()).select_from(InboundEvent).where(condition)) or 0
    items = s.scalars(
        sa.select(InboundEvent)
        .where(condition)
        .order_by(InboundEvent.received_at.desc(), InboundEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(items), total


# --- a lead's story ----------------------------------------------------------------------

# How a delivery reached us, by its event's source (gated:<content id>, token:<id>, webhook).
CHANNELS = {"webhook": "signed webhook", "token": "API delivery", "gated": "form on a gated page"}


@dataclass(frozen=True)
class Moment:
    """One named time of a lead's story: what happened, when, and a few words about it."""

    key: str  # submitted, received, delivered_again, routed, merged, assigned, claimed,
    # contacted, came_back, closed
    label: str
    at: datetime
    detail: str = ""
    lead_id: int | None = None  # the other lead a merge or a return points to


@dataclass(frozen=True)
class Timeline:
    """A lead's times, each defined once: the form's own time, when it reached us, when it
    was routed, claimed or assigned, first contacted and closed, and each return visit."""

    submitted_at: datetime  # the form's time, by the sender's clock
    received_at: datetime  # when the delivery reached us (our clock, as every later time)
    routed_at: datetime | None
    claimed_at: datetime | None
    contacted_at: datetime | None
    closed_at: datetime | None
    moments: list[Moment]
    # new; came_back (a repeat visit folded into the person's open lead); delivered_again
    # (the same form delivered a second time, folded in too)
    arrival: str = "new"

    @property
    def sent_long_before(self) -> bool:
        """Tell whether the form was sent well before it reached us (a late delivery)."""
        return self.received_at - self.submitted_at > LATE_DELIVERY


# A form sent this long before it reached us was delivered late: the page names both times.
LATE_DELIVERY = timedelta(minutes=5)


def _channel(event: InboundEvent | None) -> str:
    if event is None:
        return ""
    return CHANNELS.get(event.source.partition(":")[0], "delivery")


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // (24 * 60)} days"


def lead_timeline(s: Session, lead: Lead, events: Iterable[InboundEvent] | None = None) -> Timeline:
    """Return a lead's story as named times, in the order they happened.

    The form's submitted time is the sender's; everything after it is ours, starting with the
    first delivery's arrival (the lead's creation when the raw event is purged). A repeat
    visit folded into this lead is a return, not a new arrival; a lead that was folded into
    another says so instead of being routed.
    """
    delivered = list(events) if events is not None else lead_events(s, lead.id)  # oldest first
    first = delivered[0] if delivered else None
    received = first.received_at if first is not None else lead.created_at
    moments: list[Moment] = []
    sent_detail = ""
    if lead.submitted_at - received > LATE_DELIVERY:
        sent_detail = "by the sender's clock, which is ahead of ours"
    moments.append(Moment("submitted", "Form sent", lead.submitted_at, sent_detail))
    how = _channel(first)
    if first is None:
        reach = "the raw delivery is no longer kept"
    else:
        reach = f"by {how}"
        if first.attempts > 1:
            reach += f", processed after {first.attempts} attempts"
        elif first.status is EventStatus.FAILED:
            reach += ", not processed yet"
    if received - lead.submitted_at > LATE_DELIVERY:
        reach += f", {_span(received - lead.submitted_at)} after the form was sent"
    moments.append(Moment("received", "Reached us", received, reach))
    for again in delivered[1:]:
        moments.append(
            Moment("delivered_again", "Delivered again", again.received_at, f"by {_channel(again)}")
        )
    trace = lead.routing_trace or {}
    arrival = "new"
    into = s.get(Lead, lead.merged_into_id) if lead.merged_into_id is not None else None
    if into is not None and lead.routed_at is not None:
        if is_resend(lead, into):
            arrival = "delivered_again"
            label, detail = "Delivered again", f"the same form as lead #{into.id}; added to it"
        else:
            arrival = "came_back"
            label = "Came back"
            detail = f"the same person had an open lead; added to lead #{into.id}"
        moments.append(Moment("merged", label, lead.routed_at, detail, into.id))
    elif lead.routed_at is not None:
        queue = (trace.get("queue") or {}).get("name", "")
        moments.append(Moment("routed", "Routed", lead.routed_at, f"to {queue}" if queue else ""))
    if lead.claimed_at is not None:
        picked = (trace.get("assignment") or {}).get("picked")
        by_routing = picked is not None and lead.claimed_at == lead.routed_at
        assignee = s.get(User, lead.assignee_id) if lead.assignee_id else None
        who = assignee.name if assignee else ""
        if by_routing:
            moments.append(
                Moment("assigned", "Assigned", lead.claimed_at, f"to {who}" if who else "")
            )
        else:
            moments.append(
                Moment("claimed", "Claimed", lead.claimed_at, f"now with {who}" if who else "")
            )
    if lead.first_contact_at is not None:
        detail = ""
        if lead.due_at is not None:
            late = lead.first_contact_at - lead.due_at
            detail = "within the SLA" if late <= timedelta(0) else f"{_span(late)} after the SLA"
        moments.append(Moment("contacted", "First contact", lead.first_contact_at, detail))
    returns = s.scalars(
        sa.select(Lead).where(Lead.merged_into_id == lead.id).order_by(Lead.submitted_at, Lead.id)
    ).all()
    for visit in returns:
        if is_resend(visit, lead):
            moments.append(
                Moment(
                    "delivered_again",
                    "Delivered again",
                    visit.created_at,
                    "the same form a second time, not a new visit",
                    visit.id,
                )
            )
        else:
            moments.append(
                Moment("came_back", "Came back", visit.created_at, "sent the form again", visit.id)
            )
    if lead.closed_at is not None and lead.status in CLOSED_STATUSES:
        moments.append(Moment("closed", lead.status.label, lead.closed_at, "closed"))
    # The form's own time comes first whatever the sender's clock says; ours follow in order.
    head, tail = moments[:1], sorted(moments[1:], key=lambda m: m.at)
    return Timeline(
        submitted_at=lead.submitted_at,
        received_at=received,
        routed_at=lead.routed_at,
        claimed_at=lead.claimed_at,
        contacted_at=lead.first_contact_at,
        closed_at=lead.closed_at,
        moments=head + tail,
        arrival=arrival,
    )


def is_resend(later: Lead, earlier: Lead) -> bool:
    """Tell whether a later lead is the same form delivered again (a sender's retry under a
    new id) rather than the person coming back: same address, the very same submitted time
    (the form's own; a form without one gets its arrival time, never shared by two)."""
    return later.email == earlier.email and later.submitted_at == earlier.submitted_at
