"""Reports about people: the sellers' leaderboard, one seller's page, the sales view and a
campaign's attribution under every model.

Each report is a handful of set-based GROUP BY statements, whatever the number of sellers,
clicks or leads: no query runs per row. Leads merged into another lead never count. A
seller's "leads" are the last-touch credit of their touches (a lead counts once, for the
seller whose link it followed last); "qualified" is the same credit over leads that reached
qualified or converted.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.models import Campaign, Content
from contentfeed.db import utcnow
from contentfeed.errors import NotFound
from contentfeed.leads.attribution import MODELS
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import rollups
from contentfeed.reports.models import LeaderboardMode, ReportSettings
from contentfeed.reports.period import Period
from contentfeed.routing.models import Queue
from contentfeed.suggestions.models import Suggestion, SuggestionStatus

QUALIFIED_STATUSES = (LeadStatus.QUALIFIED, LeadStatus.CONVERTED)
LEAD_MODEL = "last_touch"  # the model behind a seller's "leads" on the leaderboard
NO_SOURCE = "(none)"
ATTRIBUTED_SOURCE = "Sellers' posts (attributed)"
OTHER_CAMPAIGNS = "Other campaigns or no campaign"
FORMER_SELLER = "Former seller"

Scope = Callable[[Any], sa.ColumnElement[bool]]


# --- shared pieces ----------------------------------------------------------------------


def _between(column: Any, period: Period) -> sa.ColumnElement[bool]:
    """Keep instants inside the period (start included, end excluded)."""
    return sa.and_(column >= period.start, column < period.end)


def _counted_lead(period: Period) -> sa.ColumnElement[bool]:
    """Keep leads submitted in the period that were not merged into another lead."""
    return sa.and_(_between(Lead.submitted_at, period), Lead.merged_into_id.is_(None))


def _is_qualified() -> sa.ColumnElement[bool]:
    return Lead.status.in_(QUALIFIED_STATUSES)


def _round(value: float | None) -> float:
    # Credits are stored to 6 decimals; summing floats adds noise below that.
    return round(float(value or 0.0), 6)


def format_credit(value: float) -> str:
    """Show a credit sum: whole numbers plainly, fractions with two decimals."""
    if abs(value - round(value)) < 0.005:
        return f"{round(value):d}"
    return f"{value:.2f}"


def format_duration(seconds: float | None) -> str:
    """Show a duration like "1 h 12 min" ("—" when there is none)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def format_rate(rate: float | None) -> str:
    """Show a share as a whole percentage ("—" when there is nothing to divide)."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# --- seller figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class SellerFigures:
    """What a seller (or a group of sellers) did in a period."""

    posts: int = 0
    clicks: int = 0
    leads: float = 0.0
    qualified: float = 0.0

    def __add__(self, other: SellerFigures) -> SellerFigures:
        return SellerFigures(
            self.posts + other.posts,
            self.clicks + other.clicks,
            _round(self.leads + other.leads),
            _round(self.qualified + other.qualified),
        )


def _posts_by_seller(s: Session, period: Period, scope: Scope | None) -> dict[int, int]:
    query = (
        sa.select(Suggestion.seller_id, sa.func.count())
        .where(_between(Suggestion.posted_at, period))
        .group_by(Suggestion.seller_id)
    )
    if scope is not None:
        query = query.where(scope(Suggestion.seller_id))
    return {seller_id: n for seller_id, n in s.execute(query)}


def _clicks_by_link(period: Period, seller_id: int) -> sa.Subquery:
    """Human clicks in the period per link of one seller: the seller's link ids narrow the
    click scan to them (index on link_id) before anything is counted."""
    links = (
        sa.select(TrackedLink.id)
        .join(Suggestion, Suggestion.id == TrackedLink.suggestion_id)
        .where(Suggestion.seller_id == seller_id)
    )
    return (
        sa.select(Click.link_id, sa.func.count().label("clicks"))
        .where(
            _between(Click.clicked_at, period),
            Click.is_bot.is_(False),
            Click.link_id.in_(links),
        )
        .group_by(Click.link_id)
        .subquery()
    )


def _clicks_by_seller(s: Session, period: Period, scope: Scope | None) -> dict[int, int]:
    clicks = rollups.human_clicks(s, period)
    query = (
        sa.select(clicks.c.seller_id, sa.func.sum(clicks.c.clicks))
        .select_from(clicks)
        .group_by(clicks.c.seller_id)
    )
    if scope is not None:
        query = query.where(scope(clicks.c.seller_id))
    return {seller_id: int(n) for seller_id, n in s.execute(query) if n}


def _leads_by_seller(
    s: Session, period: Period, scope: Scope | None
) -> dict[int, tuple[float, float]]:
    credit = Touch.credit(LEAD_MODEL)
    query = (
        sa.select(
            Touch.seller_id,
            sa.func.sum(credit),
            sa.func.sum(sa.case((_is_qualified(), credit), else_=0.0)),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .where(_counted_lead(period), Touch.seller_id.is_not(None))
        .group_by(Touch.seller_id)
    )
    if scope is not None:
        query = query.where(scope(Touch.seller_id))
    return {
        seller_id: (_round(leads), _round(qualified))
        for seller_id, leads, qualified in s.execute(query)
        if seller_id is not None
    }


def _figures_by_seller(s: Session, period: Period, scope: Scope | None) -> dict[int, SellerFigures]:
    posts = _posts_by_seller(s, period, scope)
    clicks = _clicks_by_seller(s, period, scope)
    leads = _leads_by_seller(s, period, scope)
    figures = {}
    for seller_id in posts.keys() | clicks.keys() | leads.keys():
        lead, qualified = leads.get(seller_id, (0.0, 0.0))
        figures[seller_id] = SellerFigures(
            posts.get(seller_id, 0), clicks.get(seller_id, 0), lead, qualified
        )
    return figures


# --- leaderboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaderboardRow:
    """One seller's place and figures."""

    rank: int
    seller_id: int
    name: str
    team_id: int | None
    team: str
    figures: SellerFigures

    @property
    def posts(self) -> int:
        return self.figures.posts

    @property
    def clicks(self) -> int:
        return self.figures.clicks

    @property
    def leads(self) -> float:
        return self.figures.leads

    @property
    def qualified(self) -> float:
        return self.figures.qualified


