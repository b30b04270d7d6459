"""Hostile text: NUL and other control characters are refused at the edge (never a 500),
names compare the same on SQLite and PostgreSQL, and web addresses are stored percent-encoded."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import api as api_module
from contentfeed import db
from contentfeed.accounts.models import Team, User
from contentfeed.forms import Form
from contentfeed.text import Input
from tests.conftest import sign_in
from tests.test_api import bearer

NUL = "\x00"
CONTROL_PROBLEM = "must not contain control characters"


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _field_error(page: str, field: str) -> str:
    """Return the error shown beside a form field (empty when there is none)."""
    match = re.search(rf'id="{field}-error">(.*?)</div>', page, re.DOTALL)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


@pytest.fixture
def admin(app: Flask, make_user: Callable[..., User], make_token: Callable[..., str]) -> Any:
    """An admin's signed-in client and a token holding every scope."""
    user = make_user("admin")
    client = sign_in(app.test_client(), user)
    token = make_token(user, "read", "admin", "content:write", "routing:write")
    return client, token


# --- NUL and control characters ----------------------------------------------------------


def test_nul_in_a_content_title_is_refused_on_the_page_and_in_the_api(
    admin: tuple[FlaskClient, str],
) -> None:
    client, token = admin
    page = client.post(
        "/library/new",
        data={
            "url": "https://example.com/guide",
            "title": f"Guide{NUL}",
            "kind": "article",
            "campaign_id": "0",
            "language": "en",
            "priority": "3",
        },
    )
    assert page.status_code == 422
    assert CONTROL_PROBLEM in _field_error(_text(page), "title").lower()

    answer = client.post(
        "/api/v1/content",
        json={"url": "https://example.com/guide", "title": f"Guide{NUL}", "prefill": False},
        headers=bearer(token),
    )
    assert answer.status_code == 422
    assert answer.json is not None
    assert answer.json["error"] == "validation_failed"
    assert CONTROL_PROBLEM in answer.json["fields"]["title"].lower()


def test_a_summary_keeps_its_line_breaks_but_not_a_nul(admin: tuple[FlaskClient, str]) -> None:
    _client, token = admin
    client = _client
    fine = client.post(
        "/api/v1/content",
        json={
            "url": "https://example.com/guide",
            "title": "Guide",
            "summary": "Line one\r\nLine two\twith a tab",
            "prefill": False,
        },
        headers=bearer(token),
    )
    assert fine.status_code == 201, fine.json
    refused = client.post(
        "/api/v1/content",
        json={
            "url": "https://example.com/g2",
            "title": "G",
            "summary": f"a{NUL}b",
            "prefill": False,
        },
        headers=bearer(token),
    )
    assert refused.status_code == 422
    assert refused.json is not None and "summary" in refused.json["fields"]


@pytest.mark.parametrize("name", [f"Li{NUL}Wei", "Li\x1b[31mWei", "Li\nWei", "Li\u0085Wei"])
def test_a_user_name_with_control_characters_is_refused_on_the_page_and_in_the_api(
    admin: tuple[FlaskClient, str], name: str
) -> None:
    client, token = admin
    page = client.post(
        "/admin/users/new",
        data={"email": "li.wei@example.com", "name": name, "role": "rep", "team_id": "0"},
    )
    assert page.status_code == 422
    assert CONTROL_PROBLEM in _field_error(_text(page), "name").lower()

    answer = client.post(
        "/api/v1/users",
        json={"email": "li.wei@example.com", "name": name, "role": "rep"},
        headers=bearer(token),
    )
    assert answer.status_code == 422
    assert answer.json is not None and CONTROL_PROBLEM in answer.json["fields"]["name"].lower()
    assert client.get("/api/v1/users?q=li.wei", headers=bearer(token)).json["total"] == 0  # type: ignore[index]


@pytest.mark.parametrize("name", [f"North{NUL}", "North\tteam", "North\rteam"])
def test_a_team_name_with_control_characters_is_refused_on_the_page_and_in_the_api(
    admin: tuple[FlaskClient, str], name: str
) -> None:
    client, token = admin
    page = client.post("/admin/teams", data={"name": name, "kind": "digital_sales"})
    assert page.status_code == 422
    assert CONTROL_PROBLEM in _field_error(_text(page), "name").lower()
    answer = client.post(
        "/api/v1/teams", json={"name": name, "kind": "digital_sales"}, headers=bearer(token)
    )
    assert answer.status_code == 422
    assert answer.json is not None and CONTROL_PROBLEM in answer.json["fields"]["name"].lower()


