"""Routing API: queue settings and the reps who work each queue (admins)."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import (
    UserRef,
    json_response,
    operation,
    parse_json,
)
from contentfeed.db import Id
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
from contentfeed.text import Input, MultiLineText

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
        default=queue_setup.DEFAULT_CLAIM_MINUTES,
        ge=1,
        le=queue_setup.MAX_CLAIM_MINUTES,
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
    body = QueueSettingsList(items=[queue_settings(q) for q in queue_setup.list_queues(s)])
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
    queue = queue_setup.get_queue(s, queue_id)
    data = parse_json(QueueIn)
    queue_setup.save_queue(s, queue_setup.QueueIn(**data.model_dump()), queue)
    body = queue_settings(queue)
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
    queue = queue_setup.get_queue(s, queue_id)
    data = parse_json(MemberIn)
    member = queue_setup.set_member(
        s,
        queue,
        member_user_id,
        weight=data.weight,
        capacity=data.capacity,
        available=data.available,
    )
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