@dataclass(frozen=True)
class TeamRow:
    """A team's sellers added up."""

    team_id: int | None
    team: str
    sellers: int
    figures: SellerFigures


@dataclass(frozen=True)
class Leaderboard:
    """Sellers ranked by leads, then qualified leads, clicks and posts; ties share a rank."""

    period: Period
    team_id: int | None
    rows: list[LeaderboardRow]
    teams: list[TeamRow]
    totals: SellerFigures


def _rank_key(figures: SellerFigures) -> tuple[float, float, int, int]:
    return (-figures.leads, -figures.qualified, -figures.clicks, -figures.posts)


def leaderboard(s: Session, period: Period, team_id: int | None = None) -> Leaderboard:
    """Rank the sellers (of one team, or all) by what their posts brought in the period.

    Active sellers appear even with nothing to show; deactivated ones only with figures.
    """
    scope: Scope | None = None
    if team_id is not None:
        team_sellers = sa.select(User.id).where(User.team_id == team_id)
        scope = lambda column: column.in_(team_sellers)  # noqa: E731
    figures = _figures_by_seller(s, period, scope)
    sellers = (
        sa.select(User.id, User.name, User.team_id, Team.name, User.is_active)
        .outerjoin(Team, Team.id == User.team_id)
        .where(User.role == Role.SELLER)
    )
    if team_id is not None:
        sellers = sellers.where(User.team_id == team_id)
    people = [
        (seller_id, name, seller_team_id, team_name or "")
        for seller_id, name, seller_team_id, team_name, is_active in s.execute(sellers)
        if is_active or seller_id in figures
    ]
    people.sort(key=lambda p: (_rank_key(figures.get(p[0], SellerFigures())), p[1].lower(), p[0]))
    rows: list[LeaderboardRow] = []
    for position, (seller_id, name, seller_team_id, team_name) in enumerate(people, start=1):
        own = figures.get(seller_id, SellerFigures())
        tied = rows and _rank_key(rows[-1].figures) == _rank_key(own)
        rank = rows[-1].rank if tied else position
        rows.append(LeaderboardRow(rank, seller_id, name, seller_team_id, team_name, own))
    return Leaderboard(period, team_id, rows, _team_rows(rows), _sum(r.figures for r in rows))


