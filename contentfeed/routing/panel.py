"""What the lead page shows of routing: queue, owner, SLA, the actions a viewer may take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.i18n import _, _l, ngettext
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import domains, lead_history, work
from contentfeed.routing.models import LeadActivity, Queue

WORKERS = (Role.REP, Role.ADMIN)
# The status buttons a lead page offers, by the lead's status: (target status, label).
ACTIONS: dict[LeadStatus, list[tuple[LeadStatus, Any]]] = {
    LeadStatus.NEW: [],
    LeadStatus.CLAIMED: [(LeadStatus.CONTACTED, _l("Mark contacted"))],
    LeadStatus.CONTACTED: [(LeadStatus.QUALIFIED, _l("Qualify"))],
    LeadStatus.QUALIFIED: [(LeadStatus.CONVERTED, _l("Mark converted"))],
    LeadStatus.DISQUALIFIED: [],
    LeadStatus.CONVERTED: [],
}


def span_text(delta: timedelta) -> str:
    """Say a span the way a rep reads a clock, in the request's language ("12 min",
    "1 h 40", "3 days"; "12 Min.", "1 Std. 40", "3 Tage")."""
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes >= 48 * 60:
        days = minutes // (24 * 60)
        return ngettext("%(num)s day", "%(num)s days", days)
    if minutes >= 60:
        return _("%(hours)s h %(minutes)s", hours=minutes // 60, minutes=str(minutes % 60).zfill(2))
    return _("%(num)s min", num=minutes)


def due_text(lead: Lead, now: datetime) -> str:
    """Say how long is left on a lead's SLA, or how overdue it is ("in 12 min", "1 h 40
    overdue")."""
    if lead.due_at is None:
        return "—"
    left = lead.due_at - now
    span = span_text(left)
    return (
        _("%(span)s overdue", span=span)
        if left.total_seconds() < 0
        else _("in %(span)s", span=span)
    )


@dataclass(frozen=True)
class DueCell:
    """What a queue's Due column says of a lead: the time left, how overdue, or met."""

    text: str
    overdue: bool = False
    met: bool = False
    due_at: datetime | None = None


def due_cell(lead: Lead, now: datetime) -> DueCell:
    """Say where a lead stands against its response SLA: "in 13 min", "12 min overdue",
    "met" once first contact came in time, "missed by 20 min" when it came late."""
    if lead.first_contact_at is not None:
        if lead.due_at is None or lead.first_contact_at <= lead.due_at:
            return DueCell(_("met"), met=True, due_at=lead.due_at)
        late = span_text(lead.first_contact_at - lead.due_at)
        return DueCell(_("missed by %(span)s", span=late), due_at=lead.due_at)
    if lead.due_at is None:
        return DueCell("—")
    return DueCell(due_text(lead, now), overdue=work.is_overdue(lead, now), due_at=lead.due_at)


def company_text(lead: Lead) -> str:
    """Name the lead's company as they typed it; a work address's domain stands in for an
    empty field, a free-mail provider never does (gmail.com is nobody's company)."""
    if lead.company.strip():
        return lead.company
    if lead.email_domain and not domains.is_freemail(lead.email_domain):
        return lead.email_domain
    return "—"


def _current(lead: Lead, assignee: User | None, history: list[LeadActivity]) -> dict[str, object]:
    """Who works the lead now and how they came to, for the routing trace's "Who works it"."""
    if assignee is None:
        return {}
    handed = [e for e in history if e.kind == "reassigned" and e.detail.get("to") == assignee.id]
    picked = (lead.routing_trace.get("assignment") or {}).get("picked")
    if handed and handed[-1].actor is not None:
        how = _("handed over by %(name)s", name=handed[-1].actor.name)
    elif handed:
        how = _("handed over")
    elif picked == assignee.id and lead.claimed_at == lead.routed_at:
        how = _("assigned by routing")
    else:
        how = _("claimed it")
    return {"user_id": assignee.id, "name": assignee.name, "how": how}


def work_panel(s: Session, lead: Lead, viewer: User) -> dict[str, object]:
    """What the lead page needs to show the routing and the actions this viewer may take."""
    queue = s.get(Queue, lead.queue_id) if lead.queue_id else None
    assignee = s.get(User, lead.assignee_id) if lead.assignee_id else None
    queue_ids = {q.id for q in work.queues_of(s, viewer)} if viewer.role in WORKERS else set()
    can_work = viewer.role in WORKERS and work.can_work(viewer, queue_ids, lead)
    can_work = can_work and lead.erased_at is None  # erased: closed, nothing to do on it
    reps: list[User] = []
    if can_work and lead.is_open and queue is not None:
        reps = [m.user for m in queue.members if m.user.is_active and m.user_id != lead.assignee_id]
    merged_into = s.get(Lead, lead.merged_into_id) if lead.merged_into_id else None
    history = lead_history.history(s, lead.id)
    return {
        "queue": queue,
        "assignee": assignee,
        "can_work": can_work and lead.merged_into_id is None,
        "actions": ACTIONS[lead.status] if can_work else [],
        "can_disqualify": can_work and LeadStatus.DISQUALIFIED in work.TRANSITIONS[lead.status],
        "reps": reps,
        "history": history,
        "history_texts": {entry.id: lead_history.describe(s, entry) for entry in history},
        "current": _current(lead, assignee, history),
        "merged_into": merged_into,
        "overdue": work.is_overdue(lead, utcnow()),
        "due_text": due_text(lead, utcnow()),
    }
