"""Lead intake decisions: webhook secrets and signatures; storing, processing, retrying events."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from contentfeed.accounts.models import User
from contentfeed.content.models import Campaign, Content
from contentfeed.db import utcnow
from contentfeed.errors import BadRequest, Conflict, DomainError, Invalid, NotFound, Unauthorized
from contentfeed.leads import attribution, intake
from contentfeed.leads.models import (
    EventStatus,
    InboundEvent,
    Lead,
    LeadStatus,
    Touch,
    WebhookSecret,
)

log = logging.getLogger("contentfeed.leads")

WEBHOOK_SOURCE = "webhook"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
# The headers kept with a raw event; never the signature or an Authorization header.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "user-agent", "content-type")
# Minutes to wait before each retry of a failed event: 1, 5, 15, 60 minutes, then longer.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720, 1440)
# An event still "received" this long after arrival lost its worker (a crash, a restart).
ABANDONED_AFTER = timedelta(minutes=10)
RETRY_BATCH = 100
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
    name = name.strip()
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
    return secret, value


def active_secrets(s: Session) -> list[WebhookSecret]:
    """Return the secrets that may sign deliveries (all not revoked), oldest first."""
    query = (
        sa.select(WebhookSecret)
        .where(WebhookSecret.revoked_at.is_(None))
        .order_by(WebhookSecret.id)
    )
    return list(s.scalars(query))


def revoke_secret(s: Session, secret_id: int, now: datetime | None = None) -> WebhookSecret:
    """Stop accepting a secret's signatures; revoking twice changes nothing."""
    secret = s.get(WebhookSecret, secret_id)
    if secret is None:
        raise NotFound("No webhook secret has this id.")
    if secret.revoked_at is None:
        secret.revoked_at = now or utcnow()
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
    s: Session,
    body: bytes,
    headers: Mapping[str, str],
    *,
    clock_skew_seconds: int,
    now: datetime | None = None,
) -> WebhookSecret:
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
    for secret in active_secrets(s):
        try:
            signer = Webhook(secret.secret)
        except (binascii.Error, ValueError, EmptyWebhookSecretError):
            log.error("webhook secret %s (%s) is not a valid whsec_ value", secret.id, secret.name)
            continue
        expected = base64.b64decode(signer.sign(msg_id, sent_at, text).partition(",")[2])
        if any(hmac.compare_digest(expected, signature) for signature in offered):
            # Record use at most once a minute, so busy senders don't write per delivery.
            if secret.last_used_at is None or now - secret.last_used_at > USE_RECORD_INTERVAL:
                secret.last_used_at = now
            return secret
    raise Unauthorized("The webhook signature matches none of the active secrets.")


# --- events ------------------------------------------------------------------------------


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers worth keeping with a raw event (no credentials)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return {name: lowered[name][:500] for name in KEPT_HEADERS if name in lowered}


def find_event(s: Session, source: str, external_id: str) -> InboundEvent | None:
    """Return the event already received under this source and id, if any."""
    query = sa.select(InboundEvent).where(
        InboundEvent.source == source, InboundEvent.external_id == external_id
    )
    return s.scalar(query)


def store_event(
    s: Session,
    *,
    source: str,
    external_id: str,
    content_type: str,
    body: str,
    headers: Mapping[str, str],
) -> tuple[InboundEvent, bool]:
    """Add the raw event unless it was received before; return it and whether it is new.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING: a new event costs one round trip, and of
    two copies arriving at once the second finds nothing inserted and reads the first's event.
    """
    values: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "content_type": content_type[:120],
        "body": body,
        "headers": kept_headers(headers),
        "status": EventStatus.RECEIVED,
        "error": "",
        "attempts": 0,
        "received_at": utcnow(),
    }
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboundEvent).values(**values).on_conflict_do_nothing()
    new_id = s.scalar(statement.returning(InboundEvent.id))
    if new_id is None:
        existing = find_event(s, source, external_id)
        if existing is None:  # pragma: no cover - the conflicting row is committed or ours
            raise RuntimeError("the conflicting inbound event could not be read")
        return existing, False
    event = InboundEvent(id=new_id, **values)
    make_transient_to_detached(event)  # it is in the database already: no SELECT to load it
    s.add(event)
    return event, True


def event_outcome(s: Session, event: InboundEvent) -> Outcome:
    """Describe where a stored event stands (for a redelivery)."""
    attributed = 0
    if event.lead_id is not None:
        count = sa.select(sa.func.count()).where(Touch.lead_id == event.lead_id)
        attributed = s.scalar(count) or 0
    return Outcome(event.id, event.lead_id, event.status, attributed)


