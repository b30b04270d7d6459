"""How a suggestion and a seller look from outside: the API's answers.

Declared beside the use cases rather than in the API module because they name other
domains' vocabularies (content kinds, notification channels), which the API module does not
import.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from contentfeed.accounts.models import NotificationChannel
from contentfeed.api import Timestamp
from contentfeed.content.models import ContentKind
from contentfeed.suggestions.listing import FeedItem
from contentfeed.suggestions.models import SuggestionStatus
from contentfeed.suggestions.sellers import SellerStanding


class SellerRef(BaseModel):
    """The seller a suggestion is for."""

    id: int
    name: str


class ContentRef(BaseModel):
    """The library item a suggestion shares."""

    id: int
    title: str
    url: str
    kind: ContentKind


class SuggestionOut(BaseModel):
    """A post suggested to one seller, rendered with their tracked link."""

    id: int
    seller: SellerRef
    content: ContentRef
    variant_id: int | None
    day: date = Field(description="The seller's local day the suggestion belongs to")
    status: SuggestionStatus
    rendered_text: str = Field(description="The post exactly as the seller copies it")
    first_comment: str = Field(
        description="What the seller posts as the first comment under the post, rendered like "
        "it; empty when the variant has none. When it carries the link, the post does not"
    )
    composer_url: str = Field(
        description="Where the feed's 'Post on LinkedIn' goes: LinkedIn's composer with the "
        "post filled in (shareActive), or, when the seller or [suggestions] linkedin_composer "
        "chose share-offsite or the post is too long to fill in, LinkedIn's share dialog for "
        "the link (the seller pastes the post)"
    )
    link: str = Field(description="The seller's public tracked link")
    clicks: int = Field(description="Human clicks on the link (bots and previews excluded)")
    score: float
    score_parts: dict[str, float] = Field(description="Why it was chosen: the score's parts")
    created_at: Timestamp
    expires_at: Timestamp | None
    posted_at: Timestamp | None = Field(
        description="When it was posted: the LinkedIn post's time when verified, else when "
        "the seller marked it"
    )
    verified: bool = Field(
        description="Whether the seller named the LinkedIn post and its address passed the "
        "checks (nothing is fetched from LinkedIn)"
    )
    post_url: str | None = Field(
        description="The verified post's address on LinkedIn, without slug or tracking"
    )
    skipped_at: Timestamp | None
    skip_reason: str = Field(description="One of the skip reasons, or empty")
    skip_note: str


class SuggestionList(BaseModel):
    """One page of suggestions, newest day first."""

    items: list[SuggestionOut]
    page: int
    per_page: int
    total: int


class CreatedSuggestions(BaseModel):
    """The suggestions just made."""

    items: list[SuggestionOut]


class TeamRef(BaseModel):
    """A seller's team."""

    id: int
    name: str


class SuggestionCounts(BaseModel):
    """How many of a seller's suggestions are in each state."""

    pending: int
    posted: int
    skipped: int
    expired: int


class SellerOut(BaseModel):
    """A seller with their profile and how their suggestions stand."""

    id: int
    name: str
    email: str
    is_active: bool
    team: TeamRef | None
    title: str
    region: str
    language: str = Field(description="The preferred language: the first of languages")
    languages: list[str] = Field(description="The seller's languages, the preferred first")
    timezone: str = Field(description="IANA name; empty means the company default")
    topics: list[str]
    posts_per_week: int
    weekdays: list[int] = Field(description="Preferred weekdays, 0 (Monday) to 6 (Sunday)")
    linkedin_url: str
    linkedin_connections: int
    notification_channel: NotificationChannel
    is_paused: bool
    counts: SuggestionCounts


class SellerList(BaseModel):
    """One page of sellers, by name."""

    items: list[SellerOut]
    page: int
    per_page: int
    total: int


def suggestion_out(item: FeedItem, composer: str) -> SuggestionOut:
    """Describe a suggestion, with its link and clicks, for the API; ``composer`` is the
    company's [suggestions] linkedin_composer."""
    x = item.suggestion
    return SuggestionOut(
        id=x.id,
        seller=SellerRef(id=x.seller.id, name=x.seller.name),
        content=ContentRef(
            id=x.content.id, title=x.content.title, url=x.content.url, kind=x.content.kind
        ),
        variant_id=x.variant_id,
        day=x.day,
        status=x.status,
        rendered_text=item.text,
        first_comment=item.comment,
        composer_url=item.share_url(composer),
        link=item.link,
        clicks=item.clicks,
        score=x.score,
        score_parts={k: float(v) for k, v in x.score_parts.items()},
        created_at=x.created_at,
        expires_at=x.expires_at,
        posted_at=x.posted_at,
        verified=x.verified,
        post_url=x.post_url,
        skipped_at=x.skipped_at,
        skip_reason=x.skip_reason,
        skip_note=x.skip_note,
    )


def seller_out(standing: SellerStanding) -> SellerOut:
    """Describe a seller, their profile and their suggestion counts for the API."""
    user, counts = standing.seller, standing.counts
    profile = user.seller_profile
    assert profile is not None  # list_sellers joins the profile
    return SellerOut(
        id=user.id,
        name=user.name,
        email=user.email,
        is_active=user.is_active,
        team=TeamRef(id=user.team.id, name=user.team.name) if user.team else None,
        title=profile.title,
        region=profile.region,
        language=profile.language,
        languages=list(profile.languages),
        timezone=user.timezone,
        topics=profile.topics,
        posts_per_week=profile.posts_per_week,
        weekdays=profile.weekdays,
        linkedin_url=profile.linkedin_url,
        linkedin_connections=profile.linkedin_connections,
        notification_channel=profile.notification_channel,
        is_paused=profile.is_paused,
        counts=SuggestionCounts(
            pending=counts.get(SuggestionStatus.PENDING, 0),
            posted=counts.get(SuggestionStatus.POSTED, 0),
            skipped=counts.get(SuggestionStatus.SKIPPED, 0),
            expired=counts.get(SuggestionStatus.EXPIRED, 0),
        ),
    )
