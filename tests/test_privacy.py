"""Personal data: export everything about one person; erase it, keeping anonymous counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.leads import privacy
from contentfeed.leads.models import InboundEvent, Lead, Touch
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import service as suggestions
from tests.test_webhook import make_secret, post_signed

EMAIL = "Jane.Doe@Acme.example"


def lead_with_touch(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> int:
    """Post one signed lead carrying a seller's code; return the lead id."""
    make_content(title="Zero-downtime migrations")
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
    secret = make_secret(app)
    response = post_signed(
        client,
        secret,
        {
            "email": EMAIL,
            "first_name": "Jane",
            "last_name": "Doe",
            "company": "Acme",
            "job_title": "CTO",
            "phone": "+49 30 1234567",
            "consent": True,
            "consent_text": "privacy-v3",
            "utm_content": code,
            "landing_url": "https://example.com/whitepaper?utm_content=" + code,
            "newsletter": "weekly",
        },
    )
    assert response.status_code == 202, response.json
    lead_id: int = response.json["lead_id"]
    return lead_id


def test_export_returns_the_persons_lead_touch_and_event(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    lead_id = lead_with_touch(app, client, make_user, make_content)
    with app.app_context():
        data = privacy.export_person(db.session(), "  JANE.doe@acme.example ")
    json.dumps(data)  # plain JSON-able data
    [lead] = data["leads"]
    assert lead["id"] == lead_id
    assert lead["email"] == "jane.doe@acme.example"
    assert lead["company"] == "Acme"
    assert lead["consent"] is True and lead["consent_text"] == "privacy-v3"
    assert lead["extra"] == {"newsletter": "weekly"}
    [touch] = data["touches"]
    assert touch["seller"] == "Sam Seller"
    assert touch["content"] == "Zero-downtime migrations"
    assert touch["touched_at"]
    [event] = data["inbound_events"]
    assert event["lead_id"] == lead_id
    assert EMAIL in event["body"]
    assert event["received_at"] and event["status"] == "processed"


def test_erase_blanks_the_person_and_keeps_the_counts(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    lead_id = lead_with_touch(app, client, make_user, make_content)
    with app.app_context():
        s = db.session()
        report = privacy.erase_person(s, EMAIL, actor=None)
        s.commit()
    assert (report.leads, report.events) == (1, 1)
    assert report.summary() == (
        "1 lead erased, 1 raw event blanked, 1 open lead closed and taken out of the queue"
    )
    with app.app_context():
        s = db.session()
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead)) == 1
        lead = s.get(Lead, lead_id)
        assert lead is not None
        assert lead.email == f"erased-{lead_id}@erased.invalid"
        assert (lead.first_name, lead.last_name, lead.company, lead.job_title) == ("",) * 4
        assert (lead.phone, lead.consent_text, lead.landing_url, lead.referrer) == ("",) * 4
        assert lead.extra == {}
        assert lead.erased_at is not None
        # Closed, so it leaves every queue; still a lead in the counts.
        assert (lead.status.value, lead.disqualify_reason) == ("disqualified", "erased")
        assert lead.closed_at is not None
        [touch] = s.scalars(sa.select(Touch)).all()
        assert touch.lead_id == lead_id and touch.seller_id is not None
        assert sum(touch.credits.values()) > 0
        [event] = s.scalars(sa.select(InboundEvent)).all()
        assert event.body == "" and event.headers == {}
        assert event.lead_id == lead_id
        again = privacy.export_person(s, EMAIL)
    assert again["leads"] == [] and again["touches"] == [] and again["inbound_events"] == []
    assert "acme" not in json.dumps(again).replace(EMAIL.lower(), "").lower()


def test_only_admins_open_the_privacy_page(
    app: Flask, client: FlaskClient, client_as: Callable[[str], FlaskClient]
) -> None:
    anonymous = client.get("/admin/privacy")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("marketer", "seller", "contributor"):
        assert client_as(role).get("/admin/privacy").status_code == 403
    page = client_as("admin").get("/admin/privacy")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Export (JSON download)" in html and "Erase" in html and "data-confirm" in html


def test_privacy_page_exports_and_erases(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    client_as: Callable[[str], FlaskClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead_with_touch(app, client, make_user, make_content)
    admin = client_as("admin")
    export = admin.post("/admin/privacy", data={"email": EMAIL, "action": "export"})
    assert export.status_code == 200
    assert export.mimetype == "application/json"
    assert "attachment" in export.headers["Content-Disposition"]
    assert export.json is not None and len(export.json["leads"]) == 1
    unconfirmed = admin.post("/admin/privacy", data={"email": EMAIL, "action": "erase"})
    assert unconfirmed.status_code == 422
    assert "Tick this to confirm" in unconfirmed.get_data(as_text=True)
    erased = admin.post(
        "/admin/privacy",
        data={"email": EMAIL, "action": "erase", "confirm": "y"},
        follow_redirects=True,
    )
    assert erased.status_code == 200
    assert "1 lead erased" in erased.get_data(as_text=True)
    assert EMAIL.lower() not in caplog.text.lower()
    with app.app_context():
        email = db.session().scalar(sa.select(Lead.email))
        assert email is not None and email.endswith("@erased.invalid")


def test_privacy_page_refuses_what_the_api_refuses(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    client_as: Callable[[str], FlaskClient],
) -> None:
    # The page parses the same model as the API: an address without "@" is refused, not
    # searched for.
    lead_with_touch(app, client, make_user, make_content)
    admin = client_as("admin")
    for action in ("export", "erase"):
        data = {"email": "not an address", "action": action, "confirm": "y"}
        refused = admin.post("/admin/privacy", data=data)
        assert refused.status_code == 422, action
        assert "like name@company.com" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(sa.select(Lead.erased_at)) is None
