"""Lead pages and API: the list, a lead's story, webhook secrets, failed events, leads API."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db, i18n
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from contentfeed.db import utcnow
from contentfeed.leads import store
from contentfeed.leads.models import EventStatus, InboundEvent, Lead, LeadStatus, WebhookSecret
from contentfeed.links.models import TrackedLink
from contentfeed.suggestions import service as suggestions
from tests.test_api import bearer, check_against_spec
from tests.test_webhook import make_secret, post_signed, spec_of


@pytest.fixture
def seller_lead(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> dict[str, Any]:
    """A lead that came in through the webhook after clicking a seller's tracked link."""
    item = make_content(title="Zero-downtime migrations", campaign="Q4 Cloud Push")
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
    landing = visit.headers["Location"]
    secret = make_secret(app)
    response = post_signed(
        client,
        secret,
        {
            "email": "Jane.Doe@Acme-Widgets.example",
            "first_name": "Jane",
            "last_name": "Doe",
            "job_title": "Head of Platform",
            "company": "Acme Widgets",
            "country": "DE",
            "consent": True,
            "consent_text": "privacy-v3",
            "utm_source": "linkedin",
            "utm_content": code,
            "landing_url": landing,
            "team_size": "50-200",
            "answers": {"tools": ["crm", "erp"]},
        },
    )
    assert response.status_code == 202, response.json
    assert response.json is not None and response.json["attributed"] == 1
    unattributed = post_signed(
        client,
        secret,
        {
            "email": "li.wei@nordbank.example",
            "first_name": "Li",
            "last_name": "Wei",
            "company": "Nordbank",
            "utm_source": "newsletter",
        },
    )
    assert unattributed.status_code == 202
    assert unattributed.json is not None
    with app.app_context():
        s = db.session()
        other = s.get(Lead, unattributed.json["lead_id"])
        assert other is not None
        other.status = LeadStatus.CONTACTED
        s.commit()
    return {
        "lead_id": response.json["lead_id"],
        "other_id": unattributed.json["lead_id"],
        "seller": seller,
        "item": item,
        "secret": secret,
        "code": code,
    }


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


# --- the list ----------------------------------------------------------------------------


