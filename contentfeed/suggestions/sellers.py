"""Sellers as marketing sees them: each with their profile and how their suggestions stand.

Never commits; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import User
from contentfeed.db import Id, PageNumber
from contentfeed.suggestions.listing import MAX_PER_PAGE, status_counts
from contentfeed.suggestions.models import SuggestionStatus
from contentfeed.text import Input


class SellerQuery(Input):
    """Filters and page for the seller list."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in name and email")
    team_id: Id | None = None
    region: str = Field(default="", description="Exact region, any case")
    language: str = Field(default="", description="Sellers with this among their languages")
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


@dataclass(frozen=True)
class SellerStanding:
    """A seller, their profile loaded, and how many of their suggestions are in each state."""

    seller: User
    counts: dict[SuggestionStatus, int]


def list_sellers(s: Session, query: SellerQuery) -> tuple[list[SellerStanding], int]:
    """Return a page of sellers by name, filtered, with their suggestion counts; and how many
    match."""
    found = accounts.list_sellers(
        s,
        search=query.q,
        team_id=query.team_id,
        region=query.region,
        language=query.language,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    counts = status_counts(s, [u.id for u in found.items])
    return [SellerStanding(u, counts[u.id]) for u in found.items], found.total
