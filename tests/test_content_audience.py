"""Content for customers: an item's audience (prospects, customers or both), set in the form,
the API and the import, shown on the item page and in the library, and obeyed by the
suggestion engine (customer development's sellers get items for customers, everyone else
items for prospects)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import config, db
from contentfeed.accounts.models import Team, TeamKind, User
from contentfeed.content.models import Audience, Content, ContentStatus, PostVariant
from contentfeed.content.reach import unreached_sellers
from contentfeed.db import utcnow
from contentfeed.suggestions import service
from contentfeed.suggestions.models import Suggestion
from tests.conftest import sign_in
from tests.test_api import bearer, check_against_spec
from tests.test_import import HEADER, run

FORM = {
    "url": "https://www.example.com/onboarding",
    "title": "Your first 30 days with Acme",
    "summary": "The onboarding guide.",
    "image_url": "",
    "kind": "article",
    "campaign_id": "0",
    "language": "en",
    "priority": "3",
}


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</div>', page, re.DOTALL)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def _suggested(app: Flask, seller: User, rounds: int = 4) -> list[int]:
    """Suggest to one seller until nothing fits; return the items they got, in order."""
    got: list[int] = []
    with app.app_context():
        s = db.session()
        settings = service.feed_settings(config.settings_of(app))
        for n in range(rounds):
            service.fill_feeds(s, settings, only=[seller.id], ignore_cadence=True, seed=n)
            s.commit()
        got = list(
            s.scalars(
                sa.select(Suggestion.content_id)
                .where(Suggestion.seller_id == seller.id)
                .order_by(Suggestion.id)
            )
        )
    return got


# --- the suggestion engine ----------------------------------------------------------------


def test_customer_development_gets_customer_items_and_everyone_else_prospect_items(
    app: Flask,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    hunters_after = make_team("Customer development", kind=TeamKind.CUSTOMER_DEVELOPMENT)
    hunters_before = make_team("Business development", kind=TeamKind.BUSINESS_DEVELOPMENT)
    case_study = make_content(title="How Nordbank uses Acme", audience=Audience.CUSTOMERS)
    prospects_only = make_content(title="Why Acme", audience=Audience.PROSPECTS)
    everyone = make_content(title="Acme release notes", audience=Audience.BOTH)
    after = make_user("seller", team_id=hunters_after.id)
    before = make_user("seller", team_id=hunters_before.id)
    no_team = make_user("seller")

    got_after = _suggested(app, after)
    assert case_study.id in got_after and everyone.id in got_after
    assert prospects_only.id not in got_after
    got_before = _suggested(app, before)
    assert prospects_only.id in got_before and everyone.id in got_before
    assert case_study.id not in got_before
    assert set(_suggested(app, no_team)) == {prospects_only.id, everyone.id}


def test_suggest_now_says_the_audience_when_nothing_fits(
    client: FlaskClient,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
) -> None:
    team = make_team("Key accounts", kind=TeamKind.BUSINESS_DEVELOPMENT)
    make_content(title="Welcome aboard", audience=Audience.CUSTOMERS)
    seller = make_user("seller", team_id=team.id)
    token = make_token(make_user("admin"), "read", "suggestions:write")
    response = client.post(f"/api/v1/sellers/{seller.id}/suggest-now", headers=bearer(token))
    assert response.status_code == 409
    assert "audience" in response.get_json()["message"]


def test_the_item_page_counts_only_sellers_of_its_audience_as_unreached(
    app: Flask,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    cd = make_team("CD", kind=TeamKind.CUSTOMER_DEVELOPMENT)
    bd = make_team("BD")
    item = make_content(audience=Audience.CUSTOMERS, variants=(("Hallo {{ link }}", "de"),))
    make_user("seller", team_id=cd.id, name="Carla Customer", language="en")
    make_user("seller", team_id=bd.id, name="Bert Business", language="en")
    with app.app_context():
        s = db.session()
        content = s.get(Content, item.id)
        assert content is not None
        reach = unreached_sellers(s, content)
    assert [seller.name for seller in reach.sellers] == ["Carla Customer"]


# --- the form, the item page and the library ----------------------------------------------


def test_the_form_saves_the_audience_and_the_pages_show_it(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("marketer")
    form = _text(client.get("/library/new"))
    assert "For prospects and customers" in form and "For customers" in form

    saved = client.post("/library/new", data={**FORM, "audience": "customers"})
    assert saved.status_code == 302, _text(saved)[:800]
    item_url = saved.headers["Location"]
    page = _text(client.get(item_url))
    assert 'data-audience="customers"' in page and "For customers" in page

    edit = _text(client.get(f"{item_url}/edit"))
    assert re.search(
        r'<option selected value="customers">|<option value="customers" selected', edit
    )
    changed = client.post(f"{item_url}/edit", data={**FORM, "audience": "prospects"})
    assert changed.status_code == 302
    page = _text(client.get(item_url))
    assert 'data-audience="prospects"' in page
    assert "Audience" in page and "Prospects" in page  # the history names the change

    both = client.post("/library/new", data={**FORM, "url": "https://www.example.com/news"})
    assert 'data-audience="both"' in _text(client.get(both.headers["Location"]))

    library = _text(client.get("/library", query_string={"status": "all"}))
    assert library.count('data-audience="prospects"') == 1
    assert 'data-audience="both"' not in library  # "both" needs no badge in the list
    only = _text(client.get("/library", query_string={"status": "all", "audience": "prospects"}))
    assert "1 item" in only and FORM["title"] in only


def test_the_form_refuses_an_unknown_audience_beside_the_field(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("marketer")
    response = client.post("/library/new", data={**FORM, "audience": "vip"})
    assert response.status_code == 422
    assert _field_error(_text(response), "audience") != ""


def test_the_form_in_german_offers_the_audience(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("marketer")
    page = _text(client.get("/library/new", headers={"Accept-Language": "de"}))
    assert "Zielgruppe" in page and "Für Kunden" in page


# --- the API ------------------------------------------------------------------------------


def test_the_api_creates_changes_and_reads_the_audience(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("marketer"), "read", "content:write")
    body: dict[str, Any] = {
        "url": "https://example.com/onboarding",
        "title": "Onboarding",
        "prefill": False,
        "audience": "customers",
    }
    created = client.post("/api/v1/content", json=body, headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["audience"] == "customers"
    spec = client.get("/api/v1/openapi.json").get_json()
    check_against_spec(spec, "/api/v1/content", "post", 201, created.get_json())
    assert "audience" in spec["components"]["schemas"]["ContentOut"]["required"]
    assert "audience" in spec["components"]["schemas"]["ContentPatch"]["properties"]

    item = f"/api/v1/content/{created.get_json()['id']}"
    patched = client.patch(item, json={"audience": "prospects"}, headers=bearer(token))
    assert patched.status_code == 200
    assert client.get(item, headers=bearer(token)).get_json()["audience"] == "prospects"

    listed = client.get(
        "/api/v1/content",
        query_string={"status": "all", "audience": "prospects"},
        headers=bearer(token),
    ).get_json()
    assert [i["title"] for i in listed["items"]] == ["Onboarding"]
    none = client.get(
        "/api/v1/content",
        query_string={"status": "all", "audience": "customers"},
        headers=bearer(token),
    ).get_json()
    assert none["items"] == []

    default = client.post(
        "/api/v1/content",
        json={**body, "url": "https://example.com/x"} | {"audience": "both"},
        headers=bearer(token),
    )
    assert default.get_json()["audience"] == "both"
    for bad in ("vip", "", 3, None):
        refused = client.patch(item, json={"audience": bad}, headers=bearer(token))
        assert refused.status_code == 422, bad
        assert "audience" in refused.get_json()["fields"]
    refused = client.post(
        "/api/v1/content", json={**body, "audience": "everyone"}, headers=bearer(token)
    )
    assert refused.status_code == 422
    assert "audience" in refused.get_json()["fields"]


# --- the import and export ----------------------------------------------------------------


def test_the_import_reads_the_audience_column_in_english_and_german(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("marketer")
    header = [*HEADER[: HEADER.index("target_regions") + 1], "audience"]
    rows = [
        ("Welcome guide", "https://example.com/welcome", "Kunden"),
        ("Why us", "https://example.com/why", "For prospects"),
        ("Release notes", "https://example.com/notes", ""),
        ("Bad one", "https://example.com/bad", "vip"),
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*header, "variant_1"], lineterminator="\n")
    writer.writeheader()
    for title, url, audience in rows:
        writer.writerow(
            {
                "title": title,
                "url": url,
                "language": "en",
                "audience": audience,
                "variant_1": "{{ seller.first_name }}: {{ link }}",
            }
        )
    batch_id, progress = run(client, "items.csv", buffer.getvalue())
    assert progress["imported"] == 3
    with app.app_context():
        found = dict(db.session().execute(sa.select(Content.title, Content.audience)).all())
    assert found == {
        "Welcome guide": Audience.CUSTOMERS,
        "Why us": Audience.PROSPECTS,
        "Release notes": Audience.BOTH,
    }
    report = _text(client.get(f"/library/import/{batch_id}"))
    assert "“vip” isn't an audience" in report

    exported = client.get("/library/export.csv", query_string={"status": "all"})
    lines = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()
    reader = list(csv.DictReader(lines))
    assert {r["title"]: r["audience"] for r in reader}["Welcome guide"] == "customers"


def test_a_customer_item_reaches_a_customer_seller_through_the_form(
    app: Flask,
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
) -> None:
    team = make_team("Hunters after", kind=TeamKind.CUSTOMER_DEVELOPMENT)
    marketer = make_user("marketer")
    client = sign_in(app.test_client(), marketer)
    saved = client.post("/library/new", data={**FORM, "audience": "customers"})
    content_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        s = db.session()
        content = s.get(Content, content_id)
        assert content is not None
        s.add(PostVariant(content=content, body="{{ link }}", language="en", position=1))
        content.status = ContentStatus.APPROVED
        content.approved_at = utcnow()
        s.commit()
    seller = make_user("seller", team_id=team.id)
    other = make_user("seller")
    assert _suggested(app, seller) == [content_id]
    assert _suggested(app, other) == []


def test_the_engine_masks_items_of_the_other_audience() -> None:
    from contentfeed.suggestions import engine

    def facts(content_id: int, audience: str) -> engine.ContentFacts:
        return engine.ContentFacts(
            content_id, 3, frozenset(), frozenset(), frozenset(), None, (content_id,),
            {content_id: "en"}, audience=audience,
        )  # fmt: skip

    items = [facts(1, "customers"), facts(2, "prospects"), facts(3, "both")]
    after = engine.SellerFacts(1, 7, "", ("en",), frozenset(), serves_customers=True)
    before = engine.SellerFacts(2, 7, "", ("en",), frozenset())
    slots = [(date(2026, 12, 4), n) for n in range(3)]
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    chosen = engine.choose([(after, slots), (before, slots)], items, {}, now=now, seed=1)
    got = {(c.seller_id, c.content_id) for c in chosen}
    assert got == {(1, 1), (1, 3), (2, 2), (2, 3)}
