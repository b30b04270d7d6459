"""Whom an item cannot reach: targeted sellers with no variant in any of their languages."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, SellerProfile, Team, TeamKind, User
from contentfeed.content.models import Audience, Content

SHOWN_BY_NAME = 10  # the item page names this many; the rest are counted


@dataclass(frozen=True)
class Unreached:
    """A targeted seller the item has no variant for, and the languages they post in."""

    id: int
    name: str
    languages: list[str]


@dataclass(frozen=True)
class Reach:
    """The targeted sellers an item cannot reach: the first few by name, and how many."""

    sellers: list[Unreached]
    total: int

    @property
    def more(self) -> int:
        """Return how many are counted but not named."""
        return self.total - len(self.sellers)


def unreached_sellers(s: Session, content: Content) -> Reach:
    """Find the active sellers the item's teams, regions and audience target who get none of
    its variants, because no variant is in one of their languages (none when it has no variant)."""
    covered = set(content.variant_languages)
    if not covered:
        return Reach([], 0)
    query = (
        sa.select(User.id, User.name, SellerProfile.languages)
        .join(SellerProfile, SellerProfile.user_id == User.id)
        .where(User.is_active, User.role == Role.SELLER)
        .order_by(sa.func.lower(User.name), User.id)
    )
    if content.target_team_ids:
        query = query.where(User.team_id.in_(content.target_team_ids))
    if content.audience is not Audience.BOTH:  # customer development gets customers' items
        in_customer_development = sa.exists().where(
            Team.id == User.team_id, Team.kind == TeamKind.CUSTOMER_DEVELOPMENT
        )
        query = query.where(
            in_customer_development
            if content.audience is Audience.CUSTOMERS
            else ~in_customer_development
        )
    if content.target_regions:
        regions = [r.lower() for r in content.target_regions]
        query = query.where(sa.func.lower(SellerProfile.region).in_(regions))
    named: list[Unreached] = []
    total = 0
    for seller_id, name, languages in s.execute(query):
        if covered.intersection(languages or ()):
            continue
        total += 1
        if len(named) < SHOWN_BY_NAME:
            named.append(Unreached(seller_id, name, list(languages or ())))
    return Reach(named, total)
