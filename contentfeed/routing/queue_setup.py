"""Queues: their settings (strategy, SLA, calendar, claim window) and the reps who work them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, Team, User
from contentfeed.db import Id
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import N_, _
from contentfeed.routing import calendar
from contentfeed.routing.models import (
    Queue,
    QueueMember,
    Strategy,
)
from contentfeed.text import Input, MultiLineText, name_key

DEFAULT_CLAIM_MINUTES = 30  # a new queue's claim window (Queue.claim_minutes)
MAX_CLAIM_MINUTES = 60 * 24 * 7  # a claim window longer than a week is a forgotten lead


def new_queue(s: Session, name: str, sla_minutes: int, team_kind: str) -> Queue:
    queue = Queue(name=name, sla_minutes=sla_minutes, strategy=Strategy.CLAIM)
    reps = s.scalars(
        sa.select(User)
        .join(Team, Team.id == User.team_id)
        .where(User.role == Role.REP, User.is_active.is_(True), Team.kind == team_kind)
        .order_by(User.id)
    )
    queue.members = [QueueMember(user=rep) for rep in reps]
    s.add(queue)
    s.flush()
    return queue


def queue_by_name(s: Session, name: str) -> Queue | None:
    """Return the queue of this name, if any, ignoring case ("Équipe" is "équipe")."""
    exact = s.scalar(sa.select(Queue).where(Queue.name == name))
    if exact is not None:
        return exact
    # Compared in Python: SQLite's lower() folds ASCII only. Queues are few.
    key = name_key(name)
    return next((q for q in s.scalars(sa.select(Queue)) if name_key(q.name) == key), None)


# --- queues and rules ----------------------------------------------------------------------


def list_queues(s: Session) -> list[Queue]:
    """Return every queue with its members, by name."""
    return list(
        s.scalars(
            sa.select(Queue)
            .options(selectinload(Queue.members).selectinload(QueueMember.user))
            .order_by(Queue.name)
        )
    )


def get_queue(s: Session, queue_id: int) -> Queue:
    """Return a queue or raise NotFound."""
    queue = s.get(Queue, queue_id)
    if queue is None:
        raise NotFound(_("No queue has this id."))
    return queue


MAX_SLA_MINUTES = 60 * 24 * 30


def _between(low: int, high: int, message: str, **values: object) -> Any:
    """An int field whose bounds the OpenAPI document shows and whose refusal reads as
    ``message`` (translated when the check runs, in the request's language)."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(_(message, **values))
        return value

    return AfterValidator(check)


class QueueIn(Input):
    """A queue's settings as an admin writes them on the page or through the API (fields left
    out take their defaults). Every rule of a single queue lives here; ``save_queue`` adds what
    needs the database (a name no other queue has, a lead who exists)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    description: MultiLineText = Field(default="", max_length=5000)
    strategy: Strategy = Strategy.CLAIM
    sla_minutes: Annotated[
        int,
        Field(json_schema_extra={"minimum": 1, "maximum": MAX_SLA_MINUTES}),
        _between(1, MAX_SLA_MINUTES, N_("between 1 minute and 30 days")),
    ] = 60
    claim_minutes: Annotated[
        int,
        Field(
            json_schema_extra={"minimum": 1, "maximum": MAX_CLAIM_MINUTES},
            description="Contact within this many minutes of claiming, or the lead returns",
        ),
        _between(
            1,
            MAX_CLAIM_MINUTES,
            N_("between 1 and %(most)s minutes (a week)"),
            most=MAX_CLAIM_MINUTES,
        ),
    ] = DEFAULT_CLAIM_MINUTES
    business_hours: bool = False
    timezone: str = Field(
        default="UTC", max_length=64, description="An IANA time zone, e.g. Europe/Berlin"
    )
    workdays: list[int] = Field(
        default=[0, 1, 2, 3, 4], max_length=7, description="0 = Monday … 6 = Sunday"
    )
    day_start: str = Field(default="09:00", description="HH:MM")
    day_end: str = Field(default="17:00", description="HH:MM")
    lead_user_id: Id | None = Field(
        default=None, description="Who is told when a lead goes overdue or returns"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("unknown time zone %(zone)s", zone=repr(value))) from None
        return value

    @field_validator("workdays")
    @classmethod
    def _some_workday(cls, value: list[int], info: ValidationInfo) -> list[int]:
        days = sorted({d for d in value if 0 <= d <= 6})
        if info.data.get("business_hours") and not days:
            raise ValueError(_("pick at least one working day"))
        return days

    @field_validator("day_start", "day_end")
    @classmethod
    def _clock(cls, value: str, info: ValidationInfo) -> str:
        try:
            clock = calendar.parse_clock(value)
        except ValueError:
            raise ValueError(_("use HH:MM, e.g. 09:00")) from None
        start = info.data.get("day_start")
        after_start = start is None or clock > calendar.parse_clock(start)
        if info.field_name == "day_end" and info.data.get("business_hours") and not after_start:
            raise ValueError(_("must be after the start of the day"))
        return value


class MemberIn(Input):
    """A rep's place in a queue."""

    model_config = ConfigDict(extra="forbid")

    weight: int = Field(default=1, ge=1, le=100)
    capacity: int = Field(default=0, ge=0, le=10_000, description="0 means no limit")
    available: bool = True


def save_queue(s: Session, data: QueueIn, queue: Queue | None = None) -> Queue:
    """Create or update a queue, checking its SLA and calendar."""
    problems: dict[str, str] = {}
    name = data.name
    other = queue_by_name(s, name)
    if other is not None and (queue is None or other.id != queue.id):
        problems["name"] = _("another queue has this name")
    if data.lead_user_id is not None and s.get(User, data.lead_user_id) is None:
        problems["lead_user_id"] = _("no user has this id")
    if problems:
        raise Invalid(_("Some fields need attention."), problems)
    queue = queue or Queue()
    queue.name = name
    queue.description = data.description
    queue.strategy = data.strategy
    queue.sla_minutes = data.sla_minutes
    queue.claim_minutes = data.claim_minutes
    queue.business_hours = data.business_hours
    queue.timezone = data.timezone
    queue.workdays = data.workdays
    queue.day_start = data.day_start
    queue.day_end = data.day_end
    queue.lead_user_id = data.lead_user_id
    s.add(queue)
    s.flush()
    s.refresh(queue, ["lead_user"])  # the lead's id may have changed: load who it is now
    return queue


def set_member(
    s: Session,
    queue: Queue,
    user_id: int,
    place: MemberIn | None = None,
) -> QueueMember:
    """Add a rep to a queue or change their weight, capacity and availability."""
    place = place or MemberIn()
    user = s.get(User, user_id)
    if user is None or user.role not in (Role.REP, Role.ADMIN):
        raise Invalid(_("Only reps (and admins) work queues."), {"user_id": _("not a rep")})
    member = next((m for m in queue.members if m.user_id == user_id), None)
    if member is None:
        member = QueueMember(queue=queue, user=user, assigned_count=_fair_start(queue))
        s.add(member)
    member.weight, member.capacity, member.available = place.weight, place.capacity, place.available
    s.flush()
    return member


def _fair_start(queue: Queue) -> int:
    # A rep joining late starts level with the least-served rep, so round-robin does not
    # hand them every lead until they catch up.
    return min((m.assigned_count for m in queue.members), default=0)


def has_queues(s: Session) -> bool:
    """Tell whether any queue exists."""
    return bool(s.scalar(sa.select(sa.func.count()).select_from(Queue)))


def remove_member(s: Session, queue: Queue, user_id: int) -> User:
    """Take a rep out of a queue (their leads stay theirs); return who it was."""
    member = next((m for m in queue.members if m.user_id == user_id), None)
    if member is None:
        raise NotFound(_("This rep is not in the queue."))
    user = member.user
    queue.members.remove(member)
    s.flush()
    return user


def _calendar(queue: Queue) -> calendar.Calendar | None:
    if not queue.business_hours:
        return None
    return calendar.Calendar.of(queue.timezone, queue.workdays, queue.day_start, queue.day_end)


def sla_due(queue: Queue, start: datetime) -> datetime:
    """When a lead routed to this queue at ``start`` must be claimed and contacted."""
    return calendar.due_at(start, queue.sla_minutes, _calendar(queue))


def claim_due(queue: Queue | None, start: datetime) -> datetime:
    """When a rep who claimed (or was given) a lead of this queue at ``start`` must have
    contacted the person, in the queue's business hours when it counts them."""
    if queue is None:  # a lead outside every queue: the default window, around the clock
        return start + timedelta(minutes=DEFAULT_CLAIM_MINUTES)
    minutes = queue.claim_minutes or DEFAULT_CLAIM_MINUTES  # an unsaved queue: the default
    return calendar.due_at(start, minutes, _calendar(queue))