def _sum(figures: Iterable[SellerFigures]) -> SellerFigures:
    total = SellerFigures()
    for item in figures:
        total = total + item
    return total


def _team_rows(rows: list[LeaderboardRow]) -> list[TeamRow]:
    groups: dict[tuple[int | None, str], list[SellerFigures]] = defaultdict(list)
    for row in rows:
        groups[(row.team_id, row.team)].append(row.figures)
    teams = [
        TeamRow(team_id, name or "No team", len(members), _sum(members))
        for (team_id, name), members in groups.items()
    ]
    teams.sort(key=lambda t: (_rank_key(t.figures), t.team.lower()))
    return teams


# --- one seller ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostRow:
    """One suggestion of the seller's, with what it brought in the period."""

    suggestion_id: int
    content_id: int
    title: str
    status: SuggestionStatus
    posted_at: datetime | None
    clicks: int
    leads: float
    qualified: float


# How a seller's post history can be ordered; ties keep the newest post first.
POST_SORTS: dict[str, Callable[[PostRow], Any]] = {
    "content": lambda row: row.title.lower(),
    "posted": lambda row: row.posted_at or datetime.min.replace(tzinfo=UTC),
    "clicks": lambda row: row.clicks,
    "leads": lambda row: row.leads,
    "qualified": lambda row: row.qualified,
}


def sort_posts(rows: list[PostRow], key: str, descending: bool) -> list[PostRow]:
    """Return the rows ordered by one of POST_SORTS (stable: equal rows keep their order)."""
    return sorted(rows, key=POST_SORTS.get(key, POST_SORTS["posted"]), reverse=descending)


def visible_seller(s: Session, viewer: User, seller_id: int) -> User:
    """Return the seller whose page this viewer may see (staff: any seller; a seller: only
    themself), or raise NotFound: a page one may not see does not exist for them."""
    seller = s.get(User, seller_id)
    if seller is None or seller.role is not Role.SELLER:
        raise NotFound("No seller has this id.")
    if viewer.role is Role.SELLER and viewer.id != seller.id:
        raise NotFound("No seller has this id.")
    return seller


@dataclass(frozen=True)
class SellerPage:
    """A seller's totals for the period and the posts behind them.

    The history lists every post shared in the period or bringing clicks or leads in it, so
    its columns add up to the totals (leads whose post was deleted count only in the totals).
    """

    seller_id: int
    name: str
    team: str
    period: Period
    totals: SellerFigures
    history: list[PostRow]


