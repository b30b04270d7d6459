"""The lead webhook as one use case: a delivery's facts in, the whole answer out.

``receive_delivery`` holds every check of a POST to /api/v1/webhooks/leads (size, signature
or token, body, media type, fields), takes the lead in and says what to answer: status,
headers and JSON body. The Flask view (leads/api.py) only turns the request into a
``Delivery`` and the ``Reply`` into a response. (A WSGI middleware serving signed
deliveries below Flask measured within noise of the view, 99-103 %, and was removed:
BENCHMARKS.md.)

The intake runs on a connection of its own (autocommit on PostgreSQL) with Core statements,
outside the request's session: its writes are committed by the named units of work of
``store`` (the raw event first, so nothing is lost; then the lead), never by the request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from contentfeed import db, wakeup
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Forbidden, Invalid, PayloadTooLarge, Unavailable
from contentfeed.leads import attribution, intake, service, signing, store
from contentfeed.leads.models import EventStatus
from contentfeed.leads.service import IntakeSettings, Outcome

log = logging.getLogger("contentfeed.leads")

WRITE_SCOPE = "leads:write"


class EventAccepted(BaseModel):
    """The stored event and, once processed, its lead; a redelivery answers the same."""

    event_id: int = Field(description="The raw event's id; the same for every redelivery")
    lead_id: int | None = Field(description="The lead made from it; null until processed")
    status: EventStatus = Field(
        description="processed; received when a first copy is still being processed after "
        "a short wait; failed when processing failed (the event is kept and retried)"
    )
    attributed: int = Field(description="How many tracked-link touches the lead was given")


@dataclass(frozen=True)
class Sender:
    """Who a bearer-token delivery comes from: the token's id and what it may do."""

    token_id: int
    scopes: Collection[str]


@dataclass(frozen=True)
class Delivery:
    """A POST to the webhook as it arrived."""

    # Header names lower-cased.
    headers: Mapping[str, str]
    # The Content-Length it declared (None when chunked), and how to read the body.
    length: int | None
    read_body: Callable[[], bytes]
    # The value of an 'Authorization: Bearer' header, when it carries one.
    bearer: str | None = None


@dataclass(frozen=True)
class Reply:
    """What to answer: a status, extra headers and a JSON body."""

    status: int
    body: Mapping[str, object]
    headers: tuple[tuple[str, str], ...] = field(default=())

    def payload(self) -> bytes:
        """Return the body as JSON bytes."""
        return json.dumps(self.body).encode()


def refusal(problem: DomainError) -> Reply:
    """Return the answer to a refused delivery: its status, code, message and fields."""
    body = {"error": problem.code, "message": problem.message, "fields": problem.fields}
    if isinstance(problem, Unavailable):
        return Reply(problem.status, body, (("Retry-After", str(problem.retry_after_seconds)),))
    return Reply(problem.status, body)


def accepted(outcome: Outcome) -> Reply:
    """Return the answer to a delivery taken in (or a redelivery of one): 202."""
    body = EventAccepted(
        event_id=outcome.event_id,
        lead_id=outcome.lead_id,
        status=outcome.status,
        attributed=outcome.attributed,
    )
    return Reply(202, body.model_dump(mode="json"))


def receive_delivery(
    engine: sa.Engine,
    delivery: Delivery,
    settings: IntakeSettings,
    *,
    max_body_bytes: int,
    authenticate: Callable[[str], Sender],
) -> Reply:
    """Check a delivery, take its lead in and return the answer; never raises a refusal.

    ``authenticate`` turns a bearer token into its sender (raising Unauthorized when it is
    unknown); it is only called for a delivery that carries one. A connection found dead
    (the database restarted, the backend was terminated) is replaced and the delivery tried
    once more: a delivery is idempotent by its key, so a second try never stores it twice.
    """
    try:
        raw = limited_body(delivery, max_body_bytes)
        for attempt in (1, 2):
            try:
                with engine.connect() as conn:
                    outcome = _take_in(conn, delivery, raw, settings, authenticate)
                break
            except db.DATABASE_DOWN as exc:
                if attempt == 1 and db.is_disconnect(exc):
                    continue
                log.warning("lead webhook: database unavailable", exc_info=True)
                return refusal(Unavailable(service.UNAVAILABLE))
    except DomainError as exc:
        return refusal(exc)
    if outcome.problem is not None:
        return refusal(outcome.problem)
    return accepted(outcome)


