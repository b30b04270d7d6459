"""The lead webhook's fast path: a signed delivery answered below Flask.

Website forms and relays post leads in bursts, and each one should cost little more than
storing it. This WSGI middleware hands a POST to the webhook with a Content-Length and no
Authorization header to the same use case as the Flask view (leads.webhook), without
building a request context, a session or a response object, and writes its reply. Token
deliveries (they need the ORM session) and chunked bodies go on to the Flask view. Either
way the answer is the use case's; only the overhead differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from contentfeed import db
from contentfeed.leads import webhook
from contentfeed.leads.service import IntakeSettings

if TYPE_CHECKING:
    import sqlalchemy as sa
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask


def _no_token(plaintext: str) -> webhook.Sender:  # pragma: no cover - never called
    raise AssertionError("token deliveries go on to the Flask view")


class WebhookFastPath:
    """Serve signed lead deliveries without entering Flask; anything else goes on to it."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner
        self._engine: sa.Engine | None = None

    def _hot_engine(self) -> sa.Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.hot_engine()
        return self._engine

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        if (
            environ.get("PATH_INFO") != webhook.PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or "HTTP_AUTHORIZATION" in environ
            or not length
            or not length.isdigit()
        ):
            return self.inner(environ, start_response)
        stream = environ["wsgi.input"]
        delivery = webhook.Delivery(
            headers={
                "webhook-id": environ.get("HTTP_WEBHOOK_ID", ""),
                "webhook-timestamp": environ.get("HTTP_WEBHOOK_TIMESTAMP", ""),
                "webhook-signature": environ.get("HTTP_WEBHOOK_SIGNATURE", ""),
                "content-type": environ.get("CONTENT_TYPE", ""),
                "user-agent": environ.get("HTTP_USER_AGENT", ""),
            },
            length=int(length),
            read_body=lambda: bytes(stream.read(int(length))),
        )
        config = self.app.config
        reply = webhook.receive_delivery(
            self._hot_engine(),
            delivery,
            IntakeSettings.from_config(config),
            max_body_bytes=int(config["WEBHOOK_MAX_BODY_KB"]) * 1024,
            authenticate=_no_token,
        )
        payload = reply.payload()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            *reply.headers,
        ]
        start_response(reply.status_line, headers)
        return [payload]