def seller_page(s: Session, seller: User, period: Period) -> SellerPage:
    """Return one seller's totals and post history for the period."""
    scope: Scope = lambda column: column == seller.id  # noqa: E731
    totals = _figures_by_seller(s, period, scope).get(seller.id, SellerFigures())
    per_link = _clicks_by_link(period, seller.id)
    clicks = (
        sa.select(TrackedLink.suggestion_id, per_link.c.clicks)
        .join(per_link, per_link.c.link_id == TrackedLink.id)
        .subquery()
    )
    credit = Touch.credit(LEAD_MODEL)
    leads = (
        sa.select(
            Touch.suggestion_id,
            sa.func.sum(credit).label("leads"),
            sa.func.sum(sa.case((_is_qualified(), credit), else_=0.0)).label("qualified"),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .where(_counted_lead(period), Touch.seller_id == seller.id)
        .group_by(Touch.suggestion_id)
        .subquery()
    )
    query = (
        sa.select(
            Suggestion.id,
            Suggestion.content_id,
            Content.title,
            Suggestion.status,
            Suggestion.posted_at,
            sa.func.coalesce(clicks.c.clicks, 0),
            leads.c.leads,
            leads.c.qualified,
        )
        .join(Content, Content.id == Suggestion.content_id)
        .outerjoin(clicks, clicks.c.suggestion_id == Suggestion.id)
        .outerjoin(leads, leads.c.suggestion_id == Suggestion.id)
        .where(
            Suggestion.seller_id == seller.id,
            sa.or_(
                _between(Suggestion.posted_at, period),
                clicks.c.clicks.is_not(None),
                leads.c.leads.is_not(None),
            ),
        )
        .order_by(Suggestion.posted_at.desc().nulls_last(), Suggestion.id.desc())
    )
    history = [
        PostRow(sid, cid, title, status, posted_at, int(n), _round(lead), _round(qualified))
        for sid, cid, title, status, posted_at, n, lead, qualified in s.execute(query)
    ]
    team = seller.team.name if seller.team is not None else ""
    return SellerPage(seller.id, seller.name, team, period, totals, history)


# --- sales --------------------------------------------------------------------------------


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
        return _rate(self.met, self.met + self.missed)


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
        return _rate(self.qualified, self.leads)

    @property
    def converted_rate(self) -> float | None:
        return _rate(self.converted, self.leads)


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


NO_QUEUE = "Not routed"


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
        .where(_counted_lead(period))
        .group_by(Lead.queue_id, Lead.status)
    )
    counts: dict[int | None, dict[LeadStatus, int]] = {queue_id: {} for queue_id in queues}
    for queue_id, status, n in s.execute(query):
        counts.setdefault(queue_id, {})[status] = n
    return [
        QueueStatusRow(queue_id, queues[queue_id][0] if queue_id in queues else NO_QUEUE, found)
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
    routed = sa.and_(_between(Lead.routed_at, period), Lead.merged_into_id.is_(None))
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
        name, sla = queues.get(queue_id, (NO_QUEUE, None)) if queue_id else (NO_QUEUE, None)
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
        .where(_counted_lead(period))
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
        SourceRow(key or ATTRIBUTED_SOURCE, key == "", int(n), int(q or 0), int(c or 0))
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
    by: Literal["seller", "content"]
    models: tuple[str, ...]
    leads: int
    rows: list[CreditRow]

    def total(self, model: str) -> float:
        """Add up one model's credit over every row."""
        return _round(sum(row.credits.get(model, 0.0) for row in self.rows))


def campaign_attribution(
    s: Session,
    campaign: Campaign,
    period: Period,
    by: Literal["seller", "content"] = "seller",
) -> CampaignAttribution:
    """Return each seller's (or item's) credit for a campaign's leads under all five models."""
    touched = (
        sa.select(Touch.lead_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(Touch.campaign_id == campaign.id, _counted_lead(period))
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
    labels = _labels(s, by, [key_id for flag, key_id, _ in sums if flag and key_id is not None])
    rows: list[CreditRow] = []
    other: CreditRow | None = None
    for flag, key_id, values in sums:
        credits = {model: _round(value) for model, value in zip(MODELS, values, strict=True)}
        if not flag:
            other = CreditRow(None, OTHER_CAMPAIGNS, credits, is_other=True)
            continue
        missing = FORMER_SELLER if by == "seller" else "Deleted item"
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


# --- settings -----------------------------------------------------------------------------


def leaderboard_mode(s: Session) -> LeaderboardMode:
    """Return whether sellers see the leaderboard, and with names (on when never set)."""
    settings = s.scalar(sa.select(ReportSettings).order_by(ReportSettings.id).limit(1))
    return settings.leaderboard if settings is not None else LeaderboardMode.ON


def save_leaderboard_mode(s: Session, mode: LeaderboardMode, actor: User) -> ReportSettings:
    """Store the leaderboard mode, creating the settings row the first time."""
    settings = s.scalar(sa.select(ReportSettings).order_by(ReportSettings.id).limit(1))
    if settings is None:
        settings = ReportSettings()
        s.add(settings)
    settings.leaderboard = mode
    settings.updated_by_id = actor.id
    s.flush()
    return settings
