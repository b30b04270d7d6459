"""Routing API under /api/v1: queues, claiming, lead status, rules, accounts, dry run, outbox.

Reps (and admins) work their queues and leads; admins manage rules, queue settings, customer
accounts and the CRM outbox. A lead or queue outside the caller's queues answers 404, as the
routing service does, so its existence is not given away.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from flask import Blueprint, Response, current_app, request, url_for
from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel, field_validator
from sqlalchemy.orm import Session

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.models import Role, Team, User
from contentfeed.api import (
    Link,
    QueueRef,
    Timestamp,
    UserRef,
    json_response,
    operation,
    parse_json,
    parse_query,
)
from contentfeed.db import Id, utcnow
from contentfeed.errors import Invalid, NotFound, UnsupportedMediaType
from contentfeed.leads import intake
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import accounts_import, domains, outbox, service, work
from contentfeed.routing.models import (
    Account,
    LeadActivity,
    OutboxMessage,
    OutboxStatus,
    Queue,
    QueueMember,
    RoutingRule,
    Strategy,
)
from contentfeed.sheets import decode_upload
from contentfeed.text import Input, MultiLineText

bp = Blueprint("routing_api", __name__, url_prefix="/api/v1")

WORK_TAG = "queues"
ADMIN_TAG = "routing"
ACCOUNTS_TAG = "customer accounts"
WRITE_SCOPE = "routing:write"
WORKERS = (Role.REP, Role.ADMIN)
ADMIN = (Role.ADMIN,)
NOT_IN_YOUR_QUEUES = "No lead in your queues has this id."


# --- shared parts --------------------------------------------------------------------------


class TeamRef(BaseModel):
    """A team, by id and name."""

    id: int
    name: str


def _user_ref(s: Session, user_id: int | None) -> UserRef | None:
    user = s.get(User, user_id) if user_id is not None else None
    return UserRef(id=user.id, name=user.name) if user else None


def _queue_ref(s: Session, queue_id: int | None) -> QueueRef | None:
    queue = s.get(Queue, queue_id) if queue_id is not None else None
    return QueueRef(id=queue.id, name=queue.name) if queue else None


# --- the rep's queues ----------------------------------------------------------------------


class QueueSummary(BaseModel):
    """A queue the caller works, with how much is in it."""

    id: int
    name: str
    description: str
    strategy: Strategy = Field(description="How leads reach reps: claim, round_robin, weighted")
    sla_minutes: int = Field(description="Minutes to claim and contact a lead after routing")
    claim_minutes: int = Field(
        description="Minutes to contact a lead after claiming it, before it returns to the queue"
    )
    waiting: int = Field(description="New leads nobody has claimed")
    overdue: int = Field(description="Leads past their SLA that nobody has contacted yet")
    open: int = Field(description="Leads the queue shows: new, claimed or contacted")


class QueueList(BaseModel):
    """The caller's queues by name (admins: every queue)."""

    items: list[QueueSummary]


class QueueLeadRow(BaseModel):
    """One open lead of a queue."""

    id: int
    name: str = Field(description="The person's name, or their email when they gave none")
    email: str
    company: str
    job_title: str
    country: str
    score: int = Field(description="0 to 100: how promising the lead looked when routed")
    status: LeadStatus
    assignee: UserRef | None = Field(description="The rep working it; null while waiting")
    due_at: Timestamp | None = Field(description="When the SLA runs out")
    overdue: bool = Field(description="The SLA ran out before anyone contacted the person")
    routed_at: Timestamp | None
    seller_name: str = Field(description="The attributed (last-touch) seller; empty if none")
    content_title: str = Field(description="The content of that seller's post; empty if none")


class QueueLeads(BaseModel):
    """A queue with its open leads, the most urgent (earliest due) first."""

    queue: QueueSummary
    items: list[QueueLeadRow]


def _queue_summary(queue: Queue, counts: work.QueueCounts) -> QueueSummary:
    return QueueSummary(
        id=queue.id,
        name=queue.name,
        description=queue.description,
        strategy=queue.strategy,
        sla_minutes=queue.sla_minutes,
        claim_minutes=queue.claim_minutes,
        waiting=counts.waiting,
        overdue=counts.overdue,
        open=counts.open,
    )


@bp.get("/queues")
@access.require_scope("read", *WORKERS)
@operation(summary="List my queues", tag=WORK_TAG, response=QueueList)
def list_my_queues() -> Response:
    """List the queues the token's user works (admins: every queue), with lead counts."""
    s = db.session()
    queues = work.queues_of(s, access.signed_in_user())
    counts = work.queue_counts(s, [q.id for q in queues], utcnow())
    empty = work.QueueCounts(0, 0, 0)
    body = QueueList(items=[_queue_summary(q, counts.get(q.id, empty)) for q in queues])
    s.commit()
    return json_response(body)


