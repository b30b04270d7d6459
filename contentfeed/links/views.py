"""The tracked-link redirect's pages, /r/<code>: the preview link, unknown codes, an outage.

A known link is redirected below Flask (links/fastpath.py); a visit it answers with a page
comes here with that answer. An app served without the fast path (tests) asks the same
use case here and writes its redirect as it stands.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from contentfeed import config
from contentfeed.accounts import access
from contentfeed.errors import Unavailable
from contentfeed.links import service

bp = Blueprint("links", __name__)


@bp.get("/r/<code>")
@access.public
def follow(code: str) -> ResponseReturnValue:
    """Draw the page a visit of a tracked link is answered with."""
    answer: service.Redirect | service.Page | None = request.environ.get(service.PAGE_KEY)
    if answer is None:
        visit = service.Visit(
            code=code,
            user_agent=request.headers.get("User-Agent", ""),
            referrer=request.referrer,
            address=request.remote_addr or "",
            method=request.method,
        )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        answer = service.answer_visit(service.hot_connections(app), visit, config.settings_of(app))
    if isinstance(answer, service.Redirect):
        return Response(
            status=302, headers=answer.headers, content_type="text/plain; charset=utf-8"
        )
    if answer is service.Page.PREVIEW:
        return render_template("links/preview.html"), 200
    if answer is service.Page.UNAVAILABLE:
        raise Unavailable(service.DATABASE_DOWN)
    return render_template("links/unknown.html"), 404
