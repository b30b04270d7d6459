"""Reports about sellers: the leaderboard, one seller's page, and whether sellers see the
leaderboard (the sales view and campaign attribution are in ``sales.py``).

Each report is a handful of set-based GROUP BY statements, whatever the number of sellers,
clicks or leads: no query runs per row. Leads merged into another lead never count. A
seller's "leads" are the last-touch credit of their touches (a lead counts once, for the
seller whose link it followed last); "qualified" is the same credit over leads that reached
qualified or converted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.models import Content
from contentfeed.db import Id
from contentfeed.errors import NotFound
from contentfeed.i18n import _
from contentfeed.leads.models import Lead, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import rollups
from contentfeed.reports.measures import between, counted_lead, is_qualified, round_credit
from contentfeed.reports.models import LeaderboardMode, ReportSettings
from contentfeed.reports.period import Period
from contentfeed.suggestions.models import Suggestion
from contentfeed.suggestions.models import SuggestionStatus as SuggestionStatus
from contentfeed.text import Input

LEAD_MODEL = "last_touch"  # the model behind a seller's "leads" on the leaderboard
STAFF = (Role.ADMIN, Role.MARKETER)  # see every seller's name, figures and page

Scope = Callable[[Any], sa.ColumnElement[bool]]


# --- seller figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class SellerFigures:
    """What a seller (or a group of sellers) did in a period."""

    posts: int = 0
    clicks: int = 0
    leads: float = 0.0
    qualified: float = 0.0
    verified: int = 0  # of the posts, those whose LinkedIn post the seller named

    def __add__(self, other: SellerFigures) -> SellerFigures:
        return SellerFigures(
            self.posts + other.posts,
            self.clicks + other.clicks,
            round_credit(self.leads + other.leads),
            round_credit(self.qualified + other.qualified),
            self.verified + other.verified,
        )


def _posts_by_seller(s: Session, period: Period, scope: Scope | None) -> dict[int, tuple[int, int]]:
    """Posts in the period per seller, and how many of them are verified."""
    query = (
        sa.select(Suggestion.seller_id, sa.func.count(), sa.func.count(Suggestion.post_activity_id))
        .where(between(Suggestion.posted_at, period))
        .group_by(Suggestion.seller_id)
    )
    if scope is not None:
        query = query.where(scope(Suggestion.seller_id))
    return {seller_id: (n, verified) for seller_id, n, verified in s.execute(query)}


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
            between(Click.clicked_at, period),
            Click.counted,
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
            sa.func.sum(sa.case((is_qualified(), credit), else_=0.0)),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .where(counted_lead(period), Touch.seller_id.is_not(None))
        .group_by(Touch.seller_id)
    )
    if scope is not None:
        query = query.where(scope(Touch.seller_id))
    return {
        seller_id: (round_credit(leads), round_credit(qualified))
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
        posted, verified = posts.get(seller_id, (0, 0))
        figures[seller_id] = SellerFigures(
            posted, clicks.get(seller_id, 0), lead, qualified, verified
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
    def verified(self) -> int:
        return self.figures.verified

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
        TeamRow(team_id, name or _("No team"), len(members), _sum(members))
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
    post_url: str | None = None  # the LinkedIn post when verified

    @property
    def verified(self) -> bool:
        return self.post_url is not None


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
        raise NotFound(_("No seller has this id."))
    if viewer.role is Role.SELLER and viewer.id != seller.id:
        raise NotFound(_("No seller has this id."))
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
            sa.func.sum(sa.case((is_qualified(), credit), else_=0.0)).label("qualified"),
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .where(counted_lead(period), Touch.seller_id == seller.id)
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
            Suggestion.post_url,
        )
        .join(Content, Content.id == Suggestion.content_id)
        .outerjoin(clicks, clicks.c.suggestion_id == Suggestion.id)
        .outerjoin(leads, leads.c.suggestion_id == Suggestion.id)
        .where(
            Suggestion.seller_id == seller.id,
            sa.or_(
                between(Suggestion.posted_at, period),
                clicks.c.clicks.is_not(None),
                leads.c.leads.is_not(None),
            ),
        )
        .order_by(Suggestion.posted_at.desc().nulls_last(), Suggestion.id.desc())
    )
    history = [
        PostRow(
            sid,
            cid,
            title,
            status,
            posted_at,
            int(n),
            round_credit(lead),
            round_credit(qualified),
            post_url,
        )
        for sid, cid, title, status, posted_at, n, lead, qualified, post_url in s.execute(query)
    ]
    team = seller.team.name if seller.team is not None else ""
    return SellerPage(seller.id, seller.name, team, period, totals, history)


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


class LeaderboardSetting(Input):
    """What an admin decides about the sellers' leaderboard."""

    leaderboard: LeaderboardMode