def test_own_account_name_with_a_nul_shows_the_error_beside_the_field(
    admin: tuple[FlaskClient, str],
) -> None:
    client, _token = admin
    page = client.post("/account", data={"account-name": f"Me{NUL}", "account-timezone": ""})
    assert page.status_code in (200, 422)
    assert CONTROL_PROBLEM in _field_error(_text(page), "account-name").lower()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leads?q={}",
        "/api/v1/content?q={}",
        "/api/v1/users?q={}",
        "/api/v1/sellers?q={}",
        "/api/v1/accounts?q={}",
        "/api/v1/leads?status=new&q=acme{}",
    ],
)
def test_a_nul_in_an_api_search_answers_422_naming_the_parameter(
    admin: tuple[FlaskClient, str], path: str
) -> None:
    client, token = admin
    answer = client.get(path.format("%00"), headers=bearer(token))
    assert answer.status_code == 422
    assert answer.json is not None
    assert answer.json["error"] == "validation_failed"
    assert CONTROL_PROBLEM in answer.json["fields"]["q"].lower()


@pytest.mark.parametrize(
    "path",
    [
        "/leads?q={}",
        "/library?q={}",
        "/admin/users?q={}",
        "/admin/accounts?q={}",
        "/library?topic={}",
    ],
)
def test_a_nul_in_a_page_search_box_answers_422_naming_the_parameter(
    admin: tuple[FlaskClient, str], path: str
) -> None:
    client, _token = admin
    page = client.get(path.format("x%00"))
    assert page.status_code == 422
    text = _text(page)
    assert "Some fields need attention" in text and CONTROL_PROBLEM in text.lower()


def test_a_lead_note_with_a_nul_is_refused_by_the_use_case(
    app: Flask, make_user: Callable[..., User]
) -> None:
    from contentfeed.errors import Invalid
    from contentfeed.routing import work

    rep = make_user("rep")
    with app.app_context():
        s = db.session()
        with pytest.raises(Invalid) as refused:
            work.add_note(s, s.get(User, rep.id), 1, f"called{NUL}")  # type: ignore[arg-type]
        assert "text" in refused.value.fields


def test_every_api_input_model_and_every_form_refuses_control_characters(app: Flask) -> None:
    """No request model or form can be written that skips the check."""
    from pydantic import BaseModel

    def models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
        found = [model]
        for field in model.model_fields.values():
            for arg in [field.annotation, *getattr(field.annotation, "__args__", ())]:
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    found += models_in(arg)
        return found

    declared = [
        model
        for view in app.view_functions.values()
        for key in ("body", "query")
        if (model := getattr(view, "openapi", {}).get(key)) is not None
        and issubclass(model, BaseModel)
        and model.__module__ != "pydantic.root_model"
        and not model.__name__.endswith("Csv")
    ]
    assert declared
    plain = {m.__name__ for model in declared for m in models_in(model) if not issubclass(m, Input)}
    # The lead webhook's body is checked by the intake, which stores the raw event first.
    assert plain <= {"LeadIn"}
    assert api_module.validate.__annotations__  # typed: mypy holds parse_json etc. to Input

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    from flask_wtf import FlaskForm

    forms = [c for c in subclasses(FlaskForm) if c.__module__.startswith("contentfeed.")]
    assert len(forms) > 10
    assert [f.__name__ for f in forms if not issubclass(f, Form)] == []


# --- the error page after a failed flush -------------------------------------------------


def test_an_unexpected_error_after_a_failed_flush_still_renders_the_error_page(
    app: Flask, make_user: Callable[..., User]
) -> None:
    @app.get("/test-boom")
    def boom() -> str:
        s = db.session()
        s.expire_all()  # the layout then has to load the signed-in user again
        s.add(Team(name=None, kind="digital_sales"))  # type: ignore[arg-type]
        s.flush()  # NOT NULL: the session now refuses every query until rolled back
        return "unreachable"

    client = sign_in(app.test_client(), make_user("admin"))
    page = client.get("/test-boom")
    assert page.status_code == 500
    assert "Something went wrong on our side" in _text(page)
    assert client.get("/").status_code == 200


# --- names compare the same on both databases --------------------------------------------


def test_a_team_named_twice_with_accents_answers_409_on_both_databases(
    admin: tuple[FlaskClient, str],
) -> None:
    client, token = admin
    first = client.post(
        "/api/v1/teams",
        json={"name": "Équipe Nord", "kind": "digital_sales"},
        headers=bearer(token),
    )
    assert first.status_code == 201
    for twin in ("Équipe Nord", "équipe nord", "E\u0301quipe  NORD"):
        again = client.post(
            "/api/v1/teams", json={"name": twin, "kind": "digital_sales"}, headers=bearer(token)
        )
        assert again.status_code == 409, twin
        assert again.json is not None and again.json["fields"] == {"name": "already in use"}
    page = client.post("/admin/teams", data={"name": "ÉQUIPE NORD", "kind": "digital_sales"})
    assert page.status_code == 422
    assert "already" in _field_error(_text(page), "name")
    teams = client.get("/api/v1/teams", headers=bearer(token)).json
    assert teams is not None and [t["name"] for t in teams["items"]] == ["Équipe Nord"]


