"""Routing API: queue settings and the reps who work each queue (admins)."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    UserRef,
    json_response,
    operation,
    parse_json,
)
from contentfeed.routing import (
    queue_setup,
)
from contentfeed.routing.api import bp
from contentfeed.routing.api.common import (
    ADMIN,
    ADMIN_TAG,
    WRITE_SCOPE,
)
from contentfeed.routing.models import (
    Queue,
    QueueMember,
    Strategy,
)

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
    body = QueueSettingsList(items=[queue_settings(q) for q in queue_setup.list_queues(s)])
    return json_response(body)


@bp.put("/routing/queues/<int:queue_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Change a queue's settings",
    tag=ADMIN_TAG,
    response=QueueSettings,
    body=queue_setup.QueueIn,
    errors=(404,),
)
def update_queue(queue_id: int) -> Response:
    """Replace a queue's name, strategy, SLA and calendar; its members stay."""
    s = db.session()
    queue = queue_setup.get_queue(s, queue_id)
    queue_setup.save_queue(s, parse_json(queue_setup.QueueIn), queue)
    body = queue_settings(queue)
    return json_response(body)


@bp.put("/routing/queues/<int:queue_id>/members/<int:member_user_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(
    summary="Add a rep to a queue or change their place",
    tag=ADMIN_TAG,
    response=MemberOut,
    body=queue_setup.MemberIn,
    errors=(404,),
)
def set_queue_member(queue_id: int, member_user_id: int) -> Response:
    """Add a rep (or admin) to a queue, or change their weight, capacity and availability."""
    s = db.session()
    queue = queue_setup.get_queue(s, queue_id)
    member = queue_setup.set_member(s, queue, member_user_id, parse_json(queue_setup.MemberIn))
    body = member_out(member)
    return json_response(body)


@bp.delete("/routing/queues/<int:queue_id>/members/<int:member_user_id>")
@access.require_scope(WRITE_SCOPE, *ADMIN)
@operation(summary="Take a rep out of a queue", tag=ADMIN_TAG, status=204, errors=(404,))
def remove_queue_member(queue_id: int, member_user_id: int) -> Response:
    """Take a rep out of a queue; the leads they hold stay theirs."""
    s = db.session()
    queue_setup.remove_member(s, queue_setup.get_queue(s, queue_id), member_user_id)
    return Response(status=204)