@bp.get("/queues/<int:queue_id>/leads")
@access.require_scope("read", *WORKERS)
@operation(summary="List a queue's open leads", tag=WORK_TAG, response=QueueLeads, errors=(404,))
def list_queue_leads(queue_id: int) -> Response:
    """List a queue's new, claimed and contacted leads by SLA due time (at most 200).

    Each row names the seller whose post brought the lead and that post's content.
    """
    s = db.session()
    now = utcnow()
    queue = work.my_queue(s, access.signed_in_user(), queue_id)
    view = work.queue_view(s, queue, now)
    items = [
        QueueLeadRow(
            id=row.lead.id,
            name=row.lead.full_name,
            email=row.lead.email,
            company=row.lead.company,
            job_title=row.lead.job_title,
            country=row.lead.country,
            score=row.lead.score,
            status=row.lead.status,
            assignee=UserRef(id=row.lead.assignee_id, name=row.assignee_name)
            if row.lead.assignee_id
            else None,
            due_at=row.lead.due_at,
            overdue=row.overdue,
            routed_at=row.lead.routed_at,
            seller_name=row.seller_name,
            content_title=row.content_title,
        )
        for row in view.rows
    ]
    body = QueueLeads(queue=_queue_summary(queue, view.counts), items=items)
    s.commit()
    return json_response(body)


# --- working a lead ------------------------------------------------------------------------


class LeadRouting(BaseModel):
    """A lead as routing sees it: where it went, who works it, its SLA and why."""

    id: int
    name: str = Field(description="The person's name, or their email when they gave none")
    email: str
    company: str
    status: LeadStatus
    queue: QueueRef | None = Field(description="null until the lead is routed")
    assignee: UserRef | None = Field(description="The rep working it; null while it waits")
    due_at: Timestamp | None = Field(description="When the SLA runs out")
    claimed_at: Timestamp | None
    first_contact_at: Timestamp | None
    closed_at: Timestamp | None
    disqualify_reason: str
    routing_trace: dict[str, JsonValue] = Field(
        description="Why it went where it did: facts, rules tried, queue, assignment"
    )


class ClaimedNext(BaseModel):
    """The lead just claimed, or null when nothing is waiting in the queue."""

    lead: LeadRouting | None


class ReassignIn(Input):
    """Who takes the lead over."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id = Field(description="An active rep (or admin)")


class StatusIn(Input):
    """The lead's next status, with an optional note; disqualifying needs a reason."""

    model_config = ConfigDict(extra="forbid")

    status: LeadStatus = Field(
        description="new -> claimed -> contacted -> qualified -> converted; any open status "
        "-> disqualified"
    )
    note: MultiLineText = Field(
        default="", max_length=5000, description="Added to the lead's history"
    )
    reason: MultiLineText = Field(default="", max_length=2000, description="Required to disqualify")


class NoteIn(Input):
    """A note for the lead's history."""

    model_config = ConfigDict(extra="forbid")

    text: MultiLineText = Field(min_length=1, max_length=5000)


class HistoryEntry(BaseModel):
    """One thing that happened to a lead."""

    id: int
    kind: str = Field(
        description="routed, claimed, released, reassigned, status, note, returned, overdue, "
        "came_back, merged"
    )
    text: str
    actor: UserRef | None = Field(description="Who did it; null for the routing and SLA jobs")
    at: Timestamp


class History(BaseModel):
    """A lead's history, oldest first."""

    items: list[HistoryEntry]


def lead_routing(s: Session, lead: Lead) -> LeadRouting:
    """Describe a lead's routing for the API."""
    return LeadRouting(
        id=lead.id,
        name=lead.full_name,
        email=lead.email,
        company=lead.company,
        status=lead.status,
        queue=_queue_ref(s, lead.queue_id),
        assignee=_user_ref(s, lead.assignee_id),
        due_at=lead.due_at,
        claimed_at=lead.claimed_at,
        first_contact_at=lead.first_contact_at,
        closed_at=lead.closed_at,
        disqualify_reason=lead.disqualify_reason,
        routing_trace=lead.routing_trace or {},
    )


def _entry_out(entry: LeadActivity) -> HistoryEntry:
    actor = entry.actor
    return HistoryEntry(
        id=entry.id,
        kind=entry.kind,
        text=entry.text,
        actor=UserRef(id=actor.id, name=actor.name) if actor else None,
        at=entry.at,
    )


