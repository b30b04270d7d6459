"""Notification channels known to work: a webhook is tried when it is saved (and a URL the
outbound guard refuses is refused at once, with the reason beside the field); without a mail
server the mail is kept for admins under Admin → Sent email."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import sqlalchemy as sa
from flask import Flask

from contentfeed import db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.suggestions.models import NotificationAttempt, SentEmail
from tests.conftest import sign_in
from tests.test_notifications import run_notify, suggest_to


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
    assert "Email (not set up yet" in page