def test_a_queue_or_campaign_named_twice_with_accents_is_refused_on_both_databases(
    admin: tuple[FlaskClient, str],
) -> None:
    client, token = admin
    first = client.post(
        "/admin/queues/new", data={"name": "Übersee", "sla_minutes": "60", "strategy": "claim"}
    )
    assert first.status_code == 302, _text(first)[:2000]
    again = client.post(
        "/admin/queues/new", data={"name": "übersee", "sla_minutes": "60", "strategy": "claim"}
    )
    assert again.status_code == 422
    assert "another queue has this name" in _text(again).lower()

    made = client.post("/api/v1/campaigns", json={"name": "Été Ölfest"}, headers=bearer(token))
    assert made.status_code == 201
    twin = client.post("/api/v1/campaigns", json={"name": "été ölfest"}, headers=bearer(token))
    assert twin.status_code == 409


# --- web addresses ------------------------------------------------------------------------


def test_a_content_url_with_spaces_is_stored_encoded_and_redirects_without_raw_spaces(
    app: Flask,
    admin: tuple[FlaskClient, str],
    make_tracked_link: Callable[..., str],
) -> None:
    client, token = admin
    made = client.post(
        "/api/v1/content",
        json={"url": "https://example.com/white paper?x=a b", "title": "W", "prefill": False},
        headers=bearer(token),
    )
    assert made.status_code == 201, made.json
    assert made.json is not None and made.json["url"] == "https://example.com/white%20paper?x=a%20b"

    code = make_tracked_link(url="https://acme.example/white paper#part two")
    followed = app.test_client().get(
        f"/r/{code}", headers={"User-Agent": "Mozilla/5.0 Firefox/133.0"}
    )
    assert followed.status_code == 302
    location = followed.headers["Location"]
    assert " " not in location
    assert location.startswith("https://acme.example/white%20paper?")
    assert location.endswith("#part%20two")


@pytest.mark.parametrize(
    "url", ["https://example.com/a\r\nSet-Cookie: x=1", "https://exa\tmple.com/"]
)
def test_a_content_url_with_control_characters_is_refused_on_the_page_and_in_the_api(
    admin: tuple[FlaskClient, str], url: str
) -> None:
    client, token = admin
    answer = client.post(
        "/api/v1/content", json={"url": url, "title": "T", "prefill": False}, headers=bearer(token)
    )
    assert answer.status_code == 422
    assert answer.json is not None and "control characters" in answer.json["fields"]["url"]
    page = client.post(
        "/library/new",
        data={
            "url": url,
            "title": "T",
            "kind": "article",
            "campaign_id": "0",
            "language": "en",
            "priority": "3",
        },
    )
    assert page.status_code == 422
    assert "control characters" in _field_error(_text(page), "url").lower()


def test_a_slack_webhook_address_is_stored_encoded_and_control_characters_refused(
    app: Flask, make_user: Callable[..., User]
) -> None:
    from contentfeed.accounts import service as accounts
    from contentfeed.errors import Invalid

    seller = make_user("seller")
    with app.app_context():
        s = db.session()
        user = s.get(User, seller.id)
        assert user is not None and user.seller_profile is not None
        common: dict[str, Any] = dict(
            title="",
            region="",
            languages=["en"],
            topics=[],
            posts_per_week=3,
            weekdays=[0],
            linkedin_url="https://www.linkedin.com/in/some one",
            linkedin_connections=0,
            notification_channel="slack",
            is_paused=False,
        )
        with pytest.raises(Invalid) as refused:
            accounts.update_seller_profile(
                s, user.seller_profile, notification_target="https://hooks.slack.com/a\nb", **common
            )
        assert "notification_target" in refused.value.fields
        profile = accounts.update_seller_profile(
            s, user.seller_profile, notification_target="https://hooks.slack.com/T 1", **common
        )
        assert profile.notification_target == "https://hooks.slack.com/T%201"
        assert profile.linkedin_url == "https://www.linkedin.com/in/some%20one"


def test_an_accounts_csv_row_with_control_characters_is_reported_as_an_error_row(
    admin: tuple[FlaskClient, str],
) -> None:
    client, token = admin
    text = (
        "name,domains,owner_team,owner_email,crm_id\r\n"
        "Acme,acme.example,,,A-1\r\n"
        "Bad\x1bco,bad.example,,,B\x072\r\n"
    )
    response = client.post(
        "/api/v1/accounts/import",
        data=text.encode(),
        content_type="text/csv",
        headers=bearer(token),
    )
    assert response.status_code == 200, response.json
    report = response.json
    assert report is not None
    assert [(r["line"], r["status"]) for r in report["rows"]] == [(2, "created"), (3, "error")]
    assert CONTROL_PROBLEM in report["rows"][1]["message"]


def test_a_tracked_link_path_with_a_nul_is_not_found(app: Flask) -> None:
    assert app.test_client().get("/r/ab%00cd").status_code == 404