@bp.post("/queues/<int:queue_id>/claim-next")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Claim the next lead of a queue",
    tag=WORK_TAG,
    response=ClaimedNext,
    errors=(404,),
)
def claim_next(queue_id: int) -> Response:
    """Take the most urgent waiting lead of one of your queues.

    Reps clicking at once each get a different lead. An empty queue answers 200 with
    `{"lead": null}`; 404 means the queue does not exist or is not yours.
    """
    s = db.session()
    lead = work.claim_next(s, access.signed_in_user(), queue_id)
    body = ClaimedNext(lead=lead_routing(s, lead) if lead else None)
    s.commit()
    return json_response(body)


@bp.post("/leads/<int:lead_id>/claim")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Claim a lead", tag=WORK_TAG, response=LeadRouting, errors=(404, 409))
def claim_lead(lead_id: int) -> Response:
    """Claim one waiting lead of your queues; 409 when someone has it already."""
    s = db.session()
    lead = work.claim(s, access.signed_in_user(), lead_id)
    body = lead_routing(s, lead)
    s.commit()
    return json_response(body)


@bp.post("/leads/<int:lead_id>/release")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Give a lead back to its queue", tag=WORK_TAG, response=LeadRouting, errors=(404, 409)
)
def release_lead(lead_id: int) -> Response:
    """Release a claimed lead not yet contacted; its SLA keeps running from routing.

    Only the rep who claimed it, or an admin, may release it.
    """
    s = db.session()
    lead = work.release(s, access.signed_in_user(), lead_id)
    body = lead_routing(s, lead)
    s.commit()
    return json_response(body)


@bp.post("/leads/<int:lead_id>/reassign")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Hand a lead to another rep",
    tag=WORK_TAG,
    response=LeadRouting,
    body=ReassignIn,
    errors=(404, 409),
)
def reassign_lead(lead_id: int) -> Response:
    """Give an open lead to another active rep; a waiting lead becomes theirs, claimed."""
    data = parse_json(ReassignIn)
    s = db.session()
    lead = work.reassign(s, access.signed_in_user(), lead_id, data.user_id)
    body = lead_routing(s, lead)
    s.commit()
    return json_response(body)


@bp.post("/leads/<int:lead_id>/status")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Move a lead to its next status",
    tag=WORK_TAG,
    response=LeadRouting,
    body=StatusIn,
    errors=(404, 409),
)
def set_lead_status(lead_id: int) -> Response:
    """Move a lead on: claimed, contacted, qualified, converted, or disqualified with a reason.

    A step the lead cannot take from its status answers 409 naming the steps it can take.
    The attributed seller hears how it ended.
    """
    data = parse_json(StatusIn)
    s = db.session()
    lead = work.set_status(
        s,
        access.signed_in_user(),
        lead_id,
        data.status,
        note=data.note,
        reason=data.reason,
    )
    body = lead_routing(s, lead)
    s.commit()
    return json_response(body)


@bp.post("/leads/<int:lead_id>/notes")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(
    summary="Add a note to a lead",
    tag=WORK_TAG,
    response=HistoryEntry,
    status=201,
    body=NoteIn,
    errors=(404, 409),
)
def add_lead_note(lead_id: int) -> Response:
    """Add a note to the history of a lead in your queues (409 once the person's data was
    erased)."""
    data = parse_json(NoteIn)
    s = db.session()
    entry = work.add_note(s, access.signed_in_user(), lead_id, data.text)
    body = _entry_out(entry)
    s.commit()
    return json_response(body, 201)


@bp.get("/leads/<int:lead_id>/history")
@access.require_scope("read", *WORKERS)
@operation(summary="A lead's history", tag=WORK_TAG, response=History, errors=(404,))
def lead_history(lead_id: int) -> Response:
    """List what happened to a lead of your queues, oldest first: routing, claims, notes, …"""
    s = db.session()
    user = access.signed_in_user()
    lead = s.get(Lead, lead_id)
    if lead is None or not work.can_work(user, {q.id for q in work.queues_of(s, user)}, lead):
        raise NotFound(NOT_IN_YOUR_QUEUES)
    body = History(items=[_entry_out(entry) for entry in service.history(s, lead.id)])
    s.commit()
    return json_response(body)


# --- rules ---------------------------------------------------------------------------------


