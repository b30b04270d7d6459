"""Leads API under /api/v1: the lead webhook, and leads with their attribution."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from contentfeed import db, sheets
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role
from contentfeed.api import Timestamp, json_response, operation, parse_query
from contentfeed.db import Id, PageNumber, utcnow
from contentfeed.errors import Forbidden, Invalid, PayloadTooLarge, Unavailable, error_response
from contentfeed.leads import attribution, intake, service, store
from contentfeed.leads.models import EventStatus, Lead, LeadStatus, Touch

bp = Blueprint("leads_api", __name__, url_prefix="/api/v1")

log = logging.getLogger("contentfeed.leads")

TAG = "leads"
WRITE_SCOPE = "leads:write"
# A dead database raises these (connection refused, lost, timed out).
DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError)


class EventAccepted(BaseModel):
    """The stored event and, once processed, its lead; a redelivery answers the same."""

    event_id: int = Field(description="The raw event's id; the same for every redelivery")
    lead_id: int | None = Field(description="The lead made from it; null until processed")
    status: EventStatus = Field(
        description="processed; received while a first copy is still being processed; "
        "failed when processing failed (the event is kept and retried)"
    )
    attributed: int = Field(description="How many tracked-link touches the lead was given")


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Response:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _accepted(outcome: service.Outcome) -> Response:
    body = EventAccepted(
        event_id=outcome.event_id,
        lead_id=outcome.lead_id,
        status=outcome.status,
        attributed=outcome.attributed,
    )
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = 202
    return response


def _read_body(max_bytes: int) -> bytes:
    """Return the raw body, refusing it (413) before reading when it says it is too large."""
    message = f"The body is larger than {max_bytes // 1024} KB."
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(message)
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(message)
    return raw


def _database_down() -> Unavailable:
    with contextlib.suppress(*DATABASE_DOWN):
        db.session().rollback()
    log.warning("lead webhook: database unavailable", exc_info=True)
    return Unavailable(service.UNAVAILABLE)


@bp.post("/webhooks/leads")
@access.public  # it authenticates itself: a Standard Webhooks signature or a bearer token
@operation(
    summary="Receive a lead",
    tag=TAG,
    response=EventAccepted,
    status=202,
    body=intake.LeadIn,
    errors=(400, 401, 403, 413, 415, 422, 503),
)
def receive() -> Response:
    """Take in one lead from a website form or a form relay.

    Send the fields as `application/json` or `application/x-www-form-urlencoded` (UTF-8);
    fields not listed in the schema are kept with the lead as extra data.

    Authenticate with either:

    - a Standard Webhooks signature (https://www.standardwebhooks.com): headers
      `webhook-id` (unique per lead; a redelivery reuses it), `webhook-timestamp` (Unix
      seconds; refused when further from our clock than the configured skew) and
      `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`) made
      with a `whsec_...` secret an admin created. Several secrets may be active at once,
      so they can be rotated; or
    - `Authorization: Bearer <token>` with the `leads:write` scope; the body must then carry
      `external_id`, which makes redelivery safe.

    The raw event is stored before it is processed, so nothing is lost and a redelivery
    answers the first delivery's result without creating anything. 503 (with Retry-After)
    means the database is briefly unavailable: deliver again.
    """
    config = current_app.config
    settings = service.IntakeSettings.from_config(config)
    raw = _read_body(int(config["WEBHOOK_MAX_BODY_KB"]) * 1024)
    headers = {name.lower(): value for name, value in request.headers.items()}
    plaintext = access.bearer_token()
    try:
        # The hot path runs on its own connection (autocommit on PostgreSQL) with Core
        # statements; only the rarer bearer-token check goes through the ORM session.
        with db.hot_engine().connect() as conn:
            if plaintext is not None:
                s = db.session()
                token = accounts.token_for(s, plaintext)
                s.commit()
                g.api_token = token
                if WRITE_SCOPE not in token.scopes:
                    raise Forbidden(f"This token lacks the '{WRITE_SCOPE}' scope.")
            else:
                service.verify_signature(
                    conn, raw, headers, clock_skew_seconds=settings.clock_skew_seconds
                )
                conn.commit()
            text = intake.decode_body(raw)
            content_type = headers.get("content-type", "")
            intake.check_media_type(content_type)
            data = intake.read_data(content_type, text)
            source, external_id = _event_key(data, headers)
            values = store.event_values(
                source=source,
                external_id=external_id,
                content_type=content_type,
                body=text,
                headers=headers,
                now=utcnow(),
            )
            outcome = service.take_in(conn, values, data, settings)
    except DATABASE_DOWN:
        raise _database_down() from None
    if outcome.problem is not None:
        raise outcome.problem
    return _accepted(outcome)


def _event_key(data: dict[str, Any], headers: dict[str, str]) -> tuple[str, str]:
    """Return the (source, id) that makes a delivery unique: the webhook-id for signed
    deliveries, the body's external_id for token posts."""
    token = g.get("api_token")
    if token is None:
        return service.WEBHOOK_SOURCE, headers["webhook-id"].strip()
    external_id = data.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        message = "Send an external_id (your id of this lead) with a bearer token."
        raise Invalid(message, {"external_id": "required with a bearer token"})
    if len(external_id.strip()) > 200:
        raise Invalid("Some fields need attention.", {"external_id": "at most 200 characters"})
    return f"token:{token.id}", external_id.strip()


