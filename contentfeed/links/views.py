"""The tracked-link redirect, /r/<code>: record the click, send the visitor on with UTM values."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from contentfeed.accounts import access
from contentfeed.content.service import PREVIEW_CODE
from contentfeed.links import service

bp = Blueprint("links", __name__)

_CODE = re.compile(r"^[A-Za-z0-9_-]{4,16}$")


@bp.get("/r/<code>")
@access.public
def follow(code: str) -> ResponseReturnValue:
    """Redirect to the content with UTM values, count the click (bots apart), remember the code."""
    if code == PREVIEW_CODE:
        return render_template("links/preview.html"), 200
    if not _CODE.match(code):
        return render_template("links/unknown.html"), 404
    visit = service.Visit(
        code=code,
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.referrer,
        address=request.remote_addr or "",
    )
    target = service.follow_link(
        service.hot_connections(current_app._get_current_object()),  # type: ignore[attr-defined]
        visit,
        current_app.config["SECRET_KEY"],
    )
    if target is None:
        return render_template("links/unknown.html"), 404
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.set_cookie(
        service.COOKIE_NAME,
        code,
        max_age=current_app.config["LINK_COOKIE_DAYS"] * 86400,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