class Conditions(Input):
    """What a lead must look like for a rule to match: every condition given must hold.

    Leave a condition out (or null) not to check it; a rule without conditions matches every
    lead.
    """

    model_config = ConfigDict(extra="forbid")

    customer: bool | None = Field(
        default=None,
        description="true: the email domain (or a parent domain) belongs to a customer "
        "account; false: it does not",
    )
    free_mail: bool | None = Field(
        default=None, description="true: a free-mail address (gmail.com, …); false: a work domain"
    )
    countries: list[str] | None = Field(
        default=None,
        max_length=100,
        description="ISO 3166 two-letter codes; the lead's country is one of them",
    )
    regions: list[str] | None = Field(
        default=None,
        max_length=100,
        description="The lead's country lies in one of these regions: "
        + ", ".join(domains.REGIONS),
    )
    companies: list[str] | None = Field(
        default=None,
        max_length=100,
        description="The company name contains one of these (ignoring case)",
    )
    title_keywords: list[str] | None = Field(
        default=None,
        max_length=100,
        description="The job title has every word of one of these (ignoring case)",
    )
    min_score: int | None = Field(
        default=None, ge=0, le=100, description="The lead's score is at least this"
    )
    max_score: int | None = Field(
        default=None, ge=0, le=100, description="The lead's score is at most this"
    )
    seller_team_ids: list[Id] | None = Field(
        default=None,
        max_length=100,
        description="The attributed (last-touch) seller is in one of these teams",
    )


class RuleIn(Input):
    """A routing rule as an admin writes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    queue_id: Id = Field(description="Where matching leads go")
    conditions: Conditions = Field(default_factory=Conditions)
    strategy: Strategy | None = Field(
        default=None, description="How a matching lead reaches a rep; null: the queue's own"
    )
    enabled: bool = Field(default=True, description="A switched-off rule is skipped")


class RuleOut(BaseModel):
    """A routing rule; rules are tried by position and the first match decides."""

    id: int
    position: int
    name: str
    enabled: bool
    queue: QueueRef
    strategy: Strategy | None = Field(description="null: the queue's own strategy")
    conditions: Conditions
    created_at: Timestamp
    updated_at: Timestamp


class RuleList(BaseModel):
    """Every rule in the order they are tried."""

    items: list[RuleOut]


class RuleOrderIn(Input):
    """The rules' new order."""

    model_config = ConfigDict(extra="forbid")

    rule_ids: list[Id] = Field(description="Every rule's id exactly once, first tried first")


