"""The library JSON API: items, workflow, variants, campaigns, pre-fill; answers as documented."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from tests.apiclient import Api
from tests.conftest import make_test_app
from tests.test_api import bearer, check_against_spec

ITEMS = "/api/v1/content"
ITEM = "/api/v1/content/{content_id}"
VARIANTS = "/api/v1/content/{content_id}/variants"
VARIANT = "/api/v1/content/{content_id}/variants/{variant_id}"
CAMPAIGNS = "/api/v1/campaigns"
GOOD_BODY = "{{ seller.first_name }} recommends {{ content.title }}: {{ link }}"


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


@pytest.fixture
def token_for(make_user: Callable[..., User], make_token: Callable[..., str]) -> Callable[..., str]:
    """Return a token with read and content:write for a new user of the given role."""

    def make(role: str, *scopes: str) -> str:
        return make_token(make_user(role), *(scopes or ("read", "content:write")))

    return make


def new_item(**fields: Any) -> dict[str, Any]:
    """A create body that never reaches the network unless a test asks for pre-fill."""
    return {"url": "https://example.com/guide", "title": "The guide", "prefill": False, **fields}


def use_default_blocked_words(app: Flask) -> list[str]:
    """Apply config.toml's compliance list (tests otherwise run without a config file)."""
    words: list[str] = config.read_file(config.ROOT / "config.toml")["compliance"]["blocked_words"]
    config.override(app, compliance_blocked_words=words)
    return words


# --- the journey -------------------------------------------------------------------------


