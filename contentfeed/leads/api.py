"""Leads API under /api/v1: the lead webhook, and leads with their attribution."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC

from flask import Blueprint, Response, current_app, g, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from contentfeed import db, sheets
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role
from contentfeed.api import (
    QueueRef,
    Timestamp,
    UserRef,
    json_response,
    operation,
    parse_json,
    parse_query,
)
from contentfeed.db import Id, PageNumber, utcnow
from contentfeed.errors import Unavailable, error_response
from contentfeed.leads import attribution, intake, privacy, service, webhook
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.routing import service as routing
from contentfeed.text import Input

bp = Blueprint("leads_api", __name__, url_prefix="/api/v1")

log = logging.getLogger("contentfeed.leads")

TAG = "leads"
WRITE_SCOPE = "leads:write"


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Response:
    response = error_response(exc.status, exc.message, exc.code, exc.fields)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


@bp.post("/webhooks/leads")
@access.public  # it authenticates itself: a Standard Webhooks signature or a bearer token
@operation(
    summary="Receive a lead",
    tag=TAG,
    response=webhook.EventAccepted,
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
    answers the first delivery's result without creating anything: the same lead, or the
    same 422 naming the same fields. Control characters are refused (422 naming the field),
    except tabs and line breaks in free text (`consent_text`, extra fields). 503 (with
    Retry-After) means the database is briefly unavailable: deliver again.
    """
    config = current_app.config
    delivery = webhook.Delivery(
        headers={name.lower(): value for name, value in request.headers.items()},
        length=request.content_length,
        read_body=lambda: request.get_data(cache=True),
        bearer=access.bearer_token(),
    )
    reply = webhook.receive_delivery(
        db.hot_engine(),
        delivery,
        service.IntakeSettings.from_config(config),
        max_body_bytes=int(config["WEBHOOK_MAX_BODY_KB"]) * 1024,
        authenticate=_token_sender,
    )
    return Response(
        reply.payload(), reply.status, list(reply.headers), content_type="application/json"
    )


def _token_sender(plaintext: str) -> webhook.Sender:
    """Authenticate a bearer token for the webhook; its last use is kept even when the
    delivery is then refused (its own unit of work, as before the request boundary)."""
    with db.unit_of_work() as own:
        token = accounts.token_for(own, plaintext)
    g.api_token = token
    return webhook.Sender(token.id, token.scopes)


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


class RuleRef(BaseModel):
    """A routing rule by id and name, as recorded when the lead was routed."""

    id: int = Field(description="The rule's id; the rule may have been changed or deleted since")
    name: str


class RoutingState(BaseModel):
    """Where a lead is: its queue and rep, its deadlines, and why it went there."""

    queue: QueueRef | None = Field(description="null until the lead is routed")
    assignee: UserRef | None = Field(description="The rep working it; null while it waits")
    due_at: Timestamp | None = Field(
        description="The response SLA: when the lead must be claimed and contacted"
    )
    claim_due_at: Timestamp | None = Field(
        description="The claim's contact deadline, counted from the claim or assignment; "
        "null while nobody holds the lead"
    )
    routed_at: Timestamp | None
    claimed_at: Timestamp | None
    first_contact_at: Timestamp | None
    rule: RuleRef | None = Field(
        description="The rule that matched; null when none did (the default queue), for a "
        "repeat visit added to the person's open lead, or before routing"
    )
    why: str = Field(description="Why it went where it did, in words; empty before routing")


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
    routing: RoutingState


class LeadList(BaseModel):
    """One page of leads, newest first."""

    items: list[LeadOut]
    page: int
    per_page: int
    total: int


