"""CRM events in: a signed delivery to POST /api/v1/webhooks/crm is checked, stored, then
processed; failed ones are retried by a job and listed for the admins.

The same pieces as the lead webhook (leads.webhook's Delivery and Reply, leads.signing's
Standard Webhooks check), with one secret from the settings ([crm] events_secret) instead of
the admins' signing secrets. Nothing is lost: the event is committed on its own before it is
processed, and what processing did (or why it failed) is committed on its own after; a
redelivery (the same webhook-id, unique) changes nothing and is answered the first answer.

The retry bookkeeping lives in the event's ``result`` (attempts, next attempt): the table
has no columns of its own for it. A failed event whose ``processed_at`` is set was given up
(its body is at fault, or its attempts ran out); one without is still retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from contentfeed import db
from contentfeed.config import Settings
from contentfeed.customers import crm_actions
from contentfeed.customers.crm_schema import CrmEventAccepted, CrmEventIn, parse_event
from contentfeed.customers.models import CrmEvent, CrmEventStatus
from contentfeed.db import utcnow
from contentfeed.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)
from contentfeed.i18n import _
from contentfeed.leads import signing
from contentfeed.leads.service import cannot_succeed, next_attempt_at
from contentfeed.leads.webhook import Delivery, Reply, limited_body, refusal

log = logging.getLogger("contentfeed.customers")

NOT_SET_UP = (
    "CRM events are not set up here: set [crm] events_secret (a whsec_ secret shared with "
    "the CRM) in config.toml or CONTENTFEED_CRM__EVENTS_SECRET, then send the events again."
)
UNSIGNED = (
    "Sign the request with the Standard Webhooks headers webhook-id, webhook-timestamp and "
    "webhook-signature, made with the [crm] events_secret."
)
UNAVAILABLE = "The database is unavailable; deliver the event again in 30 seconds."
# An event still "received" this long after arrival lost its worker (a crash, a restart).
ABANDONED_AFTER = timedelta(minutes=10)
RETRY_BATCH = 100

# A session of its own, committed when its block ends (db.unit_of_work in the app).
Units = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Outcome:
    """Where an event stands after an attempt: what the sender is told."""

    event: CrmEventAccepted
    # The refusal when the event itself is at fault (retrying cannot help).
    problem: DomainError | None = None


def receive(units: Units, delivery: Delivery, settings: Settings) -> Reply:
    """Check a delivery, store its event, process it and return the answer; never raises."""
    try:
        event, msg_id, text = _checked(delivery, settings)
        outcome = _take_in(units, settings, event, msg_id, text, utcnow())
    except DomainError as exc:
        return refusal(_as_refusal(exc))
    except db.DATABASE_DOWN:
        log.warning("CRM webhook: database unavailable", exc_info=True)
        return refusal(Unavailable(UNAVAILABLE))
    if outcome.problem is not None:
        return refusal(_as_refusal(outcome.problem))
    return Reply(202, outcome.event.model_dump(mode="json"))


def _checked(delivery: Delivery, settings: Settings) -> tuple[CrmEventIn, str, str]:
    """Return the delivery's checked event, webhook-id and body, or raise its refusal."""
    secret = settings.crm.events_secret
    if not secret:
        raise Forbidden(NOT_SET_UP)
    raw = limited_body(delivery, settings.leads.max_body_kb * 1024)
    signed = signing.signed_delivery(
        raw,
        delivery.headers,
        clock_skew_seconds=settings.leads.clock_skew_seconds,
        unsigned=UNSIGNED,
    )
    if not signing.signs(Webhook(secret), signed):
        raise Unauthorized("The webhook signature was not made with the [crm] events_secret.")
    return parse_event(signed.text), signed.msg_id, signed.text


def _as_refusal(exc: DomainError) -> DomainError:
    """The CRM's answer for an event whose fields are at fault is a 422 naming them, as the
    lead webhook's, whatever decided it (an unknown lead id included)."""
    if isinstance(exc, NotFound):
        return Invalid(exc.message, exc.fields or {"data.lead_id": _("no lead has this id")})
    if isinstance(exc, Conflict):
        return Invalid(exc.message, exc.fields)
    return exc


def _take_in(
    units: Units, settings: Settings, event: CrmEventIn, msg_id: str, text: str, now: datetime
) -> Outcome:
    with units() as s:
        stored = _store(s, msg_id, event, text, now)
    if stored is None:  # a redelivery: the first copy's answer
        with units() as s:
            return _earlier(s, msg_id)
    with units() as s:
        row = s.get(CrmEvent, stored, with_for_update=True)
        if row is None:  # pragma: no cover - committed above
            raise RuntimeError("the stored CRM event could not be read")
        return process_safely(s, row, settings, now, event=event)


def _store(s: Session, msg_id: str, event: CrmEventIn, text: str, now: datetime) -> int | None:
    """Add the event; return its id, or None when an event with this webhook-id exists."""
    exists = s.scalar(sa.select(CrmEvent.id).where(CrmEvent.event_id == msg_id))
    if exists is not None:
        return None
    row = CrmEvent(
        event_id=msg_id,
        event_type=event.type.value,
        body=text,
        status=CrmEventStatus.RECEIVED,
        result={},
        received_at=now,
    )
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except sa.exc.IntegrityError:
        return None  # the same event arriving at the same moment: that copy is the first
    return row.id


def _earlier(s: Session, msg_id: str) -> Outcome:
    row = s.scalars(sa.select(CrmEvent).where(CrmEvent.event_id == msg_id)).one()
    problem = (row.result or {}).get("problem")
    refused = Invalid(problem["message"], problem.get("fields") or {}) if problem else None
    return Outcome(accepted(row), refused)


