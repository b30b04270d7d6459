"""WSGI entry points for bench/redirect.py: the real app, and a bare Flask app answering 302."""

from __future__ import annotations

import os

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