# --- leads -------------------------------------------------------------------------------

READERS = (Role.ADMIN, Role.MARKETER, Role.REP)
MAX_PER_PAGE = 200
EXPORT_BATCH = 500
CSV_COLUMNS = (
    "id",
    "submitted_at",
    "status",
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "phone",
    "consent",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "landing_url",
    "referrer",
    "touches",
    "last_touch_seller_id",
    "last_touch_seller",
    "last_touch_content_id",
    "last_touch_content",
    "last_touch_campaign",
)


class SellerCredit(BaseModel):
    """One seller's share of a lead's credit under one model (0 to 1)."""

    seller_id: int | None = Field(description="null for touches whose seller was removed")
    seller_name: str
    share: float


class TouchOut(BaseModel):
    """A tracked-link touch that led towards the lead, with its credit per model."""

    code: str
    found_in: str = Field(description="utm_content, ref, landing_url, cookie or earlier")
    seller_id: int | None
    seller_name: str
    content_id: int | None
    content_title: str
    campaign_id: int | None
    campaign_name: str
    clicked: bool = Field(description="Whether a click on the link preceded the lead")
    touched_at: Timestamp = Field(description="The click, else when the link was shared")
    credits: dict[str, float] = Field(description="Share per model: first_touch, last_touch, …")


class LeadOut(BaseModel):
    """A lead with what the person told us and the touches that brought them."""

    id: int
    email: str
    first_name: str
    last_name: str
    company: str
    job_title: str
    country: str
    phone: str
    consent: bool
    consent_text: str
    landing_url: str
    referrer: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    extra: dict[str, JsonValue] = Field(description="Other form fields, as sent")
    status: LeadStatus
    submitted_at: Timestamp
    created_at: Timestamp
    attributed: bool
    touches: list[TouchOut]
    credits: dict[str, list[SellerCredit]] = Field(
        description="Per model, each seller's total share; empty when unattributed"
    )


class LeadList(BaseModel):
    """One page of leads, newest first."""

    items: list[LeadOut]
    page: int
    per_page: int
    total: int


