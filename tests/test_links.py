"""Following a tracked link: 302 with UTM values, one click counted, bots apart, no raw IP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from bench.wsgi import without_fastpath
from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import Base
from contentfeed.links import service
from contentfeed.links.fastpath import RedirectFastPath
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import listing as suggestion_feed
from contentfeed.suggestions import service as suggestions
from tests.conftest import make_test_app
from tests.fastpaths import SERVED_BY, app_served_both_ways

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LINKEDIN_BOT = (
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
)


# Every test here runs through the redirect's WSGI fast path and through Flask alone.
served_app = app_served_both_ways(RedirectFastPath)


@pytest.fixture
def link(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> TrackedLink:
    make_content(url="https://acme.example/whitepaper?lang=en", campaign="Q4 Cloud Push")
    seller = make_user("seller")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=datetime.now(UTC) - timedelta(minutes=1),
        )
        s.commit()
        return s.scalars(sa.select(TrackedLink)).one()


def clicks(app: Flask) -> list[Click]:
    with app.app_context():
        return list(db.session().scalars(sa.select(Click).order_by(Click.id)))


def test_code_is_short_url_safe_and_unguessable() -> None:
    codes = {service.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 8 and c.replace("-", "").replace("_", "").isalnum() for c in codes)


def test_utm_values_are_added_and_existing_ones_win() -> None:
    url = service.target_with_utm(
        "https://a.example/p?x=1&utm_medium=email#top", campaign_slug="spring", code="abcd1234"
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "x": ["1"],
        "utm_medium": ["email"],
        "utm_source": ["linkedin"],
        "utm_campaign": ["spring"],
        "utm_content": ["abcd1234"],
    }
    assert urlsplit(url).fragment == "top"


def test_following_a_link_redirects_with_utm_and_counts_one_click(
    app: Flask, link: TrackedLink
) -> None:
    response = app.test_client().get(
        f"/r/{link.code}",
        headers={"User-Agent": CHROME, "Referer": "https://www.linkedin.com/feed/"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 302
    target = response.headers["Location"]
    assert target.startswith("https://acme.example/whitepaper?lang=en&")
    query = parse_qs(urlsplit(target).query)
    assert query["utm_source"] == ["linkedin"] and query["utm_medium"] == ["social"]
    assert query["utm_campaign"] == ["q4-cloud-push"] and query["utm_content"] == [link.code]
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert (
        cookie.startswith(f"cf_ref={link.code};")
        and "HttpOnly" in cookie
        and "SameSite=Lax" in cookie
    )
    [click] = clicks(app)
    assert not click.is_bot
    assert click.referrer_host == "www.linkedin.com"
    assert click.agent_family == "Chrome"
    assert click.visitor_hash and "203.0.113.9" not in click.visitor_hash


@pytest.mark.parametrize(
    "agent",
    [
        LINKEDIN_BOT,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "",
    ],
)
def test_bots_are_recorded_as_bots_not_clicks(app: Flask, link: TrackedLink, agent: str) -> None:
    response = app.test_client().get(f"/r/{link.code}", headers={"User-Agent": agent})
    assert response.status_code == 302  # the preview still works
    [click] = clicks(app)
    assert click.is_bot
    with app.app_context():
        s = db.session()
        suggestion_id = s.scalar(sa.select(TrackedLink.suggestion_id))
        assert suggestion_feed.clicks_by_suggestion(s, [suggestion_id]) == {}  # type: ignore[list-item]


def test_unknown_code_gets_a_friendly_404(app: Flask, link: TrackedLink) -> None:
    for code in ("zzzzzzzz", "bad code!", "x" * 40):
        response = app.test_client().get(f"/r/{code}")
        assert response.status_code == 404
        assert "This link doesn't lead anywhere" in response.get_data(as_text=True)
    assert clicks(app) == []


def test_the_same_visitor_hashes_the_same_within_a_day(app: Flask, link: TrackedLink) -> None:
    client = app.test_client()
    for address in ("198.51.100.1", "198.51.100.1", "198.51.100.2"):
        client.get(
            f"/r/{link.code}", headers={"User-Agent": CHROME}, environ_base={"REMOTE_ADDR": address}
        )
    hashes = [c.visitor_hash for c in clicks(app)]
    assert hashes[0] == hashes[1] != hashes[2]


def test_preview_link_explains_itself(app: Flask) -> None:
    response = app.test_client().get("/r/preview")
    assert response.status_code == 200
    assert "preview link" in response.get_data(as_text=True)


def test_no_raw_ip_address_is_stored_anywhere(app: Flask, link: TrackedLink) -> None:
    app.test_client().get(
        f"/r/{link.code}",
        headers={"User-Agent": CHROME},
        environ_base={"REMOTE_ADDR": "192.0.2.77"},
    )
    with app.app_context():
        s = db.session()
        dump: list[Any] = []
        for table in Base.metadata.sorted_tables:
            dump.extend(s.execute(sa.select(table)).all())
    assert "192.0.2.77" not in repr(dump)


def test_a_link_withdrawn_after_a_visit_answers_404_and_records_nothing(
    app: Flask, link: TrackedLink
) -> None:
    client = app.test_client()
    assert client.get(f"/r/{link.code}", headers={"User-Agent": CHROME}).status_code == 302
    with app.app_context():
        s = db.session()
        s.execute(sa.delete(TrackedLink))  # the suggestion's link is gone (e.g. erased)
        s.commit()
    response = client.get(f"/r/{link.code}", headers={"User-Agent": CHROME})
    assert response.status_code == 404  # even though this process had seen the link
    assert len(clicks(app)) == 0


@pytest.mark.parametrize("served_by", SERVED_BY)
def test_a_link_followed_while_the_database_is_down_asks_to_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served_by: str
) -> None:
    monkeypatch.setenv("CONTENTFEED_CONFIG", str(tmp_path / "no-config.toml"))
    down = make_test_app(f"sqlite:///{tmp_path / 'missing-folder' / 'contentfeed.db'}", tmp_path)
    if served_by == "flask":
        without_fastpath(down, RedirectFastPath)
    response = down.test_client().get("/r/abcdEFGH")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "briefly unavailable" in response.get_data(as_text=True)


def test_a_connection_that_fails_a_click_is_closed_not_kept_or_leaked(
    app: Flask, link: TrackedLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The redirect's connections live outside SQLAlchemy's pool: one that failed must be
    # closed at once (left open, the driver complains when it is garbage-collected, long
    # after, and the database holds the session until then).
    borrowed: list[Any] = []
    borrow = service.HotConnections.borrow

    def tracked_borrow(self: service.HotConnections) -> Any:
        connection = borrow(self)
        borrowed.append(connection.dbapi_connection)
        return connection

    def failing_follow(*args: Any) -> str:
        raise RuntimeError("a bug while recording the click")

    monkeypatch.setattr(service.HotConnections, "borrow", tracked_borrow)
    monkeypatch.setattr(service, "_follow", failing_follow)
    with pytest.raises(RuntimeError):
        service.follow_link(
            service.hot_connections(app),
            service.Visit(link.code, CHROME, None, "203.0.113.9"),
            secret="s",
        )
    [raw] = borrowed
    with pytest.raises(Exception, match=r"(?i)closed"):
        raw.cursor().execute("SELECT 1")
    assert not service.hot_connections(app).idle
