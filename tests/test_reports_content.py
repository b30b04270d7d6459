"""The marketer dashboard: every figure against a small hand-computed world, days in the
viewer's zone, the previous period, the campaign drill-down, CSV equal to the table."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content, ContentKind
from contentfeed.db import utcnow
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import campaigns, funnel
from contentfeed.reports import content as report
from contentfeed.reports.period import Period
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import sign_in

BERLIN = ZoneInfo("Europe/Berlin")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 10), BERLIN)
ARGS = "from=2026-10-01&to=2026-10-10"
ESTIMATES = funnel.Estimates(currency="USD", cpm=20.0, cpc=5.0, impression_rate=0.1)


def at(day: int, hour: int = 12, month: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class World:
    """Ids of the fixed world the figures are computed by hand from."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}


def _suggest(
    s: Any,
    seller: User,
    item: Content,
    slot: int,
    created: datetime,
    posted: datetime | None,
) -> tuple[Suggestion, TrackedLink]:
    suggestion = Suggestion(
        seller_id=seller.id,
        content_id=item.id,
        day=created.date(),
        slot=slot,
        rendered_text="Read this",
        status=SuggestionStatus.POSTED if posted else SuggestionStatus.PENDING,
        created_at=created,
        posted_at=posted,
    )
    s.add(suggestion)
    s.flush()
    link = TrackedLink(
        code=f"c{suggestion.id:05d}", suggestion_id=suggestion.id, target_url="https://x.example"
    )
    s.add(link)
    s.flush()
    return suggestion, link


def _clicks(s: Any, link: TrackedLink, *times: datetime, is_bot: bool = False) -> None:
    s.add_all(Click(link_id=link.id, clicked_at=t, is_bot=is_bot) for t in times)


def _lead(
    s: Any,
    email: str,
    status: LeadStatus,
    submitted: datetime,
    touches: list[tuple[Suggestion, TrackedLink, dict[str, float]]],
    merged_into: Lead | None = None,
) -> Lead:
    lead = Lead(
        email=email,
        email_domain="example.com",
        status=status,
        submitted_at=submitted,
        merged_into_id=merged_into.id if merged_into else None,
    )
    s.add(lead)
    s.flush()
    for suggestion, link, credits in touches:
        full = {m: credits.get(m, credits.get("all", 0.0)) for m in funnel.MODELS}
        s.add(
            Touch(
                lead_id=lead.id,
                code=link.code,
                found_in="utm_content",
                link_id=link.id,
                suggestion_id=suggestion.id,
                seller_id=suggestion.seller_id,
                content_id=suggestion.content_id,
                campaign_id=s.get(Content, suggestion.content_id).campaign_id,
                touched_at=submitted - timedelta(hours=1),
                credits=full,
            )
        )
    s.flush()
    return lead