class LeadFilters(Input):
    """Filters for leads."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in email, name and company")
    status: LeadStatus | None = None
    attributed: bool | None = Field(default=None, description="true: with touches; false: none")
    seller_id: Id | None = Field(default=None, description="Leads with a touch of this seller")
    queue_id: Id | None = Field(default=None, description="Routed to this queue")
    assignee_id: Id | None = Field(default=None, description="Worked by this user now")
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
        queue_id=filters.queue_id,
        assignee_id=filters.assignee_id,
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


def routing_state(lead: Lead, names: routing.RoutingNames) -> RoutingState:
    """Describe where a lead is for the API."""
    reason = routing.routing_reason(lead.routing_trace)
    queue_name = names.queues.get(lead.queue_id or 0)
    assignee_name = names.users.get(lead.assignee_id or 0)
    return RoutingState(
        queue=QueueRef(id=lead.queue_id, name=queue_name)
        if lead.queue_id is not None and queue_name is not None
        else None,
        assignee=UserRef(id=lead.assignee_id, name=assignee_name)
        if lead.assignee_id is not None and assignee_name is not None
        else None,
        due_at=lead.due_at,
        # The per-claim deadline comes with the claim-deadline change; null until then.
        claim_due_at=getattr(lead, "claim_due_at", None),
        routed_at=lead.routed_at,
        claimed_at=lead.claimed_at,
        first_contact_at=lead.first_contact_at,
        rule=RuleRef(id=reason.rule_id, name=reason.rule_name)
        if reason is not None and reason.rule_id is not None
        else None,
        why=reason.why if reason is not None else "",
    )


def lead_out(lead: Lead, context: service.TouchContext, names: routing.RoutingNames) -> LeadOut:
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
        routing=routing_state(lead, names),
    )


@bp.get("/leads")
@access.require_scope("read", *READERS)
@operation(summary="List leads", tag=TAG, response=LeadList, query=LeadListQuery)
def list_leads() -> Response:
    """List leads newest first, with their touches, credit per attribution model and routing.

    Admins and marketers see every lead; a rep sees the leads of the queues they work or
    lead and the leads they have worked. Filter by `queue_id` and `assignee_id` to ask where
    leads went and who works them.
    """
    query = parse_query(LeadListQuery)
    s = db.session()
    page = service.list_leads(
        s,
        access.signed_in_user(),
        _lead_query(query, offset=(query.page - 1) * query.per_page, limit=query.per_page),
    )
    context = service.touch_context(s, [t for lead in page.items for t in lead.touches])
    names = routing.routing_names(s, page.items)
    body = LeadList(
        items=[lead_out(lead, context, names) for lead in page.items],
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
    """Return one lead, its touches (seller, content, campaign, click), credit per model, and
    `routing`: its queue, its rep, its deadlines and the rule that sent it there.

    404 also for a lead you may not read (a rep reads their queues' leads and the ones they
    have worked).
    """
    s = db.session()
    lead = service.get_lead(s, access.signed_in_user(), lead_id)
    body = lead_out(lead, service.touch_context(s, lead.touches), routing.routing_names(s, [lead]))
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
    viewer = access.signed_in_user()

    def rows() -> Iterator[list[object]]:
        yield list(CSV_COLUMNS)
        for batch in service.lead_batches(s, viewer, query, batch=EXPORT_BATCH):
            context = service.touch_context(s, [t for lead in batch for t in lead.touches])
            yield from (_csv_row(lead, context) for lead in batch)

    stamp = utcnow().strftime("%Y-%m-%d")
    response = sheets.csv_download(rows(), f"contentfeed-leads-{stamp}.csv", bom=False)
    s.commit()
    return response


# --- personal data -------------------------------------------------------------------------


class PersonQuery(Input):
    """Whose personal data: the address as the person gave it (case and spaces ignored)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class PersonalData(BaseModel):
    """Everything held about one person; empty lists and a message when we hold nothing."""

    email: str
    exported_at: str
    found: bool = Field(description="False when no lead or raw delivery names the address")
    message: str = Field(description="Says so when nothing is held; empty otherwise")
    leads: list[dict[str, JsonValue]]
    touches: list[dict[str, JsonValue]]
    inbound_events: list[dict[str, JsonValue]]
    activity: list[dict[str, JsonValue]]
    crm_messages: list[dict[str, JsonValue]]


class ErasureIn(PersonQuery):
    """Whose personal data to erase."""


class ErasureOut(BaseModel):
    """What an erasure changed."""

    leads: int = Field(description="Leads whose personal fields were blanked")
    events: int = Field(description="Raw deliveries blanked")
    messages: int = Field(description="CRM messages not yet delivered, made anonymous")
    closed: int = Field(description="Open leads closed (reason erased) and taken out of queues")
    message: str


@bp.get("/personal-data")
@access.require_scope("read", Role.ADMIN)
@operation(
    summary="Export everything held about one person",
    tag=TAG,
    query=PersonQuery,
    response=PersonalData,
)
def export_person() -> Response:
    """Return everything held about one person by email: leads, touches, raw deliveries,
    history and CRM messages. An address we hold nothing about answers 200 with empty lists,
    ``found: false`` and a message saying so."""
    query = parse_query(PersonQuery)
    s = db.session()
    held = privacy.export(s, query.email)
    body = PersonalData(**held.data, found=held.found, message=held.message)
    s.rollback()  # an export changes nothing
    return json_response(body)


@bp.post("/personal-data/erase")
@access.require_scope(WRITE_SCOPE, Role.ADMIN)
@operation(summary="Erase one person's personal data", tag=TAG, body=ErasureIn, response=ErasureOut)
def erase_person() -> Response:
    """Blank the person's personal fields on every lead and raw delivery and close their open
    leads (reason erased); reports keep counting the leads, anonymously."""
    data = parse_json(ErasureIn)
    s = db.session()
    report = privacy.erase_person(s, data.email, actor=g.api_token.user)
    s.commit()
    return json_response(
        ErasureOut(
            leads=report.leads,
            events=report.events,
            messages=report.messages,
            closed=report.closed,
            message=report.summary() + ".",
        )
    )
