"""Suggestions and sellers API under /api/v1: the feed, posting and skipping, suggest now."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import NotificationChannel, Role, User
from contentfeed.api import Link, Timestamp, json_response, operation, parse_json, parse_query
from contentfeed.content.models import ContentKind
from contentfeed.db import Id, PageNumber
from contentfeed.errors import Forbidden, Invalid
from contentfeed.suggestions import actions, listing, service
from contentfeed.suggestions.models import SKIP_REASONS, SuggestionStatus
from contentfeed.text import Input, MultiLineText

bp = Blueprint("suggestions_api", __name__, url_prefix="/api/v1")

TAG = "suggestions"
SELLERS_TAG = "sellers"
FEED_ROLES = (Role.SELLER, Role.ADMIN, Role.MARKETER)
STAFF = (Role.ADMIN, Role.MARKETER)
MAX_PER_PAGE = 200
REASON_CHOICES: list[JsonValue] = list(SKIP_REASONS)


# --- responses ---------------------------------------------------------------------------


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
    link: str = Field(description="The seller's public tracked link")
    clicks: int = Field(description="Human clicks on the link (bots and previews excluded)")
    score: float
    score_parts: dict[str, float] = Field(description="Why it was chosen: the score's parts")
    created_at: Timestamp
    expires_at: Timestamp | None
    posted_at: Timestamp | None
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
    language: str
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


# --- requests ----------------------------------------------------------------------------


class SuggestionQuery(Input):
    """Whose suggestions, in which state, which page."""

    model_config = ConfigDict(extra="forbid")

    seller_id: Id | None = Field(
        default=None, description="Admins and marketers: one seller's; sellers: only their own"
    )
    status: SuggestionStatus | None = None
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


class SkipIn(Input):
    """Why the seller sets a suggestion aside; it tells marketing what doesn't work."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        description=", ".join(f"{key}: {text}" for key, text in SKIP_REASONS.items()),
        json_schema_extra={"enum": REASON_CHOICES},
    )
    note: MultiLineText = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in SKIP_REASONS:
            raise ValueError(f"must be one of {', '.join(SKIP_REASONS)}")
        return value


