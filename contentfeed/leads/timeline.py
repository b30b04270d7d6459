"""A lead's story: its named times, from the form's own time to its close."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.i18n import _, _l, ngettext
from contentfeed.leads.listing import TouchContext, lead_events, show_lead
from contentfeed.leads.models import CLOSED_STATUSES, EventStatus, InboundEvent, Lead

# How a delivery reached us, by its event's source (gated:<content id>, token:<id>, webhook).
CHANNELS = {
    "webhook": _l("by signed webhook"),
    "token": _l("by API delivery"),
    "gated": _l("by form on a gated page"),
}


@dataclass(frozen=True)
class Moment:
    """One named time of a lead's story: what happened, when, and a few words about it."""

    key: str  # submitted, received, delivered_again, routed, merged, assigned, claimed,
    # contacted, came_back, closed
    label: str
    at: datetime
    detail: str = ""
    lead_id: int | None = None  # the other lead a merge or a return points to


@dataclass(frozen=True)
class Timeline:
    """A lead's times, each defined once: the form's own time, when it reached us, when it
    was routed, claimed or assigned, first contacted and closed, and each return visit."""

    submitted_at: datetime  # the form's time, by the sender's clock
    received_at: datetime  # when the delivery reached us (our clock, as every later time)
    routed_at: datetime | None
    claimed_at: datetime | None
    contacted_at: datetime | None
    closed_at: datetime | None
    moments: list[Moment]
    # new; came_back (a repeat visit folded into the person's open lead); delivered_again
    # (the same form delivered a second time, folded in too)
    arrival: str = "new"

    @property
    def sent_long_before(self) -> bool:
        """Tell whether the form was sent well before it reached us (a late delivery)."""
        return self.received_at - self.submitted_at > LATE_DELIVERY


# A form sent this long before it reached us was delivered late: the page names both times.
LATE_DELIVERY = timedelta(minutes=5)


def _channel(event: InboundEvent | None) -> str:
    if event is None:
        return ""
    return str(CHANNELS.get(event.source.partition(":")[0], _("by delivery")))