def process_event(s: Session, event: InboundEvent, *, lookback_days: int, now: datetime) -> Outcome:
    """Create the event's lead and its touches and mark the event processed.

    Raises DomainError when the fields are at fault; anything else is unexpected.
    """
    data = intake.read_data(event.content_type, event.body)
    fields = intake.parse_lead(data)
    lead = Lead(
        email=fields.email,
        email_domain=fields.email.rpartition("@")[2],
        first_name=fields.first_name,
        last_name=fields.last_name,
        company=fields.company,
        job_title=fields.job_title,
        country=fields.country,
        phone=fields.phone,
        consent=fields.consent,
        consent_text=fields.consent_text,
        landing_url=fields.landing_url,
        referrer=fields.referrer,
        utm_source=fields.utm_source,
        utm_medium=fields.utm_medium,
        utm_campaign=fields.utm_campaign,
        utm_content=fields.utm_content,
        utm_term=fields.utm_term,
        extra=fields.extra_fields(),
        submitted_at=fields.submitted_at or event.received_at,
    )
    s.add(lead)
    s.flush()
    touches = attribution.attribute(
        s, lead, fields.attribution_fields(), lookback_days=lookback_days, now=now
    )
    event.status = EventStatus.PROCESSED
    event.lead_id = lead.id
    event.processed_at = now
    event.error = ""
    event.next_attempt_at = None
    s.flush()
    return Outcome(event.id, lead.id, EventStatus.PROCESSED, len(touches))


def _describe(exc: DomainError) -> str:
    details = "; ".join(f"{field}: {problem}" for field, problem in exc.fields.items())
    return exc.message + (f" ({details})" if details else "")


def mark_failed(event: InboundEvent, error: str, *, max_attempts: int, now: datetime) -> None:
    """Record a failed attempt and when to try again (no retry once attempts run out)."""
    event.status = EventStatus.FAILED
    event.error = error[:4000]
    event.attempts += 1
    if event.attempts >= max_attempts:
        event.next_attempt_at = None
    else:
        delay = BACKOFF_MINUTES[min(event.attempts, len(BACKOFF_MINUTES)) - 1]
        event.next_attempt_at = now + timedelta(minutes=delay)


def process_safely(
    s: Session,
    event: InboundEvent,
    settings: IntakeSettings,
    now: datetime | None = None,
    *,
    committed_event: bool = False,
) -> Outcome:
    """Process an event; a failure is recorded on the event, never raised.

    The work runs in a savepoint, so other events in the same transaction are unharmed;
    when the event was just committed and is alone in the transaction (``committed_event``,
    the webhook's case) a failure rolls the transaction back instead, saving two round trips.
    """
    now = now or utcnow()
    try:
        if committed_event:
            try:
                return process_event(s, event, lookback_days=settings.lookback_days, now=now)
            except Exception:
                s.rollback()
                raise
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
    since: datetime | None = None  # submitted at or after
    until: datetime | None = None  # submitted before
    offset: int = 0
    limit: int = 50


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
    if query.since is not None:
        conditions.append(Lead.submitted_at >= query.since)
    if query.until is not None:
        conditions.append(Lead.submitted_at < query.until)
    return conditions


def list_leads(s: Session, query: LeadQuery) -> LeadPage:
    """Return one page of leads matching the filters, newest first, with their touches."""
    conditions = _lead_filters(query)
    total = s.scalar(sa.select(sa.func.count()).select_from(Lead).where(*conditions)) or 0
    items = s.scalars(
        sa.select(Lead)
        .where(*conditions)
        .options(selectinload(Lead.touches))
        .order_by(Lead.submitted_at.desc(), Lead.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    return LeadPage(items=list(items), total=total)


def get_lead(s: Session, lead_id: int) -> Lead:
    """Return one lead with its touches, or raise NotFound."""
    lead = s.scalars(
        sa.select(Lead).where(Lead.id == lead_id).options(selectinload(Lead.touches))
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
    return TouchContext(
        sellers={u.id: u for u in sellers},
        contents={c.id: c for c in contents},
        campaigns={c.id: c for c in campaigns},
    )


def last_touch(lead: Lead) -> Touch | None:
    """Return the touch that gets the credit under the last-touch model, if any."""
    if not lead.touches:
        return None
    return max(
        lead.touches,
        key=lambda t: (float((t.credits or {}).get("last_touch", 0.0)), t.touched_at),
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
