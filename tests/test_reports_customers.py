"""The customer development report: handovers against their SLA, renewals per team,
customers' content engagement and the funnel from post to customer, each figure checked on
the page and in the API against hand-made cards, leads and clicks, on both databases."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import Role, Team, TeamKind, User
from contentfeed.content.models import Content
from contentfeed.customers.models import CardKind, CardStatus, CustomerCard
from contentfeed.db import utcnow
from contentfeed.leads.attribution import credit_shares
from contentfeed.leads.models import Lead, LeadStatus, Touch
from contentfeed.links.models import Click, TrackedLink
from contentfeed.routing.models import Account
from contentfeed.suggestions.models import Suggestion, SuggestionStatus
from tests.conftest import sign_in
from tests.test_api import bearer, check_against_spec
from tests.test_reports_people import tables

NOW = utcnow()
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def period_args() -> dict[str, str]:
    """The 30 days up to today and ten days ahead (renewals due later are still open)."""
    today = NOW.date()
    return {"from": (today - timedelta(days=29)).isoformat(), "to": (today + 10 * DAY).isoformat()}


@dataclass
class World:
    onboarding: int
    tour: int
    rita: User  # customer development rep
    nico: User  # a rep without a team


@pytest.fixture
def world(
    app: Flask,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> World:
    cd = make_team("Hunters after", kind=TeamKind.CUSTOMER_DEVELOPMENT)
    rita = make_user(Role.REP, team_id=cd.id, name="Rita Renew", timezone="UTC")
    nico = make_user(Role.REP, name="Nico Noteam", timezone="UTC")
    seller = make_user(Role.SELLER, name="Sam Seller")
    onboarding = make_content(title="Onboarding guide")
    tour = make_content(title="Feature tour")
    with app.app_context():
        s = db.session()
        acme = Account(name="Acme", customer_since=ago(20))
        beta = Account(name="Beta")  # imported as a customer already
        gamma = Account(name="Gamma", customer_since=ago(1))
        s.add_all([acme, beta, gamma])
        s.flush()

        def card(key: str, kind: CardKind, account: Account, **fields: Any) -> None:
            s.add(CustomerCard(key=key, kind=kind, account_id=account.id, **fields))

        handover = CardKind.HANDOVER
        accepted = CardStatus.ACCEPTED
        # Gamma's handover names the post that brought its first lead.
        card("h:a", handover, gamma, signed_at=ago(3), accepted_at=ago(3) + 2 * HOUR,
             status=accepted, content_id=tour.id)  # fmt: skip
        card("h:b", handover, acme, signed_at=ago(5), accepted_at=ago(5) + 30 * HOUR,
             status=accepted)  # fmt: skip
        card("h:c", handover, beta, signed_at=ago(hours=1))  # waiting, within the SLA
        card("h:d", handover, beta, signed_at=ago(3))  # waiting past the SLA
        card("h:e", handover, acme, signed_at=ago(40), accepted_at=ago(40) + HOUR,
             status=accepted)  # fmt: skip
        # No signature date: counts from when the card was raised.
        card("h:f", handover, acme, created_at=ago(4), accepted_at=ago(4) + 3 * HOUR,
             status=accepted)  # fmt: skip

        renewal, done = CardKind.RENEWAL, CardStatus.DONE
        card("r:1", renewal, acme, due_at=ago(10), assignee_id=rita.id, status=done,
             outcome="renewed")  # fmt: skip
        card("r:2", renewal, beta, due_at=ago(8), assignee_id=rita.id, status=done,
             outcome="ended")  # fmt: skip
        card("r:3", renewal, beta, due_at=ago(2), assignee_id=rita.id, status=accepted)
        card("r:4", renewal, gamma, due_at=ago(-5), assignee_id=rita.id, status=accepted)
        card("r:5", renewal, acme, due_at=ago(12), assignee_id=nico.id, status=done,
             outcome="renewed")  # fmt: skip
        card("r:6", renewal, gamma, due_at=ago(-3))  # nobody yet
        card("r:7", renewal, gamma, due_at=ago(50), assignee_id=rita.id)  # before the period

        posted_x = _suggestion(s, seller, onboarding.id, 1, posted_at=ago(12))
        posted_y = _suggestion(s, seller, tour.id, 2, posted_at=ago(11))
        posted_x2 = _suggestion(s, seller, onboarding.id, 4, posted_at=ago(9), other_seller=rita)
        _suggestion(s, seller, tour.id, 3, posted_at=None, other_seller=nico)
        for minutes in range(3):
            s.add(Click(link_id=posted_x[1], clicked_at=ago(10) + timedelta(minutes=minutes)))
        s.add(Click(link_id=posted_x[1], clicked_at=ago(10), is_bot=True))
        s.add(Click(link_id=posted_y[1], clicked_at=ago(6)))

        x, y = (onboarding.id, *posted_x), (tour.id, *posted_y)
        x2 = (onboarding.id, *posted_x2)
        _lead(s, "a@acme.example", acme, ago(8), [(x, ago(10)), (x2, ago(9))])
        _lead(s, "b@acme.example", acme, ago(8), [(x, ago(8))])
        _lead(s, "c@beta.example", beta, ago(5), [(x, ago(7)), (y, ago(6))])
        _lead(s, "d@nowhere.example", None, ago(5), [(y, ago(5))])
        # Gamma's person read the tour before Gamma was a customer: no customer engagement.
        _lead(s, "e@gamma.example", gamma, ago(2), [(y, ago(5))], LeadStatus.CONVERTED)
        s.commit()
    return World(onboarding.id, tour.id, rita, nico)


def _suggestion(
    s: sa.orm.Session,
    seller: User,
    content_id: int,
    n: int,
    *,
    posted_at: datetime | None,
    other_seller: User | None = None,
) -> tuple[int, int, str]:
    item = Suggestion(
        seller_id=(other_seller or seller).id,
        content_id=content_id,
        day=date(2026, 1, 1) + timedelta(days=n),
        slot=0,
        rendered_text="Read this",
        status=SuggestionStatus.POSTED if posted_at else SuggestionStatus.PENDING,
        posted_at=posted_at,
    )
    s.add(item)
    s.flush()
    link = TrackedLink(code=f"cust{n:04d}", suggestion_id=item.id, target_url="https://x.example")
    s.add(link)
    s.flush()
    return item.id, link.id, link.code


def _lead(
    s: sa.orm.Session,
    email: str,
    account: Account | None,
    submitted_at: datetime,
    touches: list[tuple[tuple[int, int, int, str], datetime]],
    status: LeadStatus = LeadStatus.NEW,
) -> None:
    lead = Lead(
        email=email,
        email_domain=email.split("@")[1],
        submitted_at=submitted_at,
        status=status,
        account_id=account.id if account else None,
    )
    s.add(lead)
    s.flush()
    shares = credit_shares([when for _, when in touches], converted_at=submitted_at)
    for ((content_id, suggestion_id, link_id, code), when), credits in zip(
        touches, shares, strict=True
    ):
        s.add(
            Touch(
                lead_id=lead.id,
                code=code,
                found_in="utm_content",
                link_id=link_id,
                suggestion_id=suggestion_id,
                content_id=content_id,
                touched_at=when,
                credits=credits,
            )
        )
    s.flush()


def _rows(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def _stat(page: str, name: str) -> str:
    match = re.search(rf'data-stat="{name}">(.*?)</p>', page)
    assert match, name
    return match.group(1).strip()


def test_the_page_shows_handovers_renewals_engagement_and_the_funnel(
    app: Flask, world: World, make_user: Callable[..., User]
) -> None:
    client = sign_in(app.test_client(), make_user(Role.MARKETER, timezone="UTC"))
    response = client.get("/reports/customers", query_string=period_args())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _stat(page, "customers") == "2"  # Acme and Gamma; Beta was imported as one
    assert "1 started by a seller" in page
    assert _stat(page, "median") == "3 h"  # of 2 h, 3 h and 30 h
    assert _stat(page, "within-sla") == "50%"  # a and f met, b and d missed, c waits
    assert _stat(page, "renewals") == "6"

    handovers, renewals, funnel, engagement = tables(page)
    assert _rows(handovers)["This period"] == ["5", "3", "3 h", "2", "⚠ 2", "1", "50%"]
    assert _rows(handovers)["Period before"][:3] == ["1", "1", "1 h"]

    teams = _rows(renewals)
    assert teams["Hunters after"] == ["4", "1", "1", "2 (50%)", "2", "⚠ 1"]
    assert teams["Not assigned to a team"] == ["1", "1", "0", "1 (100%)", "0", "0"]
    assert teams["Nobody assigned yet"] == ["1", "0", "0", "0 (0%)", "1", "0"]
    assert teams["Total"] == ["6", "2", "1", "3", "3", "1"]
    assert list(teams)[:3] == ["Hunters after", "Not assigned to a team", "Nobody assigned yet"]

    steps = _rows(funnel)
    assert [steps[k][0] for k in steps] == ["3", "4", "5", "1", "2"]
    assert list(steps) == ["Posts", "Clicks", "Leads", "Converted leads", "New customers"]
    assert steps["Clicks"][1] == "133%" and steps["New customers"][1] == "200%"

    items = _rows(engagement)
    assert items["Onboarding guide"] == ["2", "3", "4"]  # Acme and Beta; 3 people; 4 visits
    assert items["Feature tour"] == ["1", "1", "1"]  # Beta only: Gamma read it before
    assert list(items) == ["Onboarding guide", "Feature tour"]
    assert "People of 2 customer accounts" in page
    assert f'href="/library/{world.onboarding}"' in page


def test_the_api_answers_the_same_figures_and_the_sla_setting_counts(
    app: Flask,
    client: FlaskClient,
    world: World,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    token = make_token(make_user(Role.REP, timezone="UTC"), "read")
    answer = client.get(
        "/api/v1/reports/customers", query_string=period_args(), headers=bearer(token)
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    spec = client.get("/api/v1/openapi.json").get_json()
    check_against_spec(spec, "/api/v1/reports/customers", "get", 200, body)
    handovers = body["handovers"]
    assert (handovers["signed"], handovers["accepted"]) == (5, 3)
    assert (handovers["met"], handovers["missed"], handovers["pending"]) == (2, 2, 1)
    assert handovers["within_sla"] == 0.5 and handovers["sla_hours"] == 24
    assert handovers["median_seconds"] == pytest.approx(3 * 3600, abs=1)
    assert body["previous_handovers"]["median_seconds"] == pytest.approx(3600, abs=1)
    by_team = {row["team"]: row for row in body["renewals"]}
    assert {k: v for k, v in by_team["Hunters after"].items() if k != "team_id"} == {
        "team": "Hunters after",
        "due": 4,
        "renewed": 1,
        "ended": 1,
        "handled": 2,
        "open": 2,
        "overdue": 1,
    }
    assert body["renewals_total"]["due"] == 6
    assert [(r["title"], r["accounts"], r["people"], r["touches"]) for r in body["engagement"]] == [
        ("Onboarding guide", 2, 3, 4),
        ("Feature tour", 1, 1, 1),
    ]
    assert body["engaged_accounts"] == 2
    steps = {step["key"]: step for step in body["funnel"]["steps"]}
    assert [steps[k]["count"] for k in ("posts", "clicks", "leads", "converted", "customers")] == [
        3,
        4,
        5,
        1,
        2,
    ]
    assert steps["posts"]["rate"] is None and steps["converted"]["rate"] == 0.2
    assert body["funnel"]["customers_from_posts"] == 1

    config.override(app, customers={"handover_sla_hours": 48})  # b's 30 hours are within it now
    wider = client.get(
        "/api/v1/reports/customers", query_string=period_args(), headers=bearer(token)
    ).get_json()["handovers"]
    assert (wider["met"], wider["missed"], wider["pending"]) == (3, 1, 1)
    assert wider["within_sla"] == 0.75


def test_the_report_in_german(app: Flask, world: World, make_user: Callable[..., User]) -> None:
    client = sign_in(app.test_client(), make_user(Role.ADMIN, timezone="UTC"))
    page = client.get(
        "/reports/customers", query_string=period_args(), headers={"Accept-Language": "de"}
    ).get_data(as_text=True)
    assert "Neue Kunden" in page and "Verlängerungen" in page and "Übergabe" in page
    assert _stat(page, "within-sla") == "50%"
    assert "Vom Beitrag zum Kunden" in page and "Keinem Team zugeordnet" in page
    assert 'data-label="Fällig"' in page  # each cell names its column on a phone


def test_who_may_read_it_and_bad_dates(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    rep = sign_in(app.test_client(), make_user(Role.REP))
    empty = rep.get("/reports/customers")
    assert empty.status_code == 200
    assert "No new customers signed in this period" in empty.get_data(as_text=True)
    assert 'href="/reports/customers"' in empty.get_data(as_text=True)  # the reports' tabs
    seller = sign_in(app.test_client(), make_user(Role.SELLER))
    assert seller.get("/reports/customers").status_code == 403
    bad = rep.get("/reports/customers", query_string={"from": "2026-13-01"})
    assert bad.status_code == 422
    assert "Check the dates." in bad.get_data(as_text=True)

    seller_token = make_token(make_user(Role.SELLER), "read")
    refused = client.get("/api/v1/reports/customers", headers=bearer(seller_token))
    assert refused.status_code == 403
    rep_token = make_token(make_user(Role.REP), "read")
    backwards = client.get(
        "/api/v1/reports/customers",
        query_string={"from": "2026-05-02", "to": "2026-05-01"},
        headers=bearer(rep_token),
    )
    assert backwards.status_code == 422
