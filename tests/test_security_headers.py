"""Security headers on every answer: pages, static files, errors and the WSGI fast paths (the
tracked-link redirect, the lead webhook), one test per header; and templates that need no
inline script or style under that policy."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import config, db, demo, security
from contentfeed.config import ROOT, ConfigError, build_settings
from contentfeed.content.models import Content
from tests import test_browser
from tests.conftest import make_test_app
from tests.test_gated import FORM, make_gated
from tests.test_webhook import LEAD, URL, make_secret, signed_headers


def _answers(
    app: Flask, make_tracked_link: Callable[..., str], make_content: Callable[..., Content]
) -> dict[str, TestResponse]:
    """One answer of each kind: page, static file, error, the two fast paths, the API."""
    code = make_tracked_link(url="https://www.example.com/post")
    gated_id = make_gated(app, make_content)
    secret = make_secret(app)
    body = json.dumps(LEAD)
    client = app.test_client()
    answers = {
        "login page": client.get("/login"),
        "stylesheet": client.get("/static/css/app.css"),
        "not found": client.get("/no-such-page"),
        "redirect fast path": client.get(f"/r/{code}"),
        "webhook fast path": client.post(
            URL, data=body.encode(), headers=signed_headers(secret, body)
        ),
        "gated page": client.get(f"/g/{gated_id}"),
        "api": client.get("/api/v1/me"),
    }
    for response in answers.values():
        response.close()  # only the headers are looked at; a file answer holds its file open
    return answers


@pytest.fixture
def answers(
    app: Flask, make_tracked_link: Callable[..., str], make_content: Callable[..., Content]
) -> dict[str, TestResponse]:
    return _answers(app, make_tracked_link, make_content)


def _get(client: FlaskClient, path: str) -> TestResponse:
    response = client.get(path)
    response.close()
    return response


def _directives(response: TestResponse) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def test_the_answers_are_what_they_should_be(answers: dict[str, TestResponse]) -> None:
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "login page": 200,
        "stylesheet": 200,
        "not found": 404,
        "redirect fast path": 302,
        "webhook fast path": 202,
        "gated page": 200,
        "api": 401,
    }


def test_every_answer_allows_only_our_own_scripts(answers: dict[str, TestResponse]) -> None:
    for name, response in answers.items():
        directives = _directives(response)
        assert directives["script-src"] == "'self'", name
        assert directives["default-src"] == "'self'", name
        assert directives["object-src"] == "'none'", name
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name


def test_no_page_may_be_framed_by_default(answers: dict[str, TestResponse]) -> None:
    for name, response in answers.items():
        assert _directives(response)["frame-ancestors"] == "'none'", name


def test_every_answer_forbids_content_sniffing(answers: dict[str, TestResponse]) -> None:
    for name, response in answers.items():
        assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"], name


def test_every_answer_sets_a_referrer_policy(answers: dict[str, TestResponse]) -> None:
    for name, response in answers.items():
        policies = response.headers.get_all("Referrer-Policy")
        assert policies == ["strict-origin-when-cross-origin"], name


def test_no_hsts_while_cookies_may_travel_over_plain_http(
    answers: dict[str, TestResponse],
) -> None:
    for name, response in answers.items():
        assert "Strict-Transport-Security" not in response.headers, name


def test_hsts_on_every_answer_when_cookies_are_secure(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    secure = make_test_app(database_url, tmp_path, session_cookie_secure=True)
    client = secure.test_client()
    for path in ("/login", "/static/css/app.css", "/r/nosuchcode", "/api/v1/me"):
        hsts = _get(client, path).headers.get("Strict-Transport-Security", "")
        assert hsts == "max-age=31536000; includeSubDomains", path


def test_configured_sites_may_frame_the_gated_page_and_its_download_only(
    app: Flask, database_url: str, tmp_path: Path, make_content: Callable[..., Content]
) -> None:
    gated_id = make_gated(app, make_content)
    sites = ["https://www.example.com", "https://*.example.org:8443"]
    framed = make_test_app(database_url, tmp_path, gated_frame_ancestors=sites)
    uploads = Path(config.settings_of(framed).library.upload_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / f"gated{gated_id}.pdf").write_bytes(b"%PDF")
    client = framed.test_client()

    page = client.get(f"/g/{gated_id}")
    assert page.status_code == 200
    assert _directives(page)["frame-ancestors"] == " ".join(sites)
    assert _directives(page)["script-src"] == "'self'"
    submitted = client.post(f"/g/{gated_id}", data=FORM)
    assert submitted.status_code == 302
    thanks = _get(client, submitted.headers["Location"])
    assert thanks.status_code == 200
    assert _directives(thanks)["frame-ancestors"] == " ".join(sites)
    [link] = re.findall(r'href="(/g/[^"]+/download/[^"]+)"', thanks.get_data(as_text=True))
    file = _get(client, link)
    assert file.status_code == 200
    # The file keeps its own, stricter policy and may be shown in the same frame.
    assert _directives(file)["default-src"] == "'none'"
    assert _directives(file)["frame-ancestors"] == " ".join(sites)
    for path in ("/login", "/static/css/app.css", "/library"):
        assert _directives(_get(client, path))["frame-ancestors"] == "'none'", path


def test_an_answer_with_its_own_policy_keeps_it_and_gains_frame_ancestors() -> None:
    headers = [("Content-Security-Policy", "default-src 'none'; img-src 'self'")]
    security.add_missing(headers, security.security_headers(secure_cookies=False))
    assert dict(headers)["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; frame-ancestors 'none'"
    )
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    framed = security.with_frame_ancestors("default-src 'none'", ["https://a.example"])
    assert security.with_frame_ancestors(framed) == framed  # its own directive stays


@pytest.mark.parametrize(
    "origin",
    ["example.com", "https://example.com/path", "https://a.example; script-src *", "*", "'self'"],
)
def test_a_frame_ancestor_must_be_an_origin(origin: str) -> None:
    with pytest.raises(ConfigError, match="gated_frame_ancestors"):
        build_settings({"gated_frame_ancestors": [origin]}, {})


# Anything the policy blocks: script elements with a body, event-handler attributes,
# javascript: addresses, style elements and style attributes.
_INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|<style\b|\sstyle\s*=", re.I
)


def test_templates_carry_no_inline_script_or_style() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _INLINE.search(line)
    ]
    assert not found, "\n".join(found)


# --- in a real browser -------------------------------------------------------------------

# The browser fixtures (live_server, browser) come from tests/conftest.py.

# The daily screens, and the ones whose styles moved out of the templates for the policy.
SCREENS = {
    **test_browser.DAILY_SCREENS,
    "seller": [*test_browser.DAILY_SCREENS["seller"], "/profile"],
    "admin": ["/admin/sellers/import", "/reports/sellers"],
}

# Collects the page's securitypolicyviolation events from before its first script runs.
_LISTEN = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation', e =>"
    " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.mark.browser
def test_the_daily_screens_break_no_rule_of_the_policy(
    app: Flask, live_server: str, browser: object, make_content: Callable[..., Content]
) -> None:
    """Chromium reports every blocked script, style or image as a securitypolicyviolation
    event and a console error; the screens people use every day cause none."""
    with app.app_context():
        s = db.session()
        demo.seed(s, base_url=live_server)
        s.commit()
        screens = test_browser.screens_of(s, SCREENS)
    gated_id = make_gated(app, make_content)
    found: dict[str, list[str]] = {}

    def watched_page() -> tuple[Any, list[str]]:
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        context.add_init_script(_LISTEN)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return page, errors

    def visit(page: Any, errors: list[str], label: str, url: str) -> None:
        errors.clear()
        response = page.goto(url)
        assert response is not None and response.status == 200, label
        page.wait_for_load_state("networkidle")
        found[label] = [*errors, *page.evaluate("window.__violations")]

    page, errors = watched_page()
    visit(page, errors, "anonymous /login", f"{live_server}/login")
    visit(page, errors, f"anonymous /g/{gated_id}", f"{live_server}/g/{gated_id}")
    page.context.close()
    for who, paths in screens.items():
        page, errors = watched_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(demo.demo_email(who))
        page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        for path in paths:
            visit(page, errors, f"{who} {path}", f"{live_server}{path}")
        page.context.close()
    assert found == {key: [] for key in found}
