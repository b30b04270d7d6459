"""Single sign-on through a real OpenID provider: oidc-provider (npm, tests/oidc) on 127.0.0.1.

The whole authorization-code flow runs over HTTP with `requests`, as a browser would: our
login page, the provider's development login and consent pages, the callback. The provider
requires PKCE of its client. Tests that need no provider (SSO only, a provider that is down)
use the test client."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role, User
from contentfeed.config import ConfigError, build_settings, read_env
from tests.conftest import PASSWORD
from tests.live import serving

OIDC_DIR = Path(__file__).parent / "oidc"
CLIENT_ID = "contentfeed-tests"
CLIENT_SECRET = "a-test-client-secret-of-some-length"
CALLBACK = "/login/sso/callback"

# The provider's accounts, by the login typed into its development login form.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "mara": {
        "email": "mara.marketing@example.com",
        "email_verified": True,
        "name": "Mara Marketing",
        "groups": ["everyone", "cf-marketing"],
    },
    "sam": {
        # The address in other letters than the account here: matched all the same.
        "email": "Sam.Seller@Example.com",
        "email_verified": True,
        "name": "Samuel Provider-Name",
        "groups": ["cf-admins"],
    },
    "nils": {
        "email": "nils.new@example.com",
        "email_verified": True,
        "given_name": "Nils",
        "family_name": "Neu",
        "groups": ["everyone"],
    },
    "eve": {
        "email": "eve@example.com",
        "email_verified": False,
        "name": "Eve Unverified",
        "groups": ["cf-admins"],
    },
    "gone": {
        "email": "gone@example.com",
        "email_verified": True,
        "name": "Gone Away",
        "groups": [],
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the OpenID provider tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """oidc-provider on a free port, with a client whose redirect URI is on `app_port`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("Node.js and npm are needed for the OpenID provider (apt-get install nodejs npm)")
    assert node is not None and npm is not None
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(  # noqa: S603
            [npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=True, timeout=300
        )
    port, app_port = _free_port(), _free_port()
    app_base = f"http://127.0.0.1:{app_port}"
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [app_base + CALLBACK],
        }
    ]
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "OIDC_CLIENTS": json.dumps(clients),
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [node, "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                if answer.ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"oidc-provider did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield {"issuer": issuer, "app_port": app_port, "app_base": app_base}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def sso_settings(issuer: str, **changes: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": ["openid", "email", "profile", "groups"],
        "group_roles": {"cf-admins": "admin", "cf-marketing": "marketer"},
        **changes,
    }


@pytest.fixture
def sso_site(app: Flask, oidc_provider: dict[str, Any]) -> Iterator[str]:
    """The app with SSO on, served where the provider's client sends people back."""
    config.override(
        app,
        public_base_url=oidc_provider["app_base"],
        company={"name": "Acme"},
        sso=sso_settings(oidc_provider["issuer"]),
    )
    with serving(app, oidc_provider["app_port"]):
        yield oidc_provider["app_base"]


def through_provider(
    base: str, login: str, *, tamper: Callable[[str], str] | None = None
) -> tuple[requests.Session, requests.Response, str]:
    """Click "Sign in with Acme", sign in at the provider as `login`, consent, come back.

    Return the browser session, the last answer (our page after the callback) and the
    authorization request the provider got. `tamper` may change the callback URL first.
    """
    browser = requests.Session()
    login_page = browser.get(f"{base}/login", timeout=10)
    button = re.search(
        r'<a class="btn btn-primary" href="([^"]+)">Sign in with Acme</a>', login_page.text
    )
    assert button, login_page.text
    answer = browser.get(
        urljoin(base, html.unescape(button.group(1))), allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    authorization = answer.headers["Location"]
    for _ in range(20):
        if answer.is_redirect:
            target = urljoin(answer.url, answer.headers["Location"])
            if target.startswith(base + CALLBACK):
                break
            answer = browser.get(target, allow_redirects=False, timeout=10)
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', answer.text, re.S)
        assert form, answer.text
        prompt = re.search(r'name="prompt" value="(\w+)"', form.group(2))
        assert prompt, form.group(0)
        data = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            data |= {"login": login, "password": "anything"}
        answer = browser.post(
            urljoin(answer.url, html.unescape(form.group(1))),
            data=data,
            allow_redirects=False,
            timeout=10,
        )
    else:
        pytest.fail("the provider never sent the browser back")
    if tamper is not None:
        target = tamper(target)
    return browser, browser.get(target, timeout=10), authorization


def user_by_email(app: Flask, email: str) -> User | None:
    with app.app_context():
        return accounts.find_user_by_email(db.session(), email)


def test_a_new_user_signs_in_through_the_provider_and_gets_the_mapped_role(
    app: Flask, sso_site: str
) -> None:
    browser, page, authorization = through_provider(sso_site, "mara")
    query = parse_qs(urlsplit(authorization).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"] and query["nonce"]
    assert page.status_code == 200, page.text
    assert "Welcome back, Mara." in page.text
    user = user_by_email(app, "mara.marketing@example.com")
    assert user is not None
    assert (user.name, user.role, user.is_active) == ("Mara Marketing", Role.MARKETER, True)
    assert user.last_login_at is not None
    # Signed in: the login page sends them on.
    assert browser.get(f"{sso_site}/login", allow_redirects=False, timeout=10).status_code == 302


def test_a_new_user_without_a_mapped_group_becomes_a_seller(app: Flask, sso_site: str) -> None:
    _, page, _ = through_provider(sso_site, "nils")
    assert "Welcome back, Nils." in page.text
    user = user_by_email(app, "nils.new@example.com")
    assert user is not None
    assert (user.name, user.role) == ("Nils Neu", Role.SELLER)


def test_an_existing_user_is_matched_by_verified_email_and_keeps_their_role(
    app: Flask, sso_site: str, make_user: Callable[..., User]
) -> None:
    sam = make_user("seller", email="sam.seller@example.com", name="Sam Seller")
    _, page, _ = through_provider(sso_site, "sam")
    assert "Welcome back, Sam." in page.text
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1
    again = user_by_email(app, "sam.seller@example.com")
    assert again is not None
    assert (again.id, again.name, again.role) == (sam.id, "Sam Seller", Role.SELLER)


def test_a_tampered_state_is_refused(app: Flask, sso_site: str) -> None:
    def tamper(url: str) -> str:
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query["state"] = query["state"][:-2] + ("xy" if not query["state"].endswith("xy") else "ab")
        return urlunsplit(parts._replace(query=urlencode(query)))

    browser, page, _ = through_provider(sso_site, "mara", tamper=tamper)
    assert page.status_code == 400
    assert "was not started here" in page.text
    assert user_by_email(app, "mara.marketing@example.com") is None
    assert browser.get(f"{sso_site}/login", allow_redirects=False, timeout=10).status_code == 200


def test_an_unverified_email_is_refused(app: Flask, sso_site: str) -> None:
    _, page, _ = through_provider(sso_site, "eve")
    assert page.status_code == 403
    assert "eve@example.com is not verified" in page.text
    assert user_by_email(app, "eve@example.com") is None


def test_a_deactivated_user_is_refused(
    app: Flask, sso_site: str, make_user: Callable[..., User]
) -> None:
    make_user("seller", email="gone@example.com", is_active=False)
    _, page, _ = through_provider(sso_site, "gone")
    assert page.status_code == 403
    assert "This account has been deactivated" in page.text


# --- without a provider --------------------------------------------------------------------


def _sso_app(app: Flask, **changes: Any) -> None:
    config.override(
        app, company={"name": "Acme"}, sso=sso_settings("https://id.example.com", **changes)
    )


def test_login_page_offers_the_company_sign_in_only_when_enabled(
    app: Flask, client: FlaskClient
) -> None:
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404
    _sso_app(app)
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/sso">Sign in with Acme</a>' in page
    assert 'name="password"' in page
    german = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'href="/login/sso">Mit Acme anmelden</a>' in german
    _sso_app(app, button_label="Mit Acme-Konto anmelden")
    assert "Mit Acme-Konto anmelden" in client.get("/login").get_data(as_text=True)


def test_sso_only_refuses_passwords_except_for_break_glass_admins(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller")
    admin = make_user("admin", email="root@example.com")
    other_admin = make_user("admin")
    listed_seller = make_user("seller", email="listed@example.com")
    _sso_app(app, sso_only=True, break_glass_admins=["Root@Example.com", "listed@example.com"])

    def sign_in(email: str) -> Any:
        return client.post("/login", data={"email": email, "password": PASSWORD})

    for user in (seller, other_admin):
        answer = sign_in(user.email)
        assert answer.status_code == 401
        assert "Signing in with a password is turned off here" in answer.get_data(as_text=True)
        assert "Use “Sign in with Acme” instead." in answer.get_data(as_text=True)
    # Listed, but not an admin: the password does not open the door.
    answer = sign_in(listed_seller.email)
    assert answer.status_code == 401
    assert "don&#39;t match an account" in answer.get_data(as_text=True)
    answer = sign_in(admin.email)
    assert answer.status_code == 302
    assert client.get("/login").status_code == 302


def test_the_password_form_is_for_admins_under_sso_only(app: Flask, client: FlaskClient) -> None:
    _sso_app(app, sso_only=True)
    page = client.get("/login").get_data(as_text=True)
    assert "Administrators: sign in with a password" in page
    answer = client.post(
        "/login",
        data={"email": "x@example.com", "password": PASSWORD},
        headers={"Accept-Language": "de"},
    )
    assert "Die Anmeldung mit Passwort ist hier abgeschaltet" in answer.get_data(as_text=True)


def test_a_provider_that_cannot_be_reached_gets_a_clear_page_in_german(
    app: Flask, client: FlaskClient
) -> None:
    config.override(app, sso=sso_settings(f"http://127.0.0.1:{_free_port()}"))
    answer = client.get("/login/sso", headers={"Accept-Language": "de"})
    assert answer.status_code == 502
    text = answer.get_data(as_text=True)
    assert "Anmeldung hat nicht geklappt" in text
    assert "Anmeldedienst Ihres Unternehmens" in text


def test_an_error_from_the_provider_gets_a_clear_page(app: Flask, client: FlaskClient) -> None:
    _sso_app(app)
    answer = client.get(f"{CALLBACK}?error=access_denied&error_description=nope&state=x")
    assert answer.status_code == 400
    assert "did not let you in" in answer.get_data(as_text=True)
    german = client.get(f"{CALLBACK}?error=server_error&state=x", headers={"Accept-Language": "de"})
    assert german.status_code == 400
    assert "(server_error)" in german.get_data(as_text=True)
    assert "Anmeldedienst Ihres Unternehmens" in german.get_data(as_text=True)


def test_a_callback_nobody_started_is_refused(app: Flask, client: FlaskClient) -> None:
    _sso_app(app)
    answer = client.get(f"{CALLBACK}?code=abc&state=never-issued")
    assert answer.status_code == 400
    assert "was not started here" in answer.get_data(as_text=True)


def test_sso_settings_that_could_not_work_stop_start_up() -> None:
    with pytest.raises(ConfigError, match="enabled = true needs issuer, client_secret"):
        build_settings({"sso": {"enabled": True, "client_id": "cf"}}, {})
    with pytest.raises(ConfigError, match="sso_only = true needs enabled = true"):
        build_settings({"sso": {"sso_only": True}}, {})
    with pytest.raises(ConfigError, match="role must be one of"):
        build_settings({"sso": {"group_roles": {"cf-admins": "root"}}}, {})
    with pytest.raises(ConfigError, match="must include openid"):
        build_settings({"sso": {"scopes": ["email"]}}, {})
    settings = build_settings(
        {"sso": {"break_glass_admins": [" Root@Example.com "], "client_secret": "in-file"}},
        read_env({"CONTENTFEED_SSO__CLIENT_SECRET": "from-env"}),
    )
    assert settings.sso.client_secret == "from-env"
    assert settings.sso.break_glass_admins == ["root@example.com"]
