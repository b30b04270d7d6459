"""One-click feed links: a seller's digest carries a link that signs them into their feed.

Through the real SMTP server: the link opens the feed signed in, works once, expires, and
the session it opens reaches the feed and the profile only; turned off, the digest carries
the plain /feed address."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed import db
from contentfeed.accounts.models import SignInLink, User
from contentfeed.content.models import Content
from tests.conftest import isolate_from_environment, sign_in
from tests.test_notifications import (  # noqa: F401 - the SMTP and webhook fixtures
    Hooks,
    Inbox,
    hooks,
    mailing_app,
    run_notify,
    smtp_server,
    suggest_to,
)

BASE = "https://cf.example.com"
FEED_LINK = re.compile(re.escape(BASE) + r"/feed/open/([A-Za-z0-9_-]+)")


def _app(database_url: str, tmp_path: Path, port: int, **overrides: Any) -> Flask:
    return mailing_app(
        database_url,
        tmp_path,
        port,
        public_base_url=BASE,
        http_allow_private_addresses=True,
        **overrides,
    )


@pytest.fixture
def app(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> Flask:
    """The app with email set up (mail goes to the test's SMTP server), feed links lasting
    two hours, and webhooks allowed to reach the test's server on 127.0.0.1."""
    isolate_from_environment(monkeypatch, tmp_path)
    return _app(database_url, tmp_path, smtp_server[1], accounts={"feed_link_hours": 2})


def digest_to(
    app: Flask,  # the app that sends; the factories write to the same database
    inbox: Inbox,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> tuple[User, str]:
    """A seller who gets their digest by email, and the digest's text."""
    make_content(title="Zero-downtime migrations")
    seller = make_user("seller", name="Sam Seller", notification_channel="email")
    suggest_to(app, seller)
    assert run_notify(app).sent == 1
    [envelope] = [m for m in inbox.messages if seller.email in m.rcpt_tos]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return seller, str(message.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def digest(
    app: Flask,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> tuple[User, str]:
    """A seller who got their digest by email from ``app``, and the digest's text."""
    return digest_to(app, smtp_server[0], make_user, make_content)


def link_in(text: str) -> str:
    match = FEED_LINK.search(text)
    assert match, text
    return f"/feed/open/{match.group(1)}"


def text_of(response: Any) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_digest_link_opens_the_feed_signed_in_once(
    app: Flask, digest: tuple[User, str]
) -> None:
    _seller, text = digest
    link = link_in(text)
    assert "The link signs you in once and works for 2 hours" in text
    with app.app_context():  # only a hash of the token is kept
        hashes = db.session().scalars(sa.select(SignInLink.token_hash)).all()
    assert link.rsplit("/", 1)[1] not in hashes

    browser = app.test_client()
    opened = browser.get(link)
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/feed")
    feed = browser.get("/feed")
    assert feed.status_code == 200
    assert "Zero-downtime migrations" in text_of(feed)
    assert browser.get("/profile").status_code == 200  # the profile works too

    again = app.test_client().get(link)
    assert again.status_code == 410
    page = text_of(again)
    assert "This link was used" in page and "has already been used. Sign in" in page
    assert "/login?next=/feed" in again.get_data(as_text=True)
    assert app.test_client().get("/feed").status_code == 302  # nobody else is signed in


def test_a_used_link_speaks_german(app: Flask, digest: tuple[User, str]) -> None:
    _seller, text = digest
    link = link_in(text)
    assert app.test_client().get(link).status_code == 302
    german = app.test_client()
    german.set_cookie("contentfeed_locale", "de")
    again = german.get(link)
    assert again.status_code == 410
    assert "Dieser Link wurde schon benutzt" in text_of(again)


def test_an_expired_link_is_refused(app: Flask, digest: tuple[User, str]) -> None:
    _seller, text = digest
    with app.app_context():  # as if it had been sent three hours ago (it lasts two)
        s = db.session()
        [row] = s.scalars(sa.select(SignInLink)).all()
        row.created_at -= timedelta(hours=3)
        row.expires_at -= timedelta(hours=3)
        s.commit()
    browser = app.test_client()
    refused = browser.get(link_in(text))
    assert refused.status_code == 410
    assert "This link has expired" in text_of(refused)
    assert browser.get("/feed").status_code == 302  # not signed in


def test_the_links_session_reaches_only_feed_and_profile(
    app: Flask, digest: tuple[User, str]
) -> None:
    seller, text = digest
    browser = app.test_client()
    assert browser.get(link_in(text)).status_code == 302
    # /account is a seller's page with a full sign-in; /library and /admin are not theirs
    for path in ("/account", "/library", "/admin/users"):
        asked = browser.get(path)
        assert asked.status_code == 302, path
        assert "/login?next=" in asked.headers["Location"], path
    login = browser.get("/login")
    assert login.status_code == 200
    assert "Sign in with your password to open this page" in text_of(login)
    assert browser.get("/feed").status_code == 200  # the feed still works

    sign_in(browser, seller)  # a real sign-in lifts the limit
    assert browser.get("/account").status_code == 200


def test_a_full_sign_in_is_not_narrowed_by_a_link(app: Flask, digest: tuple[User, str]) -> None:
    seller, text = digest
    browser = sign_in(app.test_client(), seller)
    assert browser.get(link_in(text)).status_code == 302
    assert browser.get("/account").status_code == 200


def test_slack_messages_carry_the_link_too(
    app: Flask,
    hooks: str,  # noqa: F811
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Webinar: AI copilots")
    seller = make_user("seller", notification_channel="slack", notification_target=hooks + "/s")
    suggest_to(app, seller)
    assert run_notify(app).sent == 1
    [(_path, message)] = Hooks.received
    opened = app.test_client().get(link_in(message["text"]))
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/feed")


def test_turned_off_the_digest_carries_the_plain_feed_address(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    off = _app(database_url, tmp_path, smtp_server[1], accounts={"feed_links": False})
    _seller, text = digest_to(off, smtp_server[0], make_user, make_content)
    assert FEED_LINK.search(text) is None
    assert "signs you in once" not in text
    assert re.search(re.escape(BASE) + r"/feed\s", text), text
    with off.app_context():
        assert db.session().scalars(sa.select(SignInLink)).all() == []


def test_turning_links_off_stops_those_already_sent(
    database_url: str,
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    digest: tuple[User, str],
) -> None:
    _seller, text = digest
    off = _app(database_url, tmp_path, smtp_server[1], accounts={"feed_links": False})
    browser = off.test_client()
    refused = browser.get(link_in(text))
    assert refused.status_code == 410 and "This link has expired" in text_of(refused)
    assert browser.get("/feed").status_code == 302


def test_a_german_sellers_digest_explains_the_link_in_german(
    app: Flask,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Migrationen ohne Ausfall", language="de")
    seller = make_user("seller", name="Jörg Neumann", notification_channel="email", language="de")
    suggest_to(app, seller)
    assert run_notify(app).sent == 1
    [envelope] = smtp_server[0].messages
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    text = str(message.get_content())  # type: ignore[attr-defined]
    assert "Der Link meldet Sie einmal an und gilt 2 Stunden" in text
    assert app.test_client().get(link_in(text)).status_code == 302
