"""Signing in and out, throttling, CSRF, session cookies, and the pages each role sees."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config
from contentfeed.accounts.models import User
from tests.conftest import PASSWORD, make_test_app, sign_in


def test_sign_in_lands_on_home_with_greeting(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user("marketer", name="Mia Marketer")
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Mia." in page
    assert "Sellers sharing" in page


def test_the_marketers_home_sums_up_the_active_sellers(
    client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    common: dict[str, object] = {"posts_per_week": 3, "linkedin_connections": 1000}
    make_user("seller", region="DACH", language="de", topics=["cloud", "security"], **common)
    make_user("seller", region="DACH", language="en", topics=["cloud"], **common)
    make_user("seller", region="", language="en", topics=[], is_paused=True, **common)
    make_user("seller", region="Nordics", topics=["cloud"], is_active=False, **common)  # left
    page = client_as("marketer").get("/").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Sellers sharing 2 1 paused" in text
    assert "Posts they ask for each week 6" in text  # the paused seller asks for none
    assert "Combined LinkedIn reach 3,000" in text
    assert "cloud · 2" in text and "security · 1" in text
    assert "DACH 2 sellers" in text and "— 1 seller" in text and "Nordics" not in text
    assert "EN 2 sellers" in text and "DE 1 seller" in text


def test_wrong_password_and_unknown_email_answer_alike(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user("seller")
    wrong = client.post("/login", data={"email": user.email, "password": "nope-nope-nope"})
    unknown = client.post(
        "/login", data={"email": "ghost@example.com", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "don&#39;t match an account" in wrong.get_data(as_text=True)
    assert "don&#39;t match an account" in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user("seller")
    client = app.test_client()
    for _ in range(config.settings_of(app).sign_in.max_failures):
        client.post("/login", data={"email": user.email, "password": "wrong-password-x"})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in_and_is_signed_out(
    app: Flask, make_user: Callable[..., User]
) -> None:
    admin = make_user("admin")
    seller = make_user("seller")
    seller_client = sign_in(app.test_client(), seller)
    admin_client = sign_in(app.test_client(), admin)
    assert admin_client.post(f"/admin/users/{seller.id}/deactivate").status_code == 302
    assert seller_client.get("/").status_code == 302  # the open session no longer works
    response = app.test_client().post("/login", data={"email": seller.email, "password": PASSWORD})
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)


def test_logout_needs_post_and_signs_out(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    sign_in(client, make_user("rep"))
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_parameter_only_goes_to_this_site(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user("admin")
    response = client.post(
        "/login?next=https://evil.example.com/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/admin/teams", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/admin/teams"


def test_forms_refuse_posts_without_csrf_token(
    database_url: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    app = make_test_app(database_url, tmp_path)
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("admin")
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_session_cookie_is_http_only_and_same_site(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    response = client.post(
        "/login", data={"email": make_user("seller").email, "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookie_setting_marks_the_cookie_secure(
    database_url: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    app = make_test_app(database_url, tmp_path, session_cookie_secure=True)
    response = app.test_client().post(
        "/login", data={"email": make_user("seller").email, "password": PASSWORD}
    )
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", "Active API tokens"),
        ("marketer", "Topics sellers follow"),
        ("contributor", "Topics sellers follow"),
        ("seller", "shared in the last 30 days"),
        ("rep", "Your team"),
    ],
)
def test_each_role_has_its_home_page(
    client_as: Callable[[str], FlaskClient], role: str, expected: str
) -> None:
    response = client_as(role).get("/", follow_redirects=True)
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)


def test_navigation_shows_only_what_the_role_may_use(
    client_as: Callable[[str], FlaskClient],
) -> None:
    admin_page = client_as("admin").get("/").get_data(as_text=True)
    seller_page = client_as("seller").get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in admin_page
    assert 'href="/admin/users"' not in seller_page
    assert 'href="/admin/tokens"' not in seller_page


def _header(page: str) -> str:
    return page[page.index('<nav class="app-nav"') : page.index("</nav>")]


def _current(page: str) -> list[str]:
    """The header entries marked as the page the user is on (links, and a group's label)."""
    nav = _header(page)
    links = re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav)
    groups = re.findall(r'<details class="nav-group is-current">\s*<summary>([^<]+)<', nav)
    return groups + links


def test_the_admin_settings_share_one_menu_in_the_header(
    client_as: Callable[[str], FlaskClient],
) -> None:
    nav = _header(client_as("admin").get("/").get_data(as_text=True))
    menu = nav[nav.index('<details class="nav-group') : nav.index("</details>")]
    assert "<summary>Admin" in menu
    for label in ("Routing", "Users", "Teams", "Webhook secrets", "Failed events", "API tokens"):
        assert f">{label}</a>" in menu
    assert ">Reports</a>" not in menu  # everyday pages stay in the bar


@pytest.mark.parametrize(
    ("role", "path", "current"),
    [
        ("admin", "/reports/sales", ["Reports"]),
        ("marketer", "/reports/sellers", ["Reports"]),
        ("admin", "/admin/users/new", ["Admin", "Users"]),
        ("admin", "/admin/queues", ["Admin", "Routing"]),
        ("marketer", "/library/new", ["Library"]),
        ("rep", "/queue", ["Queue"]),
    ],
)
def test_the_header_marks_the_section_of_the_page_being_shown(
    client_as: Callable[[str], FlaskClient], role: str, path: str, current: list[str]
) -> None:
    response = client_as(role).get(path)
    assert response.status_code == 200
    assert _current(response.get_data(as_text=True)) == current


def test_anyone_can_change_their_own_password(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user("seller")
    sign_in(client, user)
    response = client.post(
        "/account",
        data={
            "password-current_password": "not-my-password",
            "password-new_password": "brand-new-password",
        },
    )
    assert "not your current password" in response.get_data(as_text=True)
    response = client.post(
        "/account",
        data={"password-current_password": PASSWORD, "password-new_password": "brand-new-password"},
    )
    assert response.status_code == 302
    client.post("/logout")
    sign_in(client, user, "brand-new-password")
