"""Suggestions and sellers API under /api/v1: the feed, posting and skipping, suggest now."""

from __future__ import annotations

from flask import Blueprint, Response, request

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role
from contentfeed.api import Link, json_response, operation, parse_json, parse_query
from contentfeed.suggestions import actions, listing, sellers, service
from contentfeed.suggestions.actions import PostedIn, SkipIn
from contentfeed.suggestions.listing import SuggestionQuery
from contentfeed.suggestions.schemas import (
    CreatedSuggestions,
    SellerList,
    SuggestionList,
    SuggestionOut,
    seller_out,
    suggestion_out,
)
from contentfeed.suggestions.sellers import SellerQuery

bp = Blueprint("suggestions_api", __name__, url_prefix="/api/v1")

TAG = "suggestions"
SELLERS_TAG = "sellers"
FEED_ROLES = (Role.SELLER, Role.ADMIN, Role.MARKETER)
STAFF = (Role.ADMIN, Role.MARKETER)


def _base_url() -> str:
    base: str = config.current().public_base_url
    return base


def _composer() -> str:
    composer: str = config.current().suggestions.linkedin_composer
    return composer


# --- suggestions -------------------------------------------------------------------------


@bp.get("/suggestions")
@access.require_scope("read", *FEED_ROLES)
@operation(summary="List suggestions", tag=TAG, response=SuggestionList, query=SuggestionQuery)
def list_suggestions() -> Response:
    """List suggestions newest first: a seller's own, or any seller's for admins and marketers."""
    query = parse_query(SuggestionQuery)
    items, total = listing.list_suggestions(
        db.session(), access.signed_in_user(), query, _base_url()
    )
    return json_response(
        SuggestionList(
            items=[suggestion_out(i, _composer()) for i in items],
            page=query.page,
            per_page=query.per_page,
            total=total,
        )
    )


@bp.get("/suggestions/<int:suggestion_id>")
@access.require_scope("read", *FEED_ROLES)
@operation(summary="Get a suggestion", tag=TAG, response=SuggestionOut, errors=(404,))
def get_suggestion(suggestion_id: int) -> Response:
    """Return one suggestion: sellers only their own, admins and marketers any."""
    item = listing.show_suggestion(
        db.session(), access.signed_in_user(), suggestion_id, _base_url()
    )
    return json_response(suggestion_out(item, _composer()))


@bp.post("/suggestions/<int:suggestion_id>/posted")
@access.require_scope("suggestions:write", *FEED_ROLES)
@operation(
    summary="Mark a suggestion posted",
    tag=TAG,
    response=SuggestionOut,
    body=PostedIn,
    body_required=False,
    errors=(404, 409),
)
def mark_posted(suggestion_id: int) -> Response:
    """Record that the seller shared the post on LinkedIn; marking twice changes nothing.

    With ``post_url`` (optional unless the service requires it; the body may be left out)
    the post is verified: the answer says ``verified: true`` and ``posted_at`` is the post's
    time, read from its id. A post already counted for another suggestion is refused (409).
    """
    s = db.session()
    data = parse_json(PostedIn) if request.get_data() else PostedIn()
    suggestion = actions.mark_posted(
        s,
        access.signed_in_user(),
        suggestion_id,
        data,
        require_url=config.current().suggestions.require_post_url,
    )
    return json_response(
        suggestion_out(listing.feed_items(s, [suggestion], _base_url())[0], _composer())
    )


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
    suggestion = actions.skip(s, access.signed_in_user(), suggestion_id, parse_json(SkipIn))
    return json_response(
        suggestion_out(listing.feed_items(s, [suggestion], _base_url())[0], _composer())
    )


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
    standings, total = sellers.list_sellers(db.session(), query)
    return json_response(
        SellerList(
            items=[seller_out(x) for x in standings],
            page=query.page,
            per_page=query.per_page,
            total=total,
        )
    )


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
    created = actions.suggest_now(s, service.feed_settings(config.current()), seller_id)
    items = listing.feed_items(s, created, _base_url())
    return json_response(
        CreatedSuggestions(items=[suggestion_out(i, _composer()) for i in items]), 201
    )
