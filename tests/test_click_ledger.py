"""The click ledger: every request for a tracked link is kept with why it counts or not.

Each kind of request gets its reason (a HEAD request, a SafeLinks fetch, Slack's and Teams'
previews, LinkedIn's fetcher, a crawler, a repeat, a fetch right after posting, a person),
through the redirect's WSGI fast path and through Flask alone; the item page, the content
report and both APIs count only people and name the filtered requests' reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.links import service
from contentfeed.links.fastpath import RedirectFastPath
from contentfeed.links.models import Click, TrackedLink
from contentfeed.migrate import alembic_config
from contentfeed.suggestions import listing
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from tests.conftest import sign_in
from tests.fastpaths import app_served_both_ways
from tests.test_migrations import empty_database

__all__ = ["empty_database"]  # the migration test's fixture, used below

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FROM_LINKEDIN = "https://www.linkedin.com/feed/"
SAFELINKS = (
    "https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fcf.example%2Fr%2Fx"
    "&data=05%7C01&reserved=0"
)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
TEAMS = (
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
    "skype-url-preview@microsoft.com"
)
LINKEDIN_BOT = (
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# Every test here runs through the redirect's WSGI fast path and through Flask alone.
served_app = app_served_both_ways(RedirectFastPath)


@dataclass(frozen=True)
class World:
    content_id: int
    suggestion_id: int
    code: str
    marketer: User


@pytest.fixture
def world(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> World:
    content = make_content(title="Cloud whitepaper", url="https://acme.example/whitepaper")
    seller = make_user("seller", name="Sam Seller")
    marketer = make_user("marketer")
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
        link = s.scalars(sa.select(TrackedLink)).one()
        return World(content.id, link.suggestion_id, link.code, marketer)


def visit(
    app: Flask,
    world: World,
    *,
    agent: str = CHROME,
    referrer: str | None = FROM_LINKEDIN,
    address: str = "203.0.113.9",
    method: str = "GET",
) -> None:
    headers = {"User-Agent": agent}
    if referrer is not None:
        headers["Referer"] = referrer
    answer = app.test_client().open(
        f"/r/{world.code}", method=method, headers=headers, environ_base={"REMOTE_ADDR": address}
    )
    # Whatever the reason, the visitor is answered as before: the redirect to the content.
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("https://acme.example/whitepaper?")


def ledger(app: Flask) -> list[tuple[str, bool, str]]:
    """(reason, is_bot, agent family) of every recorded request, oldest first."""
    with app.app_context():
        rows = db.session().execute(
            sa.select(Click.reason, Click.is_bot, Click.agent_family).order_by(Click.id)
        )
        return [(r, b, f) for r, b, f in rows]


def human_clicks(app: Flask, world: World) -> int:
    with app.app_context():
        found = listing.clicks_by_suggestion(db.session(), [world.suggestion_id])
        return found.get(world.suggestion_id, 0)


def mark_posted(app: Flask, world: World, ago: timedelta) -> None:
    with app.app_context():
        s = db.session()
        suggestion = s.get(Suggestion, world.suggestion_id)
        assert suggestion is not None
        suggestion.posted_at = datetime.now(UTC) - ago
        s.commit()


# --- one reason per kind of request -------------------------------------------------------


def test_a_person_from_linkedin_is_a_human_click(app: Flask, world: World) -> None:
    visit(app, world)
    assert ledger(app) == [("human", False, "Chrome")]
    assert human_clicks(app, world) == 1


def test_a_head_request_is_answered_and_kept_but_not_counted(app: Flask, world: World) -> None:
    visit(app, world, method="HEAD")
    assert ledger(app) == [("head", False, "Chrome")]
    assert human_clicks(app, world) == 0


def test_a_safelinks_fetch_is_a_scanner(app: Flask, world: World) -> None:
    # SafeLinks opens the link with a browser's User-Agent, from its own page.
    visit(app, world, referrer=SAFELINKS)
    assert ledger(app) == [("scanner", True, "Microsoft SafeLinks")]
    assert human_clicks(app, world) == 0


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (SLACK, "Slackbot"),
        (TEAMS, "Microsoft Teams"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) MicrosoftPreview/2.0", "Microsoft Teams"),
        (LINKEDIN_BOT, "LinkedInBot"),
        ("Twitterbot/1.0", "Twitterbot"),
        (
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "facebookexternalhit",
        ),
    ],
)
def test_chat_and_social_previews_are_scanners(
    app: Flask, world: World, agent: str, family: str
) -> None:
    visit(app, world, agent=agent, referrer=None)
    assert ledger(app) == [("scanner", True, family)]
    assert human_clicks(app, world) == 0


@pytest.mark.parametrize("agent", [GOOGLEBOT, "python-requests/2.32.3", ""])
def test_crawlers_and_clients_without_an_agent_are_bots(
    app: Flask, world: World, agent: str
) -> None:
    visit(app, world, agent=agent)
    [(reason, is_bot, _family)] = ledger(app)
    assert (reason, is_bot) == ("bot", True)
    assert human_clicks(app, world) == 0


def test_the_same_visitor_again_within_seconds_is_a_repeat(app: Flask, world: World) -> None:
    visit(app, world)
    visit(app, world)  # a double click, a reload
    visit(app, world, address="198.51.100.4")  # someone else
    assert [r for r, _bot, _family in ledger(app)] == ["human", "repeat", "human"]
    assert human_clicks(app, world) == 2


def test_the_same_visitor_after_the_repeat_window_counts_again(app: Flask, world: World) -> None:
    visit(app, world)
    window = config.settings_of(app).links.repeat_seconds
    with app.app_context():  # that first click was a little longer ago than the window
        s = db.session()
        s.execute(
            sa.update(Click).values(clicked_at=datetime.now(UTC) - timedelta(seconds=window + 2))
        )
        s.commit()
    visit(app, world)
    assert [r for r, _bot, _family in ledger(app)] == ["human", "human"]
    assert human_clicks(app, world) == 2


def test_a_fetch_without_referrer_right_after_posting_is_early(app: Flask, world: World) -> None:
    mark_posted(app, world, ago=timedelta(seconds=5))
    visit(app, world, referrer=None, address="192.0.2.1")  # a fetcher posing as a browser
    visit(app, world, address="192.0.2.2")  # a reader coming from LinkedIn: counted
    assert [r for r, _bot, _family in ledger(app)] == ["early", "human"]
    assert human_clicks(app, world) == 1


def test_a_visit_without_referrer_later_on_is_human(app: Flask, world: World) -> None:
    window = config.settings_of(app).links.early_seconds
    mark_posted(app, world, ago=timedelta(seconds=window + 30))
    visit(app, world, referrer=None)
    assert [r for r, _bot, _family in ledger(app)] == ["human"]


def test_a_head_request_counts_as_head_even_from_a_scanner(app: Flask, world: World) -> None:
    visit(app, world, method="HEAD", agent=SLACK)
    assert [r for r, _bot, _family in ledger(app)] == ["head"]


# --- what people see ----------------------------------------------------------------------


def a_morning_of_requests(app: Flask, world: World) -> None:
    """One person (and their double click), a HEAD request, a SafeLinks fetch, Slack."""
    visit(app, world)
    visit(app, world)
    visit(app, world, method="HEAD", agent="curl/8.5.0", address="192.0.2.7")
    visit(app, world, referrer=SAFELINKS, address="192.0.2.8")
    visit(app, world, agent=SLACK, referrer=None, address="192.0.2.9")


def marketer(app: Flask, world: World) -> FlaskClient:
    return sign_in(app.test_client(), world.marketer)


def item_page(app: Flask, world: World, language: str = "en") -> str:
    page = marketer(app, world).get(
        f"/library/{world.content_id}", headers={"Accept-Language": language}
    )
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_item_page_counts_people_and_lists_the_filtered_requests_with_reasons(
    app: Flask, world: World
) -> None:
    a_morning_of_requests(app, world)
    page = item_page(app, world)
    assert "1 human click · 4 filtered (HEAD 1, scanners 2, repeats 1)" in page
    assert 'data-label="Clicks">1</td>' in page  # the seller's row counts the person only
    ledger_rows = page.split("Latest requests", 1)[1]
    for reason in ("human", "head", "scanner", "repeat"):
        assert f'data-reason="{reason}"' in ledger_rows
    assert "HEAD requests" in page and "Link scanners and previews" in page
    assert "Microsoft SafeLinks" in ledger_rows and "Slackbot" in ledger_rows
    assert "203.0.113.9" not in page  # no address: none is stored


def test_the_item_page_names_the_reasons_in_german(app: Flask, world: World) -> None:
    a_morning_of_requests(app, world)
    page = item_page(app, world, "de")
    assert "1 Klick einer Person · 4 gefiltert (HEAD 1, Scanner 2, Wiederholungen 1)" in page
    assert "HEAD-Anfragen" in page and "Link-Scanner und Vorschauen" in page
    assert "Letzte Aufrufe" in page


def test_the_content_report_and_its_api_count_only_people(
    app: Flask, world: World, make_token: Callable[..., str]
) -> None:
    a_morning_of_requests(app, world)
    page = marketer(app, world).get("/reports").get_data(as_text=True)
    assert "1 human click · 4 filtered (HEAD 1, scanners 2, repeats 1)" in page
    token = make_token(world.marketer)
    answer = app.test_client().get(
        "/api/v1/reports/content", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["total"]["clicks"] == 1
    assert body["requests"] == {
        "human": 1,
        "filtered": 4,
        "reasons": {"head": 1, "scanner": 2, "bot": 0, "repeat": 1, "early": 0},
    }


def test_the_items_clicks_api_carries_the_same_breakdown_and_ledger(
    app: Flask, world: World, make_token: Callable[..., str]
) -> None:
    a_morning_of_requests(app, world)
    token = make_token(world.marketer)
    answer = app.test_client().get(
        f"/api/v1/content/{world.content_id}/clicks", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["requests"]["human"] == 1 and body["requests"]["filtered"] == 4
    latest = body["latest"]
    assert [e["reason"] for e in latest] == ["scanner", "scanner", "head", "repeat", "human"]
    assert [e["counted"] for e in latest] == [False, False, False, False, True]
    assert latest[1]["referrer_host"] == "eur02.safelinks.protection.outlook.com"
    assert all(e["seller"] == "Sam Seller" for e in latest)


def test_sellers_do_not_get_an_items_ledger(
    app: Flask, world: World, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("seller"))
    answer = app.test_client().get(
        f"/api/v1/content/{world.content_id}/clicks", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403


def test_the_preview_link_records_nothing(app: Flask, world: World) -> None:
    assert app.test_client().get(f"/r/{service.PREVIEW_CODE}").status_code == 200
    assert ledger(app) == []


# --- the migration -------------------------------------------------------------------------


def test_the_migration_keeps_old_bots_as_bots_and_every_other_request_as_human(
    empty_database: str,
) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0020")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        # Rows of clicks alone, without the links behind them: foreign keys off for this.
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET session_replication_role = replica"))
        else:
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
        for n, is_bot in enumerate((False, True, False), start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO click (id, link_id, clicked_at, is_bot, referrer_host,"
                    " agent_family, visitor_hash) VALUES (:id, 1, :at, :bot, '', '', '')"
                ),
                {"id": n, "at": datetime(2026, 11, 1, tzinfo=UTC), "bot": is_bot},
            )
    command.upgrade(cfg, "0028")
    with engine.connect() as conn:
        reasons = conn.execute(sa.text("SELECT reason FROM click ORDER BY id")).scalars().all()
    assert reasons == ["human", "bot", "human"]

    with engine.begin() as conn:  # a repeat recorded after the upgrade ...
        conn.execute(sa.text("UPDATE click SET reason = 'repeat' WHERE id = 3"))
    command.downgrade(cfg, "0020")
    with engine.connect() as conn:
        bots = conn.execute(sa.text("SELECT is_bot FROM click ORDER BY id")).scalars().all()
    engine.dispose()
    assert [bool(b) for b in bots] == [False, True, True]  # ... is not counted after it either
