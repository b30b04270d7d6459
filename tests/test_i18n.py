"""The interface's language: which one a page speaks, the switch, the catalogues, and dates and
numbers formatted on the server in the viewer's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import catalogues, db, i18n
from contentfeed.accounts.models import User
from tests.conftest import sign_in


def html_lang(response_text: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', response_text)
    assert found, response_text[:300]
    return found.group(1)


# --- which language a page speaks --------------------------------------------------------


def test_the_browser_language_decides_for_a_visitor(client: FlaskClient) -> None:
    german = client.get("/login", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert html_lang(german.get_data(as_text=True)) == "de"
    assert "Abmelden" not in german.get_data(as_text=True)  # not signed in: no menu
    assert "Zum Inhalt springen" in german.get_data(as_text=True)

    english = client.get("/login", headers={"Accept-Language": "fr-FR,en;q=0.8"})
    assert html_lang(english.get_data(as_text=True)) == "en"
    assert "Skip to main content" in english.get_data(as_text=True)


def test_a_language_nobody_asked_for_falls_back_to_the_configured_default(
    app: Flask, client: FlaskClient
) -> None:
    from contentfeed import config

    def french_visitor() -> str:
        page = client.get("/login", headers={"Accept-Language": "fr"})
        return html_lang(page.get_data(as_text=True))

    assert french_visitor() == "en"
    config.override(app, default_locale="de")
    assert french_visitor() == "de"


def test_the_switch_on_the_login_page_is_remembered_for_the_visitor(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="locale" value="de"' in page
    answer = client.post("/language", data={"locale": "de", "next": "/login"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert i18n.LOCALE_COOKIE in answer.headers.get("Set-Cookie", "")
    # The visitor's choice beats the browser's.
    again = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(again) == "de"


def test_the_switch_only_follows_next_to_this_site(client: FlaskClient) -> None:
    answer = client.post("/language", data={"locale": "de", "next": "https://evil.example/"})
    assert answer.status_code == 302
    assert "evil.example" not in answer.headers["Location"]


def test_an_unknown_language_in_the_switch_is_the_default(client: FlaskClient) -> None:
    answer = client.post("/language", data={"locale": "xx\x00", "next": "/login"})
    assert answer.status_code == 302
    assert html_lang(client.get("/login").get_data(as_text=True)) == "en"


def test_a_signed_in_users_choice_is_kept_with_the_user(
    app: Flask, make_user: Callable[..., User]
) -> None:
    rep = make_user("rep")
    first = sign_in(app.test_client(), rep)
    first.post("/language", data={"locale": "de", "next": "/"})
    with app.app_context():
        assert db.session().get(User, rep.id).locale == "de"
    # Another browser, English by its headers, signs in as the same rep: German.
    other = sign_in(app.test_client(), rep)
    page = other.get("/", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert html_lang(page.get_data(as_text=True)) == "de"
    assert "Abmelden" in page.get_data(as_text=True)


def test_a_german_sellers_profile_language_speaks_german_without_a_choice(
    app: Flask, make_user: Callable[..., User]
) -> None:
    seller = make_user("seller", language="de")
    client = sign_in(app.test_client(), seller)
    page = client.get("/", headers={"Accept-Language": "en-US"}, follow_redirects=True)
    assert html_lang(page.get_data(as_text=True)) == "de"


def test_form_errors_of_wtforms_speak_the_page_language(client: FlaskClient) -> None:
    answer = client.post(
        "/login", data={"email": "", "password": ""}, headers={"Accept-Language": "de"}
    )
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "This field is required" not in text
    assert "Dieses Feld wird benötigt" in text or "erforderlich" in text


# --- dates and numbers on the server ------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "number", "money", "day"),
    [
        ("de", "1.234,5", "1.235\xa0€", "24.11.2026"),
        ("en", "1,234.5", "€1,235", "Nov 24, 2026"),
    ],
)
def test_numbers_money_and_dates_follow_the_locale(
    app: Flask, locale: str, number: str, money: str, day: str
) -> None:
    with app.test_request_context("/"), i18n.speaking(locale):
        assert i18n.number_text(1234.5) == number
        assert i18n.money_text(1234.6) == money
        assert i18n.date_text(date(2026, 11, 24)) == day


def test_relative_times_read_naturally_in_german(app: Flask) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    with app.test_request_context("/"), i18n.speaking("de"):
        assert i18n.relative_text(now - timedelta(minutes=12), now) == "vor 12 Minuten"
        assert i18n.relative_text(now + timedelta(hours=3), now) == "in 3 Stunden"
        assert i18n.relative_text(now - timedelta(seconds=5), now) == "gerade eben"
        # Older than a month: the date, not "vor 3 Monaten".
        assert i18n.when_text(now - timedelta(days=90), now) == "03.09.2026"


def test_moments_are_shown_in_the_viewers_time_zone(
    app: Flask, make_user: Callable[..., User]
) -> None:
    moment = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    with app.test_request_context("/"), i18n.speaking("de"):
        # The company default is Europe/Berlin: 00:30 the next day, summer time.
        assert i18n.datetime_text(moment) == "02.07.2026, 00:30"


# --- the catalogues -----------------------------------------------------------------------


def test_every_text_is_translated_into_german_and_compiled() -> None:
    """Fails when `pybabel extract` finds a text the German catalogue lacks or leaves empty,
    or when messages.mo is older than messages.po: run `contentfeed translations update`,
    translate, then `contentfeed translations compile`."""
    for gap in catalogues.gaps():
        assert not gap.missing, f"{gap.locale}: not in the catalogue: {gap.missing[:10]}"
        assert not gap.untranslated, f"{gap.locale}: untranslated: {gap.untranslated[:10]}"
        assert not gap.fuzzy, f"{gap.locale}: fuzzy: {gap.fuzzy[:10]}"
        assert not gap.stale_compiled, f"{gap.locale}: messages.mo is out of date"


def test_translations_keep_their_placeholders() -> None:
    """A German text that drops or renames %(name)s would fail at run time in German only."""
    pattern = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
    for locale in i18n.LOCALES[1:]:
        for message in catalogues.read_catalogue(locale):
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else list(message.string)
            wanted = {m for m in pattern.findall(ids[-1])}
            for string in strings:
                assert {m for m in pattern.findall(string)} == wanted, (message.id, string)
