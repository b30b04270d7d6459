"""The seller's feed and history pages, and what marketers see of each item's sellers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import sign_in


def suggest(app: Flask, seller: User, times: int = 1) -> list[Suggestion]:
    with app.app_context():
        s = db.session()
        for n in range(times):
            suggestions.fill_feeds(
                s,
                suggestions.feed_settings(config.settings_of(app)),
                only=[seller.id],
                ignore_cadence=True,
                seed=n,
                now=utcnow() - timedelta(minutes=5),
            )
        s.commit()
        return list(
            s.scalars(
                sa.select(Suggestion)
                .where(Suggestion.seller_id == seller.id)
                .order_by(Suggestion.id)
            )
        )


def test_feed_shows_the_post_exactly_as_copied_with_its_actions(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Zero-downtime migrations", topics=["databases"])
    seller = make_user("seller", name="Sam Seller", topics=["databases"])
    [sg] = suggest(app, seller)
    page = sign_in(app.test_client(), seller).get("/feed").get_data(as_text=True)
    assert "Good " in page and "Sam." in page
    assert f'<pre class="post-text" id="post-{sg.id}">{sg.rendered_text}</pre>' in page
    assert 'data-copy-target="#post-' in page
    assert "https://www.linkedin.com/feed/?shareActive=true&amp;text=Sam%20here" in page
    assert "Why you: matches your topics databases" in page


def test_marking_posted_moves_it_to_history_with_its_clicks(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Shared item")
    seller = make_user("seller")
    [sg] = suggest(app, seller)
    client = sign_in(app.test_client(), seller)
    response = client.post(f"/feed/{sg.id}/posted", follow_redirects=True)
    assert "is marked shared" in response.get_data(as_text=True)
    assert "all caught up" in response.get_data(as_text=True)
    with app.app_context():
        code = db.session().scalars(sa.select(TrackedLink.code)).one()
    visitor = app.test_client()
    for n in range(3):  # three people coming from LinkedIn (one person's repeats count once)
        visitor.get(
            f"/r/{code}",
            headers={
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                "Referer": "https://www.linkedin.com/feed/",
            },
            environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"},
        )
    visitor.get(f"/r/{code}", headers={"User-Agent": "LinkedInBot/1.0"})
    history = client.get("/history").get_data(as_text=True)
    assert "Shared item" in history and "Shared" in history
    assert 'data-label="Clicks">3</td>' in history  # three people, the bot not counted


def test_history_sorts_by_clicks_post_status_and_when(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    for title in ("Alpha guide", "Beta webinar", "Gamma story"):
        make_content(title=title)
    seller = make_user("seller")
    made = suggest(app, seller, times=3)
    assert len(made) == 3
    # (title, status, hours ago, human clicks)
    plan = {
        "Alpha guide": (SuggestionStatus.POSTED, 30, 1),
        "Beta webinar": (SuggestionStatus.POSTED, 10, 5),
        "Gamma story": (SuggestionStatus.SKIPPED, 20, 0),
    }
    with app.app_context():
        s = db.session()
        for sg in s.scalars(sa.select(Suggestion).where(Suggestion.seller_id == seller.id)):
            status, hours, clicks = plan[sg.content.title]
            sg.status = status
            when = utcnow() - timedelta(hours=hours)
            if status is SuggestionStatus.POSTED:
                sg.posted_at = when
            else:
                sg.skipped_at, sg.skip_reason = when, "not_relevant"
            link = s.scalars(sa.select(TrackedLink).where(TrackedLink.suggestion_id == sg.id)).one()
            s.add_all(Click(link_id=link.id, clicked_at=when) for _ in range(clicks))
            s.add(Click(link_id=link.id, clicked_at=when, is_bot=True))  # never counted
        s.commit()
    client = sign_in(app.test_client(), seller)

    def order(url: str) -> list[str]:
        page = client.get(url).get_data(as_text=True)
        return re.findall(r'class="table__primary">(\w+ \w+)<', page)

    assert order("/history") == ["Beta webinar", "Gamma story", "Alpha guide"]  # newest first
    assert order("/history?sort=clicks") == ["Beta webinar", "Alpha guide", "Gamma story"]
    # Clicking the Clicks header (as a seller would) shows the most clicked first.
    page = client.get("/history").get_data(as_text=True)
    header = re.search(r'<a href="([^"]+)">Clicks</a>', page)
    assert header is not None
    assert order(html.unescape(header.group(1))) == ["Beta webinar", "Alpha guide", "Gamma story"]
    assert order("/history?sort=clicks&dir=asc") == ["Gamma story", "Alpha guide", "Beta webinar"]
    assert order("/history?sort=post&dir=desc") == ["Gamma story", "Beta webinar", "Alpha guide"]
    assert order("/history?sort=status&dir=asc")[-1] == "Gamma story"  # shared, then skipped


def test_skipping_needs_a_reason_and_is_shown_to_marketing(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    client_as: Callable[[str], FlaskClient],
) -> None:
    item = make_content(title="Skippable")
    seller = make_user("seller", name="Lena Hoffmann")
    [sg] = suggest(app, seller)
    client = sign_in(app.test_client(), seller)
    response = client.post(f"/feed/{sg.id}/skip", data={"reason": "made-up"}, follow_redirects=True)
    assert "Choose a reason" in response.get_data(as_text=True)
    client.post(f"/feed/{sg.id}/skip", data={"reason": "too_salesy", "note": "Reads like an ad"})
    with app.app_context():
        assert db.session().get(Suggestion, sg.id).status is SuggestionStatus.SKIPPED  # type: ignore[union-attr]
    detail = client_as("marketer").get(f"/library/{item.id}").get_data(as_text=True)
    assert "Lena Hoffmann" in detail
    assert "Too promotional" in detail and "Reads like an ad" in detail


def test_marketers_see_who_was_suggested_an_item_and_who_shared_it(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    client_as: Callable[[str], FlaskClient],
) -> None:
    item = make_content(title="Popular")
    sharer, waiter = (
        make_user("seller", name="Oliver Bennett"),
        make_user("seller", name="Priya Shah"),
    )
    [first] = suggest(app, sharer)
    suggest(app, waiter)
    sign_in(app.test_client(), sharer).post(f"/feed/{first.id}/posted")
    detail = client_as("marketer").get(f"/library/{item.id}").get_data(as_text=True)
    assert "Suggested to 2 · shared by 1" in detail
    assert "Oliver Bennett" in detail and "Priya Shah" in detail
    assert "score " in detail and "priority" in detail  # why each was chosen


def test_a_seller_cannot_act_on_someone_elses_suggestion(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content()
    owner, other = make_user("seller"), make_user("seller")
    [sg] = suggest(app, owner)
    response = sign_in(app.test_client(), other).post(f"/feed/{sg.id}/posted")
    assert response.status_code == 404


def test_empty_feed_says_what_happens_next(app: Flask, make_user: Callable[..., User]) -> None:
    page = sign_in(app.test_client(), make_user("seller")).get("/feed").get_data(as_text=True)
    assert "all caught up" in page


def _addresses(page: str, code: str) -> set[str]:
    """Every address a page shows for one tracked-link code (in text, links and share URLs)."""
    text = html.unescape(re.sub(r"%3A", ":", re.sub(r"%2F", "/", page)))
    return set(re.findall(r"https?://[^\s\"'<>&?=]*?/r/" + re.escape(code), text))


def test_feed_history_and_api_show_one_address_per_code(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
) -> None:
    """A post rendered while the service had another address (a quickstart on port 5077
    after links were written for 5000) shows today's address in its text and beside it."""
    make_content(title="Moved server")
    seller = make_user("seller")
    [sg] = suggest(app, seller)
    with app.app_context():
        code = db.session().scalars(sa.select(TrackedLink.code)).one()
    assert f"http://127.0.0.1:5000/r/{code}" in sg.rendered_text  # written for the old port
    config.override(app, public_base_url="http://127.0.0.1:5077")
    client = sign_in(app.test_client(), seller)

    feed = client.get("/feed").get_data(as_text=True)
    assert _addresses(feed, code) == {f"http://127.0.0.1:5077/r/{code}"}
    headers = {"Authorization": f"Bearer {make_token(seller, 'read')}"}
    [item] = app.test_client().get("/api/v1/suggestions", headers=headers).json["items"]
    assert item["link"] == f"http://127.0.0.1:5077/r/{code}"
    assert item["link"] in item["rendered_text"] and "5000" not in item["rendered_text"]

    client.post(f"/feed/{sg.id}/posted")
    history = client.get("/history").get_data(as_text=True)
    assert _addresses(history, code) == {f"http://127.0.0.1:5077/r/{code}"}
