"""Leads API under /api/v1: leads with their attribution and routing, and their CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from flask import Response
from pydantic import BaseModel, Field, JsonValue, create_model

from contentfeed import db, i18n, sheets
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import QueueRef, Timestamp, UserRef, json_response, operation, parse_query
from contentfeed.db import PageNumber, utcnow
from contentfeed.i18n import _, _l
from contentfeed.leads import attribution, listing
from contentfeed.leads.api import TAG, bp
from contentfeed.leads.listing import LeadFilters
from contentfeed.leads.models import FORM_FIELDS, Lead, LeadStatus, Touch
from contentfeed.routing import rulebook
from contentfeed.routing import service as routing

READERS = (Role.ADMIN, Role.MARKETER, Role.REP)
MAX_PER_PAGE = 200
EXPORT_BATCH = 500
# The lead's own columns in the CSV: what the form told us, the web addresses last, the consent
# wording left to the lead's page and the personal-data export.
URL_FIELDS = ("landing_url", "referrer")
# Consent's version and language came later: after the columns spreadsheets already know.
LATER_FIELDS = ("consent_version", "consent_locale")
CSV_LEAD_FIELDS = (
    *(name for name in FORM_FIELDS if name not in {*URL_FIELDS, *LATER_FIELDS, "consent_text"}),
    *URL_FIELDS,
    *(name for name in LATER_FIELDS if name in FORM_FIELDS),
)
CSV_COLUMNS = (
    "id",
    "submitted_at",
    "status",
    *CSV_LEAD_FIELDS,
    "touches",
    "last_touch_seller_id",
    "last_touch_seller",
    "last_touch_content_id",
    "last_touch_content",
    "last_touch_campaign",
)
# The headers a person reads when the export is in another language than English; in English
# the headers stay the column names above, which integrations read.
CSV_HEADERS = {
    "id": _l("Lead ID"),
    "submitted_at": _l("Submitted (UTC)"),
    "status": _l("Status"),
    "email": _l("Email"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "company": _l("Company"),
    "job_title": _l("Job title"),
    "country": _l("Country"),
    "phone": _l("Phone"),
    "consent": _l("Consent"),
    "landing_url": _l("Landing page"),
    "referrer": _l("Referrer"),
    "touches": _l("Touches"),
    "last_touch_seller_id": _l("Seller ID (last touch)"),
    "last_touch_seller": _l("Seller (last touch)"),
    "last_touch_content_id": _l("Content ID (last touch)"),
    "last_touch_content": _l("Content (last touch)"),
    "last_touch_campaign": _l("Campaign (last touch)"),
}


def csv_headers() -> list[str]:
    """Return the export's header row in the request's language (see CSV_HEADERS)."""
    if i18n.current_locale() == i18n.LOCALES[0]:
        return list(CSV_COLUMNS)
    return [str(CSV_HEADERS.get(column, column)) for column in CSV_COLUMNS]


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


# A lead's own fields in the API, as the table declares them (FORM_FIELDS): adding a column
# adds it to the answer.
LeadFields = create_model(
    "LeadFields",
    id=(int, ...),
    **{name: (Lead.__table__.c[name].type.python_type, ...) for name in FORM_FIELDS},  # type: ignore[call-overload]
)


class LeadOut(LeadFields):
    """A lead with what the person told us and the touches that brought them."""

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


# The fields of a lead's answer taken from the lead as they are; the others are worked out.
COPIED_FIELDS = tuple(
    name
    for name in LeadOut.model_fields
    if name not in {"extra", "attributed", "touches", "credits", "routing"}
)


class LeadList(BaseModel):
    """One page of leads, newest first."""

    items: list[LeadOut]
    page: int
    per_page: int
    total: int


class LeadListQuery(LeadFilters):
    """Filters and page for the lead list."""

    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


def touch_out(touch: Touch, context: listing.TouchContext) -> TouchOut:
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
    reason = rulebook.routing_reason(lead.routing_trace)
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


def lead_out(lead: Lead, context: listing.TouchContext, names: routing.RoutingNames) -> LeadOut:
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
        **{name: getattr(lead, name) for name in COPIED_FIELDS},
        extra=lead.extra or {},
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
    filters = query.model_dump(exclude={"page", "per_page"})
    offset = (query.page - 1) * query.per_page
    page = listing.list_leads(
        db.session(),
        access.signed_in_user(),
        listing.LeadQuery(**filters, offset=offset, limit=query.per_page),
    )
    names = routing.routing_names(db.session(), page.items)
    body = LeadList(
        items=[lead_out(lead, page.context, names) for lead in page.items],
        page=query.page,
        per_page=query.per_page,
        total=page.total,
    )
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
    found = listing.show_lead(db.session(), access.signed_in_user(), lead_id)
    names = routing.routing_names(db.session(), [found.lead])
    return json_response(lead_out(found.lead, found.context, names))


def _csv_cell(value: object) -> object:
    """Write a yes/no field as the words a spreadsheet reader expects."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


def _csv_row(lead: Lead, context: listing.TouchContext) -> list[object]:
    last = listing.last_touch(lead)
    seller = context.sellers.get(last.seller_id or 0) if last else None
    content = context.contents.get(last.content_id or 0) if last else None
    campaign = context.campaigns.get(last.campaign_id or 0) if last else None
    return [
        lead.id,
        lead.submitted_at.astimezone(UTC).isoformat(),
        lead.status.value if i18n.current_locale() == i18n.LOCALES[0] else lead.status.label,
        *(_csv_cell(getattr(lead, name)) for name in CSV_LEAD_FIELDS),
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
    batches = listing.lead_batches(
        db.session(), access.signed_in_user(), filters, batch=EXPORT_BATCH
    )

    def rows() -> Iterator[list[object]]:
        yield list(csv_headers())
        for batch in batches:
            yield from (_csv_row(lead, batch.context) for lead in batch.items)

    stamp = utcnow().strftime("%Y-%m-%d")
    return sheets.csv_download(rows(), f"contentfeed-leads-{stamp}.csv", bom=False)