def limited_body(delivery: Delivery, max_bytes: int) -> bytes:
    """Return the raw body, refusing it (413) before reading when it says it is too large."""
    message = f"The body is larger than {max_bytes // 1024} KB."
    if delivery.length is not None and delivery.length > max_bytes:
        raise PayloadTooLarge(message)
    raw = delivery.read_body()
    if len(raw) > max_bytes:
        raise PayloadTooLarge(message)
    return raw


def _take_in(
    conn: sa.Connection,
    delivery: Delivery,
    raw: bytes,
    settings: IntakeSettings,
    authenticate: Callable[[str], Sender],
) -> Outcome:
    """Authenticate and decode a delivery, then take its lead in (refusals raise)."""
    headers = delivery.headers
    sender: Sender | None = None
    signer: signing.Signer | None = None
    if delivery.bearer is not None:
        sender = authenticate(delivery.bearer)
        if WRITE_SCOPE not in sender.scopes:
            raise Forbidden(f"This token lacks the '{WRITE_SCOPE}' scope.")
    else:
        with store.unit_of_work(conn):  # the secret's last use, at most once a minute
            signer = service.verify_signature(
                conn, raw, headers, clock_skew_seconds=settings.clock_skew_seconds
            )
    text = intake.decode_body(raw)
    content_type = headers.get("content-type", "")
    intake.check_media_type(content_type)
    data = intake.read_data(content_type, text)
    source, external_id = _event_key(data, headers, sender)
    values = store.event_values(
        source=source,
        external_id=external_id,
        content_type=content_type,
        body=text,
        headers=headers,
        now=utcnow(),
        secret_id=signer.id if signer is not None else None,
    )
    return take_in(conn, values, data, settings, mapping=signer.mapping if signer else None)


def _event_key(
    data: Mapping[str, Any], headers: Mapping[str, str], sender: Sender | None
) -> tuple[str, str]:
    """Return the (source, id) that makes a delivery unique: the webhook-id for signed
    deliveries, the body's external_id for token posts."""
    if sender is None:
        return service.WEBHOOK_SOURCE, headers["webhook-id"].strip()
    external_id = data.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        message = "Send an external_id (your id of this lead) with a bearer token."
        raise Invalid(message, {"external_id": "required with a bearer token"})
    if len(external_id.strip()) > 200:
        raise Invalid("Some fields need attention.", {"external_id": "at most 200 characters"})
    if (problem := intake.control_character(external_id)) is not None:
        # It becomes the stored event's key, which cannot hold a NUL on PostgreSQL.
        raise Invalid("Some fields need attention.", {"external_id": problem})
    return f"token:{sender.token_id}", external_id.strip()