def rule_out(rule: RoutingRule) -> RuleOut:
    """Describe a routing rule for the API."""
    return RuleOut(
        id=rule.id,
        position=rule.position,
        name=rule.name,
        enabled=rule.enabled,
        queue=QueueRef(id=rule.queue.id, name=rule.queue.name),
        strategy=rule.strategy,
        conditions=Conditions.model_validate(rule.conditions),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _save_rule(s: Session, data: RuleIn, rule: RoutingRule | None = None) -> RoutingRule:
    conditions = data.conditions.model_dump(exclude_none=True)
    try:
        service.check_conditions(conditions)
    except Invalid as exc:  # name the fields as the body has them: conditions.<key>
        fields = {f"conditions.{key}": text for key, text in exc.fields.items()}
        raise Invalid(exc.message, fields) from None
    rule = service.save_rule(
        s,
        service.RuleIn(
            name=data.name,
            queue_id=data.queue_id,
            conditions=conditions,
            strategy=data.strategy,
            enabled=data.enabled,
        ),
        rule,
    )
    s.refresh(rule, ["queue"])
    return rule


@bp.get("/routing/rules")
@access.require_scope("read", *ADMIN)
@operation(summary="List routing rules", tag=ADMIN_TAG, response=RuleList)
def list_rules() -> Response:
    """List the rules in the order they are tried."""
    s = db.session()
    body = RuleList(items=[rule_out(rule) for rule in service.list_rules(s)])
    s.commit()
    return json_response(body)


@bp.post("/routing/rules")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Add a routing rule", tag=ADMIN_TAG, response=RuleOut, status=201, body=RuleIn)
def create_rule() -> Response:
    """Add a rule; it is tried after the existing ones (reorder to move it up)."""
    data = parse_json(RuleIn)
    s = db.session()
    rule = _save_rule(s, data)
    body = rule_out(rule)
    s.commit()
    response = json_response(body, 201)
    response.headers["Location"] = url_for("routing_api.get_rule", rule_id=rule.id)
    return response


@bp.get("/routing/rules/<int:rule_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a routing rule", tag=ADMIN_TAG, response=RuleOut, errors=(404,))
def get_rule(rule_id: int) -> Response:
    """Return one rule with its conditions."""
    s = db.session()
    body = rule_out(service.get_rule(s, rule_id))
    s.commit()
    return json_response(body)


@bp.put("/routing/rules/<int:rule_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a routing rule", tag=ADMIN_TAG, response=RuleOut, body=RuleIn, errors=(404,)
)
def update_rule(rule_id: int) -> Response:
    """Replace a rule's name, queue, conditions, strategy and switch; it keeps its place."""
    s = db.session()
    rule = service.get_rule(s, rule_id)
    data = parse_json(RuleIn)
    body = rule_out(_save_rule(s, data, rule))
    s.commit()
    return json_response(body)


@bp.delete("/routing/rules/<int:rule_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Delete a routing rule", tag=ADMIN_TAG, status=204, errors=(404,))
def delete_rule(rule_id: int) -> Response:
    """Delete a rule; the others keep their order."""
    s = db.session()
    service.delete_rule(s, rule_id)
    s.commit()
    return Response(status=204)


@bp.put("/routing/rules/order")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Reorder routing rules", tag=ADMIN_TAG, response=RuleList, body=RuleOrderIn)
def reorder_rules() -> Response:
    """Put the rules in a new order; give every rule's id exactly once."""
    data = parse_json(RuleOrderIn)
    s = db.session()
    body = RuleList(items=[rule_out(rule) for rule in service.reorder_rules(s, data.rule_ids)])
    s.commit()
    return json_response(body)


# --- dry run -------------------------------------------------------------------------------


class SampleLead(Input):
    """A made-up lead to route; nothing is stored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=254)
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)
    country: str = Field(default="", description="An ISO code or a country's name")
    utm_content: str = Field(
        default="",
        max_length=200,
        description="A tracked-link code, as a lead carries it: attributes the sample to the "
        "link's seller and content",
    )

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        return str(intake.checked_email(value))

    @field_validator("country")
    @classmethod
    def _alpha_2(cls, value: str) -> str:
        return intake.country_code(value)


class FactsOut(BaseModel):
    """What the rules see of a lead."""

    email_domain: str
    company_domain: str
    free_mail: bool
    account_id: int | None = Field(description="The customer account of the domain, if any")
    account_name: str
    country: str
    region: str
    company: str
    job_title: str
    score: int
    seller_id: int | None = Field(description="The attributed (last-touch) seller, if any")
    seller_name: str
    seller_team_id: int | None
    seller_team_name: str


class CheckOut(BaseModel):
    """One condition of a rule, and whether it held."""

    condition: str
    ok: bool
    why: str


class RuleTried(BaseModel):
    """A rule tried in order, until one matched."""

    rule_id: int
    name: str
    matched: bool
    why: str
    checks: list[CheckOut] = Field(default=[], description="Empty for a switched-off rule")


class QueueChosen(BaseModel):
    """The queue the lead goes to, and why."""

    id: int
    name: str
    why: str


class RepConsidered(BaseModel):
    """A queue member considered for the lead."""

    user_id: int
    name: str
    eligible: bool
    why: str


class Assignment(BaseModel):
    """How a rep would be picked; reps claim leads themselves under the claim strategy."""

    strategy: Strategy
    why: str = ""
    reps: list[RepConsidered] = Field(default=[], description="Members considered, in order")
    picked: int | None = Field(default=None, description="The user id the lead would go to")


class DryRunOut(BaseModel):
    """Where a lead would go, with the trace of every decision."""

    facts: FactsOut
    rules: list[RuleTried]
    queue: QueueChosen | None = Field(description="null when no rule matched and no default")
    assignment: Assignment
    due_at: Timestamp | None = Field(description="When the SLA would run out if routed now")


@bp.post("/routing/dry-run")
@access.require_scope("read", *ADMIN)  # it changes nothing
@operation(
    summary="Try the rules on a sample lead", tag=ADMIN_TAG, response=DryRunOut, body=SampleLead
)
def dry_run() -> Response:
    """Say where a lead like this would go and why, trying the rules as they are now.

    Nothing is stored: no lead, no touches, and the reps' turn counters stay where they are.
    """
    data = parse_json(SampleLead)
    s = db.session()
    config = current_app.config
    sample = service.Sample(
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        company=data.company,
        job_title=data.job_title,
        country=data.country,
        code=data.utm_content,
    )
    tried = service.try_sample(
        s,
        sample,
        service.RoutingSettings.from_config(config),
        lookback_days=int(config["ATTRIBUTION_LOOKBACK_DAYS"]),
    )
    return json_response(DryRunOut.model_validate(tried.trace))


# --- customer accounts ---------------------------------------------------------------------


class AccountOut(BaseModel):
    """A known customer: leads from its domains are customer leads."""

    id: int
    name: str
    domains: list[str]
    crm_id: str
    owner_team: TeamRef | None
    owner: UserRef | None
    created_at: Timestamp
    updated_at: Timestamp


class AccountList(BaseModel):
    """Customer accounts by name."""

    items: list[AccountOut]


class AccountQuery(Input):
    """Search for accounts."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in names and domains")


