"""People reports: the leaderboard, a seller's page, the sales view, each figure checked
against hand-made data on both databases."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.models import Campaign, Content
from contentfeed.leads.attribution import MODELS, credit_shares
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.reports import measures, people, sales
from contentfeed.reports.models import LeaderboardMode, ReportSettings
from contentfeed.reports.period import Period
from contentfeed.routing.models import Queue
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import sign_in

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LINKEDIN_BOT = (
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
)
UTC_ZONE = ZoneInfo("UTC")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31), UTC_ZONE)
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30), UTC_ZONE)
MARCH_ARGS = "from=2026-03-01&to=2026-03-31"


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    team_a: int
    team_b: int
    ana: User
    ben: User
    cleo: User
    dan: User
    launch: int
    other: int


class _Post:
    """Make suggestions, links, clicks, leads and touches directly."""

    def __init__(self, s: sa.orm.Session) -> None:
        self.s = s
        self.n = 0

    def suggestion(
        self, seller: User, content: Content, posted_at: datetime | None
    ) -> tuple[Suggestion, TrackedLink]:
        self.n += 1
        item = Suggestion(
            seller_id=seller.id,
            content_id=content.id,
            day=date(2026, 1, 1) + timedelta(days=self.n),
            slot=0,
            rendered_text="Read this",
            status=SuggestionStatus.POSTED if posted_at else SuggestionStatus.PENDING,
            posted_at=posted_at,
        )
        self.s.add(item)
        self.s.flush()
        link = TrackedLink(code=f"code{self.n:04d}", suggestion_id=item.id, target_url=content.url)
        self.s.add(link)
        self.s.flush()
        return item, link

    def clicks(self, link: TrackedLink, when: datetime, n: int = 1, bot: bool = False) -> None:
        for i in range(n):
            self.s.add(Click(link_id=link.id, clicked_at=when + timedelta(minutes=i), is_bot=bot))

    def lead(
        self,
        submitted_at: datetime,
        status: LeadStatus = LeadStatus.NEW,
        touches: list[tuple[Suggestion, TrackedLink, datetime]] | None = None,
        utm_source: str = "",
        merged_into: Lead | None = None,
    ) -> Lead:
        self.n += 1
        lead = Lead(
            email=f"person{self.n}@acme.example",
            email_domain="acme.example",
            submitted_at=submitted_at,
            status=status,
            utm_source=utm_source,
            merged_into_id=merged_into.id if merged_into else None,
        )
        self.s.add(lead)
        self.s.flush()
        touches = touches or []
        shares = credit_shares([t for _, _, t in touches], converted_at=submitted_at)
        for (item, link, when), credits in zip(touches, shares, strict=True):
            content = self.s.get(Content, item.content_id)
            assert content is not None
            self.s.add(
                Touch(
                    lead_id=lead.id,
                    code=link.code,
                    found_in="utm_content",
                    link_id=link.id,
                    suggestion_id=item.id,
                    seller_id=item.seller_id,
                    content_id=item.content_id,
                    campaign_id=content.campaign_id,
                    touched_at=when,
                    credits=credits,
                )
            )
        self.s.flush()
        return lead


@pytest.fixture
def world(
    app: Flask,
    make_user: Callable[..., User],
    make_team: Callable[..., Team],
    make_content: Callable[..., Content],
) -> World:
    """Four sellers in two teams, posts, clicks (some by bots) and leads in and around March."""
    team_a, team_b = make_team("Hunters"), make_team("Farmers")
    ana = make_user(Role.SELLER, name="Ana Alpha", team_id=team_a.id)
    ben = make_user(Role.SELLER, name="Ben Beta", team_id=team_a.id)
    cleo = make_user(Role.SELLER, name="Cleo Gamma", team_id=team_b.id)
    dan = make_user(Role.SELLER, name="Dan Delta", team_id=team_b.id)
    c1 = make_content(title="Zero-downtime migrations", campaign="Launch")
    c2 = make_content(title="Nordbank story", campaign="Launch")
    c3 = make_content(title="Pricing guide", campaign="Other")
    with app.app_context():
        s = db.session()
        make = _Post(s)
        s1, l1 = make.suggestion(ana, c1, at(3, 5))
        s2, l2 = make.suggestion(ana, c2, at(2, 20))
        s3, l3 = make.suggestion(ben, c1, at(3, 10))
        s4, l4 = make.suggestion(cleo, c3, at(3, 12))
        make.suggestion(cleo, c2, None)
        make.clicks(l1, at(3, 6), 3)
        make.clicks(l1, at(3, 6), 2, bot=True)
        make.clicks(l1, at(4, 2))
        make.clicks(l2, at(3, 3))
        make.clicks(l2, at(2, 25))
        make.clicks(l3, at(3, 11), 2)
        make.clicks(l4, at(3, 13))
        make.lead(
            at(3, 12), LeadStatus.QUALIFIED, [(s1, l1, at(3, 6)), (s3, l3, at(3, 11))]
        )  # L1: last touch Ben, first touch Ana
        l2_lead = make.lead(at(3, 7), LeadStatus.NEW, [(s1, l1, at(3, 6))])
        make.lead(at(3, 4), LeadStatus.CONVERTED, [(s2, l2, at(3, 3))])
        make.lead(at(3, 14), LeadStatus.NEW, [(s4, l4, at(3, 13))])
        make.lead(at(3, 8), LeadStatus.NEW, [(s1, l1, at(3, 6))], merged_into=l2_lead)
        make.lead(at(4, 5), LeadStatus.NEW, [(s3, l3, at(4, 4))])
        make.lead(at(3, 15), LeadStatus.QUALIFIED, utm_source="newsletter")
        make.lead(at(3, 16), LeadStatus.NEW)
        make.lead(at(3, 17), LeadStatus.CONVERTED, utm_source=" Newsletter ")
        s.commit()
        campaigns = {c.name: c.id for c in s.scalars(sa.select(Campaign))}
    return World(team_a.id, team_b.id, ana, ben, cleo, dan, campaigns["Launch"], campaigns["Other"])


def figures(board: people.Leaderboard) -> dict[str, tuple[int, int, int, float, float]]:
    return {r.name: (r.rank, r.posts, r.clicks, r.leads, r.qualified) for r in board.rows}


# --- queries ------------------------------------------------------------------------------


def test_leaderboard_counts_posts_human_clicks_and_last_touch_leads(
    app: Flask, world: World
) -> None:
    with app.app_context():
        board = people.leaderboard(db.session(), MARCH)
    assert figures(board) == {
        "Ana Alpha": (1, 1, 4, 2.0, 1.0),
        "Ben Beta": (2, 1, 2, 1.0, 1.0),
        "Cleo Gamma": (3, 1, 1, 1.0, 0.0),
        "Dan Delta": (4, 0, 0, 0.0, 0.0),
    }
    assert board.totals == people.SellerFigures(3, 7, 4.0, 2.0)
    assert {t.team: (t.sellers, t.figures.leads) for t in board.teams} == {
        "Hunters": (2, 3.0),
        "Farmers": (2, 1.0),
    }


def test_leaderboard_follows_the_dates_and_the_team(app: Flask, world: World) -> None:
    with app.app_context():
        s = db.session()
        april = figures(people.leaderboard(s, APRIL))
        team = figures(people.leaderboard(s, MARCH, team_id=world.team_b))
    assert april["Ana Alpha"] == (2, 0, 1, 0.0, 0.0)
    assert april["Ben Beta"] == (1, 0, 0, 1.0, 0.0)
    assert team == {"Cleo Gamma": (1, 1, 1, 1.0, 0.0), "Dan Delta": (2, 0, 0, 0.0, 0.0)}


def test_ties_share_a_rank(app: Flask, make_user: Callable[..., User]) -> None:
    make_user(Role.SELLER, name="Zed")
    make_user(Role.SELLER, name="Amy")
    with app.app_context():
        board = people.leaderboard(db.session(), MARCH)
    assert [(r.rank, r.name) for r in board.rows] == [(1, "Amy"), (1, "Zed")]


def test_seller_page_totals_add_up_to_the_history(app: Flask, world: World) -> None:
    with app.app_context():
        s = db.session()
        ana = s.get(User, world.ana.id)
        assert ana is not None
        page = people.seller_page(s, ana, MARCH)
    assert page.totals == people.SellerFigures(1, 4, 2.0, 1.0)
    assert [(r.title, r.clicks, r.leads, r.qualified) for r in page.history] == [
        ("Zero-downtime migrations", 3, 1.0, 0.0),
        ("Nordbank story", 1, 1.0, 1.0),
    ]
    assert sum(r.clicks for r in page.history) == page.totals.clicks


def test_conversion_by_source(app: Flask, world: World) -> None:
    with app.app_context():
        rows = sales.conversion_by_source(db.session(), MARCH)
    assert [(r.source, r.is_attributed, r.leads, r.qualified, r.converted) for r in rows] == [
        (sales.ATTRIBUTED_SOURCE, True, 4, 2, 1),
        ("newsletter", False, 2, 2, 1),
        ("(none)", False, 1, 0, 0),
    ]
    assert rows[0].qualified_rate == 0.5
    assert measures.format_rate(rows[0].converted_rate) == "25%"


def test_campaign_attribution_models_side_by_side_sum_to_the_leads(
    app: Flask, world: World
) -> None:
    with app.app_context():
        s = db.session()
        launch = s.get(Campaign, world.launch)
        assert launch is not None
        result = sales.campaign_attribution(s, launch, MARCH)
        by_item = sales.campaign_attribution(s, launch, MARCH, by="content")
    assert result.leads == 3  # L1, L2, L3; the merged and the April lead don't count
    credits = {r.label: r.credits for r in result.rows}
    assert credits["Ana Alpha"]["first_touch"] == 3.0
    assert credits["Ana Alpha"]["last_touch"] == 2.0
    assert credits["Ana Alpha"]["linear"] == 2.5
    assert credits["Ben Beta"]["linear"] == 0.5
    for model in MODELS:
        assert result.total(model) == pytest.approx(3.0)
        assert by_item.total(model) == pytest.approx(3.0)
    assert {r.label for r in by_item.rows} == {"Zero-downtime migrations", "Nordbank story"}


def test_sla_compliance_and_medians_on_known_timestamps(
    app: Flask, make_user: Callable[..., User]
) -> None:
    with app.app_context():
        s = db.session()
        queue = Queue(name="Digital sales", sla_minutes=60)
        s.add(queue)
        s.flush()

        def routed(
            day: int,
            claim: int | None,
            contact: int | None,
            status: LeadStatus,
            *,
            month: int = 3,
            merged: bool = False,
        ) -> None:
            start = at(month, day, 10)
            lead = Lead(
                email=f"lead{day}{month}@acme.example",
                email_domain="acme.example",
                submitted_at=start,
                status=status,
                queue_id=queue.id,
                routed_at=start,
                due_at=start + timedelta(minutes=60),
                claimed_at=start + timedelta(minutes=claim) if claim is not None else None,
                first_contact_at=(
                    start + timedelta(minutes=contact) if contact is not None else None
                ),
                merged_into_id=keep.id if merged else None,
            )
            s.add(lead)

        keep = Lead(
            email="unrouted@acme.example", email_domain="acme.example", submitted_at=at(3, 6)
        )
        s.add(keep)
        s.flush()
        routed(2, 10, 30, LeadStatus.CONTACTED)  # met
        routed(3, 20, 120, LeadStatus.CONTACTED)  # missed: contacted late
        routed(4, 40, None, LeadStatus.CLAIMED)  # missed: due, never contacted
        routed(20, None, None, LeadStatus.NEW)  # not yet due at "now"
        routed(5, 1, 2, LeadStatus.CONTACTED, merged=True)  # merged: never counts
        routed(27, 1, 2, LeadStatus.CONTACTED, month=2)  # before the period
        s.commit()
        report = sales.sales(s, MARCH, now=at(3, 20, 10, 30))
    [speed] = report.speed
    assert (speed.routed, speed.met, speed.missed, speed.pending) == (4, 1, 2, 1)
    assert speed.compliance == pytest.approx(1 / 3)
    assert speed.median_claim_seconds == pytest.approx(20 * 60)
    assert speed.median_contact_seconds == pytest.approx(75 * 60)
    assert measures.format_duration(speed.median_contact_seconds) == "1 h 15 min"
    by_queue = {row.queue: row.counts for row in report.by_queue}
    assert by_queue == {
        "Digital sales": {LeadStatus.CONTACTED: 2, LeadStatus.CLAIMED: 1, LeadStatus.NEW: 1},
        "Not routed": {LeadStatus.NEW: 1},
    }
    assert report.total == 5


def test_durations_read_like_people_say_them() -> None:
    assert measures.format_duration(None) == "—"
    assert measures.format_duration(20) == "under 1 min"
    assert measures.format_duration(12 * 60) == "12 min"
    assert measures.format_duration(72 * 60) == "1 h 12 min"
    assert measures.format_duration(2 * 3600) == "2 h"
    assert measures.format_duration(26 * 3600) == "1 d 2 h"


# --- pages --------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The text of every table cell, row by row, per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def signed_in(app: Flask, user: User) -> FlaskClient:
    return sign_in(app.test_client(), user)


def set_mode(app: Flask, mode: LeaderboardMode) -> None:
    with app.app_context():
        s = db.session()
        s.add(ReportSettings(leaderboard=mode))
        s.commit()


def test_admin_sees_names_and_the_csv_equals_the_table(
    app: Flask, world: World, make_user: Callable[..., User]
) -> None:
    client = signed_in(app, make_user(Role.ADMIN))
    page = client.get(f"/reports/sellers?{MARCH_ARGS}")
    assert page.status_code == 200
    table = tables(page.get_data(as_text=True))[0]
    assert table[1] == ["1", "Ana Alpha", "Hunters", "1", "0", "4", "2", "1"]
    response = client.get(f"/reports/sellers.csv?{MARCH_ARGS}")
    assert response.mimetype == "text/csv"
    assert csv_rows(response.data) == table


def test_team_filter_on_the_page(app: Flask, world: World, make_user: Callable[..., User]) -> None:
    client = signed_in(app, make_user(Role.MARKETER))
    html = client.get(f"/reports/sellers?{MARCH_ARGS}&team={world.team_a}").get_data(as_text=True)
    rows = tables(html)[0][1:]
    assert [row[1] for row in rows] == ["Ana Alpha", "Ben Beta"]


def test_bot_clicks_through_the_redirect_do_not_count(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Whitepaper")
    seller = make_user(Role.SELLER, name="Sam Seller")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
        )
        s.commit()
        code = s.scalars(sa.select(TrackedLink.code)).one()
    visitor = app.test_client()
    for n, agent in enumerate((CHROME, CHROME, LINKEDIN_BOT)):  # two people and a bot
        address = {"REMOTE_ADDR": f"203.0.113.{n + 1}"}
        answer = visitor.get(f"/r/{code}", headers={"User-Agent": agent}, environ_base=address)
        assert answer.status_code == 302
    with app.app_context():
        s = db.session()
        today = datetime.now(UTC).date()
        board = people.leaderboard(s, Period(today - timedelta(days=1), today, UTC_ZONE))
        assert s.scalar(sa.select(sa.func.count()).select_from(Click)) == 3
    assert figures(board)["Sam Seller"][2] == 2


def test_switched_off_leaderboard(app: Flask, world: World, make_user: Callable[..., User]) -> None:
    set_mode(app, LeaderboardMode.OFF)
    seller = signed_in(app, world.cleo)
    page = seller.get("/reports/sellers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The leaderboard is switched off" in html
    assert "Ana Alpha" not in html
    assert seller.get("/reports/sellers.csv").status_code == 404
    assert seller.get(f"/reports/sellers/{world.cleo.id}").status_code == 200
    admin = signed_in(app, make_user(Role.ADMIN))
    assert "Ana Alpha" in admin.get(f"/reports/sellers?{MARCH_ARGS}").get_data(as_text=True)


def test_anonymous_leaderboard_shows_a_seller_only_their_own_name(app: Flask, world: World) -> None:
    set_mode(app, LeaderboardMode.ANONYMOUS)
    client = signed_in(app, world.cleo)
    html = client.get(f"/reports/sellers?{MARCH_ARGS}").get_data(as_text=True)
    rows = tables(html)[0][1:]
    assert [row[:2] for row in rows] == [
        ["1", "Seller #1"],
        ["2", "Seller #2"],
        ["3", "You"],
        ["4", "Seller #4"],
    ]
    for name in ("Ana Alpha", "Ben Beta", "Dan Delta"):
        assert name not in html
    assert "Team" not in tables(html)[0][0]
    exported = csv_rows(client.get(f"/reports/sellers.csv?{MARCH_ARGS}").data)
    assert exported == tables(html)[0]
    assert "Ana Alpha" not in str(exported)


def test_admin_switches_the_leaderboard_mode(
    app: Flask, world: World, make_user: Callable[..., User]
) -> None:
    admin = signed_in(app, make_user(Role.ADMIN))
    assert admin.get("/admin/reports").status_code == 200
    response = admin.post("/admin/reports", data={"leaderboard": "anonymous"})
    assert response.status_code == 302
    assert admin.post("/admin/reports", data={"leaderboard": "loud"}).status_code == 422
    with app.app_context():
        assert people.leaderboard_mode(db.session()) is LeaderboardMode.ANONYMOUS
    html = signed_in(app, world.ana).get("/reports/sellers").get_data(as_text=True)
    assert "Seller #" in html and "Ben Beta" not in html


def test_a_seller_sees_only_their_own_page(
    app: Flask, world: World, make_user: Callable[..., User]
) -> None:
    ana = signed_in(app, world.ana)
    own = ana.get(f"/reports/sellers/{world.ana.id}?{MARCH_ARGS}")
    assert own.status_code == 200
    assert "Zero-downtime migrations" in own.get_data(as_text=True)
    assert ana.get(f"/reports/sellers/{world.ben.id}").status_code == 404
    assert ana.get(f"/reports/sellers/{world.ben.id}.csv").status_code == 404
    marketer = signed_in(app, make_user(Role.MARKETER))
    page = marketer.get(f"/reports/sellers/{world.ben.id}?{MARCH_ARGS}")
    assert page.status_code == 200
    exported = marketer.get(f"/reports/sellers/{world.ana.id}.csv?{MARCH_ARGS}")
    assert [row[0::4] for row in csv_rows(exported.data)] == [
        ["Content", "Clicks"],
        ["Zero-downtime migrations", "3"],
        ["Nordbank story", "1"],
    ]


def test_a_sellers_posts_sort_by_each_column(app: Flask, world: World) -> None:
    ana = signed_in(app, world.ana)

    def order(args: str) -> list[str]:
        page = ana.get(f"/reports/sellers/{world.ana.id}?{MARCH_ARGS}{args}")
        return re.findall(r'<th scope="row" data-label="Content">([^<{]+?)\s*<', page.text)

    # Zero-downtime migrations: posted 5 March, 3 clicks, 1 lead, 0 qualified;
    # Nordbank story: posted 20 February (clicks and a lead in March), 1 click, 1 qualified.
    assert order("") == ["Zero-downtime migrations", "Nordbank story"]  # newest post first
    assert order("&sort=posted&dir=asc") == ["Nordbank story", "Zero-downtime migrations"]
    assert order("&sort=clicks&dir=asc") == ["Nordbank story", "Zero-downtime migrations"]
    assert order("&sort=qualified") == ["Nordbank story", "Zero-downtime migrations"]
    assert order("&sort=content") == ["Nordbank story", "Zero-downtime migrations"]  # A to Z


@pytest.mark.parametrize(
    "url",
    ["/reports/sellers", "/reports/sales", "/reports/sellers/{id}", "/reports/sellers.csv"],
)
def test_bad_dates_show_the_error_not_a_crash(
    app: Flask, world: World, make_user: Callable[..., User], url: str
) -> None:
    client = signed_in(app, make_user(Role.ADMIN))
    path = url.format(id=world.ana.id)
    for query in ("from=yesterday", "from=2026-03-10&to=2026-03-01"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422
        assert "Check the dates" in response.get_data(
            as_text=True
        ) or "ends before it starts" in response.get_data(as_text=True)


def test_sales_page_and_csv(app: Flask, world: World, make_user: Callable[..., User]) -> None:
    client = signed_in(app, make_user(Role.REP))
    page = client.get(f"/reports/sales?{MARCH_ARGS}&campaign={world.launch}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    found = tables(html)
    sources = next(t for t in found if t[0][0] == "Source")
    exported = csv_rows(client.get(f"/reports/sales.csv?{MARCH_ARGS}&table=sources").data)
    assert exported == sources
    attribution = next(t for t in found if t[0][0] == "Seller")
    assert attribution[-1] == ["Total", "3", "3", "3", "3", "3"]
    exported = csv_rows(
        client.get(
            f"/reports/sales.csv?{MARCH_ARGS}&table=attribution&campaign={world.launch}"
        ).data
    )
    assert exported == attribution
    status = csv_rows(client.get(f"/reports/sales.csv?{MARCH_ARGS}&table=status").data)
    assert status[-1][-1] == "7"
    assert client.get(f"/reports/sales.csv?{MARCH_ARGS}&table=nope").status_code == 422


def test_csv_cells_from_outside_cannot_run_as_spreadsheet_formulas(
    app: Flask, world: World, make_user: Callable[..., User]
) -> None:
    """A lead's utm_source comes from whoever filled in the form; in the sales CSV it must
    stay text, or opening the file would run it."""
    with app.app_context():
        s = db.session()
        s.add(
            Lead(
                email="mallory@evil.example",
                email_domain="evil.example",
                submitted_at=at(3, 15),
                utm_source='=HYPERLINK("https://evil.example","click")',
            )
        )
        s.commit()
    client = signed_in(app, make_user(Role.REP))
    response = client.get(f"/reports/sales.csv?{MARCH_ARGS}&table=sources")
    assert response.data.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads accents
    sources = [row[0] for row in csv_rows(response.data)]
    assert """'=hyperlink("https://evil.example","click")""" in sources  # sources group lowercase
    assert not any(cell.startswith("=") for cell in sources)


def test_sales_page_without_data_shows_empty_states(
    app: Flask, make_user: Callable[..., User]
) -> None:
    client = signed_in(app, make_user(Role.MARKETER))
    html = client.get("/reports/sales").get_data(as_text=True)
    assert "No leads in this period" in html
    assert "No campaigns yet" in html


def test_each_role_sees_its_reports_tabs(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    marketer = client_as("marketer").get("/reports/sales").get_data(as_text=True)
    assert 'aria-label="Reports"' in marketer
    assert "/reports/sellers" in marketer and 'href="/reports"' in marketer
    rep = client_as("rep").get("/reports/sales").get_data(as_text=True)
    assert 'aria-label="Reports"' in rep  # the sales view and the customer report
    assert 'href="/reports/customers"' in rep
    assert "/reports/sellers" not in rep and 'href="/reports"' not in rep
