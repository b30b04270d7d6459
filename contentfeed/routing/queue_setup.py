"""Queues: their settings (strategy, SLA, calendar, claim window) and the reps who work them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, Team, User
from contentfeed.errors import Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.routing import calendar
from contentfeed.routing.models import (
    Queue,
    QueueMember,
    Strategy,
)
from contentfeed.text import control_problem, name_key

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


@dataclass(frozen=True)
class QueueIn:
    """A queue's settings as an admin edits them."""

    name: str
    description: str = ""
    strategy: Strategy = Strategy.CLAIM
    sla_minutes: int = 60
    business_hours: bool = False
    claim_minutes: int = DEFAULT_CLAIM_MINUTES
    timezone: str = "UTC"
    workdays: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    day_start: str = "09:00"
    day_end: str = "17:00"
    lead_user_id: int | None = None


def save_queue(s: Session, data: QueueIn, queue: Queue | None = None) -> Queue:
    """Create or update a queue, checking its SLA and calendar."""
    problems: dict[str, str] = {}
    name = data.name.strip()
    for field_name, text, multiline in (
        ("name", data.name, False),
        ("description", data.description, True),
        ("timezone", data.timezone, False),
        ("day_start", data.day_start, False),
        ("day_end", data.day_end, False),
    ):
        problem = control_problem(text, multiline=multiline)
        if problem:
            problems[field_name] = problem
    if problems:
        raise Invalid(_("Some fields need attention."), problems)
    if not name or len(name) > 120:
        problems["name"] = _("required, at most 120 characters")
    else:
        other = queue_by_name(s, name)
        if other is not None and (queue is None or other.id != queue.id):
            problems["name"] = _("another queue has this name")
    if not 1 <= data.sla_minutes <= 60 * 24 * 30:
        problems["sla_minutes"] = _("between 1 minute and 30 days")
    if not 1 <= data.claim_minutes <= MAX_CLAIM_MINUTES:
        problems["claim_minutes"] = _(
            "between 1 and %(most)s minutes (a week)", most=MAX_CLAIM_MINUTES
        )
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems["timezone"] = _("unknown time zone %(zone)s", zone=repr(data.timezone))
    try:
        start, end = calendar.parse_clock(data.day_start), calendar.parse_clock(data.day_end)
        if data.business_hours and end <= start:
            problems["day_end"] = _("must be after the start of the day")
    except ValueError:
        problems["day_start"] = _("use HH:MM, e.g. 09:00")
    if data.business_hours and not [d for d in data.workdays if 0 <= d <= 6]:
        problems["workdays"] = _("pick at least one working day")
    if data.lead_user_id is not None and s.get(User, data.lead_user_id) is None:
        problems["lead_user_id"] = _("no user has this id")
    if problems:
        raise Invalid(_("Some fields need attention."), problems)
    queue = queue or Queue()
    queue.name = name
    queue.description = data.description.strip()
    queue.strategy = data.strategy
    queue.sla_minutes = data.sla_minutes
    queue.claim_minutes = data.claim_minutes
    queue.business_hours = data.business_hours
    queue.timezone = data.timezone
    queue.workdays = sorted({d for d in data.workdays if 0 <= d <= 6})
    queue.day_start = data.day_start.strip()
    queue.day_end = data.day_end.strip()
    queue.lead_user_id = data.lead_user_id
    s.add(queue)
    s.flush()
    s.refresh(queue, ["lead_user"])  # the lead's id may have changed: load who it is now
    return queue


def set_member(
    s: Session,
    queue: Queue,
    user_id: int,
    *,
    weight: int = 1,
    capacity: int = 0,
    available: bool = True,
) -> QueueMember:
    """Add a rep to a queue or change their weight, capacity and availability."""
    user = s.get(User, user_id)
    if user is None or user.role not in (Role.REP, Role.ADMIN):
        raise Invalid(_("Only reps (and admins) work queues."), {"user_id": _("not a rep")})
    if not 1 <= weight <= 100:
        raise Invalid(_("The weight is between 1 and 100."), {"weight": _("between 1 and 100")})
    if not 0 <= capacity <= 10_000:
        raise Invalid(_("The capacity is 0 (no limit) or more."), {"capacity": _("0 or more")})
    member = next((m for m in queue.members if m.user_id == user_id), None)
    if member is None:
        member = QueueMember(queue=queue, user=user, assigned_count=_fair_start(queue))
        s.add(member)
    member.weight, member.capacity, member.available = weight, capacity, available
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
