"""Working the queue: claiming leads (one rep per lead, also under load), their statuses and
notes, release and reassignment, the queue page and the SLA sweep. Routing itself (where a
lead goes) is in service.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed import i18n
from contentfeed.accounts.models import Role, User
from contentfeed.customers import cards
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid, NotFound
from contentfeed.i18n import _, _l
from contentfeed.leads.models import CLOSED_STATUSES

# Routing's pages and API handlers name leads and their statuses through this module, the
# face of lead work for adapters (they import no other domain's models).
from contentfeed.leads.models import Lead as Lead
from contentfeed.leads.models import LeadStatus as LeadStatus
from contentfeed.leads.service import last_touch
from contentfeed.routing.lead_history import history, record, returned_text
from contentfeed.routing.models import LeadActivity, Queue, QueueMember
from contentfeed.routing.outbox import enqueue
from contentfeed.routing.queue_setup import claim_due, get_queue
from contentfeed.routing.seller_notices import tell_queue_lead, tell_seller_outcome
from contentfeed.text import checked_text

# The statuses a queue shows: qualified leads have left the queue for the rep's pipeline.
QUEUE_STATUSES = (LeadStatus.NEW, LeadStatus.CLAIMED, LeadStatus.CONTACTED)
# Where a lead may go next from each status (release and reassign are separate actions).
TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    LeadStatus.NEW: frozenset({LeadStatus.CLAIMED, LeadStatus.DISQUALIFIED}),
    LeadStatus.CLAIMED: frozenset({LeadStatus.CONTACTED, LeadStatus.DISQUALIFIED}),
    LeadStatus.CONTACTED: frozenset({LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED}),
    LeadStatus.QUALIFIED: frozenset({LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED}),
    LeadStatus.DISQUALIFIED: frozenset(),
    LeadStatus.CONVERTED: frozenset(),
}


# --- claiming and working a lead ----------------------------------------------------------


def can_work(user: User, queue_ids: set[int], lead: Lead) -> bool:
    """Tell whether a user may act on a lead: admins always, reps in its queue or its owner."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.REP and (lead.queue_id in queue_ids or lead.assignee_id == user.id)


def queues_of(s: Session, user: User) -> list[Queue]:
    """Return the queues a user works (admins see every queue)."""
    query = sa.select(Queue).order_by(Queue.name)
    if user.role != Role.ADMIN:
        query = query.join(QueueMember).where(QueueMember.user_id == user.id)
    return list(s.scalars(query))


def my_queue(s: Session, user: User, queue_id: int) -> Queue:
    """Return one of the user's queues (admins: any), or raise NotFound."""
    queue = get_queue(s, queue_id)
    if user.role != Role.ADMIN and not any(m.user_id == user.id for m in queue.members):
        raise NotFound(_("You are not a member of a queue with this id."))
    return queue


def my_leads(s: Session, user: User) -> list[Lead]:
    """Return the leads a rep holds and still works (claimed, contacted, qualified), most
    urgent first."""
    return list(
        s.scalars(
            sa.select(Lead)
            .where(
                Lead.assignee_id == user.id,
                Lead.merged_into_id.is_(None),
                Lead.status.in_([LeadStatus.CLAIMED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED]),
            )
            .order_by(Lead.due_at, Lead.id)
        )
    )


def history_of(s: Session, user: User, lead_id: int) -> list[LeadActivity]:
    """Return the history of a lead of the user's queues (merged leads too), oldest first."""
    lead = s.get(Lead, lead_id)
    if lead is None or not can_work(user, {q.id for q in queues_of(s, user)}, lead):
        raise NotFound(_("No lead in your queues has this id."))
    return history(s, lead.id)


def _workable(s: Session, user: User, lead_id: int, *, lock: bool = True) -> Lead:
    lead = s.get(Lead, lead_id, with_for_update=lock)
    if lead is None or lead.merged_into_id is not None:
        raise NotFound(_("No open lead has this id."))
    if not can_work(user, {q.id for q in queues_of(s, user)}, lead):
        raise NotFound(_("No lead in your queues has this id."))
    if lead.erased_at is not None:
        # Erasure closed it; nobody works (or writes notes about) a person who asked to be
        # forgotten. Every action on a lead comes through here, for the page and the API.
        raise Conflict(_("This person's data was erased: the lead is closed and can't be worked."))
    return lead