class AccountIn(Input):
    """A customer account as an admin gives it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(
        min_length=1, max_length=100, description="Its email domains, e.g. acme.com"
    )
    crm_id: str = Field(default="", max_length=120, description="The CRM's id of the account")
    owner_team_id: Id | None = None
    owner_id: Id | None = Field(default=None, description="The account owner's user id")


class AccountsCsv(RootModel[str]):
    """CSV text (UTF-8) with a header line naming the columns name, domains (separated by ;
    or spaces), owner_team (a team's name), owner_email and crm_id; name and domains are
    required. A row updates the account with its crm_id, else the account of its name, else
    creates one."""


class ImportedRow(BaseModel):
    """What happened to one row of the file."""

    line: int = Field(description="The row number a spreadsheet shows (the header is 1)")
    name: str
    status: Literal["created", "updated", "error"]
    message: str = Field(description="Why the row was refused; empty otherwise")


class ImportReportOut(BaseModel):
    """The outcome of an import, row by row; a refused row changes nothing."""

    created: int
    updated: int
    errors: int
    rows: list[ImportedRow]


def account_out(s: Session, account: Account) -> AccountOut:
    """Describe a customer account for the API."""
    team = s.get(Team, account.owner_team_id) if account.owner_team_id else None
    return AccountOut(
        id=account.id,
        name=account.name,
        domains=sorted(account.domain_names),
        crm_id=account.crm_id,
        owner_team=TeamRef(id=team.id, name=team.name) if team else None,
        owner=UserRef(id=account.owner.id, name=account.owner.name) if account.owner else None,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def _account_data(data: AccountIn) -> service.AccountIn:
    return service.AccountIn(
        name=data.name,
        domains=data.domains,
        crm_id=data.crm_id,
        owner_team_id=data.owner_team_id,
        owner_id=data.owner_id,
    )


@bp.get("/accounts")
@access.require_scope("read", *ADMIN)
@operation(
    summary="List customer accounts", tag=ACCOUNTS_TAG, response=AccountList, query=AccountQuery
)
def list_accounts() -> Response:
    """List customer accounts by name, optionally searched by name or domain."""
    query = parse_query(AccountQuery)
    s = db.session()
    body = AccountList(items=[account_out(s, a) for a in service.list_accounts(s, query.q)])
    s.commit()
    return json_response(body)


@bp.post("/accounts")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Add a customer account",
    tag=ACCOUNTS_TAG,
    response=AccountOut,
    status=201,
    body=AccountIn,
)
def create_account() -> Response:
    """Add a customer; a domain belongs to one account only, and free-mail domains to none."""
    data = parse_json(AccountIn)
    s = db.session()
    account = service.save_account(s, _account_data(data))
    body = account_out(s, account)
    s.commit()
    response = json_response(body, 201)
    response.headers["Location"] = url_for("routing_api.get_account", account_id=account.id)
    return response


@bp.get("/accounts/<int:account_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a customer account", tag=ACCOUNTS_TAG, response=AccountOut, errors=(404,))
def get_account(account_id: int) -> Response:
    """Return one customer account with its domains."""
    s = db.session()
    body = account_out(s, service.get_account(s, account_id))
    s.commit()
    return json_response(body)


@bp.put("/accounts/<int:account_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a customer account",
    tag=ACCOUNTS_TAG,
    response=AccountOut,
    body=AccountIn,
    errors=(404,),
)
def update_account(account_id: int) -> Response:
    """Replace an account's name, domains, CRM id and owners."""
    s = db.session()
    account = service.get_account(s, account_id)
    data = parse_json(AccountIn)
    body = account_out(s, service.save_account(s, _account_data(data), account))
    s.commit()
    return json_response(body)


@bp.delete("/accounts/<int:account_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Delete a customer account", tag=ACCOUNTS_TAG, status=204, errors=(404,))
def delete_account(account_id: int) -> Response:
    """Delete an account and its domains; its leads stay, no longer marked as a customer's."""
    s = db.session()
    service.delete_account(s, account_id)
    s.commit()
    return Response(status=204)


@bp.post("/accounts/import")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Import customer accounts from CSV",
    tag=ACCOUNTS_TAG,
    response=ImportReportOut,
    body=AccountsCsv,
    content_type="text/csv",
    errors=(413, 415),
)
def import_accounts() -> Response:
    """Create or update accounts from a CSV file sent as the body (`Content-Type: text/csv`).

    Each row is taken or refused on its own: the answer says, row by row, what was created,
    updated, or refused and why. A file that cannot be read at all answers 422.
    """
    if request.mimetype != "text/csv":
        raise UnsupportedMediaType("Send the CSV file as the body with 'Content-Type: text/csv'.")
    s = db.session()
    try:
        text = decode_upload(request.get_data(), kinds="CSV")
        report = accounts_import.import_accounts(s, text)
    except Invalid as exc:  # the body is the file here
        raise Invalid(exc.message, {"body": exc.message}) from None
    body = ImportReportOut(
        created=len(report.created),
        updated=len(report.updated),
        errors=len(report.errors),
        rows=[
            ImportedRow(line=row.number, name=row.name, status=row.outcome, message=row.message)
            for row in report.rows
        ],
    )
    s.commit()
    return json_response(body)