def accepted(row: CrmEvent) -> CrmEventAccepted:
    """Return the answer about a stored event."""
    return CrmEventAccepted(
        event_id=row.id, status=row.status.value, account_id=row.account_id, lead_id=row.lead_id
    )


def process_safely(
    s: Session,
    row: CrmEvent,
    settings: Settings,
    now: datetime | None = None,
    *,
    event: CrmEventIn | None = None,
) -> Outcome:
    """Process a stored event in a savepoint and record how it went on it (no commit); a
    failure is recorded, never raised, unless the database is gone."""
    now = now or utcnow()
    result: dict[str, Any] = dict(row.result or {})
    attempts = int(result.get("attempts", 0)) + 1
    try:
        with s.begin_nested():
            checked = event or parse_event(row.body)
            applied = crm_actions.apply_event(
                s, settings, checked, key=f"crm:{row.event_id}", now=now
            )
    except DomainError as exc:
        # The event is at fault: the same body cannot do better, so it is not retried.
        exc = _as_refusal(exc)
        fields = {name: str(problem) for name, problem in exc.fields.items()}
        problem = {"message": str(exc.message), "fields": fields}
        _finish(row, CrmEventStatus.FAILED, now, error=_describe(exc))
        row.result = {"attempts": attempts, "problem": problem}
        return Outcome(accepted(row), exc)
    except db.DATABASE_DOWN:
        raise  # nothing can be recorded; the sender is answered 503 and delivers again
    except Exception as exc:
        log.exception("processing CRM event %s failed", row.id)
        retry_at = None
        if not cannot_succeed(exc):
            retry_at = next_attempt_at(attempts, max_attempts=settings.leads.max_attempts, now=now)
        row.status = CrmEventStatus.FAILED
        row.error = f"{type(exc).__name__}: {exc}"[:4000]
        row.processed_at = None if retry_at is not None else now  # set: given up
        row.result = {
            "attempts": attempts,
            "next_attempt_at": retry_at.isoformat() if retry_at is not None else None,
        }
        s.flush()
        return Outcome(accepted(row))
    _finish(row, CrmEventStatus.PROCESSED, now)
    row.account_id, row.lead_id = applied.account_id, applied.lead_id
    row.result = {"attempts": attempts, **applied.facts}
    s.flush()
    return Outcome(accepted(row))


def _finish(row: CrmEvent, status: CrmEventStatus, now: datetime, *, error: str = "") -> None:
    row.status, row.error, row.processed_at = status, error[:4000], now


def _describe(exc: DomainError) -> str:
    details = "; ".join(f"{name}: {problem}" for name, problem in exc.fields.items())
    return exc.message + (f" ({details})" if details else "")


def next_attempt(row: CrmEvent) -> datetime | None:
    """When a failed event is tried again (None: it is not, or it was processed)."""
    if row.status is not CrmEventStatus.FAILED or row.processed_at is not None:
        return None
    planned = (row.result or {}).get("next_attempt_at")
    return datetime.fromisoformat(planned) if planned else None


@dataclass(frozen=True)
class RetryResult:
    """What one run of the retry job did."""

    processed: int = 0
    failed: int = 0


def retry_due(s: Session, settings: Settings, now: datetime | None = None) -> RetryResult:
    """Process again the failed events that are due, and those abandoned mid-processing."""
    now = now or utcnow()
    abandoned = now - ABANDONED_AFTER
    query = (
        sa.select(CrmEvent)
        .where(
            sa.or_(
                sa.and_(CrmEvent.status == CrmEventStatus.FAILED, CrmEvent.processed_at.is_(None)),
                sa.and_(
                    CrmEvent.status == CrmEventStatus.RECEIVED, CrmEvent.received_at < abandoned
                ),
            )
        )
        .order_by(CrmEvent.id)
        .limit(RETRY_BATCH)
        .with_for_update(skip_locked=True)
    )
    processed = failed = 0
    for row in s.scalars(query).all():
        planned = next_attempt(row)
        if row.status is CrmEventStatus.FAILED and (planned is None or planned > now):
            continue
        outcome = process_safely(s, row, settings, now)
        if outcome.event.status == CrmEventStatus.PROCESSED:
            processed += 1
        else:
            failed += 1
    return RetryResult(processed, failed)


def reprocess(s: Session, event_id: int, settings: Settings) -> Outcome:
    """Process one failed or stuck event again by hand (an admin's retry)."""
    row = s.get(CrmEvent, event_id, with_for_update=True)
    if row is None:
        raise NotFound(_("No CRM event has this id."))
    if row.status is CrmEventStatus.PROCESSED:
        raise Conflict(_("This event was processed already."))
    return process_safely(s, row, settings)


def list_events(
    s: Session, *, status: CrmEventStatus | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[CrmEvent], int]:
    """Return the CRM events, newest first (optionally of one status), and their count."""
    condition = sa.true() if status is None else CrmEvent.status == status
    total = s.scalar(sa.select(sa.func.count()).select_from(CrmEvent).where(condition)) or 0
    rows = s.scalars(
        sa.select(CrmEvent)
        .where(condition)
        .order_by(CrmEvent.received_at.desc(), CrmEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


def failure_of(s: Session, event_id: int) -> str:
    """Return why an event's last attempt failed ("" for an unknown or processed event)."""
    row = s.get(CrmEvent, event_id)
    return row.error if row is not None else ""
