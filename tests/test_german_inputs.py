"""German (and other) inputs: field names, country names, consent words and phone numbers at
the lead webhook and the gated form; a field mapping per webhook secret; German dates and
numbers in imports (issue #15, item 4)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from contentfeed import db, sheets
from contentfeed.accounts.models import SellerProfile, User
from contentfeed.content.models import Content
from contentfeed.leads import intake, signing
from contentfeed.leads.models import EventStatus, InboundEvent, Lead, WebhookSecret
from tests.test_api import bearer
from tests.test_gated import make_gated
from tests.test_import import by_url, run
from tests.test_sellers import upload as upload_sellers
from tests.test_webhook import FORM, make_secret, post_signed

# A German website form's lead, as it arrives.
GERMAN_FORM = {
    "Vorname": "Jörg",
    "Nachname": "Müller",
    "E-Mail": "Joerg.Mueller@Beispiel.de",
    "Firma": "Beispiel GmbH",
    "Jobtitel": "Vertriebsleiter",
    "Land": "Deutschland",
    "Telefon": "+49 (0)171 2345678",
    "Einwilligung": "ja",
    "Nachricht": "Bitte rufen Sie mich an.",
}


def html_lang(html: str) -> str:
    found = re.search(r'<html[^>]*\blang="([^"]+)"', html)
    assert found, html[:200]
    return found.group(1)


def main_of(html: str) -> str:
    """The page's own part (the navigation is translated with the layout)."""
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def only_lead(app: Flask) -> Lead:
    with app.app_context():
        leads = db.session().scalars(sa.select(Lead)).all()
        assert len(leads) == 1
        return leads[0]


def secret_id_of(app: Flask, name: str) -> int:
    with app.app_context():
        found = db.session().scalar(sa.select(WebhookSecret.id).where(WebhookSecret.name == name))
        assert found is not None
        return found


# --- the webhook -------------------------------------------------------------------------


