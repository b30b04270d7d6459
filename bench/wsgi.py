"""WSGI entry points for the benchmarks: the real app, and bare Flask apps that stand for
the ceiling; and taking a fast-path middleware out of an app (tests, comparisons)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, redirect
from werkzeug.wrappers import Response


def real() -> Flask:
    """The contentfeed app on the benchmark's database."""
    from contentfeed import create_app

    return create_app(
        {
            "database_url": os.environ["BENCH_DATABASE_URL"],
            "secret_key": "bench",
            "instance_path": os.environ["BENCH_INSTANCE"],
            "log_level": "WARNING",
        }
    )


def real_without_wakeup() -> Flask:
    """The contentfeed app with the router's wake-up switched off (the intake announces
    nothing; the routing job's interval alone would route): the control that tells what the
    wake-up costs the intake, measured in the same run as ``real``."""
    from contentfeed import wakeup

    wakeup.lead_taken_in = lambda engine: None  # type: ignore[assignment]
    return real()


def without_fastpath(app: Flask, kind: type[Any]) -> Flask:
    """Take one fast-path middleware (e.g. RedirectFastPath) out of the app's WSGI chain."""
    outer: Any = None
    layer: Any = app.wsgi_app
    while hasattr(layer, "inner"):
        if isinstance(layer, kind):
            if outer is None:
                app.wsgi_app = layer.inner  # type: ignore[method-assign]
            else:
                outer.inner = layer.inner
            return app
        outer, layer = layer, layer.inner
    raise LookupError(f"{kind.__name__} is not in the app's WSGI chain")


def bare() -> Flask:
    """A Flask app that only answers 302: the ceiling the redirect is compared with."""
    app = Flask("bare")

    @app.get("/r/<code>")
    def follow(code: str) -> Response:
        return redirect(
            "https://www.acme.example/item?utm_source=linkedin&utm_content=" + code, 302
        )

    return app


def bare_intake() -> Flask:
    """A Flask endpoint that verifies nothing and inserts one row per POST: the ceiling the
    lead webhook is compared with."""
    import psycopg

    url = os.environ["BENCH_PSYCOPG_URL"]
    app = Flask("bare_intake")
    connection = psycopg.connect(url, autocommit=True)

    @app.post("/api/v1/webhooks/leads")
    def receive() -> tuple[str, int]:
        from flask import request

        connection.execute(
            "INSERT INTO bench_lead (body) VALUES (%s)", (request.get_data(as_text=True),)
        )
        return "{}", 202

    return app
