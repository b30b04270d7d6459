"""Security headers on every answer: Flask's pages and the WSGI fast paths' alike.

One WSGI middleware, outermost, adds what an answer does not set itself: a
Content-Security-Policy with no inline script and no framing, X-Content-Type-Options,
Referrer-Policy, and Strict-Transport-Security when cookies are sent over HTTPS only. An answer
with a policy of its own (an uploaded file's) keeps it and gains only frame-ancestors. The
gated page, and the file it hands over, may be framed by the sites in [leads] gated_frame_ancestors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from contentfeed.config import settings_of

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CSP = "Content-Security-Policy"
# The pages' policy. Scripts are static/js files only. Images: our own, the data: favicon and
# the library's cover images, which live on the marketers' sites (http or https). Styles are
# static/css only: no <style> blocks and no style="" attributes in the templates.
POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https: http:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
NO_FRAMING = ("'none'",)
# The endpoints another site may frame when gated_frame_ancestors names it: the gated page,
# the thank-you page its form redirects to and the download there (inside the same frame).
FRAMEABLE_ENDPOINTS = frozenset({"gated.page", "gated.thanks", "gated.download", "content.file"})
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(frame_ancestors: Sequence[str] = NO_FRAMING) -> str:
    """Return the pages' Content-Security-Policy, framing allowed to the given sources."""
    return "; ".join((*POLICY, "frame-ancestors " + " ".join(frame_ancestors)))


def with_frame_ancestors(policy: str, frame_ancestors: Sequence[str] = NO_FRAMING) -> str:
    """Return a policy with a frame-ancestors directive, the given one unless it has its own."""
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    if any(part.split()[0].lower() == "frame-ancestors" for part in directives):
        return policy
    return "; ".join((*directives, "frame-ancestors " + " ".join(frame_ancestors)))


def security_headers(secure_cookies: bool) -> list[tuple[str, str]]:
    """Return the headers every answer carries unless it sets them itself."""
    headers = [
        (CSP, content_security_policy()),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]
    if secure_cookies:
        # Only a deployment behind TLS sends cookies over HTTPS only; on plain HTTP (the
        # quickstart) the browser would be told to refuse the only address that works.
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def add_missing(headers: list[tuple[str, str]], defaults: Iterable[tuple[str, str]]) -> None:
    """Add each default header the answer lacks; give its own policy frame-ancestors."""
    present = {name.lower(): index for index, (name, _) in enumerate(headers)}
    for name, value in defaults:
        index = present.get(name.lower())
        if index is None:
            headers.append((name, value))
        elif name == CSP:
            headers[index] = (headers[index][0], with_frame_ancestors(headers[index][1]))


class SecurityHeaders:
    """WSGI middleware: add the security headers to every answer that passes through it."""

    def __init__(self, inner: WSGIApplication, headers: Sequence[tuple[str, str]]) -> None:
        self.inner = inner
        self.headers = tuple(headers)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            add_missing(headers, self.headers)
            return start_response(status, headers, exc_info)

        return self.inner(environ, start)


def register(app: Flask) -> None:
    """Wrap the whole app in the header middleware; let configured sites frame the gated page."""
    settings = settings_of(app)
    origins = tuple(settings.leads.gated_frame_ancestors)
    if origins:

        @app.after_request
        def allow_gated_framing(response: Response) -> Response:
            if request.endpoint in FRAMEABLE_ENDPOINTS:
                own = response.headers.get(CSP)
                response.headers[CSP] = (
                    with_frame_ancestors(own, origins) if own else content_security_policy(origins)
                )
            return response

    app.wsgi_app = SecurityHeaders(  # type: ignore[method-assign]
        app.wsgi_app, security_headers(settings.sign_in.cookie_secure)
    )
