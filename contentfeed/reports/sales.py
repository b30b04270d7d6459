"""The sales view (leads per queue and status, SLA and speed, conversion by source) and a
campaign's attribution under every model, shown beside it.

Set-based GROUP BY statements, whatever the number of leads; leads merged into another lead
never count.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlalchemy.orm import Session

from contentfeed.accounts.models import User
from contentfeed.content.models import Campaign, Content
from contentfeed.db import utcnow
from contentfeed.errors import NotFound
from contentfeed.i18n import _, _l
from contentfeed.leads.attribution import MODELS
from contentfeed.leads.models import Lead, Touch
from contentfeed.leads.models import LeadStatus as LeadStatus
from contentfeed.reports.measures import (
    QUALIFIED_STATUSES,
    between,
    counted_lead,
    round_credit,
    share_of,
)
from contentfeed.reports.period import Period
from contentfeed.routing.models import Queue
from contentfeed.text import Input

NO_SOURCE = "(none)"
# Lazy: rows are named in the request's language.
ATTRIBUTED_SOURCE = _l("Sellers' posts (attributed)")
OTHER_CAMPAIGNS = _l("Other campaigns or no campaign")
FORMER_SELLER = _l("Former seller")
CreditBy = Literal["seller", "content"]  # a campaign's credit per seller or per item


@dataclass(frozen=True)
class QueueStatusRow:
    """Leads submitted in the period that sit in one queue, by status."""

    queue_id: int | None
    queue: str
    counts: dict[LeadStatus, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class QueueSpeed:
    """SLA compliance and median response times of the leads routed to a queue in the period.

    A lead met the SLA when first contacted by its due time; it missed when contacted later
    or still uncontacted after it. Leads not yet due and not yet contacted are left out
    (``pending``), as are leads without a due time.
    """

    queue_id: int | None
    queue: str
    sla_minutes: int | None
    routed: int
    met: int
    missed: int
    pending: int
    claimed: int
    median_claim_seconds: float | None
    contacted: int
    median_contact_seconds: float | None

    @property
    def compliance(self) -> float | None:
        return share_of(self.met, self.met + self.missed)


@dataclass(frozen=True)
class SourceRow:
    """Leads from one source: sellers' posts (any touch) or a utm_source value."""

    source: str
    is_attributed: bool
    leads: int
    qualified: int  # reached qualified (qualified or converted)
    converted: int

    @property
    def qualified_rate(self) -> float | None:
        return share_of(self.qualified, self.leads)

    @property
    def converted_rate(self) -> float | None:
        return share_of(self.converted, self.leads)


@dataclass(frozen=True)
class SalesReport:
    """Leads per queue and status, SLA and speed per queue, and conversion by source."""

    period: Period
    statuses: list[LeadStatus]
    by_queue: list[QueueStatusRow]
    speed: list[QueueSpeed]
    sources: list[SourceRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.by_queue)

    def status_total(self, status: LeadStatus) -> int:
        """Add up one status over every queue."""
        return sum(row.counts.get(status, 0) for row in self.by_queue)


NO_QUEUE = _l("Not routed")


def _queue_names(s: Session) -> dict[int, tuple[str, int]]:
    rows = s.execute(sa.select(Queue.id, Queue.name, Queue.sla_minutes).order_by(Queue.name))
    return {queue_id: (name, sla) for queue_id, name, sla in rows}


def sales(s: Session, period: Period, *, now: datetime | None = None) -> SalesReport:
    """Return the sales view for the period (``now`` decides which uncontacted leads are due)."""
    now = now or utcnow()
    queues = _queue_names(s)
    return SalesReport(
        period,
        list(LeadStatus),
        _leads_by_queue(s, period, queues),
        _speed_by_queue(s, period, queues, now),
        conversion_by_source(s, period),
    )


def _leads_by_queue(
    s: Session, period: Period, queues: dict[int, tuple[str, int]]
) -> list[QueueStatusRow]:
    query = (
        sa.select(Lead.queue_id, Lead.status, sa.func.count())
        .where(counted_lead(period))
        .group_by(Lead.queue_id, Lead.status)
    )
    counts: dict[int | None, dict[LeadStatus, int]] = {queue_id: {} for queue_id in queues}
    for queue_id, status, n in s.execute(query):
        counts.setdefault(queue_id, {})[status] = n
    return [
        QueueStatusRow(
            queue_id, queues[queue_id][0] if queue_id in queues else str(NO_QUEUE), found
        )
        for queue_id, found in _in_queue_order(counts, queues)
    ]


def _in_queue_order(
    values: dict[int | None, Any], queues: dict[int, tuple[str, int]]
) -> list[tuple[int | None, Any]]:
    # Queues by name, then leads without a (still existing) queue last.
    known = [(queue_id, values[queue_id]) for queue_id in queues if queue_id in values]
    rest = [(queue_id, value) for queue_id, value in values.items() if queue_id not in queues]
    return known + rest


