"""The redirect's fast path: /r/<code> answered below Flask.

Following a tracked link is the product's hottest path. This WSGI middleware asks the use
case (links.service.answer_visit) how to answer a visit and writes a redirect itself,
before Flask builds a request context, a session or a response object. A visit answered
with a page (the preview link, an unknown code, a database that is down) goes on to Flask
with that answer, and the Flask view (links/views.py) draws the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from contentfeed import config
from contentfeed.links import service

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

# The Flask route /r/<code>: any code without a slash (answer_visit checks it).
PATH = re.compile(r"^/r/([^/]+)$")


class RedirectFastPath:
    """Serve GET /r/<code> for existing links without entering Flask."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.inner(environ, start_response)
        visit = service.Visit(
            code=match.group(1),
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            referrer=environ.get("HTTP_REFERER"),
            address=environ.get("REMOTE_ADDR", ""),
            method=environ["REQUEST_METHOD"],
        )
        answer = service.answer_visit(
            service.hot_connections(self.app), visit, config.settings_of(self.app)
        )
        if isinstance(answer, service.Page):
            environ[service.PAGE_KEY] = answer
            return self.inner(environ, start_response)
        headers = [
            *answer.headers,
            ("Content-Type", service.REDIRECT_TYPE),
            ("Content-Length", "0"),
        ]
        start_response("302 FOUND", headers)
        return [b""]
