"""Routing API: working a lead (claiming, releasing, handing over, statuses, notes, history)."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    QueueRef,
    Timestamp,
    UserRef,
    json_response,
    operation,
    parse_json,
)
from contentfeed.db import Id
from contentfeed.routing import service, work
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    WORK_TAG,
    WORKERS,
    WRITE_SCOPE,
)
from contentfeed.routing.models import (
    LeadActivity,
)
from contentfeed.routing.work import Lead, LeadStatus
from contentfeed.text import Input, MultiLineText

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


def lead_routing(lead: Lead, names: service.RoutingNames) -> LeadRouting:
    """Describe a lead's routing for the API, naming its queue and rep."""
    queue_name = names.queues.get(lead.queue_id) if lead.queue_id is not None else None
    user_name = names.users.get(lead.assignee_id) if lead.assignee_id is not None else None
    return LeadRouting(
        id=lead.id,
        name=lead.full_name,
        email=lead.email,
        company=lead.company,
        status=lead.status,
        queue=QueueRef(id=lead.queue_id, name=queue_name)
        if lead.queue_id is not None and queue_name is not None
        else None,
        assignee=UserRef(id=lead.assignee_id, name=user_name)
        if lead.assignee_id is not None and user_name is not None
        else None,
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


def _routing_of(lead: Lead) -> LeadRouting:
    return lead_routing(lead, service.routing_names(db.session(), [lead]))


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
    body = ClaimedNext(lead=_routing_of(lead) if lead else None)
    return json_response(body)


@bp.post("/leads/<int:lead_id>/claim")
@access.require_scope(WRITE_SCOPE, *WORKERS)
@operation(summary="Claim a lead", tag=WORK_TAG, response=LeadRouting, errors=(404, 409))
def claim_lead(lead_id: int) -> Response:
    """Claim one waiting lead of your queues; 409 when someone has it already."""
    s = db.session()
    lead = work.claim(s, access.signed_in_user(), lead_id)
    body = _routing_of(lead)
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
    body = _routing_of(lead)
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
    body = _routing_of(lead)
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
    body = _routing_of(lead)
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
    return json_response(body, 201)


@bp.get("/leads/<int:lead_id>/history")
@access.require_scope("read", *WORKERS)
@operation(summary="A lead's history", tag=WORK_TAG, response=History, errors=(404,))
def lead_history(lead_id: int) -> Response:
    """List what happened to a lead of your queues, oldest first: routing, claims, notes, …"""
    entries = work.history_of(db.session(), access.signed_in_user(), lead_id)
    body = History(items=[_entry_out(entry) for entry in entries])
    return json_response(body)