# --- queue settings ------------------------------------------------------------------------


class MemberOut(BaseModel):
    """A rep in a queue."""

    user: UserRef
    weight: int = Field(description="Share of leads under the weighted strategy")
    capacity: int = Field(description="Open leads at most; 0 means no limit")
    available: bool = Field(description="Unavailable reps get no leads assigned")
    assigned_count: int = Field(description="Leads assigned so far (round-robin fairness)")


class QueueSettings(BaseModel):
    """A queue with its strategy, SLA, calendar and members."""

    id: int
    name: str
    description: str
    strategy: Strategy
    sla_minutes: int
    claim_minutes: int = Field(
        description="Minutes a rep has to contact a lead after claiming (or being given) it "
        "before it returns to the queue"
    )
    business_hours: bool = Field(
        description="Count the SLA and the claim window in working hours only (workdays, "
        "day_start to day_end)"
    )
    timezone: str
    workdays: list[int] = Field(description="0 = Monday … 6 = Sunday")
    day_start: str = Field(description="HH:MM, in the queue's time zone")
    day_end: str
    lead_user: UserRef | None = Field(description="Told when a lead goes overdue or returns")
    members: list[MemberOut]


class QueueSettingsList(BaseModel):
    """Every queue by name."""

    items: list[QueueSettings]


class QueueIn(Input):
    """A queue's settings; fields left out take their defaults."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: MultiLineText = Field(default="", max_length=5000)
    strategy: Strategy = Strategy.CLAIM
    sla_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    claim_minutes: int = Field(
        default=service.DEFAULT_CLAIM_MINUTES,
        ge=1,
        le=service.MAX_CLAIM_MINUTES,
        description="Contact within this many minutes of claiming, or the lead returns",
    )
    business_hours: bool = False
    timezone: str = Field(default="UTC", description="An IANA time zone, e.g. Europe/Berlin")
    workdays: list[int] = Field(
        default=[0, 1, 2, 3, 4], max_length=7, description="0 = Monday … 6 = Sunday"
    )
    day_start: str = Field(default="09:00", description="HH:MM")
    day_end: str = Field(default="17:00", description="HH:MM")
    lead_user_id: Id | None = Field(
        default=None, description="Who is told when a lead goes overdue or returns"
    )


class MemberIn(Input):
    """A rep's place in a queue."""

    model_config = ConfigDict(extra="forbid")

    weight: int = Field(default=1, ge=1, le=100)
    capacity: int = Field(default=0, ge=0, le=10_000, description="0 means no limit")
    available: bool = True


def member_out(member: QueueMember) -> MemberOut:
    """Describe a queue member for the API."""
    return MemberOut(
        user=UserRef(id=member.user.id, name=member.user.name),
        weight=member.weight,
        capacity=member.capacity,
        available=member.available,
        assigned_count=member.assigned_count,
    )


def queue_settings(queue: Queue) -> QueueSettings:
    """Describe a queue's settings and members for the API."""
    lead_user = queue.lead_user
    return QueueSettings(
        id=queue.id,
        name=queue.name,
        description=queue.description,
        strategy=queue.strategy,
        sla_minutes=queue.sla_minutes,
        claim_minutes=queue.claim_minutes,
        business_hours=queue.business_hours,
        timezone=queue.timezone,
        workdays=queue.workdays,
        day_start=queue.day_start,
        day_end=queue.day_end,
        lead_user=UserRef(id=lead_user.id, name=lead_user.name) if lead_user else None,
        members=[member_out(m) for m in queue.members],
    )


