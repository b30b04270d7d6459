"""The outbound client: timeouts, the address guard on every hop, the size cap."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from contentfeed import config, http
from tests.conftest import make_test_app
from tests.live import QuietHTTPServer


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []  # the Host header of every request served

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Host", ""))
        if self.path == "/redirect-local":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/secret")
            self.end_headers()
            return
        if self.path == "/big":
            body = b"x" * 50_000
        elif self.path == "/slow":
            import time

            time.sleep(2)
            body = b"late"
        else:
            body = b"<html><title>Hello</title></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _app(tmp_path: Path, **overrides: Any) -> Flask:
    return make_test_app("sqlite://", tmp_path, **overrides)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "0.0.0.0",  # noqa: S104 - an address the guard must refuse
    ],
)
def test_guard_refuses_non_public_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 80))]
    )
    with _app(tmp_path).app_context(), pytest.raises(http.BlockedAddress, match="private or local"):
        http.fetch_user_url("http://innocent.example.com/page")


def test_guard_allows_public_addresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))],
    )
    with _app(tmp_path).app_context():
        http.check_url("https://example.com/")  # no exception


def test_guard_refuses_other_schemes(tmp_path: Path) -> None:
    with _app(tmp_path).app_context(), pytest.raises(http.BlockedAddress, match="http"):
        http.fetch_user_url("file:///etc/passwd")


def test_guard_refuses_local_server_when_on(tmp_path: Path, local_server: str) -> None:
    with _app(tmp_path).app_context(), pytest.raises(http.BlockedAddress):
        http.fetch_user_url(local_server + "/")


def test_redirect_to_a_local_address_is_refused(
    tmp_path: Path, local_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, http_allow_private_addresses=True)
    checked: list[str] = []
    original = http.check_url

    def check_first_hop_only_allowed(url: str) -> None:
        checked.append(url)
        if len(checked) > 1:
            config.override(app, http_allow_private_addresses=False)
        original(url)

    monkeypatch.setattr(http, "check_url", check_first_hop_only_allowed)
    with app.app_context(), pytest.raises(http.BlockedAddress):
        http.fetch_user_url(local_server + "/redirect-local")
    assert checked[-1] == "http://127.0.0.1:1/secret"


def _resolver(answers: list[str], port: int) -> Any:
    """A getaddrinfo that gives each answer in turn (the last one from then on)."""
    calls: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        address = answers[min(len(calls), len(answers) - 1)]
        calls.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo


@pytest.mark.parametrize("method", ["fetch", "post"])
def test_a_name_that_turns_private_after_the_check_is_refused_when_connecting(
    tmp_path: Path, local_server: str, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """DNS rebinding: public when checked, the local server a moment later."""
    port = int(local_server.rsplit(":", 1)[1])
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(["93.184.216.34", "127.0.0.1"], port))
    _Handler.seen.clear()
    url = f"http://rebind.example:{port}/secret"
    with _app(tmp_path).app_context(), pytest.raises(http.BlockedAddress, match="when connecting"):
        if method == "fetch":
            http.fetch_user_url(url)
        else:
            http.post_json_to_user_url(url, {"hello": "world"})
    assert _Handler.seen == []  # nothing reached the local server


def test_the_connection_goes_to_the_address_that_was_checked(
    tmp_path: Path, local_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address resolved for the connection is the one connected to, under its name."""
    port = int(local_server.rsplit(":", 1)[1])
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(["127.0.0.1"], port))
    # Pretend the loopback address is a public one, for our rule and for the library's.
    monkeypatch.setattr(http, "is_public_address", lambda address: True)
    _Handler.seen.clear()
    with _app(tmp_path).app_context():
        for adapter in http._user_url_client().adapters.values():
            monkeypatch.setattr(adapter, "_allow_loopback", True)
        page = http.fetch_user_url(f"http://pinned.example:{port}/")
    assert page.status == 200
    assert _Handler.seen == [f"pinned.example:{port}"]


def test_fetch_reads_page_when_guard_is_off(tmp_path: Path, local_server: str) -> None:
    with _app(tmp_path, http_allow_private_addresses=True).app_context():
        page = http.fetch_user_url(local_server + "/")
    assert page.status == 200
    assert b"<title>Hello</title>" in page.body
    assert page.content_type == "text/html"


def test_oversized_response_is_refused(tmp_path: Path, local_server: str) -> None:
    app = _app(tmp_path, http_allow_private_addresses=True, http_max_response_bytes=10_000)
    with app.app_context(), pytest.raises(http.FetchFailed, match="larger than"):
        http.fetch_user_url(local_server + "/big")


def test_slow_server_times_out(tmp_path: Path, local_server: str) -> None:
    app = _app(
        tmp_path, http_allow_private_addresses=True, http_timeout_seconds=0.3, http_retries=0
    )
    with app.app_context(), pytest.raises(http.FetchFailed, match="timed out"):
        http.fetch_user_url(local_server + "/slow")


def test_client_sends_user_agent_and_default_timeout(tmp_path: Path) -> None:
    with _app(tmp_path).app_context():
        session = http.client()
        assert session.headers["User-Agent"].startswith("contentfeed/")
        assert session.default_timeout == 5.0  # type: ignore[attr-defined]