def test_a_german_form_payload_becomes_a_lead(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    response = post_signed(client, secret, GERMAN_FORM)
    assert response.status_code == 202, response.get_data(as_text=True)
    lead = only_lead(app)
    assert (lead.first_name, lead.last_name) == ("Jörg", "Müller")
    assert lead.email == "joerg.mueller@beispiel.de"
    assert (lead.company, lead.job_title) == ("Beispiel GmbH", "Vertriebsleiter")
    assert lead.country == "DE"
    assert lead.consent is True
    assert lead.phone == "+491712345678"
    assert lead.extra == {"message": "Bitte rufen Sie mich an."}


def test_a_german_form_encoded_payload_in_other_spellings_becomes_a_lead(
    app: Flask, client: FlaskClient
) -> None:
    secret = make_secret(app)
    body = (
        "VORNAME=Anna&nach_name=Huber&e_mail=anna%40beispiel.at&unternehmen=Alpen+AG"
        "&position=CTO&land=%C3%96sterreich&telefon=0664+1234567&EINWILLIGUNG=Ja"
    )
    response = post_signed(client, secret, body, content_type=FORM)
    assert response.status_code == 202, response.get_data(as_text=True)
    lead = only_lead(app)
    assert (lead.first_name, lead.last_name, lead.email) == ("Anna", "Huber", "anna@beispiel.at")
    assert (lead.company, lead.job_title, lead.country) == ("Alpen AG", "CTO", "AT")
    # A number without a country code is read in the lead's country.
    assert lead.phone == "+436641234567"
    assert lead.consent is True


def test_our_own_field_name_wins_over_a_german_one(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    payload = {"email": "ours@example.com", "E-Mail": "theirs@example.com", "land": "Schweiz"}
    assert post_signed(client, secret, payload).status_code == 202
    lead = only_lead(app)
    assert lead.email == "ours@example.com" and lead.country == "CH"
    assert lead.extra == {"E-Mail": "theirs@example.com"}


def test_a_phone_that_cannot_be_read_is_kept_as_typed(app: Flask, client: FlaskClient) -> None:
    secret = make_secret(app)
    payload = {"email": "a@example.com", "telefon": "abends nach 18 Uhr", "land": "DE"}
    assert post_signed(client, secret, payload).status_code == 202
    assert only_lead(app).phone == "abends nach 18 Uhr"


def test_an_unknown_country_or_consent_word_is_refused_naming_the_field(
    app: Flask, client: FlaskClient
) -> None:
    secret = make_secret(app)
    refused = post_signed(client, secret, {"email": "a@example.com", "land": "Atlantis"})
    assert refused.status_code == 422
    assert "country" in refused.json["fields"]
    refused = post_signed(client, secret, {"email": "a@example.com", "einwilligung": "vielleicht"})
    assert refused.status_code == 422
    assert "consent" in refused.json["fields"]


# --- countries, consent and phones, as tables -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Deutschland", "DE"),
        ("deutschland ", "DE"),
        ("Österreich", "AT"),
        ("Oesterreich", "AT"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Svizzera", "CH"),
        ("Vereinigtes Königreich", "GB"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Germany", "DE"),
        ("Allemagne", "DE"),
        ("Niemcy", "DE"),
        ("Niederlande", "NL"),
        ("Frankreich", "FR"),
        ("Vereinigte Staaten", "US"),
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Saksa", "DE"),  # Finnish: found in the table of every locale
    ],
)
def test_country_names_in_many_languages_become_iso_codes(name: str, code: str) -> None:
    assert intake.country_code(name) == code


def test_an_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown country"):
        intake.country_code("Atlantis")
    assert intake.country_code("") == ""


@pytest.mark.parametrize(
    ("word", "answer"),
    [
        *((w, True) for w in ("true", "TRUE", "yes", "Ja", "ja", "J", "1", "on", "oui", "y")),
        *((w, False) for w in ("false", "no", "Nein", "nein", "0", "off", "Non", "")),
    ],
)
def test_consent_words(word: str, answer: bool) -> None:
    lead = intake.parse_lead({"email": "a@example.com", "einwilligung": word})
    assert lead.consent is answer


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("+49 (0)171 2345678", "", "+491712345678"),
        ("+49 (0)171 2345678", "AT", "+491712345678"),
        ("0171 2345678", "DE", "+491712345678"),
        ("030 12345678", "DE", "+493012345678"),
        ("044 668 18 00", "CH", "+41446681800"),
        ("0171 2345678", "", "0171 2345678"),  # no country, no code: kept as typed
        ("12", "DE", "12"),
        ("bitte nicht anrufen", "DE", "bitte nicht anrufen"),
    ],
)
def test_phone_numbers_become_e164_or_stay_as_typed(typed: str, country: str, stored: str) -> None:
    assert intake.phone_number(typed, country) == stored


def test_field_names_are_read_whatever_their_case_and_spacing() -> None:
    for name in ("Vorname", "VORNAME", "vor_name", "Vor-Name", "first name", "First_Name"):
        assert intake.our_field(name) == "first_name", name
    for name in ("E-Mail", "e_mail", "EMAIL", "E-Mail-Adresse"):
        assert intake.our_field(name) == "email", name
    assert intake.our_field("Firma") == intake.our_field("Unternehmen") == "company"
    assert intake.our_field("Position") == intake.our_field("Jobtitel") == "job_title"
    assert intake.our_field("Anrede") is None


# --- the gated form ----------------------------------------------------------------------