class LeadFilters(BaseModel):
    """Filters for leads."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in email, name and company")
    status: LeadStatus | None = None
    attributed: bool | None = Field(default=None, description="true: with touches; false: none")
    seller_id: Id | None = Field(default=None, description="Leads with a touch of this seller")
    since: AwareDatetime | None = Field(default=None, description="Submitted at or after")
    until: AwareDatetime | None = Field(default=None, description="Submitted before")


class LeadListQuery(LeadFilters):
    """Filters and page for the lead list."""

    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


def _lead_query(filters: LeadFilters, *, offset: int, limit: int) -> service.LeadQuery:
    return service.LeadQuery(
        q=filters.q,
        status=filters.status,
        attributed=filters.attributed,
        seller_id=filters.seller_id,
        since=filters.since.astimezone(UTC) if filters.since else None,
        until=filters.until.astimezone(UTC) if filters.until else None,
        offset=offset,
        limit=limit,
    )


def touch_out(touch: Touch, context: service.TouchContext) -> TouchOut:
    """Describe a touch for the API."""
    seller = context.sellers.get(touch.seller_id or 0)
    content = context.contents.get(touch.content_id or 0)
    campaign = context.campaigns.get(touch.campaign_id or 0)
    return TouchOut(
        code=touch.code,
        found_in=touch.found_in,
        seller_id=touch.seller_id,
        seller_name=seller.name if seller else "",
        content_id=touch.content_id,
        content_title=content.title if content else "",
        campaign_id=touch.campaign_id,
        campaign_name=campaign.name if campaign else "",
        clicked=touch.click_id is not None,
        touched_at=touch.touched_at,
        credits=touch.credits,
    )


def lead_out(lead: Lead, context: service.TouchContext) -> LeadOut:
    """Describe a lead with its touches and credit per model."""
    credits: dict[str, list[SellerCredit]] = {}
    if lead.touches:
        for model, by_seller in attribution.credit_summary(lead.touches).items():
            credits[model] = [
                SellerCredit(
                    seller_id=seller_id,
                    seller_name=seller.name
                    if (seller := context.sellers.get(seller_id or 0))
                    else "",
                    share=share,
                )
                for seller_id, share in by_seller.items()
            ]
    return LeadOut(
        id=lead.id,
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        job_title=lead.job_title,
        country=lead.country,
        phone=lead.phone,
        consent=lead.consent,
        consent_text=lead.consent_text,
        landing_url=lead.landing_url,
        referrer=lead.referrer,
        utm_source=lead.utm_source,
        utm_medium=lead.utm_medium,
        utm_campaign=lead.utm_campaign,
        utm_content=lead.utm_content,
        utm_term=lead.utm_term,
        extra=lead.extra or {},
        status=lead.status,
        submitted_at=lead.submitted_at,
        created_at=lead.created_at,
        attributed=bool(lead.touches),
        touches=[touch_out(t, context) for t in lead.touches],
        credits=credits,
    )


@bp.get("/leads")
@access.require_scope("read", *READERS)
@operation(summary="List leads", tag=TAG, response=LeadList, query=LeadListQuery)
def list_leads() -> Response:
    """List leads newest first, with their touches and credit per attribution model."""
    query = parse_query(LeadListQuery)
    s = db.session()
    page = service.list_leads(
        s, _lead_query(query, offset=(query.page - 1) * query.per_page, limit=query.per_page)
    )
    context = service.touch_context(s, [t for lead in page.items for t in lead.touches])
    body = LeadList(
        items=[lead_out(lead, context) for lead in page.items],
        page=query.page,
        per_page=query.per_page,
        total=page.total,
    )
    s.commit()
    return json_response(body)


@bp.get("/leads/<int:lead_id>")
@access.require_scope("read", *READERS)
@operation(summary="Get a lead with its attribution", tag=TAG, response=LeadOut, errors=(404,))
def get_lead(lead_id: int) -> Response:
    """Return one lead, its touches (seller, content, campaign, click) and credit per model."""
    s = db.session()
    lead = service.get_lead(s, lead_id)
    body = lead_out(lead, service.touch_context(s, lead.touches))
    s.commit()
    return json_response(body)


def _csv_row(lead: Lead, context: service.TouchContext) -> list[object]:
    last = service.last_touch(lead)
    seller = context.sellers.get(last.seller_id or 0) if last else None
    content = context.contents.get(last.content_id or 0) if last else None
    campaign = context.campaigns.get(last.campaign_id or 0) if last else None
    return [
        lead.id,
        lead.submitted_at.astimezone(UTC).isoformat(),
        lead.status.value,
        lead.email,
        lead.first_name,
        lead.last_name,
        lead.company,
        lead.job_title,
        lead.country,
        lead.phone,
        "yes" if lead.consent else "no",
        lead.utm_source,
        lead.utm_medium,
        lead.utm_campaign,
        lead.utm_content,
        lead.utm_term,
        lead.landing_url,
        lead.referrer,
        len(lead.touches),
        last.seller_id if last and last.seller_id is not None else "",
        seller.name if seller else "",
        last.content_id if last and last.content_id is not None else "",
        content.title if content else "",
        campaign.name if campaign else "",
    ]


@bp.get("/leads.csv")
@access.require_scope("read", *READERS)
@operation(summary="Export leads as CSV", tag=TAG, query=LeadFilters, response_type="text/csv")
def export_leads() -> Response:
    """Export the leads matching the filters as CSV (text/csv), one row per lead, newest first.

    The seller, content and campaign columns are those credited under the last-touch model.
    Cells that a spreadsheet would run as a formula start with an apostrophe.
    """
    filters = parse_query(LeadFilters)
    s = db.session()
    query = _lead_query(filters, offset=0, limit=0)

    def rows() -> Iterator[list[object]]:
        yield list(CSV_COLUMNS)
        for batch in service.lead_batches(s, query, batch=EXPORT_BATCH):
            context = service.touch_context(s, [t for lead in batch for t in lead.touches])
            yield from (_csv_row(lead, context) for lead in batch)

    stamp = utcnow().strftime("%Y-%m-%d")
    response = sheets.csv_download(rows(), f"contentfeed-leads-{stamp}.csv", bom=False)
    s.commit()
    return response