@pytest.fixture
def world(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> dict[str, int]:
    """Two sellers (500 and 1,500 connections), two items of campaign Launch, posts, clicks
    (bots among them), leads with statuses; plus activity outside the period."""
    config.override(
        app, reports={"currency": "USD", "cpm": 20.0, "cpc": 5.0, "impression_rate": 0.1}
    )
    s1 = make_user("seller", name="Ada Seller", linkedin_connections=500)
    s2 = make_user("seller", name="Bo Seller", linkedin_connections=1500)
    s3 = make_user("seller", name="Cy Earlier", linkedin_connections=100)
    a = make_content(
        title="Alpha whitepaper", kind=ContentKind.WHITEPAPER, topics=["cloud", "data"]
    )
    b = make_content(title="Beta video", kind=ContentKind.VIDEO, topics=["cloud"])
    with app.app_context():
        s = db.session()
        a1, a1_link = _suggest(s, s1, a, 1, at(2), at(3))
        a2, a2_link = _suggest(s, s2, a, 1, at(2, 13), at(4))
        b1, b1_link = _suggest(s, s1, b, 2, at(2, 14), at(6))
        _suggest(s, s2, b, 2, at(5), None)
        b3, b3_link = _suggest(s, s3, b, 1, at(25, month=9), at(26, month=9))
        _clicks(s, a1_link, at(3), at(4), at(5))
        _clicks(s, a1_link, at(3), at(3, 14), is_bot=True)
        _clicks(s, a1_link, at(11))  # after the period
        _clicks(s, a2_link, at(4))
        _clicks(s, b1_link, at(7), at(7, 15))
        _clicks(s, b1_link, at(7), is_bot=True)
        _clicks(s, b3_link, at(27, month=9), at(27, 13, month=9))  # previous period
        # L1 converted: first touch Alpha, last touch Beta (linear half each).
        _lead(
            s,
            "l1@example.com",
            LeadStatus.CONVERTED,
            at(8),
            [
                (a1, a1_link, {"first_touch": 1, "last_touch": 0, "all": 0.5}),
                (b1, b1_link, {"first_touch": 0, "last_touch": 1, "all": 0.5}),
            ],
        )
        _lead(s, "l2@example.com", LeadStatus.QUALIFIED, at(5), [(a2, a2_link, {"all": 1})])
        l3 = _lead(s, "l3@example.com", LeadStatus.NEW, at(6), [(a1, a1_link, {"all": 1})])
        # A returning person folded into L3: never counted.
        _lead(s, "l3@example.com", LeadStatus.NEW, at(9), [(a1, a1_link, {"all": 1})], l3)
        _lead(s, "l5@example.com", LeadStatus.NEW, at(28, month=9), [(b3, b3_link, {"all": 1})])
        _lead(s, "l6@example.com", LeadStatus.NEW, at(12), [(a1, a1_link, {"all": 1})])
        s.commit()
        assert a.campaign_id is not None
    return {
        "a": a.id,
        "b": b.id,
        "campaign": a.campaign_id,
        "s1": s1.id,
        "s2": s2.id,
        "s3": s3.id,
    }


def figures_of(app: Flask, model: str = "last_touch") -> dict[int, funnel.Figures]:
    with app.app_context():
        return report.item_figures(db.session(), PERIOD, model, ESTIMATES)


def test_item_figures_under_last_touch(app: Flask, world: dict[str, int]) -> None:
    figures = figures_of(app)
    assert set(figures) == {world["a"], world["b"]}
    a, b = figures[world["a"]], figures[world["b"]]
    assert (a.suggested, a.posted, a.clicks) == (2, 2, 4)
    assert (b.suggested, b.posted, b.clicks) == (2, 1, 2)
    assert (a.leads, a.qualified, a.converted) == (2, 1, 0)
    assert (b.leads, b.qualified, b.converted) == (1, 1, 1)
    assert a.post_rate == 1.0 and b.post_rate == 0.5
    assert a.clicks_per_post == 2.0 and b.clicks_per_post == 2.0
    assert a.leads_per_100_clicks == 50.0 and b.leads_per_100_clicks == 50.0
    assert a.qualified_rate == 0.5 and a.converted_rate == 0.0
    assert b.qualified_rate == 1.0 and b.converted_rate == 1.0
    # Reach: distinct posting sellers' connections; impressions at 10%; EMV at CPM 20, CPC 5.
    assert (a.reach, b.reach) == (2000, 500)
    assert (a.impressions, b.impressions) == pytest.approx((200.0, 50.0))
    assert a.emv == pytest.approx(200 * 20 / 1000 + 4 * 5)
    assert b.emv == pytest.approx(50 * 20 / 1000 + 2 * 5)


def test_item_figures_under_linear_are_fractional(app: Flask, world: dict[str, int]) -> None:
    figures = figures_of(app, "linear")
    a, b = figures[world["a"]], figures[world["b"]]
    assert (a.leads, a.qualified, a.converted) == pytest.approx((2.5, 1.5, 0.5))
    assert (b.leads, b.qualified, b.converted) == pytest.approx((0.5, 0.5, 0.5))
    first = figures_of(app, "first_touch")
    assert (first[world["a"]].leads, first[world["b"]].leads) == (3, 0)


def test_totals_groups_and_previous_period(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        s = db.session()
        result = report.content_report(s, PERIOD, "topic", "last_touch", ESTIMATES)
        by_kind = report.content_report(s, PERIOD, "kind", "last_touch", ESTIMATES)
        by_campaign = report.content_report(s, PERIOD, "campaign", "last_touch", ESTIMATES)
        # The comparison's cheaper totals agree with the items added up.
        for model in ("last_touch", "linear"):
            for campaign_id in (None, world["campaign"]):
                cheap = report.period_totals(s, PERIOD, model, ESTIMATES, campaign_id=campaign_id)
                items = report.item_figures(s, PERIOD, model, ESTIMATES, campaign_id=campaign_id)
                added = funnel.Figures()
                for f in items.values():
                    added.add(f)
                assert astuple(cheap) == pytest.approx(astuple(added))
    t = result.total
    assert (t.suggested, t.posted, t.clicks, t.leads, t.qualified, t.converted) == (
        4,
        3,
        6,
        3,
        2,
        1,
    )
    assert (t.reach, t.impressions, t.emv) == (2500, pytest.approx(250), pytest.approx(35))
    topics = {row.label: row.figures for row in result.rows}
    assert topics["cloud"].clicks == 6 and topics["data"].clicks == 4  # Alpha under both
    assert {r.label: r.figures.clicks for r in by_kind.rows} == {"Whitepaper": 4, "Video": 2}
    assert [(r.label, r.figures.clicks) for r in by_campaign.rows] == [("Launch", 6)]
    assert by_campaign.rows[0].campaign_id == world["campaign"]
    before = result.previous_total
    assert (before.suggested, before.posted, before.clicks, before.leads, before.reach) == (
        1,
        1,
        2,
        1,
        100,
    )
    change = result.change("clicks")
    assert change.percent == pytest.approx(200.0)
    assert change.text == "▲ up 200%"
    assert result.change("reach").text == "▲ up 2,400%"
    assert funnel.Change(1, 4).text == "▼ down 75%"
    assert funnel.Change(3, 0).text == "▲ new this period"


def test_daily_series_in_the_viewer_zone(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        days = report.daily_series(db.session(), PERIOD, "last_touch")
    assert [p.day for p in days] == list(PERIOD.each_day())
    clicks = {p.day.day: p.clicks for p in days if p.clicks}
    leads = {p.day.day: p.leads for p in days if p.leads}
    assert clicks == {3: 1, 4: 2, 5: 1, 7: 2}
    assert leads == {5: 1, 6: 1, 8: 1}


@pytest.mark.parametrize("month", [10, 11], ids=["summer-time", "winter-time"])
def test_a_late_utc_click_counts_on_the_next_berlin_day(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content], month: int
) -> None:
    seller = make_user("seller")
    item = make_content()
    with app.app_context():
        s = db.session()
        _suggestion, link = _suggest(s, seller, item, 1, at(1, month=month), at(1, month=month))
        _clicks(s, link, at(20, 23, month=month, minute=30))
        s.commit()
        day = date(2026, month, 20)
        week = Period(day - timedelta(days=3), day + timedelta(days=3), BERLIN)
        series = {p.day: p.clicks for p in report.daily_series(s, week)}
        assert series[day] == 0 and series[day + timedelta(days=1)] == 1
        only_d = report.item_figures(s, Period(day, day, BERLIN))
        next_day = report.item_figures(
            s, Period(day + timedelta(days=1), day + timedelta(days=1), BERLIN)
        )
        assert item.id not in only_d
        assert next_day[item.id].clicks == 1
        # The same instant is still day D in UTC.
        utc_series = report.daily_series(s, Period(day, day, ZoneInfo("UTC")))
        assert [p.clicks for p in utc_series] == [1]


def test_campaign_drill_down(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        result = campaigns.campaign_report(
            db.session(), PERIOD, world["campaign"], "last_touch", ESTIMATES
        )
    assert result.campaign_name == "Launch"
    assert {r.content_id: r.figures.clicks for r in result.items} == {
        world["a"]: 4,
        world["b"]: 2,
    }
    sellers = {
        cid: [(p.seller_name, p.clicks, p.leads, p.connections) for p in posts]
        for cid, posts in result.sellers.items()
    }
    assert sellers == {
        world["a"]: [("Ada Seller", 3, 1.0, 500), ("Bo Seller", 1, 1.0, 1500)],
        world["b"]: [("Ada Seller", 2, 1.0, 500)],  # Bo never posted it; Cy posted before
    }
    assert result.sellers[world["a"]][0].posted_at == at(3)


def test_a_campaign_report_leaves_out_other_campaigns(
    app: Flask,
    world: dict[str, int],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    """An item of another campaign, busy in the same days, changes the dashboard's totals
    and nothing in the Launch campaign's drill-down or its daily series."""
    with app.app_context():
        s = db.session()
        before = campaigns.campaign_report(s, PERIOD, world["campaign"], "last_touch", ESTIMATES)
        before_days = report.daily_series(s, PERIOD, "last_touch", campaign_id=world["campaign"])
        before_total = report.period_totals(s, PERIOD, "last_touch", ESTIMATES)
    other = make_content(title="Other launch deck", campaign="Other")
    seller = make_user("seller", name="Di Other", linkedin_connections=900)
    with app.app_context():
        s = db.session()
        content = s.get(Content, other.id)
        assert content is not None
        sg, link = _suggest(s, s.get(User, seller.id), content, 1, at(2), at(3))
        _clicks(s, link, at(3), at(4), at(4, 15))
        _lead(s, "other@example.com", LeadStatus.QUALIFIED, at(5), [(sg, link, {"all": 1})])
        s.commit()
        after = campaigns.campaign_report(s, PERIOD, world["campaign"], "last_touch", ESTIMATES)
        after_days = report.daily_series(s, PERIOD, "last_touch", campaign_id=world["campaign"])
        after_total = report.period_totals(s, PERIOD, "last_touch", ESTIMATES)
    assert after_total.clicks == before_total.clicks + 3  # the dashboard sees it...
    assert after_total.leads == before_total.leads + 1
    assert {r.content_id for r in after.items} == {world["a"], world["b"]}  # ...Launch does not
    assert after.total == before.total
    assert after.previous_total == before.previous_total
    assert after.sellers.keys() == before.sellers.keys()
    assert after_days == before_days


# --- the pages -----------------------------------------------------------------------------


@pytest.fixture
def marketer(app: Flask, client: FlaskClient, make_user: Callable[..., User]) -> FlaskClient:
    return sign_in(client, make_user("marketer", timezone="Europe/Berlin"))


def _numbers(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def _table(html: str) -> str:
    """Return the main figures table of a page (the charts above name the items too)."""
    return html[html.index('class="table report-figures"') :]


def test_dashboard_shows_the_figures(world: dict[str, int], marketer: FlaskClient) -> None:
    response = marketer.get(f"/reports?{ARGS}")
    assert response.status_code == 200
    html = _numbers(response.get_data(as_text=True))
    assert "Alpha whitepaper" in html and "Beta video" in html
    assert "Oct 1 \u2013 10, 2026" in html and "Sep 21 \u2013 30, 2026" in html
    assert "▲ up 200%" in html  # clicks against the previous period
    assert "estimate" in html and "$35" in html  # Babel: the currency in the viewer's style
    assert 'role="img"' in html and "<title>Clicks and leads per day</title>" in html
    topic = _numbers(marketer.get(f"/reports?{ARGS}&group=topic").get_data(as_text=True))
    assert "counts under each of them" in topic
    campaign = marketer.get(f"/reports?{ARGS}&group=campaign").get_data(as_text=True)
    assert f"/reports/campaigns/{world['campaign']}?" in campaign


def test_dashboard_sorts(world: dict[str, int], marketer: FlaskClient) -> None:
    by_label = _table(marketer.get(f"/reports?{ARGS}&sort=label").get_data(as_text=True))
    assert by_label.index("Alpha whitepaper") < by_label.index("Beta video")
    by_label = _table(marketer.get(f"/reports?{ARGS}&sort=label&dir=desc").get_data(as_text=True))
    assert by_label.index("Beta video") < by_label.index("Alpha whitepaper")
    by_clicks = _table(marketer.get(f"/reports?{ARGS}").get_data(as_text=True))
    assert by_clicks.index("Alpha whitepaper") < by_clicks.index("Beta video")  # 4 clicks > 2


def _csv(client: FlaskClient, url: str) -> tuple[list[list[str]], str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads accents"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")))), response.headers[
        "Content-Disposition"
    ]


def test_csv_equals_the_table(app: Flask, world: dict[str, int], marketer: FlaskClient) -> None:
    rows, disposition = _csv(marketer, f"/reports.csv?{ARGS}&model=linear")
    assert "2026-10-01-to-2026-10-10" in disposition
    header, *body = rows
    assert header == ["Content item", *funnel.CSV_HEADER]
    table = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert set(table) == {"Alpha whitepaper", "Beta video", "Total"}
    alpha = table["Alpha whitepaper"]
    assert float(alpha["Clicks"]) == 4 and float(alpha["Leads"]) == 2.5
    assert float(alpha["Post rate %"]) == 100.0 and float(alpha["EMV (estimate)"]) == 24.0
    assert float(table["Total"]["Reach (estimate)"]) == 2500
    # Every number of the page's table is in the CSV, rounded the same way.
    html = _table(_numbers(marketer.get(f"/reports?{ARGS}&model=linear").get_data(as_text=True)))
    row_html = html[html.index(">Alpha whitepaper<") :]
    row_html = row_html[: row_html.index("</tr>")]
    cells = re.findall(r'<td class="num" data-label="([^"]+)">([^<]+)', row_html)
    shown = {label: value.strip() for label, value in cells}
    assert shown["Clicks"] == alpha["Clicks"]
    assert shown["Leads"] == alpha["Leads"]
    assert shown["Posted"] == alpha["Posted"]
    assert shown["Reach (est.)"] == f"{int(alpha['Reach (estimate)']):,}"
    assert shown["EMV (est.)"] == f"${float(alpha['EMV (estimate)']):,.0f}"
    by_kind, _ = _csv(marketer, f"/reports.csv?{ARGS}&group=kind")
    assert by_kind[0][0] == "Kind"
    assert {r[0]: r[5] for r in by_kind[1:]} == {"Whitepaper": "4", "Video": "2", "Total": "6"}


def test_campaign_page_and_csv(world: dict[str, int], marketer: FlaskClient) -> None:
    url = f"/reports/campaigns/{world['campaign']}?{ARGS}"
    html = _numbers(marketer.get(url).get_data(as_text=True))
    assert "Launch" in html and "Who posted what" in html
    assert "Ada Seller" in html and "Bo Seller" in html and "Cy Earlier" not in html
    items, disposition = _csv(marketer, f"/reports/campaigns/{world['campaign']}.csv?{ARGS}")
    assert "contentfeed-campaign-launch-2026-10-01-to-2026-10-10.csv" in disposition
    assert {r[0]: r[5] for r in items[1:]} == {
        "Alpha whitepaper": "4",
        "Beta video": "2",
        "Total": "6",
    }
    sellers, _ = _csv(marketer, f"/reports/campaigns/{world['campaign']}.csv?{ARGS}&table=sellers")
    assert sellers[0] == ["Content item", "Seller", "Posted at", "Connections", "Clicks", "Leads"]
    assert ["Alpha whitepaper", "Ada Seller", "2026-10-03 14:00", "500", "3", "1"] in sellers
    assert marketer.get(f"/reports/campaigns/999999?{ARGS}").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "a date like 2026-11-01"),
        ("from=2026-10-10&to=2026-10-01", "The range ends before it starts."),
        ("from=2020-01-01&to=2026-01-01", "Pick at most two years."),
    ],
)
def test_bad_dates_show_the_error(
    world: dict[str, int], marketer: FlaskClient, query: str, message: str
) -> None:
    for url in ("/reports", f"/reports/campaigns/{world['campaign']}"):
        response = marketer.get(f"{url}?{query}")
        assert response.status_code == 422
        assert message.lower() in response.get_data(as_text=True).lower()
    for url in ("/reports.csv", f"/reports/campaigns/{world['campaign']}.csv"):
        response = marketer.get(f"{url}?{query}")
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_empty_period_says_what_to_do(app: Flask, marketer: FlaskClient) -> None:
    html = marketer.get("/reports").get_data(as_text=True)
    assert "Nothing happened in this period" in html
    assert "Show the last 90 days" in html


def test_real_clicks_through_the_redirect_leave_bots_out(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    seller = make_user("seller", linkedin_connections=300)
    make_content(title="Live item")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(hours=1),
        )
        s.commit()
        code = s.scalars(sa.select(TrackedLink.code)).one()
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
    bot = {"User-Agent": "LinkedInBot/1.0 (compatible; Mozilla/5.0; +http://www.linkedin.com)"}
    assert client.get(f"/r/{code}", headers=browser).status_code == 302
    assert client.get(f"/r/{code}", headers=bot).status_code == 302
    marketer = sign_in(app.test_client(), make_user("marketer"))
    rows, _ = _csv(marketer, "/reports.csv")
    table = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert table["Live item"]["Clicks"] == "1"
    assert table["Live item"]["Suggested"] == "1"
