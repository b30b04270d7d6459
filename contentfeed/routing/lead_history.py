"""A lead's history: every routing and work step, who took it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed import i18n
from contentfeed.accounts.models import User
from contentfeed.db import utcnow
from contentfeed.i18n import _
from contentfeed.leads.models import (
    Lead,
    LeadStatus,
)
from contentfeed.routing.models import (
    LeadActivity,
)

# --- a lead's history ----------------------------------------------------------------------


def record(
    s: Session,
    lead: Lead,
    kind: str,
    text: str,
    *,
    actor: User | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> LeadActivity:
    """Add a line to a lead's history."""
    entry = LeadActivity(
        lead_id=lead.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        text=text,
        detail=detail or {},
        at=now or utcnow(),
    )
    s.add(entry)
    return entry


def history(s: Session, lead_id: int) -> list[LeadActivity]:
    """Return a lead's history, oldest first."""
    return list(
        s.scalars(
            sa.select(LeadActivity)
            .options(selectinload(LeadActivity.actor))
            .where(LeadActivity.lead_id == lead_id)
            .order_by(LeadActivity.at, LeadActivity.id)
        )
    )


# --- a history line in the reader's language ------------------------------------------------

ERASED_TEXT = "(erased)"  # what erasure leaves of a note or a return visit (leads.privacy)


def describe(s: Session, entry: LeadActivity) -> str:
    """Return a history line in the reader's language and time zone.

    A line is stored in English (the source, as the API and the personal-data export give it)
    with what it names in ``detail``; it is worded again for each reader from its kind and
    those facts. A note is the rep's own words; a line written before its facts were kept
    (or of a kind not known here) keeps its stored text.
    """
    if entry.text == ERASED_TEXT:
        return _("(erased)")
    try:
        worded = _worded(s, entry, entry.detail or {})
    except (KeyError, TypeError, ValueError):
        worded = None
    return entry.text if worded is None else worded


def _worded(s: Session, entry: LeadActivity, detail: dict[str, Any]) -> str | None:
    by = entry.actor.name if entry.actor is not None else None
    kind = entry.kind
    if kind == "claimed" and by:
        return _("Claimed by %(name)s.", name=by)
    if kind == "released" and by:
        return _("Released back to the queue by %(name)s.", name=by)
    if kind == "reassigned" and by:
        target = s.get(User, int(detail["to"]))
        if target is None:
            return None
        return _("Reassigned to %(to)s by %(by)s.", to=target.name, by=by)
    if kind == "status" and by:
        status = LeadStatus(detail["status"]).label
        reason = entry.text.partition(" Reason: ")[2]
        if reason:
            return _(
                "%(status)s by %(name)s. Reason: %(reason)s", status=status, name=by, reason=reason
            )
        return _("%(status)s by %(name)s.", status=status, name=by)
    if kind == "returned" and "rep" in detail:
        return returned_text(detail["rep"], int(detail.get("claim_minutes") or 0))
    if kind == "overdue":
        return _("Overdue: nobody claimed this lead within the SLA.")
    if kind == "handover" and "queue" in detail:
        return _(
            "Handed over to %(queue)s: %(account)s is a customer now.",
            queue=detail["queue"],
            account=detail["account"],
        )
    if kind == "status" and detail.get("by") == "crm":
        return _("Converted: the CRM reported the deal won.")
    if kind == "erased":
        return _("Closed: the person's data was erased.")
    if kind == "crm_lost":
        return _("Disqualified: the deal was lost in the CRM.")
    if kind == "merged":
        return _("Added to open lead #%(id)s.", id=int(detail["into"]))
    if kind == "routed" and "queue" in detail:
        if detail.get("rule"):
            text = _(
                "Routed to %(queue)s: rule “%(rule)s” matched.",
                queue=detail["queue"],
                rule=detail["rule"],
            )
        else:
            text = _(
                "Routed to %(queue)s: no rule matched, so it went to the default queue.",
                queue=detail["queue"],
            )
        if detail.get("assignee"):
            text += " " + _("Assigned to %(name)s.", name=detail["assignee"])
        return text
    if kind == "came_back" and "via" in detail:
        visit = s.get(Lead, int(detail["lead_id"]))
        if visit is None:
            return None
        sent = i18n.datetime_text(visit.submitted_at)
        if detail["via"]:
            return _(
                "%(name)s came back via %(code)s (form sent %(when)s).",
                name=visit.full_name,
                code=detail["via"],
                when=sent,
            )
        return _("%(name)s came back (form sent %(when)s).", name=visit.full_name, when=sent)
    return None


def returned_text(rep: str, minutes: int) -> str:
    """Say, in the language being spoken, that ``rep``'s claim went back to the queue unworked
    (within ``minutes`` of claiming; 0: the queue is gone, so "the claim window")."""
    who = rep or _("the rep")
    if minutes:
        return _returned_text(who, minutes)
    return _(
        "Returned to the queue: %(who)s did not contact them within the claim window.", who=who
    )


def _returned_text(who: str, minutes: int) -> str:
    """Say that a claim went back to the queue unworked after ``minutes`` of claiming."""
    return i18n.ngettext(
        "Returned to the queue: %(who)s did not contact them within %(num)d minute of claiming.",
        "Returned to the queue: %(who)s did not contact them within %(num)d minutes of claiming.",
        minutes,
        who=who,
    )