@bp.get("/routing/queues")
@access.require_scope("read", *ADMIN)
@operation(summary="List queues with their reps", tag=ADMIN_TAG, response=QueueSettingsList)
def list_queue_settings() -> Response:
    """List every queue with its strategy, SLA, calendar and members."""
    s = db.session()
    body = QueueSettingsList(items=[queue_settings(q) for q in service.list_queues(s)])
    s.commit()
    return json_response(body)


@bp.put("/routing/queues/<int:queue_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a queue's settings",
    tag=ADMIN_TAG,
    response=QueueSettings,
    body=QueueIn,
    errors=(404,),
)
def update_queue(queue_id: int) -> Response:
    """Replace a queue's name, strategy, SLA and calendar; its members stay."""
    s = db.session()
    queue = service.get_queue(s, queue_id)
    data = parse_json(QueueIn)
    service.save_queue(s, service.QueueIn(**data.model_dump()), queue)
    s.refresh(queue, ["lead_user"])
    body = queue_settings(queue)
    s.commit()
    return json_response(body)


@bp.put("/routing/queues/<int:queue_id>/members/<int:member_user_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Add a rep to a queue or change their place",
    tag=ADMIN_TAG,
    response=MemberOut,
    body=MemberIn,
    errors=(404,),
)
def set_queue_member(queue_id: int, member_user_id: int) -> Response:
    """Add a rep (or admin) to a queue, or change their weight, capacity and availability."""
    s = db.session()
    queue = service.get_queue(s, queue_id)
    data = parse_json(MemberIn)
    member = service.set_member(
        s,
        queue,
        member_user_id,
        weight=data.weight,
        capacity=data.capacity,
        available=data.available,
    )
    body = member_out(member)
    s.commit()
    return json_response(body)


@bp.delete("/routing/queues/<int:queue_id>/members/<int:member_user_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Take a rep out of a queue", tag=ADMIN_TAG, status=204, errors=(404,))
def remove_queue_member(queue_id: int, member_user_id: int) -> Response:
    """Take a rep out of a queue; the leads they hold stay theirs."""
    s = db.session()
    service.remove_member(s, service.get_queue(s, queue_id), member_user_id)
    s.commit()
    return Response(status=204)


# --- the CRM outbox ------------------------------------------------------------------------


class OutboxQuery(Input):
    """Filters for outbox messages."""

    model_config = ConfigDict(extra="forbid")

    status: OutboxStatus | None = None
    limit: int = Field(default=100, ge=1, le=500)


class MessageOut(BaseModel):
    """A message for the CRM; its message_id stays the same across tries."""

    id: int
    message_id: str = Field(description="Sent as webhook-id, so the CRM can drop duplicates")
    destination: str
    event_type: str
    lead_id: int | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_error: str
    created_at: Timestamp
    delivered_at: Timestamp | None


class OutboxCounts(BaseModel):
    """Messages per status, and whether the CRM destination is switched off."""

    pending: int
    delivered: int
    dead: int
    disabled_reason: str = Field(description="Why the destination is off; empty when it is on")


class OutboxOut(BaseModel):
    """The outbox's counts and its latest messages, newest first."""

    summary: OutboxCounts
    items: list[MessageOut]


def message_out(message: OutboxMessage) -> MessageOut:
    """Describe an outbox message for the API (without its payload)."""
    return MessageOut(
        id=message.id,
        message_id=message.message_id,
        destination=message.destination,
        event_type=message.event_type,
        lead_id=message.lead_id,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        last_error=message.last_error,
        created_at=message.created_at,
        delivered_at=message.delivered_at,
    )


@bp.get("/outbox")
@access.require_scope("read", *ADMIN)
@operation(
    summary="The CRM outbox",
    tag=ADMIN_TAG,
    response=OutboxOut,
    query=OutboxQuery,
    links={
        "resend": Link(
            "routing_api.resend_message", "POST", {"message_id": "$response.body#/items/0/id"}
        )
    },
)
def list_outbox() -> Response:
    """Count the CRM messages by status and list the latest, optionally of one status."""
    query = parse_query(OutboxQuery)
    s = db.session()
    counts = outbox.summary(s)
    body = OutboxOut(
        summary=OutboxCounts(**asdict(counts)),
        items=[message_out(m) for m in outbox.list_messages(s, query.status, limit=query.limit)],
    )
    s.commit()
    return json_response(body)


@bp.post("/outbox/<int:message_id>/resend")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Send an outbox message again",
    tag=ADMIN_TAG,
    response=MessageOut,
    errors=(404, 409),
)
def resend_message(message_id: int) -> Response:
    """Queue a dead (or pending) message for delivery again; its tries start over."""
    s = db.session()
    message = outbox.resend(s, message_id)
    body = message_out(message)
    s.commit()
    return json_response(body)