def test_contributor_creates_marketer_approves_seller_sees_it(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    contributor = token_for("contributor")
    marketer = token_for("marketer")
    seller = token_for("seller", "read")

    created = api(
        "POST",
        ITEMS,
        contributor,
        json=new_item(
            summary="How to cut cloud costs",
            topics=["Cloud", "FinOps"],
            variants=[
                {"body": GOOD_BODY, "language": "en"},
                {"body": "Worth a read: {{ link }}", "language": "en"},
            ],
        ),
    )
    assert created.status_code == 201, created.json
    item = created.json
    assert created.headers["Location"] == f"/api/v1/content/{item['id']}"
    assert item["status"] == "draft"
    assert item["is_live"] is False
    assert item["topics"] == ["cloud", "finops"]
    assert [v["body"] for v in item["variants"]] == [GOOD_BODY, "Worth a read: {{ link }}"]
    assert [v["position"] for v in item["variants"]] == [1, 2]

    hidden = api("GET", ITEM, seller, content_id=item["id"])
    assert hidden.status_code == 404
    assert hidden.json["error"] == "not_found"

    submitted = api("POST", ITEM + "/submit", contributor, content_id=item["id"])
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "in_review"

    refused = api("POST", ITEM + "/approve", contributor, content_id=item["id"])
    assert refused.status_code == 403
    assert refused.json["error"] == "forbidden"

    approved = api(
        "POST", ITEM + "/approve", marketer, json={"comment": "Ship it"}, content_id=item["id"]
    )
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert approved.json["is_live"] is True
    assert approved.json["approved_at"] is not None

    active = api("GET", ITEMS, marketer, query={"status": "active"})
    assert [i["id"] for i in active.json["items"]] == [item["id"]]
    seen = api("GET", ITEMS, seller)
    assert [i["id"] for i in seen.json["items"]] == [item["id"]]
    one = api("GET", ITEM, seller, content_id=item["id"])
    assert one.status_code == 200
    assert one.json["title"] == "The guide"
    assert len(one.json["variants"]) == 2

    draft = make_content(status="draft", title="Unfinished")
    assert api("GET", ITEM, seller, content_id=draft.id).status_code == 404
    everything = api("GET", ITEMS, seller, query={"status": "all"})
    assert [i["id"] for i in everything.json["items"]] == [item["id"]]


def test_send_back_needs_a_comment_and_actions_check_the_state(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    marketer = token_for("marketer")
    item = make_content(status="in_review")

    missing = api("POST", ITEM + "/send-back", marketer, content_id=item.id)
    assert missing.status_code == 422
    assert "comment" in missing.json["fields"]
    blank = api("POST", ITEM + "/send-back", marketer, json={"comment": "  "}, content_id=item.id)
    assert blank.status_code == 422
    assert "comment" in blank.json["fields"]

    back = api(
        "POST",
        ITEM + "/send-back",
        marketer,
        json={"comment": "Shorter title, please"},
        content_id=item.id,
    )
    assert back.status_code == 200
    assert back.json["status"] == "draft"

    wrong_state = api("POST", ITEM + "/approve", marketer, content_id=item.id)
    assert wrong_state.status_code == 409
    assert wrong_state.json["error"] == "conflict"

    archived = api("POST", ITEM + "/archive", marketer, content_id=item.id)
    assert archived.json["status"] == "archived"
    assert api("POST", ITEM + "/archive", marketer, content_id=item.id).status_code == 409

    typo = api("POST", ITEM + "/submit", marketer, json={"coment": "x"}, content_id=item.id)
    assert typo.status_code == 422
    assert "coment" in typo.json["fields"]
    assert api("POST", ITEM + "/submit", marketer, content_id=999_999).status_code == 404


def test_submit_needs_a_variant(api: Api, token_for: Callable[..., str]) -> None:
    contributor = token_for("contributor")
    item = api("POST", ITEMS, contributor, json=new_item()).json
    assert item["variants"] == []
    response = api("POST", ITEM + "/submit", contributor, content_id=item["id"])
    assert response.status_code == 409
    assert "variant" in response.json["message"]


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "We guarantee you'll save: {{ link }}",
        "Hello {{ seller.first_name {{ link }}",
        "{{ ''.__class__.__mro__ }} {{ link }}",
        "{{ seller.surname }} {{ link }}",
    ],
    ids=["blocked-word", "unparsable", "sandbox", "unknown-placeholder"],
)
def test_refused_variant_names_the_body(
    app: Flask,
    api: Api,
    token_for: Callable[..., str],
    make_content: Callable[..., Content],
    body: str,
) -> None:
    assert "guarantee" in use_default_blocked_words(app)
    marketer = token_for("marketer")
    item = make_content(status="draft")

    single = api(
        "POST", VARIANTS, marketer, json={"body": body, "language": "en"}, content_id=item.id
    )
    assert single.status_code == 422
    assert single.json["error"] == "validation_failed"
    assert set(single.json["fields"]) == {"body"}

    changed = api(
        "PATCH",
        VARIANT,
        marketer,
        json={"body": body, "language": "en"},
        content_id=item.id,
        variant_id=item.variants[0].id,
    )
    assert changed.status_code == 422
    assert "body" in changed.json["fields"]

    whole = api(
        "POST",
        ITEMS,
        marketer,
        json=new_item(
            title="Refused together",
            variants=[{"body": GOOD_BODY, "language": "en"}, {"body": body, "language": "en"}],
        ),
    )
    assert whole.status_code == 422
    assert set(whole.json["fields"]) == {"variants.1.body"}
    assert whole.json["message"].startswith("Post variant 2:")
    listing = api("GET", ITEMS, marketer, query={"status": "all", "q": "refused together"})
    assert listing.json["total"] == 0


