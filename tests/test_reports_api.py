"""The reports API: each report's figures as documented JSON, equal to the pages' figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.models import Content, ContentKind
from contentfeed.leads.attribution import MODELS, credit_shares
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import content, funnel, people, sales
from contentfeed.reports.period import Period
from contentfeed.routing.models import Queue
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.apiclient import Api

UTC_ZONE = ZoneInfo("UTC")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), UTC_ZONE)
IN_MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class World:
    marketer: str  # tokens
    rep: str
    ana_token: str
    ben_token: str
    ana: int  # ids
    ben: int
    team: int
    launch: int
    guide: int
    story: int


def _post(
    s: db.Session, seller: User, item: Content, posted_at: datetime, n: int
) -> tuple[Suggestion, TrackedLink]:
    suggestion = Suggestion(
        seller_id=seller.id,
        content_id=item.id,
        day=posted_at.date(),
        slot=n,
        rendered_text="Read this",
        status=SuggestionStatus.POSTED,
        created_at=posted_at - timedelta(hours=2),
        posted_at=posted_at,
    )
    s.add(suggestion)
    s.flush()
    link = TrackedLink(code=f"api{n:04d}", suggestion_id=suggestion.id, target_url=item.url)
    s.add(link)
    s.flush()
    return suggestion, link


def _lead(
    s: db.Session,
    email: str,
    status: LeadStatus,
    submitted: datetime,
    touches: list[tuple[Suggestion, TrackedLink, datetime]],
    queue: Queue | None = None,
) -> Lead:
    lead = Lead(
        email=email,
        email_domain="acme.example",
        status=status,
        submitted_at=submitted,
        queue_id=queue.id if queue else None,
        routed_at=submitted if queue else None,
        due_at=submitted + timedelta(hours=1) if queue else None,
        claimed_at=submitted + timedelta(minutes=10) if queue else None,
        first_contact_at=submitted + timedelta(minutes=30) if queue else None,
    )
    s.add(lead)
    s.flush()
    shares = credit_shares([when for _, _, when in touches], converted_at=submitted)
    for (suggestion, link, when), credits in zip(touches, shares, strict=True):
        item = s.get(Content, suggestion.content_id)
        assert item is not None
        s.add(
            Touch(
                lead_id=lead.id,
                code=link.code,
                found_in="utm_content",
                link_id=link.id,
                suggestion_id=suggestion.id,
                seller_id=suggestion.seller_id,
                content_id=item.id,
                campaign_id=item.campaign_id,
                touched_at=when,
                credits=credits,
            )
        )
    s.flush()
    return lead


@pytest.fixture
def world(
    app: Flask,
    make_user: Callable[..., User],
    make_team: Callable[..., Team],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> World:
    """Two sellers, two Launch items, posts and clicks (bots too) and leads in March 2026."""
    team = make_team("Hunters")
    ana = make_user(Role.SELLER, name="Ana Alpha", team_id=team.id, timezone="UTC")
    ben = make_user(Role.SELLER, name="Ben Beta", team_id=team.id, timezone="UTC")
    marketer = make_user(Role.MARKETER, timezone="UTC")
    rep = make_user(Role.REP, timezone="UTC")
    guide = make_content(
        title="Pricing guide", kind=ContentKind.WHITEPAPER, topics=["cloud", "data"]
    )
    story = make_content(title="Nordbank story", kind=ContentKind.CASE_STUDY, topics=["cloud"])
    with app.app_context():
        s = db.session()
        a1, l1 = _post(s, ana, guide, at(3, 5), 1)
        b1, l2 = _post(s, ben, guide, at(3, 6), 2)
        a2, l3 = _post(s, ana, story, at(3, 10), 3)
        s.add_all(Click(link_id=l1.id, clicked_at=at(3, 5, h)) for h in (13, 14, 15))
        s.add_all(Click(link_id=l1.id, clicked_at=at(3, 5, 13), is_bot=True) for _ in range(2))
        s.add(Click(link_id=l2.id, clicked_at=at(3, 7)))
        s.add_all(Click(link_id=l3.id, clicked_at=at(3, 11, h)) for h in (9, 10))
        s.add(Click(link_id=l3.id, clicked_at=at(4, 2)))  # after March
        queue = Queue(name="Inbound", sla_minutes=60)
        s.add(queue)
        s.flush()
        # First touch Ana's guide, last touch Ben's guide.
        _lead(
            s,
            "p1@acme.example",
            LeadStatus.QUALIFIED,
            at(3, 8),
            [(a1, l1, at(3, 5, 13)), (b1, l2, at(3, 7))],
            queue,
        )
        _lead(
            s, "p2@acme.example", LeadStatus.CONVERTED, at(3, 12), [(a2, l3, at(3, 11, 9))], queue
        )
        _lead(s, "p3@acme.example", LeadStatus.NEW, at(3, 20), [])
        s.commit()
        launch = guide.campaign_id
        assert launch is not None
    return World(
        marketer=make_token(marketer),
        rep=make_token(rep),
        ana_token=make_token(ana),
        ben_token=make_token(ben),
        ana=ana.id,
        ben=ben.id,
        team=team.id,
        launch=launch,
        guide=guide.id,
        story=story.id,
    )


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def test_content_dashboard_matches_the_report(app: Flask, world: World, api: Api) -> None:
    answer = api(
        "GET", "/api/v1/reports/content", world.marketer, query={**IN_MARCH, "model": "linear"}
    )
    assert answer.status_code == 200
    body = answer.json
    assert body is not None
    assert body["period"]["first_day"] == "2026-03-01" and body["period"]["days"] == 31
    rows = {row["content_id"]: row["figures"] for row in body["rows"]}
    assert rows[world.guide]["clicks"] == 4  # three of Ana's, one of Ben's; bots left out
    assert rows[world.guide]["posted"] == 2
    assert rows[world.guide]["leads"] == pytest.approx(1.0)  # linear: half each, same item
    assert rows[world.story]["clicks"] == 2
    assert body["total"]["clicks"] == 6 and body["total"]["leads"] == pytest.approx(2.0)
    assert sum(day["clicks"] for day in body["daily"]) == 6 and len(body["daily"]) == 31
    with app.app_context():
        report = content.content_report(
            db.session(), MARCH, "item", "linear", config.settings_of(app).reports
        )
    expected = {row.content_id: row.figures for row in report.rows}
    for content_id, figures in rows.items():
        assert figures["emv"] == pytest.approx(expected[content_id].emv)
        assert figures["reach"] == expected[content_id].reach
    assert body["total"]["emv"] == pytest.approx(report.total.emv)


@pytest.mark.parametrize("group", ["campaign", "topic", "kind"])
def test_content_dashboard_groups(world: World, api: Api, group: str) -> None:
    answer = api(
        "GET", "/api/v1/reports/content", world.marketer, query={**IN_MARCH, "group": group}
    )
    body = answer.json
    assert answer.status_code == 200 and body is not None
    labels = {row["label"]: row["figures"]["clicks"] for row in body["rows"]}
    expected = {
        "campaign": {"Launch": 6},
        "topic": {"cloud": 6, "data": 4},  # an item counts under each of its topics
        "kind": {"Whitepaper": 4, "Case study": 2},
    }[group]
    assert labels == expected


def test_daily_series_of_a_campaign(world: World, api: Api) -> None:
    answer = api(
        "GET",
        "/api/v1/reports/daily",
        world.marketer,
        query={"from": "2026-03-05", "to": "2026-03-11", "campaign_id": world.launch},
    )
    body = answer.json
    assert answer.status_code == 200 and body is not None
    assert [(d["day"], d["clicks"]) for d in body["days"] if d["clicks"]] == [
        ("2026-03-05", 3),
        ("2026-03-07", 1),
        ("2026-03-11", 2),
    ]
    missing = api("GET", "/api/v1/reports/daily", world.marketer, query={"campaign_id": 999_999})
    assert missing.status_code == 404


def test_campaign_drill_down(world: World, api: Api) -> None:
    answer = api(
        "GET",
        "/api/v1/reports/campaigns/{campaign_id}",
        world.marketer,
        query=IN_MARCH,
        campaign_id=world.launch,
    )
    body = answer.json
    assert answer.status_code == 200 and body is not None
    assert body["campaign"]["name"] == "Launch"
    items = {item["content_id"]: item for item in body["items"]}
    guide_sellers = [(p["seller"]["name"], p["clicks"]) for p in items[world.guide]["sellers"]]
    assert guide_sellers == [("Ana Alpha", 3), ("Ben Beta", 1)]
    assert body["total"]["clicks"] == 6
    missing = api(
        "GET", "/api/v1/reports/campaigns/{campaign_id}", world.marketer, campaign_id=999_999
    )
    assert missing.status_code == 404


def test_leaderboard_matches_the_page(app: Flask, world: World, api: Api) -> None:
    answer = api("GET", "/api/v1/reports/sellers", world.marketer, query=IN_MARCH)
    body = answer.json
    assert answer.status_code == 200 and body is not None
    rows = [(r["rank"], r["seller"]["name"], r["figures"]) for r in body["rows"]]
    # Last touch: Ben has p1, Ana p2; Ana leads on clicks (5 against 1).
    assert [(rank, name) for rank, name, _ in rows] == [(1, "Ana Alpha"), (2, "Ben Beta")]
    assert rows[0][2] == {"posts": 2, "verified": 0, "clicks": 5, "leads": 1.0, "qualified": 1.0}
    with app.app_context():
        board = people.leaderboard(db.session(), MARCH)
    assert body["totals"]["clicks"] == board.totals.clicks == 6
    team = api(
        "GET", "/api/v1/reports/sellers", world.marketer, query={**IN_MARCH, "team_id": world.team}
    )
    assert team.json is not None and team.json["teams"][0]["sellers"] == 2


def test_seller_report_for_staff_and_the_seller_only(world: World, api: Api) -> None:
    path = "/api/v1/reports/sellers/{seller_id}"
    answer = api("GET", path, world.marketer, query=IN_MARCH, seller_id=world.ana)
    body = answer.json
    assert answer.status_code == 200 and body is not None
    assert body["seller"]["name"] == "Ana Alpha"
    assert body["totals"] == {
        "posts": 2,
        "verified": 0,
        "clicks": 5,
        "leads": 1.0,
        "qualified": 1.0,
    }
    assert sum(post["clicks"] for post in body["history"]) == 5
    own = api("GET", path, world.ana_token, query=IN_MARCH, seller_id=world.ana)
    assert own.status_code == 200 and own.json == body
    assert api("GET", path, world.ben_token, seller_id=world.ana).status_code == 404
    assert api("GET", path, world.rep, seller_id=world.ana).status_code == 403
    assert api("GET", path, world.marketer, seller_id=999_999).status_code == 404


def test_sales_view(world: World, api: Api) -> None:
    answer = api("GET", "/api/v1/reports/sales", world.rep, query=IN_MARCH)
    body = answer.json
    assert answer.status_code == 200 and body is not None
    assert body["total"] == 3
    inbound = next(row for row in body["speed"] if row["queue"] == "Inbound")
    assert inbound["routed"] == 2 and inbound["met"] == 2 and inbound["compliance"] == 1.0
    assert inbound["median_claim_seconds"] == 600.0
    sources = {row["source"]: row["leads"] for row in body["sources"]}
    assert sources == {sales.ATTRIBUTED_SOURCE: 2, sales.NO_SOURCE: 1}


def test_campaign_attribution_adds_up_under_every_model(world: World, api: Api) -> None:
    answer = api(
        "GET",
        "/api/v1/reports/campaigns/{campaign_id}/attribution",
        world.marketer,
        query=IN_MARCH,
        campaign_id=world.launch,
    )
    body = answer.json
    assert answer.status_code == 200 and body is not None
    assert body["leads"] == 2 and body["models"] == list(MODELS)
    assert all(body["totals"][model] == pytest.approx(2.0) for model in MODELS)
    credits = {row["label"]: row["credits"] for row in body["rows"]}
    assert credits["Ana Alpha"]["first_touch"] == 2.0
    assert credits["Ben Beta"]["last_touch"] == 1.0
    by_item = api(
        "GET",
        "/api/v1/reports/campaigns/{campaign_id}/attribution",
        world.marketer,
        query={**IN_MARCH, "by": "content"},
        campaign_id=world.launch,
    )
    assert by_item.json is not None
    assert {row["id"] for row in by_item.json["rows"]} == {world.guide, world.story}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "from"),
        ({"model": "most_recent"}, "model"),
        ({"group": "seller"}, "group"),
    ],
)
def test_bad_parameters_answer_422(
    world: World, api: Api, query: dict[str, str], field: str
) -> None:
    answer = api("GET", "/api/v1/reports/content", world.marketer, query=query)
    assert answer.status_code == 422
    assert answer.json is not None and field in answer.json["fields"]


def test_sellers_cannot_read_the_dashboards(world: World, api: Api) -> None:
    for path in ("/api/v1/reports/content", "/api/v1/reports/sellers", "/api/v1/reports/sales"):
        assert api("GET", path, world.ana_token).status_code == 403


def test_reports_are_in_the_openapi_document(api: Api) -> None:
    paths = api.spec["paths"]
    for path in (
        "/api/v1/reports/content",
        "/api/v1/reports/daily",
        "/api/v1/reports/campaigns/{campaign_id}",
        "/api/v1/reports/sellers",
        "/api/v1/reports/sellers/{seller_id}",
        "/api/v1/reports/sales",
        "/api/v1/reports/campaigns/{campaign_id}/attribution",
    ):
        assert "422" in paths[path]["get"]["responses"]
    names = {p["name"] for p in paths["/api/v1/reports/content"]["get"]["parameters"]}
    assert names == {"from", "to", "model", "group"}


def test_the_documented_models_are_the_attribution_models() -> None:
    assert get_args(funnel.Model) == MODELS
