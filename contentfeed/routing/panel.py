"""What the lead page shows of routing: queue, owner, SLA, the actions a viewer may take."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import service, work
from contentfeed.routing.models import Queue

WORKERS = (Role.REP, Role.ADMIN)
# The status buttons a lead page offers, by the lead's status: (target status, label).
ACTIONS: dict[LeadStatus, list[tuple[LeadStatus, str]]] = {
    LeadStatus.NEW: [],
    LeadStatus.CLAIMED: [(LeadStatus.CONTACTED, "Mark contacted")],
    LeadStatus.CONTACTED: [(LeadStatus.QUALIFIED, "Qualify")],
    LeadStatus.QUALIFIED: [(LeadStatus.CONVERTED, "Mark converted")],
    LeadStatus.DISQUALIFIED: [],
    LeadStatus.CONVERTED: [],
}


def due_text(lead: Lead, now: datetime) -> str:
    """Say how long is left on a lead's SLA, or how overdue it is ("12 min", "1 h 40")."""
    if lead.due_at is None:
        return "—"
    seconds = (lead.due_at - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    span = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"
    if minutes >= 48 * 60:
        span = f"{minutes // (24 * 60)} days"
    return f"{span} overdue" if seconds < 0 else f"in {span}"


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
    return {
        "queue": queue,
        "assignee": assignee,
        "can_work": can_work and lead.merged_into_id is None,
        "actions": ACTIONS[lead.status] if can_work else [],
        "can_disqualify": can_work and LeadStatus.DISQUALIFIED in work.TRANSITIONS[lead.status],
        "reps": reps,
        "history": service.history(s, lead.id),
        "merged_into": merged_into,
        "overdue": work.is_overdue(lead, utcnow()),
        "due_text": due_text(lead, utcnow()),
    }
