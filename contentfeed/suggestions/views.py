"""The seller's pages: today's suggested posts (/feed) and what became of past ones (/history)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import config, db
from contentfeed.accounts import access
from contentfeed.accounts.access import Role, User
from contentfeed.api import validate
from contentfeed.errors import Conflict, DomainError, Invalid
from contentfeed.i18n import _
from contentfeed.routing import seller_notices
from contentfeed.suggestions import actions, listing, post_url, sharing
from contentfeed.suggestions.models import SKIP_REASONS, Suggestion
from contentfeed.ui import Page, page_number, sort_params, url_with

bp = Blueprint("suggestions", __name__)

SELLER = (Role.SELLER,)


def why_you(suggestion: Suggestion, seller: User) -> list[str]:
    """Say in words why the engine picked this item for this seller."""
    parts = suggestion.score_parts or {}
    reasons = []
    profile = seller.seller_profile
    shared = sorted(set(suggestion.content.topics) & set(profile.topics if profile else []))
    if shared:
        reasons.append(_("matches your topics %(topics)s", topics=", ".join(shared)))
    if suggestion.content.priority >= 4:
        reasons.append(_("a marketing priority"))
    if parts.get("freshness", 0) >= 0.6:
        reasons.append(_("new this week"))
    if parts.get("performance", 0) >= 0.8:
        reasons.append(_("posts like this are getting clicks"))
    if not reasons:
        reasons.append(_("fits your team, region and language"))
    return reasons


@bp.get("/feed")
@access.require_role(*SELLER)
def feed() -> ResponseReturnValue:
    """Show what the seller could post now, each post ready to copy and share."""
    return _feed_page()


def _feed_page(errors: dict[int, str] | None = None, entered: dict[int, str] | None = None) -> str:
    """Draw the feed; ``errors`` and ``entered`` hold a refused post address per card."""
    s = db.session()
    user: User = current_user
    return render_template(
        "suggestions/feed.html",
        items=listing.pending_feed(s, user, config.current().public_base_url),
        totals=listing.recent_totals(s, user),
        notices=seller_notices.notices_for(s, user),
        composer=config.current().suggestions.linkedin_composer,
        is_prefilled=sharing.is_prefilled,
        why_you=why_you,
        skip_reasons=SKIP_REASONS,
        paused=bool(user.seller_profile and user.seller_profile.is_paused),
        require_post_url=config.current().suggestions.require_post_url,
        post_url_errors=errors or {},
        post_url_entered=entered or {},
    )


@bp.get("/history")
@access.require_role(*SELLER)
def history() -> ResponseReturnValue:
    """List the seller's past suggestions with what each post brought in."""
    s = db.session()
    per_page = config.current().page_size
    number = page_number()
    sort, direction = sort_params(
        set(listing.HISTORY_SORTS), "when", descending_first=frozenset({"when", "clicks"})
    )
    items, total = listing.history(
        s,
        current_user,
        config.current().public_base_url,
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    return render_template(
        "suggestions/history.html",
        items=items,
        page=Page(number, per_page, total, lambda n: url_with(page=n)),
        totals=listing.recent_totals(s, current_user),
        skip_reasons=SKIP_REASONS,
        sort=sort,
        direction=direction,
    )


@bp.post("/feed/<int:suggestion_id>/posted")
@access.require_role(*SELLER)
def mark_posted(suggestion_id: int) -> ResponseReturnValue:
    """Mark a suggestion shared on LinkedIn, verified when the seller pastes the post's
    address; it moves to History. A refused address shows on its card, as typed."""
    entered = request.form.get("post_url", "")
    try:
        data = validate(actions.PostedIn, {"post_url": entered})
        suggestion = actions.mark_posted(
            db.session(),
            current_user,
            suggestion_id,
            data,
            require_url=config.current().suggestions.require_post_url,
        )
    except (Invalid, Conflict) as exc:
        problem = exc.fields.get("post_url") or _problems(exc)
        shown = entered[: post_url.MAX_LENGTH]
        return _feed_page({suggestion_id: problem}, {suggestion_id: shown}), exc.status
    if suggestion.verified:
        message = _(
            "Nice — “%(title)s” is marked shared and verified: your LinkedIn post is on record. "
            "Its clicks show under History.",
            title=suggestion.content.title,
        )
    else:
        message = _(
            "Nice — “%(title)s” is marked shared. Its clicks show under History.",
            title=suggestion.content.title,
        )
    flash(message, "success")
    return redirect(url_for("suggestions.feed"))


def _skip_input() -> actions.SkipIn:
    """Read the skip form into the use case's model; a note longer than the field's 500
    characters (its maxlength) is cut, not refused."""
    return validate(
        actions.SkipIn,
        {
            "reason": request.form.get("reason", ""),
            "note": request.form.get("note", "").strip()[:500],
        },
    )


def _problems(exc: DomainError) -> str:
    """Say why the form was refused in sentences: a field's own sentence, or one naming it."""
    said = " ".join(
        problem
        if problem[:1].isupper()
        else _("The %(field)s %(problem)s.", field=field, problem=problem)
        for field, problem in exc.fields.items()
    )
    return said or exc.message


@bp.post("/feed/<int:suggestion_id>/skip")
@access.require_role(*SELLER)
def skip(suggestion_id: int) -> ResponseReturnValue:
    """Set a suggestion aside with a reason, which tells marketing what doesn't work."""
    try:
        suggestion = actions.skip(db.session(), current_user, suggestion_id, _skip_input())
    except (Invalid, Conflict) as exc:
        flash(_problems(exc), "error")
        return redirect(url_for("suggestions.feed"))
    flash(
        _("Skipped “%(title)s”. Thanks — marketing sees why.", title=suggestion.content.title),
        "info",
    )
    return redirect(url_for("suggestions.feed"))