def take_in(
    conn: sa.Connection,
    values: Mapping[str, Any],
    data: Mapping[str, Any],
    settings: IntakeSettings,
    now: datetime | None = None,
    *,
    mapping: Mapping[str, Any] | None = None,
) -> Outcome:
    """Keep a delivery's raw event, then write its lead: the webhook's intake.

    ``data`` is the body as the caller decoded it (intake.read_data), its fields renamed by
    the signing secret's ``mapping`` and the names forms send out of the box. The fields are checked
    and the touches looked up (in the same round trip as the event's insert, on PostgreSQL)
    before the lead is written in one more. A redelivery (same source and id) answers where
    the first copy stands and changes nothing. A failure while writing the lead is kept on
    the event and retried later by the job; fields at fault are kept as a failed event and
    not retried; only a dead database raises.
    """
    now = now or utcnow()
    try:
        fields = intake.parse_lead(data, mapping)
    except DomainError as exc:
        # The fields are at fault: the event is kept as failed for the admins to see, and
        # not retried (the same body cannot do better).
        failed = {**values, "status": EventStatus.FAILED, "error": service._describe(exc)[:4000]}
        with store.unit_of_work(conn):
            event_id = store.insert_event(conn, {**failed, "attempts": 1})
        if event_id is None:
            return _earlier_outcome(conn, values)
        return Outcome(event_id, None, EventStatus.FAILED, problem=exc)

    lead = service.lead_values(fields, values["received_at"])
    search = attribution.touch_search(
        fields.attribution_fields(),
        email=fields.email,
        converted_at=lead["submitted_at"],
        lookback_days=settings.attribution_lookback_days,
    )
    # Nothing is lost: the raw event is kept (committed on its own) before the lead is written.
    event_id, touches = store.insert_event_finding_touches(conn, values, search)
    if event_id is None:
        return _earlier_outcome(conn, values)
    try:
        with store.unit_of_work(conn):
            lead_id = store.write_lead(conn, event_id, lead, touches, now=now)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise  # the database is gone: the caller answers 503 (the event is kept)
    except Exception as exc:
        log.exception("processing inbound event %s failed", event_id)
        retry_at = (
            None
            if service.cannot_succeed(exc)
            else service.next_attempt_at(1, max_attempts=settings.max_attempts, now=now)
        )
        with store.unit_of_work(conn):
            store.mark_event(
                conn,
                event_id,
                status=EventStatus.FAILED,
                attempts=1,
                error=f"{type(exc).__name__}: {exc}"[:4000],
                next_attempt_at=retry_at,
            )
        return Outcome(event_id, None, EventStatus.FAILED)
    # Committed: the router is woken now (it routes the lead at once), not on its next poll;
    # the answer does not wait for it.
    wakeup.lead_taken_in(conn)
    return Outcome(event_id, lead_id, EventStatus.PROCESSED, len(touches))


def _earlier_outcome(conn: sa.Connection, values: Mapping[str, Any]) -> Outcome:
    """The answer the first copy of a redelivered event was given.

    A first copy still being processed is waited for, briefly, so that every copy learns the
    lead (or, should that take longer, that the event is received and kept).
    """
    deadline = time.monotonic() + service.REDELIVERY_WAIT_SECONDS
    pause, longest = service.REDELIVERY_POLL_SECONDS
    while True:
        # Each look is a transaction of its own, so that the next sees the first copy's commit.
        with store.unit_of_work(conn):
            row = store.find_event(conn, values["source"], values["external_id"])
        if row is None:  # pragma: no cover - the conflicting row is committed or ours
            raise RuntimeError("the conflicting inbound event could not be read")
        status = EventStatus(row.status)
        if status is not EventStatus.RECEIVED or time.monotonic() >= deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, longest)
    if status is EventStatus.FAILED and (problem := _refusal(conn, row.id)) is not None:
        return Outcome(row.id, None, status, problem=problem)
    return Outcome(row.id, row.lead_id, status, row.touches)


def _refusal(conn: sa.Connection, event_id: int) -> DomainError | None:
    """The refusal a failed event's first copy was answered, when its fields were at fault.

    Checking the fields is a pure function of the stored body, so checking them again gives
    the first answer word for word, with no copy of it to store. A purged body (past the
    retention) cannot be checked; its redelivery is told "failed" as a processing failure is.
    """
    with store.unit_of_work(conn):
        content_type, body = store.event_body(conn, event_id)
        mapping = store.event_mapping(conn, event_id)
    if not body:
        return None
    try:
        intake.parse_lead(intake.read_data(content_type, body), mapping)
    except DomainError as exc:
        return exc
    return None
