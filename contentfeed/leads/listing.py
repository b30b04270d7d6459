"""Reading leads: who may read which, lists, search and exports, one lead with its touches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, ConfigDict, Field
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.content.models import Campaign, Content
from contentfeed.db import Id
from contentfeed.errors import NotFound
from contentfeed.i18n import _
from contentfeed.leads.models import InboundEvent, Lead, LeadStatus, Touch
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from contentfeed.text import Input


class LeadFilters(Input):
    """Filters for leads."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in email, name and company")
    status: LeadStatus | None = None
    attributed: bool | None = Field(default=None, description="true: with touches; false: none")
    seller_id: Id | None = Field(default=None, description="Leads with a touch of this seller")
    queue_id: Id | None = Field(default=None, description="Routed to this queue")
    assignee_id: Id | None = Field(default=None, description="Worked by this user now")
    since: AwareDatetime | None = Field(default=None, description="Submitted at or after")
    until: AwareDatetime | None = Field(default=None, description="Submitted before")


class LeadQuery(LeadFilters):
    """Filters, order and page for lists of leads (newest first unless asked otherwise)."""

    sort: str = "submitted"  # one of LEAD_SORTS
    descending: bool = True
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=0)


# How a list of leads can be ordered; status follows the work (new first, converted last).
LEAD_SORTS: dict[str, tuple[sa.ColumnElement[Any] | sa.orm.InstrumentedAttribute[Any], ...]] = {
    "submitted": (Lead.submitted_at,),
    "name": (sa.func.lower(Lead.first_name), sa.func.lower(Lead.last_name), Lead.email),
    "company": (sa.func.lower(Lead.company),),
    "status": (sa.case({s.value: n for n, s in enumerate(LeadStatus)}, value=Lead.status),),
}


@dataclass(frozen=True)
class TouchContext:
    """The names behind touches' ids: sellers, content items and campaigns."""

    sellers: dict[int, User]
    contents: dict[int, Content]
    campaigns: dict[int, Campaign]
    # the suggestion behind each link: whether (and when) the seller marked it posted
    suggestions: dict[int, Suggestion] = field(default_factory=dict)

    def post_state(self, touch: Touch) -> tuple[str, datetime | None]:
        """Return what became of the touch's suggestion: posted (and when), suggested, or ""."""
        post = self.suggestions.get(touch.suggestion_id or 0)
        if post is None:
            return "", None
        if post.status is SuggestionStatus.POSTED:
            return "posted", post.posted_at
        return "suggested", None


@dataclass(frozen=True)
class LeadBatch:
    """Leads (touches loaded) with the names behind their touches."""

    items: list[Lead]
    context: TouchContext


@dataclass(frozen=True)
class LeadPage(LeadBatch):
    """One page of leads and how many match in all."""

    total: int


@dataclass(frozen=True)
class LeadDetail:
    """One lead the viewer may read, with the names behind its touches."""

    lead: Lead
    context: TouchContext