def save_leaderboard_setting(s: Session, actor: User, data: LeaderboardSetting) -> ReportSettings:
    """Store whether sellers see the leaderboard, and with names."""
    return save_leaderboard_mode(s, data.leaderboard, actor)


# --- use cases: what the pages, their CSV downloads and the API ask for ---------------------


class LeaderboardInput(Input):
    """The leaderboard's period (read in the viewer's zone) and, optionally, one team."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    team_id: Id | None = None


class SellerInput(Input):
    """One seller's report: whose, and for which period."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    period: Period
    seller_id: int


class LeaderboardOff(NotFound):
    """The admin switched the leaderboard off for sellers."""


@dataclass(frozen=True)
class BoardAccess:
    """How this viewer may see the leaderboard."""

    mode: LeaderboardMode
    is_staff: bool

    @property
    def anonymous(self) -> bool:
        """Sellers see the others as "Seller #n" when the admin made the board anonymous."""
        return not self.is_staff and self.mode is LeaderboardMode.ANONYMOUS


def open_leaderboard(s: Session, viewer: User) -> BoardAccess:
    """Return how the viewer sees the leaderboard, or raise LeaderboardOff for a seller
    when the admin switched it off (staff always see it)."""
    mode = leaderboard_mode(s)
    if viewer.role is Role.SELLER and mode is LeaderboardMode.OFF:
        raise LeaderboardOff(_("The leaderboard is off."))
    return BoardAccess(mode, viewer.role in STAFF)


@dataclass(frozen=True)
class BoardRow:
    """A leaderboard row as this viewer may see it."""

    rank: int
    label: str
    team: str
    figures: SellerFigures
    is_you: bool
    seller_id: int
    linked: bool  # staff see every seller's page, a seller only their own


@dataclass(frozen=True)
class ShownLeaderboard:
    """The leaderboard, its rows (in rank order) as the viewer may see them, and theirs."""

    board: Leaderboard
    rows: list[BoardRow]
    you: BoardRow | None
    anonymous: bool


def show_leaderboard(
    s: Session, viewer: User, ask: LeaderboardInput, seen: BoardAccess
) -> ShownLeaderboard:
    """Rank the sellers for the period and apply the visibility rules: staff see names;
    sellers as the admin decided (``seen``, from open_leaderboard)."""
    board = leaderboard(s, ask.period, ask.team_id)
    anonymous = seen.anonymous
    rows = []
    for position, row in enumerate(board.rows, start=1):
        is_you = row.seller_id == viewer.id
        label = _("You") if anonymous and is_you else row.name
        if anonymous and not is_you:
            label = _("Seller #%(n)s", n=position)
        team = "" if anonymous else row.team
        linked = seen.is_staff or is_you
        rows.append(BoardRow(row.rank, label, team, row.figures, is_you, row.seller_id, linked))
    you = next((row for row in rows if row.is_you), None)
    return ShownLeaderboard(board, rows, you, anonymous)


def show_seller(s: Session, viewer: User, ask: SellerInput) -> SellerPage:
    """Return a seller's totals and post history, or NotFound when the viewer may not see
    them (a seller sees only their own)."""
    return seller_page(s, visible_seller(s, viewer, ask.seller_id), ask.period)


def list_teams(s: Session) -> list[tuple[int, str]]:
    """Return every team's id and name, by name (the leaderboard's team filter)."""
    return [
        (team_id, name)
        for team_id, name in s.execute(sa.select(Team.id, Team.name).order_by(Team.name))
    ]
