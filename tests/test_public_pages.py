"""What German law and practice expect on public pages: the company's name, logo, imprint and
privacy links; the consent text per language and versioned, kept with each lead; a thank-you
page with a signed, expiring download; optional double opt-in; the CRM hears of the consent."""

from __future__ import annotations

import email
import logging
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from contentfeed import config, db
from contentfeed.config import DEFAULT_CONSENT_TEXTS, Settings, public_page_problems
from contentfeed.content.models import Content
from contentfeed.leads import gated
from contentfeed.leads.models import Lead
from contentfeed.routing import service as routing
from contentfeed.routing.models import OutboxMessage
from tests import test_notifications
from tests.test_gated import FORM, make_gated

smtp_server = test_notifications.smtp_server  # a real SMTP server (aiosmtpd) per test

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}
COMPANY = {
    "name": "Muster Software GmbH",
    "logo_url": "https://www.muster.example/logo.svg",
    "imprint_url": "https://www.muster.example/impressum",
    "privacy_url": "https://www.muster.example/datenschutz",
}
# The gated page's and thank-you page's English, none of which a German visitor may see.
ENGLISH = [
    "Work email",
    "Job title",
    "Download now",
    "Get the download",
    "Tell us who you are",
    "Privacy policy",
    "Imprint",
    "privacy policy",
    "I agree that my details",
    "Skip to main content",
    "Thank you",
    "Your download is ready",
    "The link works for",
    "Content enablement for B2B teams",
    ">contentfeed<",
    "· contentfeed</title>",
]


def with_company(app: Flask, **consent: object) -> None:
    config.override(app, company=COMPANY, consent=consent)


def with_file(app: Flask, content_id: int) -> None:
    uploads = Path(config.settings_of(app).library.upload_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / f"gated{content_id}.pdf").write_bytes(b"%PDF-1.4 ten lessons")


def fetch(client: FlaskClient, url: str) -> int:
    """Return the status of a GET, its file closed."""
    response = client.get(url)
    response.close()
    return response.status_code


def english_left(html: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in html]


def download_link(html: str) -> str:
    [link] = re.findall(r'href="(/g/\d+/download/[^"]+)"', html)
    return link


def only_lead(app: Flask) -> Lead:
    with app.app_context():
        s = db.session()
        [lead] = s.scalars(sa.select(Lead)).all()
        s.expunge(lead)
        return lead


