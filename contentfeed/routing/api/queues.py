"""Routing API: the queues a rep works, with their open leads."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    Timestamp,
    UserRef,
    json_response,
    operation,
)
from contentfeed.db import utcnow
from contentfeed.routing import (
    work,
)
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    WORK_TAG,
    WORKERS,
)
from contentfeed.routing.models import (
    Queue,
    Strategy,
)
from contentfeed.routing.work import LeadStatus

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
    return json_response(body)