def _speed_by_queue(
    s: Session, period: Period, queues: dict[int, tuple[str, int]], now: datetime
) -> list[QueueSpeed]:
    routed = sa.and_(between(Lead.routed_at, period), Lead.merged_into_id.is_(None))
    contacted_in_time = Lead.first_contact_at <= Lead.due_at
    missed = sa.or_(
        Lead.first_contact_at > Lead.due_at,
        sa.and_(Lead.first_contact_at.is_(None), Lead.due_at <= now),
    )
    pending = sa.and_(Lead.first_contact_at.is_(None), Lead.due_at > now)

    def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (
        sa.select(
            Lead.queue_id,
            sa.func.count(),
            count_if(sa.and_(Lead.due_at.is_not(None), contacted_in_time)),
            count_if(sa.and_(Lead.due_at.is_not(None), missed)),
            count_if(sa.and_(Lead.due_at.is_not(None), pending)),
            sa.func.count(Lead.claimed_at),
            sa.func.count(Lead.first_contact_at),
        )
        .where(routed)
        .group_by(Lead.queue_id)
    )
    found: dict[int | None, tuple[int, ...]] = {
        queue_id: tuple(int(v or 0) for v in values) for queue_id, *values in s.execute(query)
    }
    medians = _medians(s, routed)
    rows = []
    for queue_id, values in _in_queue_order(found, queues):
        name, sla = (
            queues.get(queue_id, (str(NO_QUEUE), None)) if queue_id else (str(NO_QUEUE), None)
        )
        claim, contact = medians.get(queue_id, (None, None))
        total, met, miss, wait, claimed, contacted = values
        rows.append(
            QueueSpeed(
                queue_id, name, sla, total, met, miss, wait, claimed, claim, contacted, contact
            )
        )
    return rows


