"""The seller's pages: today's suggested posts (/feed) and what became of past ones (/history)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import db
from contentfeed.accounts import access
from contentfeed.accounts.models import Role, User
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid
from contentfeed.routing import seller_notices
from contentfeed.suggestions import service
from contentfeed.suggestions.models import Suggestion
from contentfeed.ui import Page, page_number, sort_params, url_with

bp = Blueprint("suggestions", __name__)

SELLER = (Role.SELLER,)
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/?url="


def share_url(link: str) -> str:
    """Return LinkedIn's share dialog for a tracked link."""
    return LINKEDIN_SHARE + quote(link, safe="")


def why_you(suggestion: Suggestion, seller: User) -> list[str]:
    """Say in words why the engine picked this item for this seller."""
    parts = suggestion.score_parts or {}
    reasons = []
    profile = seller.seller_profile
    shared = sorted(set(suggestion.content.topics) & set(profile.topics if profile else []))
    if shared:
        reasons.append("matches your topics " + ", ".join(shared))
    if suggestion.content.priority >= 4:
        reasons.append("a marketing priority")
    if parts.get("freshness", 0) >= 0.6:
        reasons.append("new this week")
    if parts.get("performance", 0) >= 0.8:
        reasons.append("posts like this are getting clicks")
    if not reasons:
        reasons.append("fits your team, region and language")
    return reasons


@bp.get("/feed")
@access.require_role(*SELLER)
def feed() -> ResponseReturnValue:
    """Show what the seller could post now, each post ready to copy and share."""
    s = db.session()
    user: User = current_user
    base = current_app.config["PUBLIC_BASE_URL"]
    items = service.pending_feed(s, user, base)
    totals = service.seller_totals(s, user, utcnow() - timedelta(days=30))
    return render_template(
        "suggestions/feed.html",
        items=items,
        totals=totals,
        notices=seller_notices.notices_for(s, user),
        share_url=share_url,
        why_you=why_you,
        skip_reasons=service.SKIP_REASONS,
        paused=bool(user.seller_profile and user.seller_profile.is_paused),
    )


@bp.get("/history")
@access.require_role(*SELLER)
def history() -> ResponseReturnValue:
    """List the seller's past suggestions with what each post brought in."""
    s = db.session()
    per_page = current_app.config["PAGE_SIZE"]
    number = page_number()
    sort, direction = sort_params(
        set(service.HISTORY_SORTS), "when", descending_first=frozenset({"when", "clicks"})
    )
    items, total = service.history(
        s,
        current_user,
        current_app.config["PUBLIC_BASE_URL"],
        sort=sort,
        descending=direction == "desc",
        offset=(number - 1) * per_page,
        limit=per_page,
    )
    page = Page(number, per_page, total, lambda n: url_with(page=n))
    totals = service.seller_totals(s, current_user, utcnow() - timedelta(days=30))
    return render_template(
        "suggestions/history.html",
        items=items,
        page=page,
        totals=totals,
        skip_reasons=service.SKIP_REASONS,
        sort=sort,
        direction=direction,
    )


@bp.post("/feed/<int:suggestion_id>/posted")
@access.require_role(*SELLER)
def mark_posted(suggestion_id: int) -> ResponseReturnValue:
    """Mark a suggestion shared on LinkedIn; it moves to History."""
    s = db.session()
    suggestion = service.get_suggestion(s, suggestion_id, current_user)
    service.mark_posted(s, suggestion, actor=current_user)
    s.commit()
    flash(
        f"Nice — “{suggestion.content.title}” is marked shared. Its clicks show under History.",
        "success",
    )
    return redirect(url_for("suggestions.feed"))


@bp.post("/feed/<int:suggestion_id>/skip")
@access.require_role(*SELLER)
def skip(suggestion_id: int) -> ResponseReturnValue:
    """Set a suggestion aside with a reason, which tells marketing what doesn't work."""
    s = db.session()
    suggestion = service.get_suggestion(s, suggestion_id, current_user)
    try:
        service.skip(
            s,
            suggestion,
            actor=current_user,
            reason=request.form.get("reason", ""),
            note=request.form.get("note", ""),
        )
    except (Invalid, Conflict) as exc:
        flash(exc.message, "error")
        return redirect(url_for("suggestions.feed"))
    s.commit()
    flash(f"Skipped “{suggestion.content.title}”. Thanks — marketing sees why.", "info")
    return redirect(url_for("suggestions.feed"))
