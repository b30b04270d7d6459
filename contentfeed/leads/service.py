"""Lead intake decisions: storing, processing and retrying inbound events.

Signing secrets live in ``signing``, reading leads in ``listing`` and a lead's story in
``timeline``; the names other modules import from here are re-exported below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from contentfeed.config import LeadSettings
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, DomainError, NotFound
from contentfeed.i18n import _
from contentfeed.leads import attribution, intake, store
from contentfeed.leads.listing import last_touch as last_touch
from contentfeed.leads.models import FORM_FIELDS, EventStatus, InboundEvent
from contentfeed.leads.signing import create_secret as create_secret
from contentfeed.leads.signing import new_secret_value as new_secret_value
from contentfeed.leads.signing import revoke_secret as revoke_secret
from contentfeed.leads.signing import verify_signature as verify_signature

log = logging.getLogger("contentfeed.leads")

WEBHOOK_SOURCE = "webhook"
# Minutes to wait before each retry of a failed event: 1, 5, 15, 60 minutes, then longer.
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 360, 720, 1440)
# An event still "received" this long after arrival lost its worker (a crash, a restart, the
# database going away between the event's commit and the lead's). A request lives 30 s at
# most (gunicorn's worker timeout), so the retry job may take it over after 90 s: a lead the
# sender will not send again (its redelivery was answered 202 "received") waits minutes, not
# ten (the rehearsal on several hosts found one left so after a PostgreSQL restart).
ABANDONED_AFTER = timedelta(seconds=90)
# What a sender is told when the database is down (with 503 and Retry-After).
UNAVAILABLE = "The database is unavailable; deliver the lead again in 30 seconds."
RETRY_BATCH = 100
# A copy of a delivery whose first copy is still being processed waits this long, looking
# again with growing pauses, so that it can be given the first copy's answer.
REDELIVERY_WAIT_SECONDS = 3.0
REDELIVERY_POLL_SECONDS = (0.01, 0.2)


# What intake needs ([leads] in config.toml), by the name the intake has always used.
IntakeSettings = LeadSettings


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
        **{name: getattr(fields, name) for name in FORM_FIELDS},
        "email_domain": fields.email.rpartition("@")[2],
        "extra": fields.extra_fields(),
        "submitted_at": fields.submitted_at or received_at,
    }


def process_on(
    conn: sa.Connection, event: store.EventRef, *, lookback_days: int, now: datetime
) -> Outcome:
    """Turn a stored event into a lead with its touches and mark it processed (no commit).

    Raises DomainError when the fields are at fault; anything else is unexpected.
    """
    # The secret's mapping as it is now: a delivery refused for a field it did not map can
    # succeed once an admin maps it.
    mapping = store.field_mapping(conn, event.secret_id)
    fields = intake.parse_lead(intake.read_data(event.content_type, event.body), mapping)
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
        event.id,
        event.content_type,
        event.body,
        event.received_at,
        event.attempts,
        event.secret_id,
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
            return process_event(
                s, event, lookback_days=settings.attribution_lookback_days, now=now
            )
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


# What follows an event processed on a retry (the gated form's double opt-in email, which the
# visitor's own request could not send while the lead did not exist yet).
AfterRetry = Callable[[Session, InboundEvent, "Outcome"], object]


def retry_due(
    s: Session,
    settings: IntakeSettings,
    now: datetime | None = None,
    *,
    after: AfterRetry | None = None,
) -> RetryResult:
    """Process again the failed events that are due, and those abandoned mid-processing;
    ``after`` is called for each event that became a lead."""
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
            if after is not None:
                after(s, event, outcome)
        else:
            failed += 1
    return RetryResult(processed=processed, failed=failed)


def reprocess_event(
    s: Session,
    event_id: int,
    settings: IntakeSettings,
    now: datetime | None = None,
    *,
    after: AfterRetry | None = None,
) -> Outcome:
    """Process one failed event again by hand (an admin's retry), whatever its attempts;
    ``after`` is called when it became a lead."""
    event = s.get(InboundEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound(_("No inbound event has this id."))
    if event.status is EventStatus.PROCESSED:
        raise Conflict(_("This event was processed already."))
    if not event.body:
        raise Conflict(_("This event's raw body was purged; it cannot be processed again."))
    outcome = process_safely(s, event, settings, now)
    if after is not None and outcome.status is EventStatus.PROCESSED:
        after(s, event, outcome)
    return outcome


def failure_of(s: Session, event_id: int) -> str:
    """Return why an event's last attempt failed ("" for an unknown or processed event)."""
    event = s.get(InboundEvent, event_id)
    return event.error if event is not None else ""


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