def claim_next(s: Session, user: User, queue_id: int, now: datetime | None = None) -> Lead | None:
    """Give the rep the most urgent unclaimed lead of a queue, or None when it is empty.

    Safe when many reps click at once: on PostgreSQL the row is locked with FOR UPDATE SKIP
    LOCKED, so each rep skips leads another is taking; on SQLite (where SQLAlchemy silently
    drops SKIP LOCKED) an UPDATE ... WHERE status = 'new' AND assignee_id IS NULL only
    succeeds for the first, and the others try the next lead.
    """
    now = now or utcnow()
    queue = my_queue(s, user, queue_id)
    waiting = (
        sa.select(Lead.id)
        .where(
            Lead.queue_id == queue.id,
            Lead.status == LeadStatus.NEW,
            Lead.assignee_id.is_(None),
            Lead.merged_into_id.is_(None),
        )
        .order_by(Lead.due_at, Lead.id)
        .limit(1)
    )
    if s.get_bind().dialect.name == "postgresql":
        lead_id = s.scalar(waiting.with_for_update(skip_locked=True))
        if lead_id is None:
            return None
        lead = s.get(Lead, lead_id)
        assert lead is not None
        _take(s, lead, user, now)
        return lead
    for _attempt in range(20):
        found = s.scalar(waiting)
        if found is None:
            return None
        lead_id = int(found)
        taken = s.execute(
            sa.update(Lead)
            .where(Lead.id == lead_id, Lead.status == LeadStatus.NEW, Lead.assignee_id.is_(None))
            .values(
                status=LeadStatus.CLAIMED,
                assignee_id=user.id,
                claimed_at=now,
                claim_due_at=claim_due(queue, now),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) == 1:
            lead = s.get(Lead, lead_id, populate_existing=True)
            assert lead is not None
            _after_claim(s, lead, user, now)
            return lead
    return None  # pragma: no cover - twenty rivals in a row took the lead first


def _take(s: Session, lead: Lead, user: User, now: datetime) -> None:
    lead.status = LeadStatus.CLAIMED
    lead.assignee_id = user.id
    lead.claimed_at = now
    lead.claim_due_at = _claim_due(s, lead, now)
    _after_claim(s, lead, user, now)


def _claim_due(s: Session, lead: Lead, now: datetime) -> datetime:
    """The claim's deadline, counted from ``now`` in the lead's queue's claim window (not
    from the lead's response SLA, which may be past already)."""
    return claim_due(s.get(Queue, lead.queue_id) if lead.queue_id else None, now)


def _after_claim(s: Session, lead: Lead, user: User, now: datetime) -> None:
    record(s, lead, "claimed", f"Claimed by {user.name}.", actor=user, now=now)
    enqueue(s, lead, "lead.status_changed", now)
    s.flush()


def claim(s: Session, user: User, lead_id: int, now: datetime | None = None) -> Lead:
    """Claim one particular lead from the queue."""
    now = now or utcnow()
    lead = _workable(s, user, lead_id)
    if lead.status is not LeadStatus.NEW or lead.assignee_id is not None:
        raise Conflict(_("Someone has this lead already."))
    _take(s, lead, user, now)
    return lead


def release(s: Session, user: User, lead_id: int, now: datetime | None = None) -> Lead:
    """Give a claimed lead back to its queue (its SLA clock keeps running from routing)."""
    now = now or utcnow()
    lead = _workable(s, user, lead_id)
    if lead.status is not LeadStatus.CLAIMED:
        raise Conflict(_("Only a claimed lead not yet contacted can be released."))
    if lead.assignee_id != user.id and user.role != Role.ADMIN:
        raise Forbidden(_("Only the rep who claimed it (or an admin) can release this lead."))
    lead.status, lead.assignee_id, lead.claimed_at = LeadStatus.NEW, None, None
    lead.claim_due_at = None
    record(s, lead, "released", f"Released back to the queue by {user.name}.", actor=user, now=now)
    enqueue(s, lead, "lead.status_changed", now)
    s.flush()
    return lead


def reassign(
    s: Session, user: User, lead_id: int, to_user_id: int, now: datetime | None = None
) -> Lead:
    """Hand an open lead to another rep of its queue."""
    now = now or utcnow()
    lead = _workable(s, user, lead_id)
    if not lead.is_open:
        raise Conflict(_("This lead is closed."))
    target = s.get(User, to_user_id)
    if target is None or not target.is_active or target.role not in (Role.REP, Role.ADMIN):
        raise Invalid(_("Pick an active rep."), {"user_id": _("not an active rep")})
    if lead.assignee_id == target.id:
        return lead  # nothing changes: no history line, no CRM message
    lead.assignee_id = target.id
    if lead.status is LeadStatus.NEW:
        lead.status, lead.claimed_at = LeadStatus.CLAIMED, now
    if lead.status is LeadStatus.CLAIMED:
        # Not contacted yet: the new rep gets a full claim window of their own.
        lead.claim_due_at = _claim_due(s, lead, now)
    record(
        s,
        lead,
        "reassigned",
        f"Reassigned to {target.name} by {user.name}.",
        actor=user,
        detail={"to": target.id},
        now=now,
    )
    enqueue(s, lead, "lead.status_changed", now)
    s.flush()
    return lead


def set_status(
    s: Session,
    user: User,
    lead_id: int,
    status: LeadStatus,
    *,
    note: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Lead:
    """Move a lead along new -> claimed -> contacted -> qualified / disqualified -> converted.

    Disqualifying needs a reason. The first contact and the close are timed; the attributed
    seller hears how it ended.
    """
    checked_text("note", note, multiline=True)
    checked_text("reason", reason, multiline=True)
    now = now or utcnow()
    lead = _workable(s, user, lead_id)
    if status not in TRANSITIONS[lead.status]:
        allowed = sorted(TRANSITIONS[lead.status], key=lambda t: t.value)
        now_, to = lead.status.label.lower(), status.label.lower()
        if not allowed:
            raise Conflict(_("A %(now)s lead is closed; it can't become %(to)s.", now=now_, to=to))
        if len(allowed) == 1:
            raise Conflict(
                _(
                    "A %(now)s lead can move to %(next)s, not to %(to)s.",
                    now=now_,
                    next=allowed[0].label.lower(),
                    to=to,
                )
            )
        # at most two ways on from any status
        raise Conflict(
            _(
                "A %(now)s lead can move to %(one)s or %(other)s, not to %(to)s.",
                now=now_,
                one=allowed[0].label.lower(),
                other=allowed[1].label.lower(),
                to=to,
            )
        )
    if status is LeadStatus.DISQUALIFIED and not reason.strip():
        raise Invalid(_("Say why the lead is disqualified."), {"reason": _("required")})
    if status is LeadStatus.CLAIMED:
        _take(s, lead, user, now)
        return lead
    if lead.assignee_id is None:
        lead.assignee_id, lead.claimed_at = user.id, lead.claimed_at or now
    lead.status = status
    lead.claim_due_at = None  # worked (contacted or closed): no claim left to return
    if status is LeadStatus.CONTACTED and lead.first_contact_at is None:
        lead.first_contact_at = now
    if status in CLOSED_STATUSES:
        lead.closed_at = now
    if status is LeadStatus.DISQUALIFIED:
        lead.disqualify_reason = reason.strip()[:2000]
    text = f"{status.value.capitalize()} by {user.name}."  # stored in English: see describe
    if reason.strip():
        text += f" Reason: {reason.strip()}"
    record(s, lead, "status", text, actor=user, detail={"status": status.value}, now=now)
    if note.strip():
        record(s, lead, "note", note.strip()[:5000], actor=user, now=now)
    enqueue(s, lead, "lead.status_changed", now)
    if status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
        tell_seller_outcome(s, lead, status, now)
    if status is LeadStatus.CONVERTED:
        # After the signature no hole may open: the company becomes a customer and customer
        # development gets the handover card at once (the seller hears it from there).
        cards.hand_over_lead(s, lead, won_by=user, now=now)
    s.flush()
    return lead


def add_note(
    s: Session, user: User, lead_id: int, text: str, now: datetime | None = None
) -> LeadActivity:
    """Add a rep's note to a lead."""
    if not checked_text("text", text, multiline=True).strip():
        raise Invalid(_("Write something first."), {"text": _("required")})
    lead = _workable(s, user, lead_id, lock=False)
    entry = record(s, lead, "note", text.strip()[:5000], actor=user, now=now)
    s.flush()
    return entry


ERASED_REASON = "erased"


def close_erased(s: Session, lead: Lead, now: datetime) -> bool:
    """Close a lead whose person's data was just erased: it leaves every queue and rep's
    list as disqualified with the reason "erased"; return whether it was still open.

    A closed status (not a flag beside an open one) because every queue, claim, dedupe and
    capacity query already leaves closed leads out; reports keep counting it, anonymously,
    where it was routed. A lead already closed keeps how it ended. The CRM hears of the
    change once; the seller is not told an outcome, as there was none.
    """
    if lead.status in CLOSED_STATUSES:
        return False
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualify_reason = ERASED_REASON
    lead.closed_at = now
    lead.claim_due_at = None
    record(s, lead, "erased", "Closed: the person's data was erased.", now=now)
    if lead.routed_at is not None and lead.merged_into_id is None:  # the CRM knows this lead
        message = enqueue(s, lead, "lead.status_changed", now)
        message.payload = {**message.payload, "data": {**message.payload["data"], "erased": True}}
    return True


# --- the queue page ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One lead as the queue shows it."""

    lead: Lead
    seller_name: str
    content_title: str
    overdue: bool
    assignee_name: str = ""


@dataclass(frozen=True)
class QueueView:
    """A queue with its open leads, most urgent first."""

    queue: Queue
    rows: list[QueueRow]
    counts: QueueCounts


@dataclass(frozen=True)
class QueueCounts:
    waiting: int  # new and unclaimed
    overdue: int
    open: int


def queue_counts(s: Session, queue_ids: Sequence[int], now: datetime) -> dict[int, QueueCounts]:
    """Count each queue's waiting, overdue and open leads in one query (all of them, however
    many the queue page lists)."""
    waiting = sa.and_(Lead.status == LeadStatus.NEW, Lead.assignee_id.is_(None))
    overdue = sa.and_(  # as is_overdue
        Lead.due_at <= now,
        Lead.first_contact_at.is_(None),
        Lead.status.in_([LeadStatus.NEW, LeadStatus.CLAIMED]),
    )
    rows = s.execute(
        sa.select(
            Lead.queue_id,
            sa.func.sum(sa.case((waiting, 1), else_=0)),
            sa.func.sum(sa.case((overdue, 1), else_=0)),
            sa.func.count(),
        )
        .where(
            Lead.queue_id.in_(queue_ids),
            Lead.merged_into_id.is_(None),
            Lead.status.in_(QUEUE_STATUSES),
        )
        .group_by(Lead.queue_id)
    ).all()
    return {int(q or 0): QueueCounts(int(w or 0), int(o or 0), int(n)) for q, w, o, n in rows}


def queue_view(s: Session, queue: Queue, now: datetime, *, limit: int = 200) -> QueueView:
    """Return a queue's open leads by SLA due time (the first ``limit``), with the seller and
    content behind each, and the queue's counts over all its open leads."""
    from contentfeed.content.models import Content

    leads = list(
        s.scalars(
            sa.select(Lead)
            .options(selectinload(Lead.touches))
            .where(
                Lead.queue_id == queue.id,
                Lead.merged_into_id.is_(None),
                Lead.status.in_(QUEUE_STATUSES),
            )
            .order_by(Lead.due_at, Lead.id)
            .limit(limit)
        )
    )
    lasts = {lead.id: last_touch(lead) for lead in leads}
    seller_ids = {t.seller_id for t in lasts.values() if t and t.seller_id}
    content_ids = {t.content_id for t in lasts.values() if t and t.content_id}
    people = seller_ids | {lead.assignee_id for lead in leads if lead.assignee_id}
    names = dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(people))).all())
    titles = dict(
        s.execute(sa.select(Content.id, Content.title).where(Content.id.in_(content_ids))).all()
    )
    rows = []
    for lead in leads:
        last = lasts[lead.id]
        rows.append(
            QueueRow(
                lead=lead,
                seller_name=names.get(last.seller_id, "") if last and last.seller_id else "",
                content_title=titles.get(last.content_id, "") if last and last.content_id else "",
                overdue=is_overdue(lead, now),
                assignee_name=names.get(lead.assignee_id, "") if lead.assignee_id else "",
            )
        )
    counts = queue_counts(s, [queue.id], now).get(queue.id, QueueCounts(0, 0, 0))
    return QueueView(queue, rows, counts)


