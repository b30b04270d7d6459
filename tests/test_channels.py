"""Notification channels known to work: a webhook is tried when it is saved (and a URL the
outbound guard refuses is refused at once, with the reason beside the field); without a mail
server the mail is kept for admins under Admin → Sent email."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.suggestions.models import NotificationAttempt, SentEmail
from tests.conftest import make_test_app, sign_in
from tests.test_notifications import Hooks, hooks, run_notify, suggest_to  # noqa: F401
from tests.test_sellers import field_errors, profile_form


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_without_smtp_the_digest_is_kept_and_an_admin_reads_it(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Zero-downtime migrations")
    seller = make_user("seller", name="Sam Seller", notification_channel="email")
    suggest_to(app, seller)
    result = run_notify(app)
    assert (result.sent, result.failed, result.given_up) == (1, 0, 0)
    with app.app_context():
        attempt = db.session().scalars(sa.select(NotificationAttempt)).one()
        assert attempt.sent_at is not None and attempt.last_error == ""

    admin = sign_in(app.test_client(), make_user("admin"))
    listing = admin.get("/admin/sent-email")
    assert listing.status_code == 200
    page = text_of(listing.get_data(as_text=True))
    assert "Email is not set up" in page
    assert seller.email in page and "contentfeed: 1 post ready to share" in page
    with app.app_context():
        kept = db.session().scalars(sa.select(SentEmail)).one()
    assert kept.kind == "digest"
    assert f"/admin/sent-email/{kept.id}" in listing.get_data(as_text=True)
    one = text_of(admin.get(f"/admin/sent-email/{kept.id}").get_data(as_text=True))
    assert "Hi Sam," in one and "Zero-downtime migrations" in one and seller.email in one


def test_sent_email_speaks_german_and_is_for_admins_only(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Zero-downtime migrations")
    seller = make_user("seller", notification_channel="email")
    suggest_to(app, seller)
    run_notify(app)
    with app.app_context():
        kept_id = db.session().scalars(sa.select(SentEmail.id)).one()
    for role in ("seller", "marketer"):
        other = sign_in(app.test_client(), make_user(role))
        assert other.get("/admin/sent-email").status_code in (302, 403)
        assert other.get(f"/admin/sent-email/{kept_id}").status_code in (302, 403)
    admin = sign_in(app.test_client(), make_user("admin"))
    admin.set_cookie("contentfeed_locale", "de")
    with app.app_context():
        user = db.session().scalars(sa.select(User).where(User.role == "admin")).one()
        user.locale = "de"
        db.session().commit()
    page = text_of(admin.get("/admin/sent-email").get_data(as_text=True))
    assert "Gesendete E-Mails" in page and "Zusammenfassung" in page
    assert admin.get("/admin/sent-email/999999").status_code == 404


def test_without_smtp_the_profile_says_email_is_not_set_up(
    app: Flask, make_user: Callable[..., User]
) -> None:
    seller = sign_in(app.test_client(), make_user("seller"))
    page = text_of(seller.get("/profile").get_data(as_text=True))
    assert "Email digest (not set up yet)" in page
    assert "email digests are kept for admins under Sent email and reach nobody" in page


def test_a_loopback_or_private_webhook_is_refused_at_save_with_the_reason(
    app: Flask, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    seller = make_user("seller")
    client = sign_in(app.test_client(), seller)
    response = client.post(
        "/profile",
        data=profile_form(
            notification_channel="slack", notification_target="https://127.0.0.1/services/T/B/X"
        ),
    )
    assert response.status_code == 422
    reason = field_errors(response.get_data(as_text=True), "notification_target")
    assert "127.0.0.1" in reason and "private or local address" in reason
    with app.app_context():
        profile = db.session().get(User, seller.id).seller_profile
        assert (profile.notification_channel.value, profile.notification_target) == ("email", "")

    headers = {"Authorization": f"Bearer {make_token(make_user('admin'), 'read', 'admin')}"}
    url = f"/api/v1/users/{seller.id}/seller-profile"
    current = client.get(url, headers=headers).get_json()
    for target in ("https://169.254.169.254/hook", "https://10.1.2.3/hook"):
        refused = client.put(
            url,
            json={**current, "notification_channel": "teams", "notification_target": target},
            headers=headers,
        )
        assert refused.status_code == 422
        assert "private or local address" in refused.get_json()["fields"]["notification_target"]


def save_webhook(client: FlaskClient, channel: str, target: str, *, language: str = "en") -> Any:
    """Save the signed-in seller's profile with a Slack or Teams webhook, following the
    redirect to the page that says how its test message fared."""
    data = profile_form(language=language, notification_channel=channel, notification_target=target)
    return client.post("/profile", data=data, follow_redirects=True)


@pytest.fixture
def open_app(database_url: str, tmp_path: Path, app: Flask) -> Flask:
    """The app with the guard's test setting: local addresses allowed (the test's server)."""
    return make_test_app(database_url, tmp_path, http_allow_private_addresses=True)


def test_a_working_webhook_gets_a_test_message_and_the_page_says_it_arrived(
    open_app: Flask,
    make_user: Callable[..., User],
    hooks: str,  # noqa: F811
) -> None:
    seller = make_user("seller", name="Sam Seller")
    client = sign_in(open_app.test_client(), seller)
    saved = save_webhook(client, "slack", hooks + "/slack")
    assert saved.status_code == 200
    page = text_of(saved.get_data(as_text=True))
    assert "A test message went to Slack and arrived." in page
    [(path, body)] = Hooks.received
    assert path == "/slack" and "contentfeed is connected, Sam" in body["text"]

    again = save_webhook(client, "slack", hooks + "/slack")
    assert "test message" not in text_of(again.get_data(as_text=True))
    assert len(Hooks.received) == 1  # saving the same webhook again does not post again

    gone = save_webhook(client, "teams", hooks + "/gone")
    page = text_of(gone.get_data(as_text=True))
    assert "The test message to Microsoft Teams did not arrive: The webhook answered 410." in page
    assert Hooks.received[-1][1]["@type"] == "MessageCard"


def test_the_test_message_speaks_the_sellers_language(
    open_app: Flask,
    make_user: Callable[..., User],
    hooks: str,  # noqa: F811
) -> None:
    seller = make_user("seller", name="Gerda Groß")
    client = sign_in(open_app.test_client(), seller)
    saved = save_webhook(client, "slack", hooks + "/de", language="de")
    # the page's note speaks the language the request was made in (the seller's former one)
    assert "A test message went to Slack and arrived." in text_of(saved.get_data(as_text=True))
    [(_path, body)] = Hooks.received
    assert body["text"].startswith("contentfeed ist verbunden, Gerda:")


def test_the_api_says_whether_the_test_message_arrived(
    open_app: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    hooks: str,  # noqa: F811
) -> None:
    seller = make_user("seller")
    client = open_app.test_client()
    headers = {"Authorization": f"Bearer {make_token(make_user('admin'), 'read', 'admin')}"}
    url = f"/api/v1/users/{seller.id}/seller-profile"
    current = client.get(url, headers=headers).get_json()
    answer = client.put(
        url,
        json={**current, "notification_channel": "slack", "notification_target": hooks + "/s"},
        headers=headers,
    ).get_json()
    assert answer["test_message"] == "arrived" and answer["test_message_error"] == ""
    assert [path for path, _body in Hooks.received] == ["/s"]
    answer = client.put(
        url,
        json={**current, "notification_channel": "slack", "notification_target": hooks + "/gone"},
        headers=headers,
    ).get_json()
    assert answer["test_message"] == "failed" and "410" in answer["test_message_error"]
