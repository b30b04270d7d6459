"""With the database unreachable, people and senders are asked to come back: 503 + Retry-After.

The database really is unreachable here (a PostgreSQL port nobody listens on, a SQLite file
in a folder that does not exist), so this is what a restart or an outage looks like.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook

from contentfeed.db import utcnow
from contentfeed.leads import service
from tests.conftest import make_test_app


@pytest.fixture(params=["sqlite", "postgresql"])
def down_app(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'contentfeed.db'}"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:9/contentfeed?connect_timeout=2"
    return make_test_app(url, tmp_path)


def test_public_pages_answer_503_with_retry_after(down_app) -> None:  # type: ignore[no-untyped-def]
    client = down_app.test_client()
    for path in ("/g/1", "/r/abcdEFGH"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        assert "briefly unavailable" in response.get_data(as_text=True)


def test_signed_lead_answers_503_so_the_sender_retries(down_app) -> None:  # type: ignore[no-untyped-def]
    client = down_app.test_client()
    secret = service.new_secret_value()
    body = '{"email": "jane@example.com"}'
    now = utcnow()
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_down",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_down", now, body),
    }
    response = client.post("/api/v1/webhooks/leads", data=body, headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json is not None and response.json["error"] == "unavailable"


def test_a_database_that_accepts_but_never_answers_is_a_503_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL host that stopped answering (cut off, stalled) takes a connection and says
    nothing: the request gives up after the connect timeout and asks the sender to come back,
    instead of hanging until the load balancer answers 504."""
    import socket
    import time

    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    silent = socket.create_server(("127.0.0.1", 0))  # listens, never speaks
    port = silent.getsockname()[1]
    try:
        app = make_test_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/contentfeed", tmp_path)
        started = time.monotonic()
        response = app.test_client().get("/r/abcdEFGH")
        waited = time.monotonic() - started
    finally:
        silent.close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert waited < 30, waited  # libpq's connect_timeout (5 s), not the kernel's minutes
