"""Gated content: the public form becomes a lead through the intake path, then the download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Asset, Content
from contentfeed.db import utcnow
from contentfeed.leads import gated
from contentfeed.leads.models import InboundEvent, Lead, Touch
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import service as suggestions

FORM = {
    "name": "Jane Doe",
    "email": "Jane.Doe@Acme.example",
    "company": "Acme",
    "job_title": "CTO",
    "consent": "y",
}


def make_gated(app: Flask, make_content: Callable[..., Content], *, gate: bool = True) -> int:
    item = make_content(title="The cloud whitepaper", summary="Ten lessons from ten migrations.")
    with app.app_context():
        s = db.session()
        asset = Asset(
            public_id=f"gated{item.id}",
            filename="whitepaper.pdf",
            content_type="application/pdf",
            extension="pdf",
            size=4,
            sha256="0" * 64,
        )
        s.add(asset)
        content = s.get(Content, item.id)
        assert content is not None
        content.asset = asset
        content.is_gated = gate
        s.commit()
        return item.id


def count(app: Flask, model: type[object]) -> int:
    with app.app_context():
        return db.session().scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_gated_page_shows_the_form(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    response = client.get(f"/g/{content_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The cloud whitepaper" in html
    assert "Ten lessons from ten migrations." in html
    assert 'name="email"' in html
    assert gated.CONSENT_TEXT in html
    assert "Leave this empty" in html
    assert 'tabindex="-1"' in html and 'autocomplete="off"' in html
    # What LinkedIn's preview reads when a seller shares a link that leads here.
    assert '<meta property="og:title" content="The cloud whitepaper">' in html
    assert '<meta property="og:description" content="Ten lessons from ten migrations.">' in html
    base = config.settings_of(app).public_base_url
    assert f'<meta property="og:url" content="{base}/g/{content_id}">' in html


def test_submission_becomes_an_attributed_lead_and_starts_the_download(
    app: Flask,
    client: FlaskClient,
    make_content: Callable[..., Content],
    make_user: Callable[..., User],
) -> None:
    content_id = make_gated(app, make_content)
    seller = make_user("seller", name="Sam Seller")
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(hours=1),
        )
        s.commit()
        code = s.scalars(sa.select(TrackedLink.code)).one()
    visit = client.get(f"/r/{code}", headers={"User-Agent": "Mozilla/5.0 Chrome/131.0"})
    assert visit.status_code in (301, 302, 303, 307)
    # The seller's link leads to the form, not straight to the file.
    target = urlsplit(visit.headers["Location"])
    assert target.path == f"/g/{content_id}"
    assert ("utm_content", code) in parse_qsl(target.query)
    response = client.post(f"/g/{content_id}", data=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    # The thank-you page with its signed download, not the file's public address.
    assert urlsplit(response.headers["Location"]).path.startswith(f"/g/{content_id}/thanks/")
    with app.app_context():
        s = db.session()
        [lead] = s.scalars(sa.select(Lead)).all()
        assert lead.email == "jane.doe@acme.example"
        assert (lead.first_name, lead.last_name) == ("Jane", "Doe")
        assert lead.consent is True and lead.consent_text == gated.CONSENT_TEXT
        [touch] = s.scalars(sa.select(Touch)).all()
        assert touch.seller_id == seller.id
        assert touch.content_id == content_id
        [event] = s.scalars(sa.select(InboundEvent)).all()
        assert event.source == f"gated:{content_id}"
        assert event.lead_id == lead.id
        assert len(event.headers["client"]) == 32
        assert "127.0.0.1" not in str(event.headers) + event.body


def test_honeypot_pretends_success_and_stores_nothing(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    response = client.post(f"/g/{content_id}", data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 302
    assert f"/g/{content_id}/thanks/" in response.headers["Location"]
    assert count(app, Lead) == 0
    assert count(app, InboundEvent) == 0


def test_a_flood_from_one_address_is_limited(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    config.override(app, gated_submissions_per_hour=3)  # the gated_submissions_per_hour setting
    for n in range(3):
        response = client.post(f"/g/{content_id}", data={**FORM, "email": f"p{n}@acme.example"})
        assert response.status_code == 302
    response = client.post(f"/g/{content_id}", data={**FORM, "email": "p9@acme.example"})
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert 'name="email"' in response.get_data(as_text=True)
    assert count(app, Lead) == 3
    # another address is not affected
    other = client.post(
        f"/g/{content_id}",
        data={**FORM, "email": "other@acme.example"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert other.status_code == 302


def _error_beside(html: str, field: str, message: str) -> bool:
    start = html.find(f'id="{field}-error"')
    return start != -1 and message in html[start : start + 400]


def test_bad_input_reshows_the_form_with_errors(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    cases = [
        ({**FORM, "email": ""}, "email", "Enter your email address."),
        ({**FORM, "email": "not-an-email"}, "email", "Enter a valid email address"),
        ({k: v for k, v in FORM.items() if k != "consent"}, "consent", "Tick the box"),
    ]
    for data, field, message in cases:
        response = client.post(f"/g/{content_id}", data=data)
        assert response.status_code == 422, (field, response.status_code)
        html = response.get_data(as_text=True)
        assert _error_beside(html, field, message), (field, html)
        assert 'value="Acme"' in html  # what was typed stays
    assert count(app, Lead) == 0


def test_only_live_gated_items_with_a_file_have_a_page(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    open_id = make_gated(app, make_content, gate=False)
    assert client.get(f"/g/{open_id}").status_code == 404
    assert client.post(f"/g/{open_id}", data=FORM).status_code == 404
    draft = make_content(status="draft")
    assert client.get(f"/g/{draft.id}").status_code == 404
    expired_id = make_gated(app, make_content)
    with app.app_context():
        s = db.session()
        content = s.get(Content, expired_id)
        assert content is not None
        content.expires_at = utcnow() - timedelta(days=1)
        s.commit()
    assert client.get(f"/g/{expired_id}").status_code == 404
    assert client.get("/g/999999").status_code == 404
    assert count(app, Lead) == 0


def test_marketer_toggles_gated(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_content: Callable[..., Content],
) -> None:
    content_id = make_gated(app, make_content, gate=False)
    marketer = client_as("marketer")
    response = marketer.post(f"/library/{content_id}/gated")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/library/{content_id}")
    with app.app_context():
        content = db.session().get(Content, content_id)
        assert content is not None and content.is_gated
    assert marketer.post(f"/library/{content_id}/gated").status_code == 302
    with app.app_context():
        content = db.session().get(Content, content_id)
        assert content is not None and not content.is_gated
    without_file = make_content()
    marketer.post(f"/library/{without_file.id}/gated")
    with app.app_context():
        content = db.session().get(Content, without_file.id)
        assert content is not None and not content.is_gated


def test_a_form_the_intake_refuses_keeps_its_failed_raw_event_though_the_page_says_422(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    # The form takes a 200-character name; the intake keeps first names to 120.
    response = client.post(f"/g/{content_id}", data={**FORM, "name": "A" * 150 + " Doe"})
    assert response.status_code == 422
    assert count(app, Lead) == 0
    with app.app_context():
        events = db.session().scalars(sa.select(InboundEvent)).all()
        assert [(e.source, e.status.value, e.attempts) for e in events] == [
            (gated.source_of(content_id), "failed", 1)
        ]
        assert "first_name" in events[0].error
        assert events[0].next_attempt_at is None  # the same fields cannot do better