def _medians(
    s: Session, routed: sa.ColumnElement[bool]
) -> dict[int | None, tuple[float | None, float | None]]:
    """Median seconds from routing to claim and to first contact, per queue.

    PostgreSQL computes them with percentile_cont; elsewhere the durations are fetched and
    Python takes the median. Both interpolate between the two middle values, so they agree.
    """
    if s.get_bind().dialect.name == "postgresql":
        to_claim = sa.extract("epoch", Lead.claimed_at - Lead.routed_at)
        to_contact = sa.extract("epoch", Lead.first_contact_at - Lead.routed_at)
        query = (
            sa.select(
                Lead.queue_id,
                sa.func.percentile_cont(0.5).within_group(to_claim),
                sa.func.percentile_cont(0.5).within_group(to_contact),
            )
            .where(routed)
            .group_by(Lead.queue_id)
        )
        return {
            queue_id: (
                None if claim is None else float(claim),
                None if contact is None else float(contact),
            )
            for queue_id, claim, contact in s.execute(query)
        }
    durations: dict[int | None, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    rows = s.execute(
        sa.select(Lead.queue_id, Lead.routed_at, Lead.claimed_at, Lead.first_contact_at).where(
            routed, sa.or_(Lead.claimed_at.is_not(None), Lead.first_contact_at.is_not(None))
        )
    )
    for queue_id, routed_at, claimed_at, first_contact_at in rows:
        assert routed_at is not None
        claims, contacts = durations[queue_id]
        if claimed_at is not None:
            claims.append((claimed_at - routed_at).total_seconds())
        if first_contact_at is not None:
            contacts.append((first_contact_at - routed_at).total_seconds())
    return {
        queue_id: (
            statistics.median(claims) if claims else None,
            statistics.median(contacts) if contacts else None,
        )
        for queue_id, (claims, contacts) in durations.items()
    }


def conversion_by_source(s: Session, period: Period) -> list[SourceRow]:
    """Count leads, qualified and converted per source for leads submitted in the period.

    A lead with any touch is attributed to sellers' posts; the others count under their
    utm_source (lower-cased, "(none)" when empty). The attributed row comes first.
    """
    has_touch = sa.exists().where(Touch.lead_id == Lead.id)
    source = sa.func.coalesce(
        sa.func.nullif(sa.func.lower(sa.func.trim(Lead.utm_source)), ""), NO_SOURCE
    )
    leads = (
        sa.select(
            sa.case((has_touch, ""), else_=source).label("source"),
            Lead.status.label("status"),
        )
        .where(counted_lead(period))
        .subquery()
    )
    converted = leads.c.status == LeadStatus.CONVERTED.value
    qualified = leads.c.status.in_([status.value for status in QUALIFIED_STATUSES])
    query = sa.select(
        leads.c.source,
        sa.func.count(),
        sa.func.sum(sa.case((qualified, 1), else_=0)),
        sa.func.sum(sa.case((converted, 1), else_=0)),
    ).group_by(leads.c.source)
    rows = [
        SourceRow(key or str(ATTRIBUTED_SOURCE), key == "", int(n), int(q or 0), int(c or 0))
        for key, n, q, c in s.execute(query)
    ]
    rows.sort(key=lambda r: (not r.is_attributed, -r.leads, r.source))
    return rows


# --- campaign attribution -----------------------------------------------------------------


@dataclass(frozen=True)
class CreditRow:
    """One seller's (or item's) credit under every model."""

    key_id: int | None
    label: str
    credits: dict[str, float]
    is_other: bool = False  # credit going to touches outside the campaign


@dataclass(frozen=True)
class CampaignAttribution:
    """The leads a campaign's posts touched, credited under each model side by side.

    Every model shares each lead's credit out exactly once, so each model's column adds up
    to ``leads``; the credit of those leads' touches outside the campaign shows on a row of
    its own, so nothing goes missing.
    """

    campaign_id: int
    campaign: str
    period: Period
    by: CreditBy
    models: tuple[str, ...]
    leads: int
    rows: list[CreditRow]

    def total(self, model: str) -> float:
        """Add up one model's credit over every row."""
        return round_credit(sum(row.credits.get(model, 0.0) for row in self.rows))


def campaign_attribution(
    s: Session,
    campaign: Campaign,
    period: Period,
    by: CreditBy = "seller",
) -> CampaignAttribution:
    """Return each seller's (or item's) credit for a campaign's leads under all five models."""
    touched = (
        sa.select(Touch.lead_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(Touch.campaign_id == campaign.id, counted_lead(period))
        .distinct()
    )
    leads = s.scalar(sa.select(sa.func.count()).select_from(touched.subquery())) or 0
    key_column = Touch.seller_id if by == "seller" else Touch.content_id
    in_campaign = Touch.campaign_id == campaign.id
    key = sa.case((in_campaign, key_column), else_=None).label("key")
    inside = sa.case((in_campaign, 1), else_=0).label("inside")
    query = (
        sa.select(inside, key, *(sa.func.sum(Touch.credit(model)) for model in MODELS))
        .where(Touch.lead_id.in_(touched))
        .group_by(inside, key)
    )
    sums = [(bool(flag), key_id, values) for flag, key_id, *values in s.execute(query)]
    labels = _labels(s, by, [key_id for flag, key_id, _sum in sums if flag and key_id is not None])
    rows: list[CreditRow] = []
    other: CreditRow | None = None
    for flag, key_id, values in sums:
        credits = {model: round_credit(value) for model, value in zip(MODELS, values, strict=True)}
        if not flag:
            other = CreditRow(None, str(OTHER_CAMPAIGNS), credits, is_other=True)
            continue
        missing = str(FORMER_SELLER) if by == "seller" else _("Deleted item")
        label = labels.get(key_id, missing) if key_id is not None else missing
        rows.append(CreditRow(key_id, label, credits))
    rows.sort(key=lambda r: (-r.credits["linear"], r.label.lower()))
    if other is not None and any(other.credits.values()):
        rows.append(other)
    return CampaignAttribution(campaign.id, campaign.name, period, by, MODELS, leads, rows)


def _labels(s: Session, by: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    if by == "seller":
        query = sa.select(User.id, User.name).where(User.id.in_(ids))
    else:
        query = sa.select(Content.id, Content.title).where(Content.id.in_(ids))
    return {key_id: label for key_id, label in s.execute(query)}


# --- use cases: what the page, its CSV downloads and the API ask for ------------------------


class SalesInput(Input):
    """The sales view's period (read in the viewer's zone)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period


class AttributionInput(Input):
    """A campaign's attribution: which campaign, the period, and per seller or per item."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    campaign_id: int  # from the URL: any number, an unknown one is NotFound
    by: CreditBy = "seller"


def show_sales(s: Session, viewer: User | None, ask: SalesInput) -> SalesReport:
    """Return the sales view for the period."""
    return sales(s, ask.period)


def show_attribution(s: Session, viewer: User | None, ask: AttributionInput) -> CampaignAttribution:
    """Return a campaign's credit under every model, or NotFound when it is gone."""
    campaign = s.get(Campaign, ask.campaign_id)
    if campaign is None:
        raise NotFound(_("That campaign doesn't exist (any more)."))
    return campaign_attribution(s, campaign, ask.period, ask.by)


@dataclass(frozen=True)
class CampaignChoice:
    """A campaign as the sales view's filter shows it."""

    id: int
    name: str


def list_campaigns(s: Session) -> list[tuple[int, str]]:
    """Return every campaign's id and name, by name (the attribution table's filter)."""
    query = sa.select(Campaign.id, Campaign.name).order_by(Campaign.name)
    return [(campaign_id, name) for campaign_id, name in s.execute(query)]


def find_campaign(s: Session, campaign_id: int | None) -> CampaignChoice | None:
    """Return the campaign a filter names, None when it names none or one that is gone."""
    campaign = s.get(Campaign, campaign_id) if campaign_id is not None else None
    return CampaignChoice(campaign.id, campaign.name) if campaign is not None else None
