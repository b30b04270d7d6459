"""The share kit in a real browser (Debian's Chromium driven by Playwright): a seller presses
Post on LinkedIn, the post is on the clipboard and LinkedIn's composer opens with it (a stub:
no request leaves the machine), and back on the feed the card asks "Posted it?"."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content, PostVariant
from contentfeed.db import utcnow
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SCREENSHOTS_DIR", "")  # a folder: screenshots of the card


def suggest(app: Flask, seller: User) -> Suggestion:
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(minutes=1),
        )
        s.commit()
        return s.scalars(sa.select(Suggestion).where(Suggestion.seller_id == seller.id)).one()


def linkedin_stub(context: Any) -> list[str]:
    """Answer every linkedin.com request with a stub page; return the addresses asked for."""
    asked: list[str] = []

    def fulfil(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>LinkedIn stub</title>")

    context.route("https://www.linkedin.com/**", fulfil)
    context.route("https://linkedin.com/**", fulfil)
    return asked


def signed_in_page(context: Any, live_server: str, seller: User) -> Any:
    """The seller's feed in a tab that notices when another tab takes the focus: Playwright
    otherwise tells every headless page it has the focus, and no blur or focus ever fires."""
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(seller.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/feed")
    page.cdp = context.new_cdp_session(page)  # kept: the setting lasts as long as the session
    page.cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    return page


def test_a_seller_posts_in_two_clicks_and_is_asked_on_return(
    app: Flask,
    live_server: str,
    browser: Any,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(
        title="Zero-downtime migrations",
        variants=("Big news 🎉\n\n{{ content.title }}: {{ link }}\n#databases #devops",),
    )
    seller = make_user("seller", name="Sam Seller")
    config.override(app, public_base_url=live_server)
    sg = suggest(app, seller)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    asked = linkedin_stub(context)
    page = signed_in_page(context, live_server, seller)
    prompt = page.locator(f"#share-return-{sg.id}")
    assert not prompt.is_visible()

    with context.expect_page() as opened:
        page.get_by_role("link", name="Post on LinkedIn").click()  # click one
    linkedin = opened.value
    linkedin.wait_for_load_state()
    linkedin.bring_to_front()  # the new tab takes the focus, as in a browser on a desk
    assert linkedin.title() == "LinkedIn stub"
    query = parse_qs(urlsplit(linkedin.url).query)
    assert query["shareActive"] == ["true"]
    assert query["text"] == [sg.rendered_text]  # line breaks, emoji and hashtags intact
    assert asked and all(urlsplit(u).hostname == "www.linkedin.com" for u in asked)
    assert not prompt.is_visible()  # not while the seller is away

    # The seller posts on LinkedIn, closes its tab and is back on the feed.
    linkedin.close()
    page.bring_to_front()
    prompt.wait_for(state="visible")
    # The post was copied on the way, for a composer that comes up empty.
    assert page.evaluate("navigator.clipboard.readText()") == sg.rendered_text
    assert "Posted it?" in prompt.inner_text()
    assert page.evaluate("document.activeElement.id") == f"share-return-{sg.id}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    prompt.get_by_role("button", name="Mark posted").click()  # click two
    page.wait_for_url(f"{live_server}/feed")
    assert "is marked shared" in page.content()
    assert "You're all caught up" in page.content()
    with app.app_context():
        assert db.session().get(Suggestion, sg.id).status is SuggestionStatus.POSTED  # type: ignore[union-attr]
    context.close()


def test_not_now_closes_the_prompt_and_the_post_stays_in_the_feed(
    app: Flask,
    live_server: str,
    browser: Any,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(title="Later, maybe")
    seller = make_user("seller")
    config.override(app, public_base_url=live_server)
    sg = suggest(app, seller)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    linkedin_stub(context)
    page = signed_in_page(context, live_server, seller)
    prompt = page.locator(f"#share-return-{sg.id}")
    # Coming back to the tab without having pressed Post on LinkedIn asks nothing.
    elsewhere = context.new_page()
    elsewhere.bring_to_front()
    page.bring_to_front()
    page.wait_for_function("document.hasFocus()")
    assert not prompt.is_visible()
    with context.expect_page() as opened:
        page.get_by_role("link", name="Post on LinkedIn").click()
    opened.value.bring_to_front()
    opened.value.close()
    page.bring_to_front()
    prompt.wait_for(state="visible")
    prompt.get_by_role("button", name="Not now").click()
    assert not prompt.is_visible()
    assert page.evaluate("document.activeElement.textContent").startswith("Post on LinkedIn")
    with app.app_context():
        assert db.session().get(Suggestion, sg.id).status is SuggestionStatus.PENDING  # type: ignore[union-attr]
    context.close()


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_share_card_fits_a_phone_and_a_desk_with_its_prompt_open(
    app: Flask,
    live_server: str,
    browser: Any,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    language: str,
) -> None:
    make_content(
        title="Zero-downtime migrations: a field guide for busy teams",
        variants=(
            (
                "{{ seller.first_name }} here 👋 Our guide to zero-downtime migrations is out."
                "\n\nWhat we learnt moving 40 TB without a maintenance window.\n#databases",
                language,
            ),
        ),
    )
    with app.app_context():
        variant = db.session().scalars(sa.select(PostVariant)).one()
        variant.first_comment = "{{ link }}"
        db.session().commit()
    seller = make_user("seller", name="Maximiliane Alexandrine Seller", language=language)
    config.override(app, public_base_url=live_server)
    sg = suggest(app, seller)
    assert sg.rendered_comment.startswith(live_server)
    for width, height in ((390, 844), (1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        linkedin_stub(context)
        page = signed_in_page(context, live_server, seller)
        with context.expect_page() as opened:
            page.locator(f"#suggestion-{sg.id} a[data-share-copy]").click()
        opened.value.bring_to_front()
        opened.value.close()
        page.bring_to_front()
        prompt = page.locator(f"#share-return-{sg.id}")
        prompt.wait_for(state="visible")
        posted_it = {"en": "Posted it?", "de": "Gepostet?"}[language]
        assert posted_it in prompt.inner_text()
        assert prompt.locator("[data-copy-target]").is_visible()  # Copy comment
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.locator(f"#suggestion-{sg.id}").screenshot(
                path=os.path.join(SHOTS, f"card-{language}-{width}.png")
            )
        context.close()
