"""The seller's actions on a suggestion (mark it posted, skip it) and an admin's suggest now.

Never commits; the caller commits once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

import sqlalchemy as sa
from pydantic import ConfigDict, Field, JsonValue, field_validator
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _, datetime_text
from contentfeed.suggestions import post_url
from contentfeed.suggestions.listing import get_suggestion, suggestion_query
from contentfeed.suggestions.models import SKIP_REASONS, Suggestion, SuggestionStatus
from contentfeed.suggestions.planning import FeedSettings, live_content_facts
from contentfeed.suggestions.service import fill_feeds
from contentfeed.text import Input, MultiLineText


def suggest_now(
    s: Session,
    settings: FeedSettings,
    seller_id: int,
    *,
    now: datetime | None = None,
    seed: int | None = None,
) -> list[Suggestion]:
    """Give one seller a suggestion today, whatever their cadence; say why when none fits."""
    seller = s.get(User, seller_id)
    if seller is None or seller.role is not Role.SELLER:
        raise NotFound(_("No such seller."))
    if not seller.is_active:
        raise Conflict(
            _(
                "%(name)s is deactivated; reactivate them before suggesting.",
                name=seller.name,
            )
        )
    now = now or utcnow()
    before = (
        s.scalar(sa.select(sa.func.max(Suggestion.id)).where(Suggestion.seller_id == seller.id))
        or 0
    )
    result = fill_feeds(s, settings, now=now, seed=seed, only=[seller.id], ignore_cadence=True)
    if result.created == 0:
        facts, _contents = live_content_facts(s, now, base_url=settings.public_base_url)
        if not any(f.variant_ids for f in facts):
            raise Conflict(_("The library has no live content with a post variant to suggest."))
        raise Conflict(
            _(
                "No live content fits %(name)s: every live item aimed at their team, "
                "region, audience and language has already been suggested to them.",
                name=seller.name,
            )
        )
    return list(
        s.scalars(
            suggestion_query()
            .options(selectinload(Suggestion.seller))
            .where(Suggestion.seller_id == seller.id, Suggestion.id > before)
            .order_by(Suggestion.id)
        )
    )


# How far a post's time (read from its id) may lie before the suggestion was made or after
# now: the clocks of LinkedIn and of this server need not agree to the second.
CLOCK_SKEW = timedelta(minutes=5)


class PostedIn(Input):
    """What the seller says when marking a suggestion posted: the LinkedIn post, if given."""

    model_config = ConfigDict(extra="forbid")

    post_url: str | None = Field(
        default=None,
        description=(
            "The LinkedIn post's address (https://www.linkedin.com/posts/…-activity-<id>-…, "
            "…/feed/update/urn:li:activity:<id>/, or urn:li:activity|share|ugcPost:<id>). "
            "Its id carries the post's time, which must fall after the suggestion was made "
            "(5 minutes' clock skew allowed) and not in the future; one post counts for one "
            "suggestion only (409). Nothing is fetched from LinkedIn. Optional unless "
            "[suggestions] require_post_url is on."
        ),
        json_schema_extra={"maxLength": post_url.MAX_LENGTH},
    )


def _refuse(message: str, kind: type[Invalid] | type[Conflict] = Invalid) -> NoReturn:
    raise kind(message, {"post_url": message})


def _read_post(s: Session, suggestion: Suggestion, text: str, now: datetime) -> post_url.PostRef:
    """Check the post the seller named: an address we can read, made after the suggestion and
    not in the future, and not already claimed by another suggestion."""
    try:
        post = post_url.parse_post_url(text)
    except post_url.PostUrlProblem as exc:
        _refuse(str(exc))
    if post.posted_at < suggestion.created_at - CLOCK_SKEW:
        _refuse(
            _(
                "This LinkedIn post was made on %(posted)s, before the suggestion (%(suggested)s). "
                "Paste the address of the post you shared from this suggestion.",
                posted=datetime_text(post.posted_at),
                suggested=datetime_text(suggestion.created_at),
            )
        )
    if post.posted_at > now + CLOCK_SKEW:
        _refuse(
            _(
                "The post id in this address gives a time in the future (%(posted)s). "
                "Check that you pasted the whole address.",
                posted=datetime_text(post.posted_at),
            )
        )
    taken = s.scalar(
        sa.select(Suggestion.id).where(
            Suggestion.post_activity_id == post.activity_id, Suggestion.id != suggestion.id
        )
    )
    if taken is not None:
        _refuse(
            _("This LinkedIn post is already counted for another suggestion."),
            Conflict,
        )
    return post


def mark_posted(
    s: Session,
    actor: User,
    suggestion_id: int,
    data: PostedIn | None = None,
    *,
    require_url: bool = False,
    now: datetime | None = None,
) -> Suggestion:
    """Record that the seller shared the post, verified when they name the LinkedIn post.

    With a post address (``data.post_url``; required when ``require_url``) the post is checked
    (``_read_post``) and the suggestion keeps its address, id and time; ``posted_at`` is then
    the post's time. Marking twice changes nothing, except that a post marked without an
    address may be verified later; one verified with another post is refused (409).
    Sellers mark only their own; admins and marketers any (another's is not found).
    """
    suggestion = get_suggestion(s, suggestion_id, actor)
    now = now or utcnow()
    given = (data.post_url if data is not None else None) or ""
    given = given.strip()
    if not given:
        if suggestion.status is SuggestionStatus.POSTED:
            return suggestion
        if require_url:
            _refuse(
                _(
                    "Paste the address of your LinkedIn post: it shows the post went out. "
                    "Open the post, choose “Copy link to post” and paste that."
                )
            )
    post = _read_post(s, suggestion, given, now) if given else None
    if suggestion.status is SuggestionStatus.POSTED and suggestion.verified:
        if post is not None and post.activity_id == suggestion.post_activity_id:
            return suggestion
        _refuse(_("This post is already verified with another LinkedIn post."), Conflict)
    suggestion.status = SuggestionStatus.POSTED
    suggestion.posted_at = now
    if post is not None:
        suggestion.post_url = post.url
        suggestion.post_activity_id = post.activity_id
        suggestion.post_time = suggestion.posted_at = post.posted_at
    suggestion.skipped_at, suggestion.skip_reason, suggestion.skip_note = None, "", ""
    s.flush()
    return suggestion


REASON_CHOICES: list[JsonValue] = list(SKIP_REASONS)


def choose_a_reason() -> str:
    """Say which reasons there are, in the current language."""
    reasons = ", ".join(str(label) for label in SKIP_REASONS.values())
    return str(_("Choose a reason: %(reasons)s.", reasons=reasons))


class SkipIn(Input):
    """Why the seller sets a suggestion aside; it tells marketing what doesn't work."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        # The API document is English, the source language of the labels.
        description=", ".join(f"{key}: {text._args[0]}" for key, text in SKIP_REASONS.items()),
        json_schema_extra={"enum": REASON_CHOICES},
    )
    note: MultiLineText = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in SKIP_REASONS:
            raise ValueError(choose_a_reason())
        return value


def skip(
    s: Session, actor: User, suggestion_id: int, data: SkipIn, *, now: datetime | None = None
) -> Suggestion:
    """Set a suggestion aside with a reason; a post already marked shared cannot be skipped.

    Sellers skip only their own; admins and marketers any (another's is not found).
    """
    suggestion = get_suggestion(s, suggestion_id, actor)
    if suggestion.status is SuggestionStatus.POSTED:
        raise Conflict(_("This post is already marked shared."))
    suggestion.status = SuggestionStatus.SKIPPED
    suggestion.skipped_at = now or utcnow()
    suggestion.skip_reason = data.reason
    suggestion.skip_note = data.note.strip()
    s.flush()
    return suggestion
