"""Reports API: the sellers' leaderboard and one seller's report."""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.api import Timestamp, json_response, operation, parse_query
from contentfeed.db import Id
from contentfeed.reports import people
from contentfeed.reports.api.common import (
    SELLER_REPORT,
    STAFF,
    TAG,
    PeriodOut,
    PeriodQuery,
    Ref,
    bp,
    period_out,
    read_period,
)
from contentfeed.reports.people import SuggestionStatus


class LeaderboardQuery(PeriodQuery):
    """The leaderboard's period, optionally for one team."""

    team_id: Id | None = Field(default=None, description="Only this team's sellers")


class SellerFiguresOut(BaseModel):
    """What a seller (or several) did: posts shared, human clicks, leads (last-touch credit)."""

    posts: int
    verified: int = Field(
        description="Of the posts, those verified: the seller named the LinkedIn post"
    )
    clicks: int
    leads: float
    qualified: float


def _seller_figures(f: people.SellerFigures) -> SellerFiguresOut:
    return SellerFiguresOut.model_validate(f, from_attributes=True)


class LeaderboardRowOut(BaseModel):
    """A seller's place; ties share a rank."""

    rank: int
    seller: Ref
    team_id: int | None
    team: str
    figures: SellerFiguresOut


class TeamRowOut(BaseModel):
    """A team's sellers added up."""

    team_id: int | None
    team: str
    sellers: int
    figures: SellerFiguresOut


class LeaderboardOut(BaseModel):
    """Sellers ranked by leads, then qualified leads, clicks and posts."""

    period: PeriodOut
    team_id: int | None
    rows: list[LeaderboardRowOut]
    teams: list[TeamRowOut]
    totals: SellerFiguresOut


@bp.get("/sellers")
@access.require_scope("read", *STAFF)
@operation(summary="Sellers' leaderboard", tag=TAG, response=LeaderboardOut, query=LeaderboardQuery)
def leaderboard() -> Response:
    """Rank the sellers (all, or one team's) by what their posts brought in the period."""
    query = parse_query(LeaderboardQuery)
    period = read_period(query)
    s, caller = db.session(), access.signed_in_user()
    ask = people.LeaderboardInput(period=period, team_id=query.team_id)
    board = people.show_leaderboard(s, caller, ask, people.open_leaderboard(s, caller)).board
    body = LeaderboardOut(
        period=period_out(period),
        team_id=board.team_id,
        rows=[
            LeaderboardRowOut(
                rank=row.rank,
                seller=Ref(id=row.seller_id, name=row.name),
                team_id=row.team_id,
                team=row.team,
                figures=_seller_figures(row.figures),
            )
            for row in board.rows
        ],
        teams=[TeamRowOut.model_validate(team, from_attributes=True) for team in board.teams],
        totals=_seller_figures(board.totals),
    )
    return json_response(body)


class PostOut(BaseModel):
    """One of the seller's suggestions, with what it brought in the period."""

    suggestion_id: int
    content_id: int
    title: str
    status: SuggestionStatus
    posted_at: Timestamp | None = Field(
        description="The LinkedIn post's time when verified, else when it was marked posted"
    )
    verified: bool
    post_url: str | None = Field(description="The verified LinkedIn post's address")
    clicks: int
    leads: float
    qualified: float


class SellerReportOut(BaseModel):
    """A seller's totals and the posts behind them (their columns add up to the totals)."""

    seller: Ref
    team: str
    period: PeriodOut
    totals: SellerFiguresOut
    history: list[PostOut] = Field(description="Newest post first")


@bp.get("/sellers/<int:seller_id>")
@access.require_scope("read", *SELLER_REPORT)
@operation(
    summary="A seller's report",
    tag=TAG,
    response=SellerReportOut,
    query=PeriodQuery,
    errors=(404,),
)
def seller_report(seller_id: int) -> Response:
    """Return a seller's totals and post history. Sellers may ask only for their own."""
    query = parse_query(PeriodQuery)
    period = read_period(query)
    ask = people.SellerInput(period=period, seller_id=seller_id)
    page = people.show_seller(db.session(), access.signed_in_user(), ask)
    body = SellerReportOut(
        seller=Ref(id=page.seller_id, name=page.name),
        team=page.team,
        period=period_out(period),
        totals=_seller_figures(page.totals),
        history=[PostOut.model_validate(post, from_attributes=True) for post in page.history],
    )
    return json_response(body)
