"""Numbers no row or page can have: a 404 for an id in a URL, a 422 for an id in a body or a
page beyond any listing, never a 500 (an OverflowError on SQLite, "integer out of range" on
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.routing import queue_setup
from tests.conftest import sign_in
from tests.test_api import bearer
from tests.test_sellers import field_errors, profile_form

HUGE = 2**62
BEYOND_INT = 2**31  # one past the largest PostgreSQL integer

ALL_SCOPES = ("read", "content:write", "leads:write", "routing:write", "admin")


@pytest.fixture
def admin_token(make_user: Callable[..., User], make_token: Callable[..., str]) -> str:
    return make_token(make_user("admin"), *ALL_SCOPES)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/leads/{HUGE}",
        f"/api/v1/leads/{BEYOND_INT}/history",
        f"/api/v1/content/{HUGE}",
        f"/api/v1/suggestions/{HUGE}",
        f"/api/v1/users/{HUGE}",
        f"/api/v1/reports/sellers/{HUGE}",
        f"/api/v1/queues/{HUGE}/leads",
        f"/api/v1/routing/rules/{HUGE}",
    ],
)
def test_api_id_beyond_any_row_is_not_found(
    client: FlaskClient, admin_token: str, path: str
) -> None:
    response = client.get(path, headers=bearer(admin_token))
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.json is not None and response.json["error"] == "not_found"


def test_api_write_to_a_huge_id_is_not_found(client: FlaskClient, admin_token: str) -> None:
    for method, path, body in [
        ("PUT", f"/api/v1/routing/queues/1/members/{HUGE}", {}),
        ("PUT", f"/api/v1/routing/queues/{HUGE}", {"name": "Digital sales"}),
        ("POST", f"/api/v1/leads/{HUGE}/claim", None),
        ("DELETE", f"/api/v1/content/{HUGE}/variants/{HUGE}", None),
        ("POST", f"/api/v1/outbox/{HUGE}/resend", None),
        ("POST", f"/api/v1/sellers/{HUGE}/suggest-now", None),
    ]:
        response = client.open(path, method=method, json=body, headers=bearer(admin_token))
        assert response.status_code == 404, (path, response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/accounts", {"name": "Acme", "domains": ["acme.com"]}, "owner_team_id"),
        ("POST", "/api/v1/accounts", {"name": "Acme", "domains": ["acme.com"]}, "owner_id"),
        ("POST", "/api/v1/routing/rules", {"name": "Big"}, "queue_id"),
        ("PUT", "/api/v1/routing/queues/1", {"name": "Digital sales"}, "lead_user_id"),
        ("POST", "/api/v1/leads/1/reassign", {}, "user_id"),
        (
            "POST",
            "/api/v1/users",
            {"email": "a@example.com", "name": "A", "role": "rep"},
            "team_id",
        ),
        (
            "POST",
            "/api/v1/content",
            {"url": "https://example.com/a", "prefill": False},
            "campaign_id",
        ),
    ],
)
def test_api_body_id_beyond_any_row_is_refused_naming_the_field(
    app: Flask,
    client: FlaskClient,
    admin_token: str,
    method: str,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    with app.app_context():
        s = db.session()
        queue_setup.save_queue(s, queue_setup.QueueIn(name="Digital sales"))
        s.commit()
    response = client.open(
        path, method=method, json={**body, field: HUGE}, headers=bearer(admin_token)
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None
    assert field in response.json["fields"]


def test_api_id_lists_in_bodies_are_bounded(client: FlaskClient, admin_token: str) -> None:
    response = client.put(
        "/api/v1/routing/rules/order", json={"rule_ids": [HUGE]}, headers=bearer(admin_token)
    )
    assert response.status_code == 422
    assert response.json is not None and "rule_ids.0" in response.json["fields"]
    response = client.post(
        "/api/v1/content",
        json={"url": "https://example.com/a", "prefill": False, "target_team_ids": [HUGE]},
        headers=bearer(admin_token),
    )
    assert response.status_code == 422
    assert response.json is not None and "target_team_ids.0" in response.json["fields"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/leads", "/api/v1/content", "/api/v1/users", "/api/v1/sellers", "/api/v1/suggestions"],
)
def test_api_page_beyond_any_listing_is_refused(
    client: FlaskClient, admin_token: str, path: str
) -> None:
    response = client.get(path, query_string={"page": HUGE}, headers=bearer(admin_token))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None and "page" in response.json["fields"]
    assert (
        client.get(path, query_string={"page": 1000}, headers=bearer(admin_token)).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/leads", "seller_id"),
        ("/api/v1/content", "campaign_id"),
        ("/api/v1/sellers", "team_id"),
        ("/api/v1/reports/sellers", "team_id"),
        ("/api/v1/reports/daily", "campaign_id"),
    ],
)
def test_api_query_id_beyond_any_row_is_refused(
    client: FlaskClient, admin_token: str, path: str, field: str
) -> None:
    response = client.get(path, query_string={field: HUGE}, headers=bearer(admin_token))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json is not None and field in response.json["fields"]


def test_openapi_document_bounds_path_ids(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec is not None
    (parameter,) = spec["paths"]["/api/v1/leads/{lead_id}"]["get"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "maximum": 2**31 - 1}
    page = next(
        p for p in spec["paths"]["/api/v1/leads"]["get"]["parameters"] if p["name"] == "page"
    )
    assert page["schema"]["maximum"] == 1_000_000


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("marketer", f"/library/{HUGE}"),
        ("marketer", f"/library/{BEYOND_INT}/edit"),
        ("admin", f"/leads/{HUGE}"),
        ("admin", f"/admin/queues/{HUGE}"),
        ("admin", f"/admin/users/{HUGE}"),
    ],
)
def test_page_id_beyond_any_row_is_not_found(
    client_as: Callable[[str], FlaskClient], role: str, path: str
) -> None:
    response = client_as(role).get(path)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("marketer", "/library"),
        ("admin", "/leads"),
        ("admin", "/admin/users"),
        ("admin", "/admin/outbox"),
        ("marketer", "/reports/sellers"),
    ],
)
def test_page_number_beyond_any_listing_is_refused(
    client_as: Callable[[str], FlaskClient], role: str, path: str
) -> None:
    client = client_as(role)
    response = client.get(path, query_string={"page": HUGE})
    assert response.status_code == 422
    assert "Page numbers go up to 1,000,000" in response.get_data(as_text=True)
    # Odd page values still fall back to the first page, as before.
    for odd in ("²", "-3", "abc", "9" * 5000):
        assert client.get(path, query_string={"page": odd}).status_code in (200, 422)


@pytest.mark.parametrize(
    ("role", "path", "arg"),
    [
        ("marketer", "/library", "campaign"),
        ("marketer", "/reports/sellers", "team"),
        ("admin", "/reports/sales", "campaign"),
    ],
)
def test_page_filter_ids_beyond_any_row_match_nothing(
    client_as: Callable[[str], FlaskClient], role: str, path: str, arg: str
) -> None:
    client = client_as(role)
    for value in (str(HUGE), "²", "9" * 5000):
        assert client.get(path, query_string={arg: value}).status_code == 200, value


def test_reassign_form_with_a_huge_rep_id_is_refused(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as("admin")
    response = client.post("/leads/1/reassign", data={"user_id": str(HUGE)})
    assert response.status_code in (302, 404, 422)


def test_profile_with_a_huge_connection_count_is_refused(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    sign_in(client, make_user("seller"))
    response = client.post("/profile", data=profile_form(linkedin_connections=str(HUGE)))
    assert response.status_code == 422
    assert "10,000,000" in field_errors(response.get_data(as_text=True), "linkedin_connections")


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/admin/accounts/new", {"name": "Acme", "domains": "acme.com"}, "owner_team_id"),
        ("/admin/accounts/new", {"name": "Acme", "domains": "acme.com"}, "owner_id"),
        ("/admin/queues/new", {"name": "Big", "sla_minutes": "60"}, "lead_user_id"),
        ("/admin/users/new", {"email": "a@example.com", "name": "A", "role": "rep"}, "team_id"),
    ],
)
def test_form_id_beyond_any_row_is_refused_beside_its_field(
    client_as: Callable[[str], FlaskClient], path: str, form: dict[str, str], field: str
) -> None:
    response = client_as("admin").post(path, data={**form, field: str(HUGE)})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True), field) != ""