def _lead_filters(query: LeadFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    text = query.q.strip().lower()
    if text:
        columns = (Lead.email, Lead.first_name, Lead.last_name, Lead.company)
        conditions.append(
            sa.or_(
                *(sa.func.lower(col).contains(text, autoescape=True) for col in columns),
                sa.func.lower(Lead.first_name + " " + Lead.last_name).contains(
                    text, autoescape=True
                ),
            )
        )
    if query.status is not None:
        conditions.append(Lead.status == query.status)
    has_touch = sa.exists().where(Touch.lead_id == Lead.id)
    if query.attributed is True:
        conditions.append(has_touch)
    elif query.attributed is False:
        conditions.append(~has_touch)
    if query.seller_id is not None:
        conditions.append(
            sa.exists().where(Touch.lead_id == Lead.id, Touch.seller_id == query.seller_id)
        )
    if query.queue_id is not None:
        conditions.append(Lead.queue_id == query.queue_id)
    if query.assignee_id is not None:
        conditions.append(Lead.assignee_id == query.assignee_id)
    if query.since is not None:
        conditions.append(Lead.submitted_at >= query.since.astimezone(UTC))
    if query.until is not None:
        conditions.append(Lead.submitted_at < query.until.astimezone(UTC))
    return conditions


# Who reads every lead. Marketers keep the access they had: the leads are what their content
# and gated forms bring in, and the lead list is where they see which item brought whom.
READS_EVERY_LEAD = frozenset({Role.ADMIN, Role.MARKETER})


def readable_by(viewer: User) -> sa.ColumnElement[bool]:
    """Return the condition on Lead that holds for the leads this user may read.

    Leads are personal data: admins and marketers read every lead; anyone else (a rep) only
    the leads of queues they work or lead, and the leads they have worked (theirs now, or
    ones with an entry of theirs in the history, after they left the queue or handed it on).
    """
    if viewer.role in READS_EVERY_LEAD:
        return sa.true()
    from contentfeed.routing.models import LeadActivity, Queue, QueueMember

    worked_queues = sa.select(QueueMember.queue_id).where(QueueMember.user_id == viewer.id)
    led_queues = sa.select(Queue.id).where(Queue.lead_user_id == viewer.id)
    has_worked = (
        sa.exists()
        .where(LeadActivity.lead_id == Lead.id, LeadActivity.actor_id == viewer.id)
        .correlate(Lead)
    )
    return sa.or_(
        Lead.queue_id.in_(worked_queues),
        Lead.queue_id.in_(led_queues),
        Lead.assignee_id == viewer.id,
        has_worked,
    )


def list_leads(s: Session, viewer: User, query: LeadQuery) -> LeadPage:
    """Return one page of the leads the viewer may read that match the filters, in the asked
    order (newest first by default; ties newest first), with their touches."""
    conditions = [readable_by(viewer), *_lead_filters(query)]
    total = s.scalar(sa.select(sa.func.count()).select_from(Lead).where(*conditions)) or 0
    keys = LEAD_SORTS.get(query.sort, LEAD_SORTS["submitted"])
    order = [key.desc() if query.descending else key.asc() for key in keys]
    items = s.scalars(
        sa.select(Lead)
        .where(*conditions)
        .options(selectinload(Lead.touches))
        .order_by(*order, Lead.submitted_at.desc(), Lead.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    return LeadPage(items=list(items), context=touch_context(s, _touches(items)), total=total)


def lead_batches(
    s: Session, viewer: User, query: LeadFilters, *, batch: int = 500
) -> Iterator[LeadBatch]:
    """Yield every lead the viewer may read that matches the filters, newest first, with
    touches, in batches.

    For exports: no count, and each batch starts after the last lead of the one before
    (submitted_at, id) instead of skipping rows with OFFSET; the session forgets each batch
    once it is read, so memory stays flat however many leads there are.
    """
    conditions = [readable_by(viewer), *_lead_filters(query)]
    after: tuple[datetime, int] | None = None
    while True:
        stmt = sa.select(Lead).where(*conditions).options(selectinload(Lead.touches))
        if after is not None:
            stmt = stmt.where(sa.tuple_(Lead.submitted_at, Lead.id) < after)
        leads = list(
            s.scalars(stmt.order_by(Lead.submitted_at.desc(), Lead.id.desc()).limit(batch))
        )
        if leads:
            yield LeadBatch(items=leads, context=touch_context(s, _touches(leads)))
        if len(leads) < batch:
            return
        after = (leads[-1].submitted_at, leads[-1].id)
        s.expunge_all()


def get_lead(s: Session, viewer: User, lead_id: int) -> Lead:
    """Return one lead the viewer may read, with its touches, or raise NotFound (also for a
    lead they may not read, so its existence is not given away)."""
    lead = s.scalars(
        sa.select(Lead)
        .where(Lead.id == lead_id, readable_by(viewer))
        .options(selectinload(Lead.touches))
    ).first()
    if lead is None:
        raise NotFound(_("No lead has this id."))
    return lead


def show_lead(s: Session, viewer: User, lead_id: int) -> LeadDetail:
    """Return one lead the viewer may read with the names behind its touches (NotFound else)."""
    lead = get_lead(s, viewer, lead_id)
    return LeadDetail(lead=lead, context=touch_context(s, lead.touches))


def _touches(leads: Iterable[Lead]) -> list[Touch]:
    return [touch for lead in leads for touch in lead.touches]


def lead_events(s: Session, lead_id: int) -> list[InboundEvent]:
    """Return the raw events a lead was made from, oldest first."""
    query = (
        sa.select(InboundEvent)
        .where(InboundEvent.lead_id == lead_id)
        .order_by(InboundEvent.received_at, InboundEvent.id)
    )
    return list(s.scalars(query))


def touch_context(s: Session, touches: Iterable[Touch]) -> TouchContext:
    """Load the sellers, content items and campaigns the touches point to, by id."""
    touches = list(touches)
    seller_ids = {t.seller_id for t in touches if t.seller_id is not None}
    content_ids = {t.content_id for t in touches if t.content_id is not None}
    campaign_ids = {t.campaign_id for t in touches if t.campaign_id is not None}
    sellers: list[User] = []
    contents: list[Content] = []
    campaigns: list[Campaign] = []
    if seller_ids:
        sellers = list(s.scalars(sa.select(User).where(User.id.in_(seller_ids))))
    if content_ids:
        contents = list(s.scalars(sa.select(Content).where(Content.id.in_(content_ids))))
    if campaign_ids:
        campaigns = list(s.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids))))
    suggestion_ids = {t.suggestion_id for t in touches if t.suggestion_id is not None}
    posts: list[Suggestion] = []
    if suggestion_ids:
        posts = list(s.scalars(sa.select(Suggestion).where(Suggestion.id.in_(suggestion_ids))))
    return TouchContext(
        sellers={u.id: u for u in sellers},
        contents={c.id: c for c in contents},
        campaigns={c.id: c for c in campaigns},
        suggestions={p.id: p for p in posts},
    )


def last_touch(lead: Lead) -> Touch | None:
    """Return the touch that gets the credit under the last-touch model, if any."""
    if not lead.touches:
        return None
    return max(
        lead.touches,
        key=lambda t: (t.credit_last_touch, t.touched_at),
    )