def test_the_gated_page_speaks_german_with_the_company_and_its_legal_links(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    with_company(app)
    content_id = make_gated(app, make_content)
    response = client.get(f"/g/{content_id}", headers=GERMAN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="de"' in html
    assert english_left(html) == []
    assert "· Muster Software GmbH</title>" in html
    assert '<img src="https://www.muster.example/logo.svg" alt="Muster Software GmbH"' in html
    assert '<a href="https://www.muster.example/impressum">Impressum</a>' in html
    assert '<a href="https://www.muster.example/datenschutz">Datenschutzerklärung</a>' in html
    assert DEFAULT_CONSENT_TEXTS["de"] in html
    for german in ("Geschäftliche E-Mail-Adresse", "Jetzt herunterladen", "Zum Download"):
        assert german in html
    # English visitors read the English consent text and links.
    english = client.get(f"/g/{content_id}", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert '<html lang="en"' in text and DEFAULT_CONSENT_TEXTS["en"] in text
    assert ">Imprint</a>" in text and ">Privacy policy</a>" in text


def test_a_german_submission_keeps_the_consent_version_and_shows_the_thank_you_page(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    with_company(app)
    content_id = make_gated(app, make_content)
    with_file(app, content_id)
    response = client.post(f"/g/{content_id}", data=FORM, headers=GERMAN)
    assert response.status_code == 302
    lead = only_lead(app)
    assert (lead.consent, lead.consent_version, lead.consent_locale) == (True, "1", "de")
    assert lead.consent_text == DEFAULT_CONSENT_TEXTS["de"]
    assert lead.consent_state == "given"  # no double opt-in configured

    thanks = client.get(response.headers["Location"], headers=GERMAN)
    assert thanks.status_code == 200
    html = thanks.get_data(as_text=True)
    assert '<html lang="de"' in html and english_left(html) == []
    assert "Vielen Dank!" in html and "Ihr Download steht bereit." in html
    assert "Der Link funktioniert 24 Stunden lang." in html
    assert "Muster Software GmbH" in html and ">Impressum</a>" in html
    assert thanks.headers["Cache-Control"] == "private, no-store"
    file = client.get(download_link(html))
    assert file.status_code == 200
    assert file.data == b"%PDF-1.4 ten lessons"
    assert file.mimetype == "application/pdf"
    file.close()


def test_a_new_consent_version_does_not_rewrite_earlier_leads(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    client.post(f"/g/{content_id}", data=FORM, headers=GERMAN)
    texts = {"en": "Version two, English.", "de": "Version zwei, deutsch."}
    config.override(app, consent={"version": "2026-12", "texts": texts})
    assert "Version zwei, deutsch." in client.get(f"/g/{content_id}", headers=GERMAN).text
    client.post(f"/g/{content_id}", data={**FORM, "email": "max@acme.example"})
    with app.app_context():
        leads = db.session().scalars(sa.select(Lead).order_by(Lead.id)).all()
        assert [(x.consent_version, x.consent_locale, x.consent_text) for x in leads] == [
            ("1", "de", DEFAULT_CONSENT_TEXTS["de"]),
            ("2026-12", "en", "Version two, English."),
        ]


def test_the_file_needs_the_form_a_valid_signature_and_a_fresh_link(
    app: Flask,
    client: FlaskClient,
    client_as: Callable[[str], FlaskClient],
    make_content: Callable[..., Content],
) -> None:
    content_id = make_gated(app, make_content)
    with_file(app, content_id)
    secret = config.settings_of(app).secret_key
    # The file's plain public address sends a visitor to the form.
    plain = client.get(f"/files/gated{content_id}/whitepaper.pdf")
    assert plain.status_code == 302
    assert plain.headers["Location"].endswith(f"/g/{content_id}")
    # Staff signed in still open it from the library.
    assert fetch(client_as("marketer"), f"/files/gated{content_id}/whitepaper.pdf") == 200

    good = gated.download_token(content_id, secret=secret)
    assert fetch(client, f"/g/{content_id}/download/{good}/whitepaper.pdf") == 200

    foreign = gated.download_token(content_id, secret="another install")
    confirming = gated.confirm_token(content_id, secret=secret)  # right key, wrong kind
    refused = [
        f"/g/{content_id}/download/{good}x/whitepaper.pdf",  # tampered
        f"/g/{content_id}/download/{foreign}/whitepaper.pdf",
        f"/g/{content_id}/download/{confirming}/whitepaper.pdf",
        f"/g/{content_id}/download/{good}/other.pdf",
        f"/g/{content_id}/thanks/nonsense",
    ]
    for url in refused:
        response = client.get(url, headers=GERMAN)
        assert response.status_code == 403, url
        html = response.get_data(as_text=True)
        assert "Dieser Link ist ungültig." in html and "%PDF" not in html
        assert f'href="/g/{content_id}"' in html  # back to the form for a new link
    other_id = make_gated(app, make_content)
    stolen = client.get(f"/g/{other_id}/download/{good}/whitepaper.pdf")
    assert stolen.status_code == 403  # a link is for its own item only

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 25 * 3600

    old = URLSafeTimedSerializer(secret, salt=gated.DOWNLOAD_SALT, signer=Yesterday)
    token = old.dumps({"c": content_id})
    for url in (
        f"/g/{content_id}/download/{token}/whitepaper.pdf",
        f"/g/{content_id}/thanks/{token}",
    ):
        expired = client.get(url, headers=GERMAN)
        assert expired.status_code == 410, url
        html = expired.get_data(as_text=True)
        assert "Dieser Link ist abgelaufen." in html and "einen neuen Link" in html
        assert '<html lang="de"' in html
    config.override(app, consent={"download_hours": 48})  # a longer window lets it through
    assert fetch(client, f"/g/{content_id}/download/{token}/whitepaper.pdf") == 200


def _mails(inbox: test_notifications.Inbox) -> list[EmailMessage]:
    return [
        email.message_from_bytes(m.content, policy=default_policy)  # type: ignore[misc]
        for m in inbox.messages
    ]


def test_double_opt_in_mails_in_german_records_the_confirmation_and_tells_the_crm(
    app: Flask,
    client: FlaskClient,
    make_content: Callable[..., Content],
    smtp_server: tuple[test_notifications.Inbox, int],
) -> None:
    inbox, port = smtp_server
    config.override(
        app,
        consent_double_opt_in=True,  # the flat name the issue uses
        company=COMPANY,
        email={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "username": "mailer",
            "password": "s3cret",
        },
        public_base_url="https://content.muster.example",
    )
    assert config.settings_of(app).consent.double_opt_in is True
    content_id = make_gated(app, make_content)
    response = client.post(f"/g/{content_id}", data=FORM, headers=GERMAN)
    assert response.status_code == 302 and "confirm=sent" in response.headers["Location"]
    thanks = client.get(response.headers["Location"], headers=GERMAN).get_data(as_text=True)
    assert "Wir haben Ihnen eine E-Mail gesendet" in thanks
    lead = only_lead(app)
    assert lead.consent_state == "pending" and lead.consent_confirm_requested_at is not None

    [mail] = _mails(inbox)
    assert mail["To"] == "jane.doe@acme.example"
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Einwilligung: Muster Software GmbH"
    body = mail.get_content()
    assert "Guten Tag Jane Doe," in body
    assert "„The cloud whitepaper“" in body
    assert DEFAULT_CONSENT_TEXTS["de"] in body
    assert "https://www.muster.example/datenschutz" in body
    assert "Please" not in body and "thank you" not in body
    [link] = re.findall(r"https://content\.muster\.example(/g/confirm/\S+)", body)

    with app.app_context():  # the lead is routed before the person confirms
        s = db.session()
        routing.route_pending(s, config.settings_of(app).routing)
        s.commit()
        [routed] = s.scalars(sa.select(OutboxMessage)).all()
        data = routed.payload["data"]
        assert (data["consent_state"], data["consent_version"], data["consent_locale"]) == (
            "pending",
            "1",
            "de",
        )
        assert data["consent_given_at"] and data["consent_confirmed_at"] is None

    confirmed = client.get(link, headers=GERMAN)
    assert confirmed.status_code == 200
    html = confirmed.get_data(as_text=True)
    assert "Vielen Dank, Ihre Einwilligung ist bestätigt." in html
    assert "Muster Software GmbH darf Sie nun" in html and '<html lang="de"' in html
    assert client.get(link).status_code == 200  # a second click changes nothing
    lead = only_lead(app)
    assert lead.consent_state == "confirmed" and lead.consent_confirmed_at is not None
    with app.app_context():
        messages = db.session().scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.event_type for m in messages] == ["lead.routed", "lead.consent_confirmed"]
        data = messages[1].payload["data"]
        assert data["consent_state"] == "confirmed"
        assert data["consent_confirmed_at"] == lead.consent_confirmed_at.isoformat()
        assert data["consent_version"] == "1"

    forged = client.get("/g/confirm/not-a-token", headers=GERMAN)
    assert forged.status_code == 403
    assert "Dieser Link ist ungültig." in forged.get_data(as_text=True)


def test_double_opt_in_without_a_mail_server_keeps_the_lead_and_says_so(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    config.override(app, consent={"double_opt_in": True})
    content_id = make_gated(app, make_content)
    response = client.post(f"/g/{content_id}", data=FORM, headers=GERMAN)
    assert "confirm=failed" in response.headers["Location"]
    page = client.get(response.headers["Location"], headers=GERMAN).get_data(as_text=True)
    assert "Ihr Download funktioniert trotzdem." in page
    assert only_lead(app).consent_state == "pending"


def test_unknown_and_preview_links_carry_the_company_chrome(
    app: Flask, client: FlaskClient
) -> None:
    with_company(app)
    unknown = client.get("/r/zzzzzzzz", headers=GERMAN)
    assert unknown.status_code == 404
    html = unknown.get_data(as_text=True)
    assert '<html lang="de"' in html and "Dieser Link führt nirgendwohin" in html
    assert "Muster Software GmbH" in html and ">Impressum</a>" in html
    assert ">Datenschutzerklärung</a>" in html and english_left(html) == []
    preview = client.get("/r/preview", headers=GERMAN)
    html = preview.get_data(as_text=True)
    assert "Dies ist ein Vorschau-Link" in html and "Muster Software GmbH" in html
    assert ">Impressum</a>" in html and english_left(html) == []


def test_without_company_settings_pages_fall_back_and_start_up_warns(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    problems = public_page_problems(Settings(public_base_url="https://content.acme.example"))
    assert len(problems) == 3
    assert any("imprint_url" in p and "Impressum" in p for p in problems)
    assert any("privacy_url" in p for p in problems)
    assert public_page_problems(config.override(app, company=COMPANY)) == []
    config.override(app, company={"name": "", "imprint_url": "", "privacy_url": ""})
    html = client.get("/r/zzzzzzzz").get_data(as_text=True)
    host = config.settings_of(app).company_name
    assert host and f"© {host}" in html
    assert 'href=""' not in html and ">Imprint</a>" not in html
    with caplog.at_level(logging.WARNING, logger="contentfeed.config"):
        config.load(Flask("start-up"), {"instance_path": str(tmp_path / "i"), "secret_key": "k"})
    assert "[company] imprint_url is empty" in caplog.text
