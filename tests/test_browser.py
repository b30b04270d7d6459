"""End to end in a real browser (Debian's Chromium driven by Playwright): a seller signs in,
presses Copy, and the clipboard holds the post exactly as rendered, tracked link included."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from contentfeed import config, db, demo
from contentfeed.accounts.models import User
from contentfeed.content.models import Content, PostVariant
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus
from contentfeed.routing import work
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_seller_copies_a_post_and_marks_it_shared(
    app: Flask,
    live_server: str,
    browser: object,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    make_content(
        title="Zero-downtime migrations",
        variants=("{{ seller.first_name }} here: {{ content.title }} {{ link }}",),
    )
    seller = make_user("seller", name="Sam Seller")
    config.override(app, public_base_url=live_server)
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
        expected = s.scalars(sa.select(Suggestion.rendered_text)).one()
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(seller.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/feed")
    copy = page.get_by_role("button", name="Copy post")
    copy.click()
    page.wait_for_function(
        "() => document.querySelector('.copy-btn').textContent.includes('Copied')"
    )
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert expected.startswith("Sam here: Zero-downtime migrations http://127.0.0.1:")
    share = page.get_by_role("link", name="Post on LinkedIn")
    assert share.get_attribute("href").startswith(
        "https://www.linkedin.com/feed/?shareActive=true&text="
    )
    assert share.get_attribute("target") == "_blank"
    page.get_by_role("button", name="Mark posted").click()
    assert "is marked shared" in page.content()
    assert "You're all caught up" in page.content()
    context.close()


def test_the_admin_menu_opens_leads_to_a_settings_page_and_closes_elsewhere(
    live_server: str, browser: object, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin", name="Ada Admin")
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    menu = page.locator(".nav-group")
    teams = menu.get_by_role("link", name="Teams")
    assert not teams.is_visible()
    menu.locator("summary").click()
    assert teams.is_visible()
    # The header still fits on one line: the menu's label sits left of the user's name.
    assert menu.bounding_box()["x"] < page.locator(".user-menu").bounding_box()["x"]  # type: ignore[index]
    page.locator("h1").click()  # a click elsewhere closes it
    assert not teams.is_visible()
    menu.locator("summary").click()
    teams.click()
    page.wait_for_url(f"{live_server}/admin/teams")
    assert "is-current" in (menu.get_attribute("class") or "")
    context.close()


def rileys_lead(s: Session) -> int:
    """Return the first demo lead assigned to Riley (the rep), folded into none."""
    riley = s.scalars(sa.select(User).where(User.email == demo.demo_email("rep"))).one()
    return s.scalars(
        sa.select(Lead.id)
        .where(Lead.assignee_id == riley.id, Lead.merged_into_id.is_(None))
        .order_by(Lead.id)
        .limit(1)
    ).one()


def screens_of(s: Session, screens: dict[str, list[str]]) -> dict[str, list[str]]:
    """Fill in the paths that name a demo lead."""
    lead = rileys_lead(s)
    return {who: [path.format(lead=lead) for path in paths] for who, paths in screens.items()}


DAILY_SCREENS = {
    "marketer": ["/library", "/library/1", "/reports", "/reports/sellers"],
    "seller": ["/feed", "/history"],
    # {lead}: the first of Riley's leads (which demo lead that is depends on today's date).
    "rep": ["/queue", "/leads", "/leads/{lead}", "/reports/sales"],
    # Customer development: the handover and renewal cards, the customers and their plans.
    "rep3": ["/queue", "/customers", "/customers/1", "/reports/customers"],
}


def test_the_daily_screens_have_no_accessibility_violations(
    app: Flask, live_server: str, browser: object
) -> None:
    """axe-core (the engine behind most accessibility checkers) finds nothing on the screens
    people use every day, filled with the demo programme."""
    from axe_playwright_python.sync_playwright import Axe

    with app.app_context():
        s = db.session()
        demo.seed(s, base_url=live_server)
        s.commit()
        screens = screens_of(s, DAILY_SCREENS)
    axe = Axe()
    found: dict[str, list[str]] = {}
    for who, paths in screens.items():
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(demo.demo_email(who))
        page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        for path in paths:
            response = page.goto(f"{live_server}{path}")
            assert response is not None and response.status == 200, (who, path)
            violations = axe.run(page).response["violations"]
            found[f"{who} {path}"] = [
                f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
                for v in violations
            ]
        context.close()
    assert found == {key: [] for key in found}


def _sign_in(browser: object, live_server: str, who: str, width: int, height: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(demo.demo_email(who))
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def _demo_lead_of_riley(app: Flask, live_server: str) -> int:
    """Seed the demo and return a lead the demo rep holds and still works (claimed)."""
    with app.app_context():
        s = db.session()
        demo.seed(s, base_url=live_server)
        s.commit()
        riley = s.scalars(sa.select(User).where(User.email == demo.demo_email("rep"))).one()
        lead_id = s.scalars(
            sa.select(Lead.id)
            .where(Lead.assignee_id == riley.id, Lead.merged_into_id.is_(None))
            .order_by(Lead.id)
            .limit(1)
        ).one()
        lead = s.get(Lead, lead_id)
        assert lead is not None
        # A lead Riley has to call: claimed, not contacted yet, its trace said "reps claim".
        lead.status, lead.first_contact_at, lead.closed_at = LeadStatus.CLAIMED, None, None
        s.commit()
        return int(lead_id)


def test_the_work_on_a_lead_is_in_view_on_a_laptop_and_first_on_a_phone(
    app: Flask, live_server: str, browser: object
) -> None:
    lead_id = _demo_lead_of_riley(app, live_server)
    page = _sign_in(browser, live_server, "rep", 1280, 900)
    page.goto(f"{live_server}/leads/{lead_id}")
    controls = [
        page.get_by_role("button", name="Mark contacted"),
        page.get_by_role("button", name="Release to the queue"),
        page.get_by_role("textbox", name="Note"),
        page.get_by_role("button", name="Add note"),
    ]
    for control in controls:
        box = control.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, (control, box)
    page.context.close()

    phone = _sign_in(browser, live_server, "rep", 390, 844)
    phone.goto(f"{live_server}/leads/{lead_id}")
    work = phone.get_by_role("button", name="Mark contacted").bounding_box()
    note = phone.get_by_role("button", name="Add note").bounding_box()
    story = phone.get_by_role("heading", name="Timeline").bounding_box()
    came_from = phone.get_by_role("heading", name="Where they came from").bounding_box()
    assert work and note and story and came_from
    assert work["y"] < story["y"] and note["y"] < story["y"] < came_from["y"]
    assert work["y"] + work["height"] <= 844  # the first thing on the phone, no scrolling
    phone.context.close()


LONG_URL = "https://www.example.com/campaigns/" + "x" * 266  # 300 characters, no break


def test_long_words_never_make_a_daily_screen_scroll_sideways(
    app: Flask, live_server: str, browser: object
) -> None:
    assert len(LONG_URL) == 300
    lead_id = _demo_lead_of_riley(app, live_server)
    with app.app_context():
        s = db.session()
        seller = s.scalars(sa.select(User).where(User.email == demo.demo_email("seller"))).one()
        riley = s.scalars(sa.select(User).where(User.email == demo.demo_email("rep"))).one()
        pending = s.scalars(
            sa.select(Suggestion).where(
                Suggestion.seller_id == seller.id, Suggestion.status == SuggestionStatus.PENDING
            )
        ).first()
        posted = s.scalars(
            sa.select(Suggestion).where(
                Suggestion.seller_id == seller.id, Suggestion.status == SuggestionStatus.POSTED
            )
        ).first()
        assert pending is not None and posted is not None
        for suggestion in (pending, posted):
            item = s.get(Content, suggestion.content_id)
            assert item is not None
            item.title, item.summary = LONG_URL, f"Read {LONG_URL} today."
            for variant in item.variants:
                variant.body = f"{{{{ seller.first_name }}}} says: {LONG_URL} {{{{ link }}}}"
            suggestion.rendered_text = f"Sam says: {LONG_URL} {suggestion.rendered_text}"
        content_id = pending.content_id
        work.add_note(s, riley, lead_id, f"Their brief is at {LONG_URL}")
        lead = s.get(Lead, lead_id)
        assert lead is not None
        lead.company, lead.landing_url = LONG_URL[:200], LONG_URL
        s.commit()
    screens = {
        "marketer": ["/library", f"/library/{content_id}"],
        "seller": ["/feed", "/history"],
        "rep": ["/queue", f"/leads/{lead_id}"],
    }
    too_wide: dict[str, int] = {}
    for width in (390, 1280):
        for who, paths in screens.items():
            page = _sign_in(browser, live_server, who, width, 900)
            for path in paths:
                response = page.goto(f"{live_server}{path}")
                assert response is not None and response.status == 200, (who, path)
                assert LONG_URL[:60] in page.content(), (who, path)  # the long text is there
                scroll = page.evaluate("document.scrollingElement.scrollWidth")
                inner = page.evaluate("window.innerWidth")
                if scroll > inner:
                    too_wide[f"{path} at {width} px"] = scroll
            page.context.close()
    assert too_wide == {}


# What a German reader must not meet on the daily screens (their English originals).
ENGLISH_ON_DAILY_SCREENS = (
    "Your feed",
    "Copy post",
    "Mark posted",
    "History",
    "Sign out",
    "Claim next",
    "Mark contacted",
    "Add note",
    "Where they came from",
    "Post variants",
    "Add item",
)


def test_the_daily_screens_read_german_on_a_phone_and_a_laptop(
    app: Flask, live_server: str, browser: object, tmp_path: Path
) -> None:
    """A German seller's feed (copy, mark posted), a rep's queue and lead page and the
    marketer's library, as a browser set to German shows them: lang="de", none of the English
    texts, nothing wider than the screen. Screenshots land in $SCREENSHOTS_DIR (or
    the test's temporary folder) to be looked at."""
    lead_id = _demo_lead_of_riley(app, live_server)
    config.override(app, public_base_url=live_server)
    with app.app_context():
        s = db.session()
        lena = s.scalars(sa.select(User).where(User.email == demo.demo_email("lena"))).one()
        german_posts = set(
            s.scalars(
                sa.select(Suggestion.rendered_text)
                .join(PostVariant, PostVariant.id == Suggestion.variant_id)
                .where(
                    Suggestion.seller_id == lena.id,
                    Suggestion.status == SuggestionStatus.PENDING,
                    PostVariant.language == "de",
                )
            )
        )
    assert german_posts
    shots = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    screens = {
        "lena": ["/feed", "/history", "/profile"],
        "rep": ["/queue", f"/leads/{lead_id}"],
        "marketer": ["/library", "/library/1", "/library/2"],  # 2: topics of two words
    }
    for width, height in ((390, 844), (1280, 900)):
        for who, paths in screens.items():
            context = browser.new_context(  # type: ignore[attr-defined]
                viewport={"width": width, "height": height}, locale="de-DE"
            )
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
            page = context.new_page()
            page.goto(f"{live_server}/login")
            assert page.evaluate("document.documentElement.lang") == "de"
            page.get_by_label("E-Mail").fill(demo.demo_email(who))
            page.get_by_label("Passwort").fill(demo.DEMO_PASSWORD)
            page.get_by_role("button", name="Anmelden", exact=True).click()
            for path in paths:
                page.goto(f"{live_server}{path}")
                where = f"{who} {path} at {width} px"
                assert page.evaluate("document.documentElement.lang") == "de", where
                text = page.inner_text("body")
                assert [p for p in ENGLISH_ON_DAILY_SCREENS if p in text] == [], where
                assert page.evaluate("document.documentElement.scrollWidth") <= width, where
                name = f"de-{width}-{who}{path.replace('/', '-')}.png"
                page.screenshot(path=str(shots / name), full_page=True)
            if who == "lena" and width == 390:
                page.goto(f"{live_server}/feed")
                page.get_by_role("button", name="Beitrag kopieren").first.click()
                page.wait_for_function(
                    "() => document.querySelector('.copy-btn').textContent.includes('Kopiert')"
                )
                copied = page.evaluate("navigator.clipboard.readText()")
                assert copied in german_posts  # her post, in the German variant
                page.get_by_role("button", name="Als gepostet markieren").first.click()
                assert "ist als geteilt markiert" in page.inner_text("body")
            context.close()
