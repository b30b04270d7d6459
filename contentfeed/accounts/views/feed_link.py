"""Following a one-click feed link from a digest (email, Slack, Teams). Public: the link is
the credential, once."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.views.shared import bp
from contentfeed.errors import Gone


@bp.get("/feed/open/<token>")
@access.public
def open_feed_link(token: str) -> ResponseReturnValue:
    """Sign the link's seller into their feed (a session limited to feed and profile), once;
    a used or expired link gets a page that says so and offers the sign-in."""
    s = db.session()
    signed_in = current_user.is_authenticated
    try:
        seller = service.use_feed_link(s, token, enabled=config.current().accounts.feed_links)
    except Gone as exc:
        link = service.find_feed_link(s, token)
        if signed_in and link is not None and link.user_id == current_user.id:
            return redirect(url_for("suggestions.feed"))  # already in: an old link is harmless
        return render_template(
            "accounts/feed_link_gone.html",
            message=exc.message,
            used=isinstance(exc, service.FeedLinkUsed),
        ), exc.status
    if not (signed_in and current_user.id == seller.id):
        access.open_limited_session(seller)  # a fully signed-in seller keeps their session
    return redirect(url_for("suggestions.feed"))