def _span(delta: timedelta) -> str:
    """Say a span as the queue does ("12 min", "1 h 40", "3 days"), in the reader's language."""
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 60:
        return _("%(num)s min", num=minutes)
    if minutes < 48 * 60:
        return _("%(hours)s h %(minutes)s", hours=minutes // 60, minutes=str(minutes % 60).zfill(2))
    days = minutes // (24 * 60)
    return ngettext("%(num)s day", "%(num)s days", days)


def lead_timeline(s: Session, lead: Lead, events: Iterable[InboundEvent] | None = None) -> Timeline:
    """Return a lead's story as named times, in the order they happened.

    The form's submitted time is the sender's; everything after it is ours, starting with the
    first delivery's arrival (the lead's creation when the raw event is purged). A repeat
    visit folded into this lead is a return, not a new arrival; a lead that was folded into
    another says so instead of being routed.
    """
    delivered = list(events) if events is not None else lead_events(s, lead.id)  # oldest first
    first = delivered[0] if delivered else None
    received = first.received_at if first is not None else lead.created_at
    moments: list[Moment] = []
    sent_detail = ""
    if lead.submitted_at - received > LATE_DELIVERY:
        sent_detail = _("by the sender's clock, which is ahead of ours")
    moments.append(Moment("submitted", _("Form sent"), lead.submitted_at, sent_detail))
    how = _channel(first)
    if first is None:
        parts = [_("the raw delivery is no longer kept")]
    else:
        parts = [how]
        if first.attempts > 1:
            parts.append(_("processed after %(num)s attempts", num=first.attempts))
        elif first.status is EventStatus.FAILED:
            parts.append(_("not processed yet"))
    if received - lead.submitted_at > LATE_DELIVERY:
        late = _span(received - lead.submitted_at)
        parts.append(_("%(span)s after the form was sent", span=late))
    moments.append(Moment("received", _("Reached us"), received, ", ".join(parts)))
    for again in delivered[1:]:
        moments.append(
            Moment("delivered_again", _("Delivered again"), again.received_at, _channel(again))
        )
    trace = lead.routing_trace or {}
    arrival = "new"
    into = s.get(Lead, lead.merged_into_id) if lead.merged_into_id is not None else None
    if into is not None and lead.routed_at is not None:
        if is_resend(lead, into):
            arrival = "delivered_again"
            label = _("Delivered again")
            detail = _("the same form as lead #%(id)s; added to it", id=into.id)
        else:
            arrival = "came_back"
            label = _("Came back")
            detail = _("the same person had an open lead; added to lead #%(id)s", id=into.id)
        moments.append(Moment("merged", label, lead.routed_at, detail, into.id))
    elif lead.routed_at is not None:
        queue = (trace.get("queue") or {}).get("name", "")
        to = _("to %(queue)s", queue=queue) if queue else ""
        moments.append(Moment("routed", _("Routed"), lead.routed_at, to))
    if lead.claimed_at is not None:
        picked = (trace.get("assignment") or {}).get("picked")
        by_routing = picked is not None and lead.claimed_at == lead.routed_at
        assignee = s.get(User, lead.assignee_id) if lead.assignee_id else None
        who = assignee.name if assignee else ""
        if by_routing:
            to = _("to %(name)s", name=who) if who else ""
            moments.append(Moment("assigned", _("Assigned"), lead.claimed_at, to))
        else:
            now_with = _("now with %(name)s", name=who) if who else ""
            moments.append(Moment("claimed", _("Claimed"), lead.claimed_at, now_with))
    if lead.first_contact_at is not None:
        detail = ""
        if lead.due_at is not None:
            lateness = lead.first_contact_at - lead.due_at
            if lateness <= timedelta(0):
                detail = _("within the SLA")
            else:
                detail = _("%(span)s after the SLA", span=_span(lateness))
        moments.append(Moment("contacted", _("First contact"), lead.first_contact_at, detail))
    returns = s.scalars(
        sa.select(Lead).where(Lead.merged_into_id == lead.id).order_by(Lead.submitted_at, Lead.id)
    ).all()
    for visit in returns:
        if is_resend(visit, lead):
            moments.append(
                Moment(
                    "delivered_again",
                    _("Delivered again"),
                    visit.created_at,
                    _("the same form a second time, not a new visit"),
                    visit.id,
                )
            )
        else:
            moments.append(
                Moment(
                    "came_back",
                    _("Came back"),
                    visit.created_at,
                    _("sent the form again"),
                    visit.id,
                )
            )
    if lead.closed_at is not None and lead.status in CLOSED_STATUSES:
        moments.append(Moment("closed", lead.status.label, lead.closed_at, _("closed")))
    # The form's own time comes first whatever the sender's clock says; ours follow in order.
    head, tail = moments[:1], sorted(moments[1:], key=lambda m: m.at)
    return Timeline(
        submitted_at=lead.submitted_at,
        received_at=received,
        routed_at=lead.routed_at,
        claimed_at=lead.claimed_at,
        contacted_at=lead.first_contact_at,
        closed_at=lead.closed_at,
        moments=head + tail,
        arrival=arrival,
    )


def is_resend(later: Lead, earlier: Lead) -> bool:
    """Tell whether a later lead is the same form delivered again (a sender's retry under a
    new id) rather than the person coming back: same address, the very same submitted time
    (the form's own; a form without one gets its arrival time, never shared by two)."""
    return later.email == earlier.email and later.submitted_at == earlier.submitted_at


@dataclass(frozen=True)
class Story:
    """What a lead's page tells: the lead, the names behind its touches, its raw deliveries
    and its named times."""

    lead: Lead
    context: TouchContext
    events: list[InboundEvent]
    timeline: Timeline


def tell_story(s: Session, viewer: User, lead_id: int) -> Story:
    """Return the story of one lead the viewer may read (NotFound for any other)."""
    found = show_lead(s, viewer, lead_id)
    events = lead_events(s, found.lead.id)
    return Story(found.lead, found.context, events, lead_timeline(s, found.lead, events))
