"""A webhook's test message on saving it: it goes out before the save writes anything (so no
row is locked while it waits for the far end), and it gives up quickly on a server that never
answers, however long the configured outbound timeout is."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed.accounts.models import User
from tests.conftest import make_test_app, sign_in
from tests.test_channels import text_of
from tests.test_sellers import profile_form

GIVE_UP_WITHIN = 20.0  # seconds the silent server waits for the client to hang up


class SilentServer:
    """Accepts connections and never answers. While a request waits on it, it tries to
    change the seller's profile from a connection of its own, and notes whether the client
    hung up before GIVE_UP_WITHIN."""

    def __init__(self, database_url: str, seller_id: int) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.database_url, self.seller_id = database_url, seller_id
        self.connections = 0
        self.profile_writable: bool | None = None
        self.client_hung_up: bool | None = None
        self.handled = threading.Event()  # the first connection is over
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _address = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.profile_writable is None:
                self.profile_writable = self._try_writing_the_profile()
            conn.settimeout(GIVE_UP_WITHIN)
            try:
                while conn.recv(65536):
                    pass
                self.client_hung_up = True
            except TimeoutError:
                self.client_hung_up = False
            finally:
                conn.close()
                self.handled.set()

    def _try_writing_the_profile(self) -> bool:
        engine = sa.create_engine(
            self.database_url,
            poolclass=sa.pool.NullPool,
            **({"connect_args": {"timeout": 1}} if self.database_url.startswith("sqlite") else {}),
        )
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
                changed = conn.execute(
                    sa.text("UPDATE seller_profile SET title = 'Elsewhere' WHERE user_id = :id"),
                    {"id": self.seller_id},
                )
            return changed.rowcount == 1
        except sa.exc.OperationalError:
            return False
        finally:
            engine.dispose()

    def close(self) -> None:
        """Wait until the first connection is over (its notes are taken), then stop."""
        self.handled.wait(GIVE_UP_WITHIN + 10)
        self.sock.close()


@pytest.fixture
def slow_app(database_url: str, tmp_path: Path, app: Flask) -> Flask:
    """Local addresses allowed (the test's server), and a long outbound timeout with retries:
    the test message must not wait for those."""
    return make_test_app(
        database_url,
        tmp_path,
        http_allow_private_addresses=True,
        http_timeout_seconds=60,
        http_retries=3,
    )


def test_the_test_message_holds_no_lock_and_gives_up_quickly_on_the_profile_page(
    slow_app: Flask, database_url: str, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller")
    server = SilentServer(database_url, seller.id)
    try:
        client = sign_in(slow_app.test_client(), seller)
        saved = client.post(
            "/profile",
            data=profile_form(
                language="en",
                notification_channel="slack",
                notification_target=f"http://127.0.0.1:{server.port}/hook",
            ),
            follow_redirects=True,
        )
    finally:
        server.close()
    assert saved.status_code == 200
    page = text_of(saved.get_data(as_text=True))
    assert "Your profile is saved" in page
    assert "The test message to Slack did not arrive" in page and "timed out" in page
    assert server.connections == 1  # not retried
    assert server.profile_writable is True  # the save had written nothing yet
    assert server.client_hung_up is True  # gave up long before the configured 60 seconds


def test_the_api_test_message_holds_no_lock_either(
    slow_app: Flask,
    database_url: str,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    seller = make_user("seller")
    headers = {"Authorization": f"Bearer {make_token(make_user('admin'), 'read', 'admin')}"}
    client = slow_app.test_client()
    url = f"/api/v1/users/{seller.id}/seller-profile"
    current: dict[str, Any] = client.get(url, headers=headers).get_json()
    server = SilentServer(database_url, seller.id)
    try:
        answer = client.put(
            url,
            json={
                **current,
                "notification_channel": "teams",
                "notification_target": f"http://127.0.0.1:{server.port}/hook",
            },
            headers=headers,
        )
    finally:
        server.close()
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["test_message"] == "failed" and "timed out" in body["test_message_error"]
    assert body["notification_target"].endswith("/hook")
    assert (server.connections, server.profile_writable, server.client_hung_up) == (1, True, True)
