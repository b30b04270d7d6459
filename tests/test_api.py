"""The JSON API: tokens and scopes, JSON errors everywhere under /api/, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_spec

from contentfeed import db
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import User
from contentfeed.db import utcnow


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """Return a response's JSON schema from the document, with components resolvable."""
    content = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return {**content["schema"], "components": spec["components"]}


def check_against_spec(
    spec: dict[str, Any], path: str, method: str, status: int, body: Any
) -> None:
    schema = response_schema(spec, path, method, status)
    resolver_schema = {"$ref": schema["$ref"], "components": spec["components"]}
    jsonschema.validate(body, resolver_schema, cls=jsonschema.Draft202012Validator)


def test_openapi_document_is_valid_3_1(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    validate_spec(spec)


def test_document_links_lead_from_listings_to_the_actions_on_their_items(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/v1/openapi.json").json
    ids = {
        op["operationId"]: (path, method)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    for path, method, status, target, parameter, source in [
        ("/api/v1/content", "post", "201", "approve", "content_id", "$response.body#/id"),
        ("/api/v1/outbox", "get", "200", "resend", "message_id", "$response.body#/items/0/id"),
        ("/api/v1/sellers", "get", "200", "suggest-now", "seller_id", "$response.body#/items/0/id"),
    ]:
        links = spec["paths"][path][method]["responses"][status]["links"]
        (link,) = [link for link in links.values() if ids[link["operationId"]][0].endswith(target)]
        assert link["parameters"] == {parameter: source}


def test_every_api_route_is_in_the_document(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} is not documented"


def test_me_answers_as_documented(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    user = make_user("marketer", name="Mia Marketer")
    token = make_token(user, "read", "content:write")
    spec = client.get("/api/v1/openapi.json").json
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json["name"] == "Mia Marketer"
    assert response.json["role"] == "marketer"
    check_against_spec(spec, "/api/v1/me", "get", 200, response.json)
    missing = client.get("/api/v1/me")
    check_against_spec(spec, "/api/v1/me", "get", 401, missing.json)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer cf_not-a-real-token"}, 401, "unauthorized"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthorized"),
        ({"Authorization": "Bearer"}, 401, "unauthorized"),
    ],
)
def test_bad_credentials_answer_401_in_json(
    client: FlaskClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == status
    assert response.json["error"] == code
    assert response.json["message"]
    assert response.json["fields"] == {}


def test_token_without_the_scope_is_forbidden(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("admin"), "leads:write")
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 403
    assert "'read' scope" in response.json["message"]


def test_expired_token_and_deactivated_user_are_refused(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user("admin")
    with app.app_context():
        s = db.session()
        _t, expired = accounts.issue_token(
            s,
            s.get(User, user.id),
            name="old",
            scopes=["read"],
            expires_at=utcnow() - timedelta(minutes=1),
        )
        _t, live = accounts.issue_token(s, s.get(User, user.id), name="live", scopes=["read"])
        s.commit()
    assert client.get("/api/v1/me", headers=bearer(expired)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(live)).status_code == 200
    with app.app_context():
        s = db.session()
        s.get(User, user.id).is_active = False  # type: ignore[union-attr]
        s.commit()
    assert client.get("/api/v1/me", headers=bearer(live)).status_code == 401


def test_unknown_api_path_answers_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.json["error"] == "not_found"
    response = client.get("/api/elsewhere")
    assert response.json["error"] == "not_found"


def test_wrong_method_on_api_answers_json_405(client: FlaskClient) -> None:
    response = client.delete("/api/v1/me")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_pages_answer_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert "Page not found" in response.get_data(as_text=True)


def test_unexpected_failure_gives_500_page_and_json(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    @app.get("/api/v1/boom")
    def api_boom() -> str:
        raise RuntimeError("kaboom")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Something went wrong" in page.get_data(as_text=True)
    assert "kaboom" not in page.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.json["error"] == "internal_error"


def test_admin_creates_and_lists_users_through_the_api(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("admin"), "read", "admin")
    spec = client.get("/api/v1/openapi.json").json
    team = client.post(
        "/api/v1/teams",
        json={"name": "Digital sales", "kind": "digital_sales"},
        headers=bearer(token),
    )
    assert team.status_code == 201
    check_against_spec(spec, "/api/v1/teams", "post", 201, team.json)
    created = client.post(
        "/api/v1/users",
        json={
            "email": "Li.Wei@Example.com",
            "name": "Li Wei",
            "role": "rep",
            "team_id": team.json["id"],
            "password": "a-good-long-password",
        },
        headers=bearer(token),
    )
    assert created.status_code == 201, created.json
    check_against_spec(spec, "/api/v1/users", "post", 201, created.json)
    assert created.json["email"] == "li.wei@example.com"
    assert created.json["team"]["name"] == "Digital sales"
    assert created.json["invitation"] is None  # a password was given
    fetched = client.get(created.headers["Location"], headers=bearer(token))
    assert {**fetched.json, "invitation": None} == created.json
    listing = client.get("/api/v1/users?role=rep", headers=bearer(token))
    check_against_spec(spec, "/api/v1/users", "get", 200, listing.json)
    assert [u["name"] for u in listing.json["items"]] == ["Li Wei"]
    assert listing.json["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No Email", "role": "rep"}, "email"),
        ({"email": "x@example.com", "name": "X", "role": "wizard"}, "role"),
        ({"email": "x@example.com", "name": "X", "role": "rep", "surprise": 1}, "surprise"),
        ({"email": "not-an-email", "name": "X", "role": "rep"}, "email"),
    ],
)
def test_bad_user_input_names_the_field(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    body: dict[str, Any],
    field: str,
) -> None:
    token = make_token(make_user("admin"), "admin")
    response = client.post("/api/v1/users", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    assert field in response.json["fields"]


def test_non_json_body_is_refused(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("admin"), "admin")
    response = client.post("/api/v1/teams", data="name=x", headers=bearer(token))
    assert response.status_code == 422
    assert "JSON" in response.json["message"]


def test_seller_token_cannot_list_users(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    token = make_token(make_user("seller"), "read")
    response = client.get("/api/v1/users", headers=bearer(token))
    assert response.status_code == 403