@pytest.mark.parametrize(
    ("method", "template", "body", "field"),
    [
        ("POST", ITEMS, new_item(titel="Typo"), "titel"),
        (
            "POST",
            ITEMS,
            new_item(variants=[{"body": GOOD_BODY, "language": "en", "tone": "fun"}]),
            "variants.0.tone",
        ),
        ("POST", ITEMS, new_item(url="ftp://example.com/x"), "url"),
        ("POST", ITEMS, new_item(priority=9), "priority"),
        ("POST", ITEMS, new_item(kind="podcast"), "kind"),
        ("POST", ITEMS, new_item(starts_at="2030-01-01T09:00:00"), "starts_at"),
        ("POST", ITEMS, new_item(campaign_id=999_999), "campaign_id"),
        ("POST", ITEMS, {"title": "No address", "prefill": False}, "url"),
        ("PATCH", ITEM, {"surprise": 1}, "surprise"),
        ("PATCH", ITEM, {"title": None}, "title"),
        ("PATCH", ITEM, {"priority": 0}, "priority"),
        ("PATCH", ITEM, {"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ("POST", ITEMS, new_item(target_team_ids=[424242]), "target_team_ids"),
        ("POST", VARIANTS, {"body": GOOD_BODY, "language": "en", "position": 3}, "position"),
        ("POST", VARIANTS, {}, "body"),
        ("POST", CAMPAIGNS, {"name": "Spring", "budget": 10}, "budget"),
        ("POST", CAMPAIGNS, {"name": ""}, "name"),
        ("POST", CAMPAIGNS, {"name": "Naive", "starts_at": "2030-01-01T00:00:00"}, "starts_at"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    api: Api,
    token_for: Callable[..., str],
    make_content: Callable[..., Content],
    method: str,
    template: str,
    body: dict[str, Any],
    field: str,
) -> None:
    item = make_content(status="draft", starts_at=utcnow() + timedelta(days=1))
    response = api(method, template, token_for("marketer"), json=body, content_id=item.id)
    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    assert field in response.json["fields"], response.json


def test_unknown_query_parameter_and_bad_filters_are_refused(
    api: Api, token_for: Callable[..., str]
) -> None:
    token = token_for("marketer")
    for query, field in [
        ({"staus": "draft"}, "staus"),
        ({"status": "published"}, "status"),
        ({"sort": "random"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"per_page": "201"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"kind": "podcast"}, "kind"),
    ]:
        response = api("GET", ITEMS, token, query=query)
        assert response.status_code == 422, query
        assert field in response.json["fields"], response.json


def test_non_json_body_is_refused(api: Api, token_for: Callable[..., str]) -> None:
    response = api.client.post(ITEMS, data="title=x", headers=bearer(token_for("marketer")))
    assert response.status_code == 422
    assert "JSON" in response.json["message"]
    check_against_spec(api.spec, ITEMS, "post", 422, response.json)


# --- changing items ----------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    marketer = token_for("marketer")
    item = make_content(
        status="draft",
        title="Original title",
        summary="Original summary",
        topics=["cloud"],
        target_regions=["EMEA"],
        priority=4,
    )
    response = api(
        "PATCH",
        ITEM,
        marketer,
        json={"summary": "New summary", "topics": ["Security", "cloud"], "kind": "case_study"},
        content_id=item.id,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["summary"] == "New summary"
    assert body["topics"] == ["cloud", "security"]
    assert body["kind"] == "case_study"
    assert body["title"] == "Original title"
    assert body["url"] == item.url
    assert body["priority"] == 4
    assert body["targeting"]["regions"] == ["EMEA"]
    assert body["campaign"]["name"] == "Launch"
    assert len(body["variants"]) == 1

    detached = api("PATCH", ITEM, marketer, json={"campaign_id": None}, content_id=item.id)
    assert detached.json["campaign"] is None
    assert detached.json["summary"] == "New summary"
    unchanged = api("PATCH", ITEM, marketer, json={}, content_id=item.id)
    assert unchanged.status_code == 200
    assert unchanged.json["title"] == "Original title"
    assert api("PATCH", ITEM, marketer, json={}, content_id=999_999).status_code == 404


def test_contributors_change_only_their_own_drafts(
    api: Api,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    author = make_user("contributor")
    token = make_token(author, "read", "content:write")
    own = make_content(status="draft", author=author)
    others = make_content(status="draft")
    own_in_review = make_content(status="in_review", author=author)

    assert api("PATCH", ITEM, token, json={"title": "Mine"}, content_id=own.id).status_code == 200
    for item in (others, own_in_review):
        response = api("PATCH", ITEM, token, json={"title": "Theirs"}, content_id=item.id)
        assert response.status_code == 403
        assert response.json["error"] == "forbidden"
        refused = api(
            "POST", VARIANTS, token, json={"body": GOOD_BODY, "language": "en"}, content_id=item.id
        )
        assert refused.status_code == 403
    assert api("POST", ITEM + "/submit", token, content_id=others.id).status_code == 403


def test_tokens_without_content_write_or_the_role_are_forbidden(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft")
    read_only = token_for("marketer", "read")
    seller = token_for("seller")
    for token in (read_only, seller):
        created = api("POST", ITEMS, token, json=new_item())
        assert created.status_code == 403
        assert created.json["error"] == "forbidden"
        assert api("PATCH", ITEM, token, json={}, content_id=item.id).status_code == 403
        assert api("POST", ITEM + "/submit", token, content_id=item.id).status_code == 403
        assert api("POST", VARIANTS, token, json={}, content_id=item.id).status_code == 403
        assert api("POST", CAMPAIGNS, token, json={"name": "X"}).status_code == 403
    assert "content:write" in api("POST", ITEMS, read_only, json=new_item()).json["message"]
    assert api("GET", ITEMS, read_only).status_code == 200
    write_only = token_for("marketer", "content:write")
    for method, template in [
        ("GET", ITEMS),
        ("GET", ITEM),
        ("GET", VARIANTS),
        ("GET", CAMPAIGNS),
        ("POST", CAMPAIGNS),
    ]:
        path = template.format(content_id=item.id)
        unauthenticated = api.client.open(path, method=method)
        assert unauthenticated.status_code == 401
        check_against_spec(api.spec, template, method.lower(), 401, unauthenticated.json)
        if method == "GET":
            no_read = api(method, template, write_only, content_id=item.id)
            assert no_read.status_code == 403
            assert "'read' scope" in no_read.json["message"]


# --- listing -----------------------------------------------------------------------------


def test_list_filters_and_paginates(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    token = token_for("marketer")
    make_content(title="Cloud costs", topics=["cloud", "finops"], kind="whitepaper")
    make_content(title="Kubernetes security", topics=["security"], language="de")
    make_content(title="Customer story", kind="case_study", summary="Cloud migration at Acme")
    make_content(title="Webinar", kind="event", campaign="Autumn")
    make_content(title="Draft idea", status="draft", topics=["cloud"])
    make_content(title="In review", status="in_review")
    make_content(title="Old news", status="archived")
    make_content(title="Coming soon", starts_at=utcnow() + timedelta(days=3))
    make_content(title="Gone", expires_at=utcnow() - timedelta(days=1))

    def titles(**query: Any) -> list[str]:
        response = api("GET", ITEMS, token, query={"sort": "title", "order": "asc", **query})
        assert response.status_code == 200, response.json
        return [i["title"] for i in response.json["items"]]

    assert titles() == ["Cloud costs", "Customer story", "Kubernetes security", "Webinar"]
    assert titles(q="CLOUD") == ["Cloud costs", "Customer story"]
    assert titles(q="cloud", status="all") == ["Cloud costs", "Customer story", "Draft idea"]
    assert titles(topic="finops") == ["Cloud costs"]
    assert titles(topic="Cloud", status="all") == ["Cloud costs", "Draft idea"]
    assert titles(kind="case_study") == ["Customer story"]
    assert titles(language="DE") == ["Kubernetes security"]
    assert titles(status="draft") == ["Draft idea"]
    assert titles(status="in_review") == ["In review"]
    assert titles(status="archived") == ["Old news"]
    assert titles(status="scheduled") == ["Coming soon"]
    assert titles(status="expired") == ["Gone"]
    assert len(titles(status="all")) == 9
    assert titles(order="desc") == [
        "Webinar",
        "Kubernetes security",
        "Customer story",
        "Cloud costs",
    ]

    campaigns = api("GET", CAMPAIGNS, token).json["items"]
    autumn = next(c for c in campaigns if c["name"] == "Autumn")
    assert titles(campaign_id=autumn["id"]) == ["Webinar"]

    first = api("GET", ITEMS, token, query={"status": "all", "per_page": 4, "sort": "title"})
    assert first.json["total"] == 9
    assert first.json["page"] == 1
    assert first.json["per_page"] == 4
    assert len(first.json["items"]) == 4
    last = api(
        "GET", ITEMS, token, query={"status": "all", "per_page": 4, "page": 3, "sort": "title"}
    )
    assert last.json["total"] == 9
    assert last.json["page"] == 3
    assert len(last.json["items"]) == 1
    beyond = api("GET", ITEMS, token, query={"status": "all", "per_page": 4, "page": 9})
    assert beyond.json["items"] == []
    assert beyond.json["total"] == 9
    pages = [
        i["id"]
        for page in (1, 2, 3)
        for i in api(
            "GET", ITEMS, token, query={"status": "all", "per_page": 4, "page": page}
        ).json["items"]
    ]
    assert len(set(pages)) == 9


def test_sellers_list_only_live_items_whatever_the_filter(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    live = make_content(title="Live")
    make_content(title="Draft", status="draft")
    make_content(title="Later", starts_at=utcnow() + timedelta(days=1))
    for role in ("seller", "rep"):
        token = token_for(role, "read")
        for status in ("active", "draft", "all", "scheduled"):
            response = api("GET", ITEMS, token, query={"status": status})
            assert [i["id"] for i in response.json["items"]] == [live.id]
            assert response.json["total"] == 1


# --- variants ----------------------------------------------------------------------------


def test_variants_are_listed_added_changed_and_deleted(
    app: Flask,
    api: Api,
    token_for: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    use_default_blocked_words(app)
    # Changes apply at once here; with four-eyes they wait for review (test_four_eyes.py).
    config.override(app, library={"four_eyes": False})
    marketer = token_for("marketer")
    seller = token_for("seller", "read")
    item = make_content(status="approved", variants=(GOOD_BODY,))

    listed = api("GET", VARIANTS, seller, content_id=item.id)
    assert [v["body"] for v in listed.json["items"]] == [GOOD_BODY]

    added = api(
        "POST",
        VARIANTS,
        marketer,
        json={"body": "  New post about {{ content.title }} #a #b #c #d  ", "language": "en"},
        content_id=item.id,
    )
    assert added.status_code == 201, added.json
    variant = added.json
    assert variant["body"] == "New post about {{ content.title }} #a #b #c #d"
    assert variant["position"] == 2
    assert variant["rendered_sample"].startswith(f"New post about {item.title}")
    assert variant["rendered_sample"].endswith("#employee")
    assert variant["length"] == len(variant["rendered_sample"])
    assert any("hashtags" in w for w in variant["warnings"])
    assert any("{{ link }}" in w for w in variant["warnings"])

    changed = api(
        "PATCH",
        VARIANT,
        marketer,
        json={"body": "Read {{ content.title }}: {{ link }}", "language": "en"},
        content_id=item.id,
        variant_id=variant["id"],
    )
    assert changed.status_code == 200
    assert changed.json["warnings"] == []
    assert "/r/preview" in changed.json["rendered_sample"]

    deleted = api("DELETE", VARIANT, marketer, content_id=item.id, variant_id=variant["id"])
    assert deleted.status_code == 204
    remaining = api("GET", VARIANTS, marketer, content_id=item.id).json["items"]
    assert [v["body"] for v in remaining] == [GOOD_BODY]
    last = api("DELETE", VARIANT, marketer, content_id=item.id, variant_id=remaining[0]["id"])
    assert last.status_code == 409

    gone = api("DELETE", VARIANT, marketer, content_id=item.id, variant_id=variant["id"])
    assert gone.status_code == 404
    other = make_content(status="draft")
    elsewhere = api(
        "PATCH",
        VARIANT,
        marketer,
        json={"body": GOOD_BODY, "language": "en"},
        content_id=other.id,
        variant_id=remaining[0]["id"],
    )
    assert elsewhere.status_code == 404
    draft_variants = api("GET", VARIANTS, seller, content_id=other.id)
    assert draft_variants.status_code == 404


def test_an_item_holds_at_most_ten_variants(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    marketer = token_for("marketer")
    item = make_content(
        status="draft", variants=tuple(f"Post {n} {{{{ link }}}}" for n in range(10))
    )
    response = api(
        "POST", VARIANTS, marketer, json={"body": GOOD_BODY, "language": "en"}, content_id=item.id
    )
    assert response.status_code == 409
    too_many = api(
        "POST",
        ITEMS,
        marketer,
        json=new_item(variants=[{"body": GOOD_BODY, "language": "en"}] * 11),
    )
    assert too_many.status_code == 422
    assert "variants" in too_many.json["fields"]


# --- campaigns ---------------------------------------------------------------------------


def test_campaigns_are_listed_and_created(
    api: Api, token_for: Callable[..., str], make_content: Callable[..., Content]
) -> None:
    marketer = token_for("marketer")
    contributor = token_for("contributor")
    seller = token_for("seller", "read")
    make_content(campaign="Launch")
    make_content(campaign="Launch", status="draft")

    created = api(
        "POST",
        CAMPAIGNS,
        marketer,
        json={
            "name": "  Spring Offensive 2026 ",
            "description": "Q2 push",
            "starts_at": "2026-04-01T00:00:00+02:00",
            "ends_at": "2026-06-30T23:59:00+02:00",
        },
    )
    assert created.status_code == 201, created.json
    assert created.json["name"] == "Spring Offensive 2026"
    assert created.json["slug"] == "spring-offensive-2026"
    assert created.json["item_count"] == 0
    assert created.json["starts_at"].startswith("2026-03-31T22:00:00")

    duplicate = api("POST", CAMPAIGNS, marketer, json={"name": "spring offensive 2026"})
    assert duplicate.status_code == 409
    assert duplicate.json["error"] == "conflict"
    assert "name" in duplicate.json["fields"]
    backwards = api(
        "POST",
        CAMPAIGNS,
        marketer,
        json={
            "name": "Backwards",
            "starts_at": "2026-05-01T00:00:00Z",
            "ends_at": "2026-04-01T00:00:00Z",
        },
    )
    assert backwards.status_code == 422
    assert "ends_at" in backwards.json["fields"]
    assert api("POST", CAMPAIGNS, contributor, json={"name": "Mine"}).status_code == 403

    listed = api("GET", CAMPAIGNS, seller)
    assert listed.status_code == 200
    counts = {c["name"]: c["item_count"] for c in listed.json["items"]}
    assert counts == {"Spring Offensive 2026": 0, "Launch": 2}
    assert listed.json["items"][0]["name"] == "Spring Offensive 2026"

    item = api("POST", ITEMS, marketer, json=new_item(campaign_id=created.json["id"])).json
    assert item["campaign"] == {
        "id": created.json["id"],
        "name": "Spring Offensive 2026",
        "slug": "spring-offensive-2026",
    }


# --- pre-fill ----------------------------------------------------------------------------


class _PageHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = (
            b"<html><head><title>Fallback title</title>"
            b'<meta property="og:title" content="Launch notes 2026">'
            b'<meta property="og:description" content="Everything new this spring.">'
            b'<meta property="og:image" content="/img/card.png">'
            b'<meta property="og:site_name" content="Example Blog">'
            b"</head><body>Hi</body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def page_server() -> Iterator[tuple[str, list[str]]]:
    """A local web page with Open Graph tags; yields its base address and the paths asked for."""
    hits: list[str] = []
    handler = type("Handler", (_PageHandler,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


def test_prefill_fills_missing_fields_from_the_page(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    page_server: tuple[str, list[str]],
) -> None:
    base, hits = page_server
    token = make_token(make_user("marketer"), "read", "content:write")
    local_app = make_test_app(database_url, tmp_path, http_allow_private_addresses=True)
    api = Api(local_app.test_client())

    filled = api("POST", ITEMS, token, json={"url": f"{base}/launch-notes"})
    assert filled.status_code == 201, filled.json
    assert hits == ["/launch-notes", "/img/card.png"]  # the image: for the LinkedIn pre-flight
    assert filled.json["title"] == "Launch notes 2026"
    assert filled.json["summary"] == "Everything new this spring."
    assert filled.json["image_url"] == f"{base}/img/card.png"
    assert filled.json["site_name"] == "Example Blog"
    assert filled.json["prefill_note"] == ""

    kept = api("POST", ITEMS, token, json={"url": f"{base}/launch-notes", "title": "My title"})
    assert kept.json["title"] == "My title"
    assert kept.json["summary"] == "Everything new this spring."

    skipped = api("POST", ITEMS, token, json={"url": f"{base}/other", "prefill": False})
    assert skipped.json["title"] == "Other"
    assert skipped.json["summary"] == ""
    assert hits == ["/launch-notes", "/img/card.png", "/launch-notes", "/img/card.png"]


def test_prefill_guard_refuses_local_addresses_but_saves_the_item(
    api: Api, token_for: Callable[..., str], page_server: tuple[str, list[str]]
) -> None:
    base, hits = page_server
    port = base.rsplit(":", 1)[1]
    token = token_for("marketer")
    response = api("POST", ITEMS, token, json={"url": f"http://localhost:{port}/launch-notes"})
    assert response.status_code == 201, response.json
    item = response.json
    assert hits == []
    assert item["prefill_note"].startswith("Couldn't read the page to pre-fill")
    assert "private or local address" in item["prefill_note"]
    assert item["title"] == "Launch notes"
    assert item["summary"] == ""
    fetched = api("GET", ITEM, token, content_id=item["id"])
    assert fetched.json["prefill_note"] == item["prefill_note"]
