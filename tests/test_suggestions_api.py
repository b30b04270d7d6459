"""The suggestions and sellers API: whose suggestions, posting and skipping, suggest now, the
seller list; every answer checked against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import config, db
from contentfeed.accounts.models import TeamKind, User
from contentfeed.content.models import Content
from contentfeed.suggestions import actions, service
from tests.apiclient import Api

SUGGESTIONS = "/api/v1/suggestions"
SUGGESTION = "/api/v1/suggestions/{suggestion_id}"
POSTED = "/api/v1/suggestions/{suggestion_id}/posted"
SKIP = "/api/v1/suggestions/{suggestion_id}/skip"
SELLERS = "/api/v1/sellers"
SUGGEST_NOW = "/api/v1/sellers/{seller_id}/suggest-now"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari"


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


@pytest.fixture
def suggest(app: Flask) -> Callable[[User], int]:
    """Give a seller one suggestion now (as the admin's button does); return its id."""

    def make(seller: User) -> int:
        with app.app_context():
            s = db.session()
            made = actions.suggest_now(s, service.feed_settings(config.settings_of(app)), seller.id)
            s.commit()
            return made[0].id

    return make


def ids(response: TestResponse) -> list[int]:
    return [item["id"] for item in response.json["items"]]  # type: ignore[index]


# --- the seller's own suggestions --------------------------------------------------------


def test_seller_sees_only_their_own_marks_one_posted_and_skips_another(
    app: Flask,
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    suggest: Callable[[User], int],
) -> None:
    for n in range(3):
        make_content(title=f"Guide {n}", kind="whitepaper")
    sam = make_user("seller", name="Sam Seller")
    other = make_user("seller", name="Olga Other")
    first, second = suggest(sam), suggest(sam)
    theirs = suggest(other)
    token = make_token(sam, "read", "suggestions:write")

    listing = api("GET", SUGGESTIONS, token)
    assert listing.status_code == 200
    assert sorted(ids(listing)) == [first, second]
    assert listing.json["total"] == 2
    item = listing.json["items"][0]
    assert item["seller"] == {"id": sam.id, "name": "Sam Seller"}
    assert item["status"] == "pending"
    assert item["link"].startswith(config.settings_of(app).public_base_url + "/r/")
    assert item["link"] in item["rendered_text"]
    assert item["rendered_text"].startswith("Sam here: read Guide")
    assert item["content"]["kind"] == "whitepaper"
    assert item["clicks"] == 0
    assert set(item["score_parts"]) >= {"priority", "topics", "freshness", "performance"}

    assert api("GET", SUGGESTIONS, token, query={"seller_id": other.id}).status_code == 403
    own = api("GET", SUGGESTIONS, token, query={"seller_id": sam.id})
    assert sorted(ids(own)) == [first, second]

    # Two people follow the link, and LinkedIn's preview fetcher once: two human clicks.
    code = urlsplit(api("GET", SUGGESTION, token, suggestion_id=first).json["link"]).path
    api.client.get(code, headers={"User-Agent": BROWSER})
    api.client.get(code, headers={"User-Agent": BROWSER + " Edge"})
    api.client.get(code, headers={"User-Agent": "LinkedInBot/1.0 (compatible; Mozilla/5.0)"})

    posted = api("POST", POSTED, token, suggestion_id=first)
    assert posted.status_code == 200
    assert posted.json["status"] == "posted"
    assert posted.json["posted_at"] is not None
    assert posted.json["clicks"] == 2
    again = api("POST", POSTED, token, suggestion_id=first)
    assert again.json["posted_at"] == posted.json["posted_at"]

    bad = api("POST", SKIP, token, json={"reason": "boring"}, suggestion_id=second)
    assert bad.status_code == 422
    assert "reason" in bad.json["fields"]
    missing = api("POST", SKIP, token, json={"note": "meh"}, suggestion_id=second)
    assert missing.status_code == 422
    assert "reason" in missing.json["fields"]
    skipped = api(
        "POST",
        SKIP,
        token,
        json={"reason": "too_salesy", "note": "Reads like an ad"},
        suggestion_id=second,
    )
    assert skipped.status_code == 200
    assert skipped.json["status"] == "skipped"
    assert skipped.json["skip_reason"] == "too_salesy"
    assert skipped.json["skip_note"] == "Reads like an ad"
    assert skipped.json["skipped_at"] is not None
    shared = api("POST", SKIP, token, json={"reason": "other"}, suggestion_id=first)
    assert shared.status_code == 409

    assert ids(api("GET", SUGGESTIONS, token, query={"status": "posted"})) == [first]
    assert ids(api("GET", SUGGESTIONS, token, query={"status": "skipped"})) == [second]
    assert ids(api("GET", SUGGESTIONS, token, query={"status": "pending"})) == []
    assert api("GET", SUGGESTIONS, token, query={"status": "lost"}).status_code == 422

    assert api("GET", SUGGESTION, token, suggestion_id=theirs).status_code == 404
    assert api("POST", POSTED, token, suggestion_id=theirs).status_code == 404
    refused = api("POST", SKIP, token, json={"reason": "other"}, suggestion_id=theirs)
    assert refused.status_code == 404
    assert api("GET", SUGGESTION, token, suggestion_id=999_999).status_code == 404


def test_staff_list_anyones_suggestions_and_reps_are_refused(
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    suggest: Callable[[User], int],
) -> None:
    make_content(title="Case study")
    sam, olga = make_user("seller"), make_user("seller")
    sams, olgas = suggest(sam), suggest(olga)
    marketer = make_user("marketer")
    token = make_token(marketer, "read", "suggestions:write")

    assert ids(api("GET", SUGGESTIONS, token, query={"seller_id": olga.id})) == [olgas]
    assert sorted(ids(api("GET", SUGGESTIONS, token))) == sorted([sams, olgas])
    assert api("GET", SUGGESTION, token, suggestion_id=sams).json["seller"]["id"] == sam.id
    not_a_seller = api("GET", SUGGESTIONS, token, query={"seller_id": marketer.id})
    assert not_a_seller.status_code == 422
    assert "seller_id" in not_a_seller.json["fields"]
    page = api("GET", SUGGESTIONS, token, query={"per_page": 1, "page": 2})
    assert page.json["total"] == 2
    assert len(page.json["items"]) == 1
    assert api("GET", SUGGESTIONS, token, query={"sort": "day"}).status_code == 422

    on_behalf = api("POST", POSTED, token, suggestion_id=olgas)
    assert on_behalf.json["status"] == "posted"

    rep = make_token(make_user("rep"), "read", "suggestions:write")
    assert api("GET", SUGGESTIONS, rep).status_code == 403
    assert api("GET", SUGGESTIONS, rep, query={"seller_id": sam.id}).status_code == 403
    assert api("GET", SUGGESTION, rep, suggestion_id=sams).status_code == 403
    assert api("POST", POSTED, rep, suggestion_id=sams).status_code == 403


def test_writing_needs_the_suggestions_write_scope(
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    suggest: Callable[[User], int],
) -> None:
    make_content()
    sam = make_user("seller")
    suggestion_id = suggest(sam)
    reader = make_token(sam, "read")
    assert api("GET", SUGGESTION, reader, suggestion_id=suggestion_id).status_code == 200
    refused = api("POST", POSTED, reader, suggestion_id=suggestion_id)
    assert refused.status_code == 403
    assert "suggestions:write" in refused.json["message"]
    skip = api("POST", SKIP, reader, json={"reason": "other"}, suggestion_id=suggestion_id)
    assert skip.status_code == 403
    admin_reader = make_token(make_user("admin"), "read")
    assert api("POST", SUGGEST_NOW, admin_reader, seller_id=sam.id).status_code == 403


# --- suggest now -------------------------------------------------------------------------


def test_admin_suggests_now_until_nothing_is_left(
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    item = make_content(title="The only live item")
    make_content(title="Still a draft", status="draft")
    sam = make_user("seller", name="Sam Seller", is_paused=True, posts_per_week=0)
    admin = make_token(make_user("admin"), "read", "suggestions:write")

    created = api("POST", SUGGEST_NOW, admin, seller_id=sam.id)
    assert created.status_code == 201, created.json
    [suggestion] = created.json["items"]
    assert suggestion["content"]["id"] == item.id
    assert suggestion["seller"]["id"] == sam.id
    assert suggestion["status"] == "pending"
    assert suggestion["link"] in suggestion["rendered_text"]

    nothing = api("POST", SUGGEST_NOW, admin, seller_id=sam.id)
    assert nothing.status_code == 409
    assert nothing.json["error"] == "conflict"
    assert "No live content fits Sam Seller" in nothing.json["message"]

    seller_token = make_token(sam, "read")
    assert ids(api("GET", SUGGESTIONS, seller_token)) == [suggestion["id"]]

    marketer = make_user("marketer")
    assert api("POST", SUGGEST_NOW, admin, seller_id=marketer.id).status_code == 404
    assert api("POST", SUGGEST_NOW, admin, seller_id=999_999).status_code == 404
    staff = make_token(marketer, "read", "suggestions:write")
    assert api("POST", SUGGEST_NOW, staff, seller_id=sam.id).status_code == 403


def test_suggest_now_says_when_the_library_is_empty(
    api: Api, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    sam = make_user("seller")
    admin = make_token(make_user("admin"), "suggestions:write")
    response = api("POST", SUGGEST_NOW, admin, seller_id=sam.id)
    assert response.status_code == 409
    assert "no live content" in response.json["message"]


# --- sellers -----------------------------------------------------------------------------


def test_sellers_list_with_profiles_counts_and_filters(
    api: Api,
    make_user: Callable[..., User],
    make_team: Callable[..., Any],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    suggest: Callable[[User], int],
) -> None:
    dach = make_team("BD DACH", TeamKind.BUSINESS_DEVELOPMENT)
    nordics = make_team("BD Nordics", TeamKind.BUSINESS_DEVELOPMENT)
    make_content(title="One", language="de")
    make_content(title="Two", language="de")
    anna = make_user(
        "seller",
        name="Anna Berger",
        email="anna@example.com",
        team_id=dach.id,
        timezone="Europe/Berlin",
        region="DACH",
        language="de",
        topics=["cloud", "security"],
        posts_per_week=4,
        weekdays=[0, 2, 4],
        linkedin_url="https://www.linkedin.com/in/anna",
        linkedin_connections=1200,
    )
    make_user("seller", name="Nils Nord", team_id=nordics.id, region="Nordics", language="sv")
    make_user("marketer", name="Mia Marketer")
    api("POST", POSTED, make_token(anna, "suggestions:write"), suggestion_id=suggest(anna))
    suggest(anna)
    token = make_token(make_user("marketer"), "read")

    everyone = api("GET", SELLERS, token)
    assert everyone.status_code == 200
    assert [s["name"] for s in everyone.json["items"]] == ["Anna Berger", "Nils Nord"]
    anna_out = everyone.json["items"][0]
    assert anna_out["team"] == {"id": dach.id, "name": "BD DACH"}
    assert anna_out["timezone"] == "Europe/Berlin"
    assert anna_out["topics"] == ["cloud", "security"]
    assert anna_out["weekdays"] == [0, 2, 4]
    assert anna_out["posts_per_week"] == 4
    assert anna_out["linkedin_connections"] == 1200
    assert anna_out["notification_channel"] == "email"
    assert anna_out["is_paused"] is False
    assert anna_out["counts"] == {"pending": 1, "posted": 1, "skipped": 0, "expired": 0}
    assert everyone.json["items"][1]["counts"]["pending"] == 0
    assert "notification_target" not in anna_out  # a webhook URL is a secret

    def names(**query: Any) -> list[str]:
        return [s["name"] for s in api("GET", SELLERS, token, query=query).json["items"]]

    assert names(team_id=nordics.id) == ["Nils Nord"]
    assert names(region="dach") == ["Anna Berger"]
    assert names(language="sv") == ["Nils Nord"]
    assert names(q="ANNA@") == ["Anna Berger"]
    assert names(q="nobody") == []
    paged = api("GET", SELLERS, token, query={"per_page": 1, "page": 2})
    assert paged.json["total"] == 2
    assert [s["name"] for s in paged.json["items"]] == ["Nils Nord"]
    typo = api("GET", SELLERS, token, query={"teamid": 1})
    assert typo.status_code == 422
    assert "teamid" in typo.json["fields"]

    assert api("GET", SELLERS, make_token(anna, "read")).status_code == 403
    assert api("GET", SELLERS, make_token(make_user("rep"), "read")).status_code == 403