def is_overdue(lead: Lead, now: datetime) -> bool:
    """A lead is overdue when its SLA ran out before anyone contacted the person."""
    return (
        lead.due_at is not None
        and lead.due_at <= now
        and lead.first_contact_at is None
        and lead.status in (LeadStatus.NEW, LeadStatus.CLAIMED)
    )


# --- SLA -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaResult:
    """What one SLA sweep did."""

    returned: int = 0
    flagged: int = 0


def sla_sweep(s: Session, now: datetime | None = None) -> SlaResult:
    """Return claims not contacted by their claim deadline to their queue and flag leads
    nobody claimed within the SLA.

    A claim is judged by its own deadline (``claim_due_at``, the queue's claim window from
    the claim), never by the lead's response SLA: a rep who claims an overdue lead keeps it
    for the whole window. A returned lead keeps its routing time and due time, so it sorts
    first in the queue (its original age). The queue's lead is told about each returned or
    newly overdue lead.
    """
    now = now or utcnow()
    stale = s.scalars(
        sa.select(Lead)
        .options(selectinload(Lead.touches))  # the CRM message names the credited seller
        .where(
            Lead.status == LeadStatus.CLAIMED,
            Lead.first_contact_at.is_(None),
            Lead.claim_due_at <= now,
            Lead.merged_into_id.is_(None),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for lead in stale:
        rep = s.get(User, lead.assignee_id) if lead.assignee_id else None
        queue = s.get(Queue, lead.queue_id) if lead.queue_id else None
        lead.status, lead.assignee_id, lead.claimed_at = LeadStatus.NEW, None, None
        lead.claim_due_at = None  # back in the queue: returned once, until claimed again
        lead.returned_count += 1
        if is_overdue(lead, now):  # past its SLA too: "returned" says so, no "overdue" alert
            lead.overdue_at = lead.overdue_at or now
        rep_name, minutes = (rep.name if rep else ""), (queue.claim_minutes if queue else 0)
        facts = {"rep": rep_name, "claim_minutes": minutes}
        with i18n.speaking("en"):  # stored in English; each reader gets it in theirs
            text = returned_text(rep_name, minutes)
        record(s, lead, "returned", text, detail=facts, now=now)
        enqueue(s, lead, "lead.status_changed", now)
        # The queue's lead is told in their own language.
        tell_queue_lead(s, lead, i18n.later(returned_text, rep_name, minutes), now)
    overdue = s.scalars(
        sa.select(Lead).where(
            Lead.status == LeadStatus.NEW,
            Lead.due_at <= now,
            Lead.overdue_at.is_(None),
            Lead.merged_into_id.is_(None),
        )
    ).all()
    for lead in overdue:
        lead.overdue_at = now
        text = "Overdue: nobody claimed this lead within the SLA."
        record(s, lead, "overdue", text, now=now)
        tell_queue_lead(s, lead, _l("Overdue: nobody claimed this lead within the SLA."), now)
    s.flush()
    return SlaResult(returned=len(stale), flagged=len(overdue))