def test_list_shows_leads_with_their_seller_and_filters_work(
    seller_lead: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    rep = client_as("marketer")  # reads every lead (a rep reads only their queues' leads)
    page = _text(rep.get("/leads"))
    assert "Jane Doe" in page and "Head of Platform" in page and "Acme Widgets" in page
    assert "Sam Seller · Zero-downtime migrations" in page
    assert "Unattributed · utm_source newsletter" in page
    assert 'href="/leads"' in page  # the navigation shows Leads

    only_attributed = _text(rep.get("/leads?attribution=attributed"))
    assert "Jane Doe" in only_attributed and "Li Wei" not in only_attributed
    only_unattributed = _text(rep.get("/leads?attribution=unattributed"))
    assert "Li Wei" in only_unattributed and "Jane Doe" not in only_unattributed
    by_status = _text(rep.get("/leads?status=contacted"))
    assert "Li Wei" in by_status and "Jane Doe" not in by_status
    search = _text(rep.get("/leads?q=acme"))
    assert "Jane Doe" in search and "Li Wei" not in search
    by_name = _text(rep.get("/leads?q=li+wei"))
    assert "Li Wei" in by_name and "Jane Doe" not in by_name
    none = _text(rep.get("/leads?q=nobody-here"))
    assert "No leads match" in none


def test_list_sorts_by_each_column_newest_first_by_default(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    people = [  # first name, company, status, minutes ago
        ("Cleo", "Zeta Labs", LeadStatus.CONVERTED, 30),
        ("Abe", "Mono Co", LeadStatus.NEW, 10),
        ("Bea", "alpha GmbH", LeadStatus.CONTACTED, 20),
    ]
    with app.app_context():
        s = db.session()
        for first, company, status, ago in people:
            s.add(
                Lead(
                    email=f"{first.lower()}@example.com",
                    email_domain="example.com",
                    first_name=first,
                    company=company,
                    status=status,
                    submitted_at=utcnow() - timedelta(minutes=ago),
                )
            )
        s.commit()
    marketer = client_as("marketer")

    def order(url: str) -> list[str]:
        page = marketer.get(url).get_data(as_text=True)
        return re.findall(r'href="/leads/\d+">(\w+)</a>', page)

    assert order("/leads") == ["Abe", "Bea", "Cleo"]  # newest first
    assert order("/leads?sort=submitted&dir=asc") == ["Cleo", "Bea", "Abe"]
    assert order("/leads?sort=name&dir=asc") == ["Abe", "Bea", "Cleo"]
    assert order("/leads?sort=name&dir=desc") == ["Cleo", "Bea", "Abe"]
    assert order("/leads?sort=company&dir=asc") == ["Bea", "Abe", "Cleo"]  # case ignored
    assert order("/leads?sort=status&dir=asc") == ["Abe", "Bea", "Cleo"]  # as the work goes
    assert order("/leads?sort=nonsense") == ["Abe", "Bea", "Cleo"]
    # The headers as a marketer clicks them: When (sorted, newest first) turns to oldest first.
    page = marketer.get("/leads").get_data(as_text=True)
    when = re.search(r'<a href="([^"]+)">When</a>', page)
    assert when is not None
    assert order(html.unescape(when.group(1))) == ["Cleo", "Bea", "Abe"]
    page = marketer.get("/leads?sort=company&dir=asc").get_data(as_text=True)
    assert 'aria-sort="ascending"' in page


def test_empty_list_says_so(client_as: Callable[[str], FlaskClient]) -> None:
    assert "No leads yet" in _text(client_as("marketer").get("/leads"))


def test_list_paginates(app: Flask, client_as: Callable[[str], FlaskClient]) -> None:
    config.override(app, page_size=5)  # the smallest page the setting allows
    with app.app_context():
        s = db.session()
        for n in range(6):
            s.add(
                Lead(
                    email=f"p{n}@example.com",
                    email_domain="example.com",
                    first_name=f"Person{n}",
                    submitted_at=utcnow() - timedelta(minutes=n),
                )
            )
        s.commit()
    admin = client_as("admin")
    first = _text(admin.get("/leads"))
    assert "Person0" in first and "Person4" in first and "Person5" not in first
    second = _text(admin.get("/leads?page=2"))
    assert "Person5" in second and "Person0" not in second


# --- the story ---------------------------------------------------------------------------


def test_detail_tells_the_story(
    app: Flask, seller_lead: dict[str, Any], client_as: Callable[[str], FlaskClient]
) -> None:
    marketer = client_as("marketer")
    page = _text(marketer.get(f"/leads/{seller_lead['lead_id']}"))
    for fragment in (
        "Jane Doe",
        "Head of Platform",
        "Acme Widgets",
        "jane.doe@acme-widgets.example",
        "privacy-v3",
        "Sam Seller",
        "Zero-downtime migrations",
        "Q4 Cloud Push",
        "Clicked",
        "utm_source",
        "linkedin",
        "team_size",
        "50-200",
        "answers / tools",
        "crm, erp",
        "100 %",
        "Last touch",
        "U-shaped (40/20/40)",
        "Reached us",
        "by signed webhook",
    ):
        assert fragment in page, fragment
    assert "{&#34;" not in page and '{"' not in page  # no raw JSON
    item = seller_lead["item"]
    assert f'href="/library/{item.id}"' in page  # staff may open the library item
    with app.app_context():
        lead = db.session().get(Lead, seller_lead["lead_id"])
        assert lead is not None
        clicked = lead.touches[0].touched_at
    # The click time is shown, in the viewer's zone (the company default for test users) and
    # language, formatted on the server.
    with app.test_request_context():
        assert i18n.datetime_text(clicked) in page

    rep = client_as("rep")
    with app.app_context():  # a rep reads the leads they work
        s = db.session()
        held = s.get(Lead, seller_lead["lead_id"])
        assert held is not None
        held.assignee_id = s.scalars(sa.select(User.id).where(User.role == "rep")).one()
        s.commit()
    rep_page = _text(rep.get(f"/leads/{seller_lead['lead_id']}"))
    assert "Zero-downtime migrations" in rep_page
    assert f'href="/library/{item.id}"' not in rep_page  # reps don't use the library

    other = _text(marketer.get(f"/leads/{seller_lead['other_id']}"))
    assert "Unattributed" in other and "newsletter" in other
    assert marketer.get("/leads/999999").status_code == 404


# --- admin: secrets ----------------------------------------------------------------------


def test_secret_is_created_shown_once_and_revoked(
    app: Flask, client: FlaskClient, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    page = _text(admin.get("/admin/webhook-secrets"))
    assert "No secrets yet" in page
    assert "/api/v1/webhooks/leads" in page and "webhook-signature" in page
    assert "contentfeed webhook-secret create" in page

    created = _text(admin.post("/admin/webhook-secrets", data={"name": "Website forms"}))
    value = max(re.findall(r"whsec_[A-Za-z0-9+/=]+", created), key=len)
    assert len(value) > 30 and created.count(value) == 1  # the full value, once
    assert "won't be shown again" in created
    again = _text(admin.get("/admin/webhook-secrets"))
    assert value not in again and "Website forms" in again and value[:12] in again

    assert post_signed(client, value, {"email": "a@example.com"}).status_code == 202
    with app.app_context():
        secret_id = db.session().scalars(sa.select(WebhookSecret.id)).one()
    revoked = admin.post(f"/admin/webhook-secrets/{secret_id}/revoke", follow_redirects=True)
    assert "is revoked" in _text(revoked)
    refused = post_signed(client, value, {"email": "b@example.com"})
    assert refused.status_code == 401

    missing_name = admin.post("/admin/webhook-secrets", data={"name": ""})
    assert missing_name.status_code == 422


# --- admin: failed events ----------------------------------------------------------------


def test_failed_event_is_listed_and_reprocessed_into_a_lead(
    app: Flask,
    client: FlaskClient,
    client_as: Callable[[str], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = make_secret(app)
    real = store.write_lead
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("writing the lead failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "write_lead", flaky)
    response = post_signed(client, secret, {"email": "late@example.com", "first_name": "Late"})
    assert response.json is not None and response.json["status"] == "failed"
    event_id = response.json["event_id"]

    admin = client_as("admin")
    page = _text(admin.get("/admin/lead-events"))
    assert "writing the lead failed" in page and f"#{event_id}" in page and "Failed" in page

    done = admin.post(f"/admin/lead-events/{event_id}/reprocess", follow_redirects=True)
    text = _text(done)
    assert "is processed" in text
    assert "No failed deliveries" in text
    with app.app_context():
        s = db.session()
        event = s.get(InboundEvent, event_id)
        assert event is not None and event.status is EventStatus.PROCESSED
        lead = s.get(Lead, event.lead_id)
        assert lead is not None and lead.email == "late@example.com"

    twice = admin.post(f"/admin/lead-events/{event_id}/reprocess", follow_redirects=True)
    assert "processed already" in _text(twice)


def test_empty_events_page(client_as: Callable[[str], FlaskClient]) -> None:
    assert "No failed deliveries" in _text(client_as("admin").get("/admin/lead-events"))


# --- who may see what --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["seller", "contributor"])
def test_sellers_and_contributors_are_refused(
    seller_lead: dict[str, Any], client_as: Callable[[str], FlaskClient], role: str
) -> None:
    other = client_as(role)
    for path in ("/leads", f"/leads/{seller_lead['lead_id']}", "/admin/webhook-secrets"):
        assert other.get(path).status_code == 403, path
    assert 'href="/leads"' not in other.get("/").get_data(as_text=True)


def test_marketers_and_reps_cannot_manage_secrets_or_events(
    client_as: Callable[[str], FlaskClient],
) -> None:
    for role in ("marketer", "rep"):
        c = client_as(role)
        assert c.get("/admin/webhook-secrets").status_code == 403
        assert c.get("/admin/lead-events").status_code == 403


# --- API ---------------------------------------------------------------------------------


def test_api_lists_and_gets_leads_as_documented(
    client: FlaskClient,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    spec = spec_of(client)
    # A marketer reads every lead (a rep only their queues' leads: tests/test_lead_access.py).
    headers = bearer(make_token(make_user("marketer"), "read"))
    listed = client.get("/api/v1/leads", headers=headers)
    assert listed.status_code == 200, listed.json
    check_against_spec(spec, "/api/v1/leads", "get", 200, listed.json)
    assert listed.json is not None and listed.json["total"] == 2

    seller_id = seller_lead["seller"].id
    filtered = client.get(f"/api/v1/leads?attributed=true&seller_id={seller_id}", headers=headers)
    assert filtered.json is not None
    [item] = filtered.json["items"]
    assert item["id"] == seller_lead["lead_id"]
    assert client.get("/api/v1/leads?attributed=false", headers=headers).json["total"] == 1
    assert client.get("/api/v1/leads?status=contacted", headers=headers).json["total"] == 1
    future = client.get("/api/v1/leads?since=2999-01-01T00:00:00Z", headers=headers)
    assert future.json is not None and future.json["total"] == 0

    bad = client.get("/api/v1/leads?attributed=maybe", headers=headers)
    assert bad.status_code == 422
    check_against_spec(spec, "/api/v1/leads", "get", 422, bad.json)

    one = client.get(f"/api/v1/leads/{seller_lead['lead_id']}", headers=headers)
    assert one.status_code == 200
    check_against_spec(spec, "/api/v1/leads/{lead_id}", "get", 200, one.json)
    body = one.json
    assert body is not None
    [touch] = body["touches"]
    assert touch["seller_name"] == "Sam Seller"
    assert touch["content_title"] == "Zero-downtime migrations"
    assert touch["clicked"] is True
    assert body["credits"]["last_touch"] == [
        {"seller_id": seller_id, "seller_name": "Sam Seller", "share": 1.0}
    ]
    assert body["extra"]["team_size"] == "50-200"

    missing = client.get("/api/v1/leads/999999", headers=headers)
    assert missing.status_code == 404
    check_against_spec(spec, "/api/v1/leads/{lead_id}", "get", 404, missing.json)
    refused = client.get("/api/v1/leads", headers=bearer(make_token(make_user("seller"), "read")))
    assert refused.status_code == 403
    check_against_spec(spec, "/api/v1/leads", "get", 403, refused.json)


def test_the_csv_export_pages_through_every_lead_once_newest_first(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Any],
    make_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contentfeed.leads import api_leads as leads_api

    monkeypatch.setattr(leads_api, "EXPORT_BATCH", 2)  # five leads: three batches
    same = utcnow() - timedelta(hours=1)  # two leads submitted in the same second
    with app.app_context():
        s = db.session()
        for n, at in enumerate([same, same, same - timedelta(minutes=1), same + timedelta(1)]):
            s.add(Lead(email=f"p{n}@example.com", email_domain="example.com", submitted_at=at))
        s.add(Lead(email="p4@example.com", email_domain="example.com", submitted_at=same))
        s.commit()
    headers = bearer(make_token(make_user("marketer"), "read"))
    response = client.get("/api/v1/leads.csv", headers=headers)
    emails = [row["email"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]
    assert emails == [
        "p3@example.com",  # a day later
        "p4@example.com",  # same second: the later id first
        "p1@example.com",
        "p0@example.com",
        "p2@example.com",  # a minute earlier
    ]


def test_api_exports_csv_formula_safe(
    app: Flask,
    client: FlaskClient,
    seller_lead: dict[str, Any],
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    with app.app_context():
        s = db.session()
        s.add(Lead(email="evil@example.com", email_domain="example.com", company="=HYPERLINK(1)"))
        s.commit()
    headers = bearer(make_token(make_user("marketer"), "read"))
    response = client.get("/api/v1/leads.csv", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"  # personal data: no cached copy
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    by_email = {row["email"]: row for row in rows}
    jane = by_email["jane.doe@acme-widgets.example"]
    assert jane["last_touch_seller"] == "Sam Seller"
    assert jane["last_touch_content"] == "Zero-downtime migrations"
    assert jane["last_touch_campaign"] == "Q4 Cloud Push"
    assert by_email["evil@example.com"]["company"] == "'=HYPERLINK(1)"
    assert by_email["li.wei@nordbank.example"]["last_touch_seller"] == ""

    only = client.get("/api/v1/leads.csv?attributed=true", headers=headers)
    assert len(list(csv.DictReader(io.StringIO(only.get_data(as_text=True))))) == 1
    spec = spec_of(client)
    documented = spec["paths"]["/api/v1/leads.csv"]["get"]["responses"]["200"]["content"]
    assert documented == {"text/csv": {"schema": {"type": "string"}}}
    bad = client.get("/api/v1/leads.csv?page=2", headers=headers)  # export has no pages
    assert bad.status_code == 422
    check_against_spec(spec, "/api/v1/leads.csv", "get", 422, bad.json)


# --- the demo's leads read without a contradiction ---------------------------------------


def test_every_demo_lead_tells_its_times_in_the_order_they_happened(app: Flask) -> None:
    from contentfeed import demo
    from contentfeed.leads.timeline import lead_timeline

    with app.app_context():
        s = db.session()
        demo.seed(s)
        s.commit()
        leads = list(s.scalars(sa.select(Lead).order_by(Lead.id)))
        assert leads
        for lead in leads:
            timeline = lead_timeline(s, lead)
            ours = [m for m in timeline.moments if m.key != "submitted"]
            # Every time after the form's own is ours, and each follows the one before.
            assert timeline.submitted_at <= timeline.received_at, lead.id
            assert [m.at for m in ours] == sorted(m.at for m in ours), lead.id
            steps = [timeline.received_at, timeline.routed_at, timeline.claimed_at]
            steps += [timeline.contacted_at, timeline.closed_at]
            known = [at for at in steps if at is not None]
            assert known == sorted(known), (lead.id, steps)
            for touch in lead.touches:
                assert touch.touched_at <= lead.submitted_at, (lead.id, touch.code)
            assert lead.company != "gmail user"
    client = app.test_client()
    client.post("/login", data={"email": demo.demo_email("admin"), "password": demo.DEMO_PASSWORD})
    for lead in leads:
        page = _text(client.get(f"/leads/{lead.id}"))
        assert "came in" not in page, lead.id
        if lead.assignee_id is not None:  # whoever works it is named, not "Nobody yet"
            assert "Nobody yet" not in page, lead.id