class SellerQuery(Input):
    """Filters and page for the seller list."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in name and email")
    team_id: Id | None = None
    region: str = Field(default="", description="Exact region, any case")
    language: str = ""
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


# --- describing --------------------------------------------------------------------------


def suggestion_out(item: listing.FeedItem) -> SuggestionOut:
    """Describe a suggestion, with its link and clicks, for the API."""
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
        link=item.link,
        clicks=item.clicks,
        score=x.score,
        score_parts={k: float(v) for k, v in x.score_parts.items()},
        created_at=x.created_at,
        expires_at=x.expires_at,
        posted_at=x.posted_at,
        skipped_at=x.skipped_at,
        skip_reason=x.skip_reason,
        skip_note=x.skip_note,
    )


def seller_out(user: User, counts: dict[SuggestionStatus, int]) -> SellerOut:
    """Describe a seller and their profile for the API."""
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


def _base_url() -> str:
    base: str = current_app.config["PUBLIC_BASE_URL"]
    return base


# --- suggestions -------------------------------------------------------------------------


@bp.get("/suggestions")
@access.require_scope("read", *FEED_ROLES)
@operation(summary="List suggestions", tag=TAG, response=SuggestionList, query=SuggestionQuery)
def list_suggestions() -> Response:
    """List suggestions newest first: a seller's own, or any seller's for admins and marketers."""
    query = parse_query(SuggestionQuery)
    s = db.session()
    actor = access.signed_in_user()
    seller_id = query.seller_id
    if actor.role is Role.SELLER:
        if seller_id not in (None, actor.id):
            raise Forbidden("Sellers see only their own suggestions.")
        seller_id = actor.id
    elif seller_id is not None:
        seller = s.get(User, seller_id)
        if seller is None or seller.role is not Role.SELLER:
            raise Invalid("No seller has this id.", {"seller_id": "No seller has this id."})
    items, total = listing.list_suggestions(
        s,
        _base_url(),
        seller_id=seller_id,
        status=query.status,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    body = SuggestionList(
        items=[suggestion_out(i) for i in items],
        page=query.page,
        per_page=query.per_page,
        total=total,
    )
    s.commit()
    return json_response(body)


@bp.get("/suggestions/<int:suggestion_id>")
@access.require_scope("read", *FEED_ROLES)
@operation(summary="Get a suggestion", tag=TAG, response=SuggestionOut, errors=(404,))
def get_suggestion(suggestion_id: int) -> Response:
    """Return one suggestion: sellers only their own, admins and marketers any."""
    s = db.session()
    suggestion = listing.get_suggestion(s, suggestion_id, access.signed_in_user())
    body = suggestion_out(listing.feed_items(s, [suggestion], _base_url())[0])
    s.commit()
    return json_response(body)


@bp.post("/suggestions/<int:suggestion_id>/posted")
@access.require_scope("suggestions:write", *FEED_ROLES)
@operation(summary="Mark a suggestion posted", tag=TAG, response=SuggestionOut, errors=(404,))
def mark_posted(suggestion_id: int) -> Response:
    """Record that the seller shared the post on LinkedIn; marking twice changes nothing."""
    s = db.session()
    actor = access.signed_in_user()
    suggestion = listing.get_suggestion(s, suggestion_id, actor)
    actions.mark_posted(s, suggestion, actor=actor)
    body = suggestion_out(listing.feed_items(s, [suggestion], _base_url())[0])
    s.commit()
    return json_response(body)


@bp.post("/suggestions/<int:suggestion_id>/skip")
@access.require_scope("suggestions:write", *FEED_ROLES)
@operation(
    summary="Skip a suggestion",
    tag=TAG,
    response=SuggestionOut,
    body=SkipIn,
    errors=(404, 409),
)
def skip(suggestion_id: int) -> Response:
    """Set a suggestion aside with a reason; a post already marked shared cannot be skipped."""
    s = db.session()
    actor = access.signed_in_user()
    suggestion = listing.get_suggestion(s, suggestion_id, actor)
    data = parse_json(SkipIn)
    actions.skip(s, suggestion, actor=actor, reason=data.reason, note=data.note)
    body = suggestion_out(listing.feed_items(s, [suggestion], _base_url())[0])
    s.commit()
    return json_response(body)


# --- sellers -----------------------------------------------------------------------------


@bp.get("/sellers")
@access.require_scope("read", *STAFF)
@operation(
    summary="List sellers",
    tag=SELLERS_TAG,
    response=SellerList,
    query=SellerQuery,
    links={
        "suggest_now": Link(
            "suggestions_api.suggest_now", "POST", {"seller_id": "$response.body#/items/0/id"}
        )
    },
)
def list_sellers() -> Response:
    """List sellers with their profiles and suggestion counts, filtered and a page at a time."""
    query = parse_query(SellerQuery)
    s = db.session()
    result = accounts.list_sellers(
        s,
        search=query.q,
        team_id=query.team_id,
        region=query.region,
        language=query.language,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    counts = listing.status_counts(s, [u.id for u in result.items])
    body = SellerList(
        items=[seller_out(u, counts[u.id]) for u in result.items],
        page=query.page,
        per_page=query.per_page,
        total=result.total,
    )
    s.commit()
    return json_response(body)


@bp.post("/sellers/<int:seller_id>/suggest-now")
@access.require_scope("suggestions:write", Role.ADMIN)
@operation(
    summary="Suggest to a seller now",
    tag=SELLERS_TAG,
    response=CreatedSuggestions,
    status=201,
    errors=(404, 409),
)
def suggest_now(seller_id: int) -> Response:
    """Give a seller one more suggestion today, ignoring cadence and pause; 409 if none fits."""
    s = db.session()
    created = actions.suggest_now(s, service.feed_settings(current_app.config), seller_id)
    items = listing.feed_items(s, created, _base_url())
    body = CreatedSuggestions(items=[suggestion_out(i) for i in items])
    s.commit()
    return json_response(body, 201)
