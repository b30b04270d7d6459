"""Admin pages: users, seller profiles, teams and API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import ApiToken, Role, Team, User
from tests.conftest import sign_in


def test_admin_creates_a_seller_who_can_then_sign_in(
    app: Flask, client_as: Callable[[str], FlaskClient], make_team: Callable[..., object]
) -> None:
    team = make_team("Business development DACH")
    admin = client_as("admin")
    response = admin.post(
        "/admin/users/new",
        data={
            "email": "New.Seller@Example.com",
            "name": "Nia Seller",
            "role": "seller",
            "team_id": team.id,
            "timezone": "Asia/Tokyo",
            "password": "a-good-long-password",
        },  # type: ignore[attr-defined]
    )
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nia Seller" in page and "Seller profile" in page
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "new.seller@example.com", "password": "a-good-long-password"}
    )
    assert response.status_code == 302


def test_duplicate_email_and_bad_time_zone_are_shown_beside_their_fields(
    client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    existing = make_user("seller")
    admin = client_as("admin")
    response = admin.post(
        "/admin/users/new",
        data={
            "email": existing.email,
            "name": "Twin",
            "role": "seller",
            "team_id": 0,
            "timezone": "",
        },
    )
    assert response.status_code == 422
    assert "already in use" in response.get_data(as_text=True)
    response = admin.post(
        "/admin/users/new",
        data={
            "email": "tz@example.com",
            "name": "Tz",
            "role": "seller",
            "team_id": 0,
            "timezone": "Moon/Base",
        },
    )
    assert response.status_code == 422
    assert "Unknown time zone" in response.get_data(as_text=True)


def test_seller_profile_is_saved_and_checked(
    app: Flask, client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    seller = make_user("seller")
    admin = client_as("admin")
    form = {
        "profile-title": "Account Executive",
        "profile-region": "DACH",
        "profile-language": "de",
        "profile-topics": "Cloud, security, , cloud",
        "profile-posts_per_week": "4",
        "profile-weekdays": ["0", "2", "4"],
        "profile-linkedin_url": "https://www.linkedin.com/in/x",
        "profile-linkedin_connections": "1200",
        "profile-notification_channel": "slack",
        "profile-notification_target": "not a url",
    }
    response = admin.post(f"/admin/users/{seller.id}", data=form)
    assert response.status_code == 422
    assert "incoming-webhook URL" in response.get_data(as_text=True)
    form["profile-notification_target"] = "https://hooks.slack.com/services/T/B/X"
    assert admin.post(f"/admin/users/{seller.id}", data=form).status_code == 302
    with app.app_context():
        profile = db.session().get(User, seller.id).seller_profile  # type: ignore[union-attr]
        assert profile is not None
        assert profile.topics == ["cloud", "security"]
        assert profile.weekdays == [0, 2, 4]
        assert profile.posts_per_week == 4
        assert profile.language == "de"


def test_admin_cannot_deactivate_themselves(app: Flask, make_user: Callable[..., User]) -> None:
    admin = make_user("admin")
    client = sign_in(app.test_client(), admin)
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 409
    assert "your own account" in response.get_data(as_text=True)


def test_users_list_filters_by_role_and_search(
    client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    make_user("seller", name="Sam Searchable")
    make_user("rep", name="Riley Other")
    admin = client_as("admin")
    page = admin.get("/admin/users?role=seller").get_data(as_text=True)
    assert "Sam Searchable" in page and "Riley Other" not in page
    page = admin.get("/admin/users?q=riley").get_data(as_text=True)
    assert "Riley Other" in page and "Sam Searchable" not in page
    page = admin.get("/admin/users?q=nobody-like-this").get_data(as_text=True)
    assert "No users match" in page


def test_users_list_paginates(
    app: Flask, client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    config.override(app, page_size=5)
    for _ in range(7):
        make_user("seller")
    admin = client_as("admin")
    first = admin.get("/admin/users?sort=email").get_data(as_text=True)
    second = admin.get("/admin/users?sort=email&page=2").get_data(as_text=True)
    assert "of <strong>8</strong>" in first
    assert "seller1@example.com" in first and "seller1@example.com" not in second


def test_teams_are_created_renamed_and_duplicates_refused(
    client_as: Callable[[str], FlaskClient],
) -> None:
    admin = client_as("admin")
    response = admin.post("/admin/teams", data={"name": "Digital sales", "kind": "digital_sales"})
    assert response.status_code == 302
    response = admin.post("/admin/teams", data={"name": "digital SALES", "kind": "digital_sales"})
    assert response.status_code == 422
    assert "already" in response.get_data(as_text=True)
    page = admin.get("/admin/teams").get_data(as_text=True)
    assert "Digital sales" in page


def test_teams_show_how_many_active_members_they_have(
    client_as: Callable[[str], FlaskClient],
    make_team: Callable[..., Team],
    make_user: Callable[..., User],
) -> None:
    dach = make_team("Business development DACH")
    make_team("Leadership")
    make_user("seller", team_id=dach.id)
    make_user("seller", team_id=dach.id)
    make_user("seller", team_id=dach.id, is_active=False)  # left the company
    admin = client_as("admin")
    teams = re.sub(r"\s+", " ", admin.get("/admin/teams").get_data(as_text=True))
    assert re.search(r">Business development DACH</a>.*?<td class=\"num\">2</td>", teams)
    assert re.search(r">Leadership</a>.*?<td class=\"num\">0</td>", teams)
    home = re.sub(r"<[^>]+>", " ", admin.get("/").get_data(as_text=True))
    assert "Business development · 2 active" in " ".join(home.split())


def test_token_is_shown_once_and_revocation_takes_effect(
    app: Flask, client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    relay = make_user("admin", name="Form Relay")
    admin = client_as("admin")
    response = admin.post(
        "/admin/tokens",
        data={"user_id": relay.id, "name": "Website relay", "scopes": ["leads:write", "read"]},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "be shown again" in page
    match = re.search(r"cf_[A-Za-z0-9_-]{20,}", page)
    assert match is not None
    plaintext = match.group(0)
    api = app.test_client()
    assert (
        api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    )
    again = admin.get("/admin/tokens").get_data(as_text=True)
    assert plaintext not in again
    with app.app_context():
        token_id = db.session().scalars(sa.select(ApiToken.id)).one()
    assert admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    response = api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 401


def test_token_needs_a_scope(
    client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    admin = client_as("admin")
    response = admin.post("/admin/tokens", data={"user_id": make_user(Role.ADMIN).id, "name": "x"})
    assert response.status_code == 422
    assert "at least one scope" in response.get_data(as_text=True)
