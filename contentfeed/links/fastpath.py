"""The redirect's fast path: /r/<code> answered below Flask.

Following a tracked link is the product's hottest path. This WSGI middleware answers a known
code with its 302 before Flask builds a request context, a session or a response object;
everything else (unknown codes, the preview link, every other path) goes on to Flask, which
renders the friendly pages. It records clicks through the same service function as the
Flask view, so the behaviour is the same; only the overhead differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.http import dump_cookie

from contentfeed.errors import Unavailable
from contentfeed.links import service

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

_CODE = re.compile(r"^/r/([A-Za-z0-9_-]{4,16})$")


class RedirectFastPath:
    """Serve GET /r/<code> for existing links without entering Flask."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner

    def _connections(self) -> service.HotConnections:
        return service.hot_connections(self.app)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = _CODE.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.inner(environ, start_response)
        code = match.group(1)
        config = self.app.config
        visit = service.Visit(
            code=code,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            referrer=environ.get("HTTP_REFERER"),
            address=environ.get("REMOTE_ADDR", ""),
        )
        try:
            target = service.follow_link(self._connections(), visit, config["SECRET_KEY"])
        except Unavailable:
            return self.inner(environ, start_response)  # Flask draws the "come back" page
        if target is None:
            return self.inner(environ, start_response)  # Flask draws the friendly 404
        cookie = dump_cookie(
            service.COOKIE_NAME,
            code,
            max_age=config["LINK_COOKIE_DAYS"] * 86400,
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        start_response(
            "302 FOUND",
            [
                ("Location", target),
                ("Cache-Control", "no-store"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ("Set-Cookie", cookie),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", "0"),
            ],
        )
        return [b""]