def test_the_gated_form_takes_german_field_names(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    response = client.post(
        f"/g/{content_id}",
        data={
            "vorname": "Jörg",
            "nachname": "Müller",
            "E-Mail": "joerg@beispiel.de",
            "Firma": "Beispiel GmbH",
            "Position": "Einkauf",
            "Einwilligung": "ja",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    lead = only_lead(app)
    assert (lead.first_name, lead.last_name, lead.email) == ("Jörg", "Müller", "joerg@beispiel.de")
    assert (lead.company, lead.job_title, lead.consent) == ("Beispiel GmbH", "Einkauf", True)


def test_the_gated_form_refuses_a_no_for_consent(
    app: Flask, client: FlaskClient, make_content: Callable[..., Content]
) -> None:
    content_id = make_gated(app, make_content)
    data = {"vorname": "Jörg", "E-Mail": "joerg@beispiel.de", "Einwilligung": "nein"}
    assert client.post(f"/g/{content_id}", data=data).status_code == 422
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_gated_form_data_keeps_the_forms_own_names_first() -> None:
    posted = MultiDict(
        [("name", "Own Name"), ("Vorname", "Jörg"), ("email", "own@example.com"), ("x", "1")]
    )
    data = intake.gated_form_data(posted)
    assert data.getlist("name") == ["Own Name"]
    assert data.getlist("email") == ["own@example.com"]
    assert data["x"] == "1"


# --- a field mapping per secret ------------------------------------------------------------

SOURCE_FORM = {
    "Anrede": "Frau",
    "Vorname": "Eva",
    "Nachname": "Keller",
    "Kontakt-Mail": "eva.keller@beispiel.de",
    "Firmenname": "Keller & Co. KG",
    "Bundesland": "Bayern",
}


def test_a_mapping_applies_to_the_deliveries_its_secret_signs_only(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    mapped = make_secret(app, "Agentur-Formulare")
    other = make_secret(app, "Website")
    admin = make_user("admin")
    token = make_token(admin, "read", "leads:write")
    secret_id = secret_id_of(app, "Agentur-Formulare")
    mapping = {"Kontakt-Mail": "email", "firmenname": "company", "Anrede": "salutation"}
    mapping["Bundesland"] = ""
    response = client.put(
        f"/api/v1/webhook-secrets/{secret_id}/field-mapping",
        json={"fields": mapping},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["field_mapping"] == {
        "Kontakt-Mail": "email",
        "firmenname": "company",
        "Anrede": "salutation",
        "Bundesland": "",
    }
    listed = client.get("/api/v1/webhook-secrets", headers=bearer(token)).json["items"]
    assert {item["name"]: item["field_mapping"] != {} for item in listed} == {
        "Agentur-Formulare": True,
        "Website": False,
    }
    assert "secret" not in json.dumps(listed).replace("secret_id", "")  # never the value

    assert post_signed(client, mapped, SOURCE_FORM).status_code == 202
    lead = only_lead(app)
    assert (lead.email, lead.company) == ("eva.keller@beispiel.de", "Keller & Co. KG")
    assert (lead.first_name, lead.last_name) == ("Eva", "Keller")
    assert lead.extra == {"salutation": "Frau"}  # Bundesland is left out

    # The same form signed with the other secret is read without the mapping: no email.
    refused = post_signed(client, other, SOURCE_FORM)
    assert refused.status_code == 422
    assert "email" in refused.json["fields"]


def test_the_mapping_api_refuses_bad_mappings_and_non_admins(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
) -> None:
    make_secret(app, "Website")
    secret_id = secret_id_of(app, "Website")
    token = make_token(make_user("admin"), "read", "leads:write")
    url = f"/api/v1/webhook-secrets/{secret_id}/field-mapping"
    twice = client.put(
        url, json={"fields": {"Firma": "company", "FIRMA": "company"}}, headers=bearer(token)
    )
    assert twice.status_code == 422
    long = client.put(url, json={"fields": {"a": "b" * 101}}, headers=bearer(token))
    assert long.status_code == 422
    missing = client.put(
        "/api/v1/webhook-secrets/999999/field-mapping", json={"fields": {}}, headers=bearer(token)
    )
    assert missing.status_code == 404
    marketer = make_token(make_user("marketer"), "read", "leads:write")
    assert client.put(url, json={"fields": {}}, headers=bearer(marketer)).status_code == 403
    assert client.get("/api/v1/webhook-secrets", headers=bearer(marketer)).status_code == 403


def test_a_failed_delivery_succeeds_when_processed_again_after_its_mapping_is_fixed(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    secret = make_secret(app, "Agentur-Formulare")
    secret_id = secret_id_of(app, "Agentur-Formulare")
    refused = post_signed(app.test_client(), secret, SOURCE_FORM)
    assert refused.status_code == 422
    with app.app_context():
        event = db.session().scalars(sa.select(InboundEvent)).one()
        assert event.status is EventStatus.FAILED and event.secret_id == secret_id
        event_id = event.id
    # The failed deliveries page names the secret and the fields that were sent.
    page = admin.get("/admin/lead-events").get_data(as_text=True)
    assert "Agentur-Formulare" in page and "Kontakt-Mail" in page

    text = "Kontakt-Mail = email\nFirmenname = company\nAnrede = salutation\nBundesland = -\n"
    saved = admin.post(
        f"/admin/webhook-secrets/{secret_id}/mapping",
        data={f"s{secret_id}-mapping": text},
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert "is saved" in saved.get_data(as_text=True)
    with app.app_context():
        stored = db.session().get(WebhookSecret, secret_id)
        assert stored is not None
        assert stored.field_mapping == {
            "Kontakt-Mail": "email",
            "Firmenname": "company",
            "Anrede": "salutation",
            "Bundesland": "",
        }
    # The page shows the mapping as it was written.
    assert "Kontakt-Mail = email" in admin.get("/admin/webhook-secrets").get_data(as_text=True)

    done = admin.post(f"/admin/lead-events/{event_id}/reprocess", follow_redirects=True)
    assert "is processed" in done.get_data(as_text=True)
    lead = only_lead(app)
    assert (lead.email, lead.company) == ("eva.keller@beispiel.de", "Keller & Co. KG")
    assert lead.extra == {"salutation": "Frau"}
    with app.app_context():
        event = db.session().get(InboundEvent, event_id)
        assert event is not None and event.status is EventStatus.PROCESSED


def test_a_mapping_the_page_cannot_read_is_shown_again_with_its_error(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    make_secret(app, "Website")
    secret_id = secret_id_of(app, "Website")
    response = admin.post(
        f"/admin/webhook-secrets/{secret_id}/mapping",
        data={f"s{secret_id}-mapping": "Firmenname company"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 1" in html and "Firmenname company" in html


def test_mapping_text_round_trips() -> None:
    data = signing.parse_mapping_text("# comment\nFirmenname = Firma\n\nBundesland =\nAnrede = -")
    mapping = signing.checked_mapping(data)
    # A German name for one of our fields is stored as ours.
    assert mapping == {"Firmenname": "company", "Bundesland": "", "Anrede": ""}
    assert signing.mapping_text(mapping) == "Firmenname = company\nBundesland = -\nAnrede = -"


# --- the admin pages in German ---------------------------------------------------------------

GERMAN = {"Accept-Language": "de"}


def test_the_secrets_and_failed_deliveries_pages_speak_german(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    admin = client_as("admin")
    secret = make_secret(app, "Website")
    post_signed(app.test_client(), secret, {"Kontakt-Mail": "a@example.com"})
    secrets_page = admin.get("/admin/webhook-secrets", headers=GERMAN).get_data(as_text=True)
    assert html_lang(secrets_page) == "de"
    secrets_page = main_of(secrets_page)
    for english in (
        "Webhook secrets",
        "Create a secret",
        "How to send leads",
        "Last used",
        "Revoke",
        "Field mappings",
        "Save mapping",
        "Our fields",
        "Never",
    ):
        assert f">{english}<" not in secrets_page and f"{english}:" not in secrets_page, english
    assert "Feldzuordnung" in secrets_page and "Zuordnung speichern" in secrets_page

    events_page = admin.get("/admin/lead-events", headers=GERMAN).get_data(as_text=True)
    assert html_lang(events_page) == "de"
    events_page = main_of(events_page)
    for english in (
        "Failed lead deliveries",
        "Process again",
        "Next attempt",
        "Attempts",
        "Fields sent",
        "None planned",
    ):
        assert english not in events_page, english
    assert "Fehlgeschlagene Lead-Zustellungen" in events_page
    assert "Erneut verarbeiten" in events_page


# --- dates and numbers in imports -----------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("31.12.2026", datetime(2026, 12, 31, tzinfo=BERLIN)),
        ("31.12.2026 14:30", datetime(2026, 12, 31, 14, 30, tzinfo=BERLIN)),
        ("31.12.2026, 14:30", datetime(2026, 12, 31, 14, 30, tzinfo=BERLIN)),
        ("31.12.2026 14:30 Uhr", datetime(2026, 12, 31, 14, 30, tzinfo=BERLIN)),
        ("1.2.2026 9:05:30", datetime(2026, 2, 1, 9, 5, 30, tzinfo=BERLIN)),
        ("31.12.26", datetime(2026, 12, 31, tzinfo=BERLIN)),
        ("2026-12-31", datetime(2026, 12, 31, tzinfo=BERLIN)),
        ("2026-12-31T14:30", datetime(2026, 12, 31, 14, 30, tzinfo=BERLIN)),
        ("2026-12-31T14:30:00+00:00", datetime(2026, 12, 31, 14, 30, tzinfo=UTC)),
        ("2026-12-31T14:30Z", datetime(2026, 12, 31, 14, 30, tzinfo=UTC)),
        ("32.12.2026", None),
        ("31.12.2026 25:00", None),
        ("morgen", None),
        ("12/31/2026", None),
    ],
)
def test_dates_as_people_write_them(text: str, moment: datetime | None) -> None:
    assert sheets.parse_moment(text, BERLIN) == moment


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1.234,5", Decimal("1234.5")),
        ("1,234.5", Decimal("1234.5")),
        ("1234,5", Decimal("1234.5")),
        ("0,125", Decimal("0.125")),
        ("1.234.567", Decimal("1234567")),
        ("1.234", Decimal("1234")),
        ("1,234", Decimal("1234")),
        ("12 345", Decimal("12345")),
        ("12\u00a0345,50", Decimal("12345.50")),
        ("12'345.5", Decimal("12345.5")),
        ("-3,5", Decimal("-3.5")),
        ("3", Decimal("3")),
        ("1,2,3", None),
        ("1.23,4", None),
        ("", None),
        ("zwölf", None),
        ("1..2", None),
    ],
)
def test_numbers_with_decimal_commas(text: str, number: Decimal | None) -> None:
    assert sheets.parse_number(text) == number


def test_whole_numbers() -> None:
    assert sheets.parse_whole_number("3,0") == 3
    assert sheets.parse_whole_number("1.234") == 1234
    assert sheets.parse_whole_number("1.234,5") is None


GERMAN_CONTENT_SHEET = (
    "title;URL;priority;starts_at;expires_at;Sprache;variant_1\r\n"
    "Größe zählt;https://example.com/groesse;4,0;01.12.2026 09:30;31.12.2026;de;"
    "Jetzt lesen: {{ link }}\r\n"
    "Nächste Schritte;https://example.com/schritte;2;2026-12-02;31.12.2026 18:00 Uhr;de;"
    "{{ link }}\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_a_semicolon_content_sheet_with_german_dates_and_numbers_imports(
    app: Flask, client_as: Callable[[str], FlaskClient], encoding: str
) -> None:
    client = client_as("marketer")
    _, progress = run(client, "inhalte.csv", GERMAN_CONTENT_SHEET.encode(encoding))
    assert progress["imported"] == 2, progress
    found = by_url(app)
    first, second = found["https://example.com/groesse"], found["https://example.com/schritte"]
    assert first.title == "Größe zählt" and first.priority == 4
    zone = BERLIN  # the importer's zone: the company default for test users
    assert first.starts_at == datetime(2026, 12, 1, 9, 30, tzinfo=zone)
    assert first.expires_at == datetime(2026, 12, 31, tzinfo=zone)
    assert second.starts_at == datetime(2026, 12, 2, tzinfo=zone)
    assert second.expires_at == datetime(2026, 12, 31, 18, 0, tzinfo=zone)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_a_semicolon_sellers_sheet_with_german_numbers_imports(
    app: Flask, client_as: Callable[[str], FlaskClient], encoding: str
) -> None:
    sheet = (
        "E-Mail;Name;linkedin_connections;posts_per_week\r\n"
        "joerg@example.com;Jörg Neumann;1.234;3,0\r\n"
        "anne@example.com;Änne Groß;12 500;2\r\n"
    ).encode(encoding)
    response = upload_sellers(client_as("admin"), sheet)
    assert response.status_code == 200
    with app.app_context():
        s = db.session()
        rows = s.execute(
            sa.select(User.email, User.name, SellerProfile.linkedin_connections)
            .join(SellerProfile, SellerProfile.user_id == User.id)
            .where(User.email.in_(["joerg@example.com", "anne@example.com"]))
            .order_by(User.email)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("anne@example.com", "Änne Groß", 12500),
        ("joerg@example.com", "Jörg Neumann", 1234),
    ]


def test_a_decimal_where_a_whole_count_belongs_is_refused(
    client_as: Callable[[str], FlaskClient],
) -> None:
    sheet = b"email;name;linkedin_connections\r\nx@example.com;X;1.234,5\r\n"
    page = upload_sellers(client_as("admin"), sheet).get_data(as_text=True)
    assert "whole number of connections" in page
