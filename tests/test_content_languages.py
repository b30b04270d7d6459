"""Content in the seller's language: each variant has a language, a seller lists several.

A seller is suggested an item only when a variant is in one of their languages, and gets the
variant in the first of them that has one; English is no stand-in for everyone. The forms and
the API ask each variant's language; the library shows what an item covers and whom it misses.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import SellerProfile, User
from contentfeed.content.models import Content, PostVariant
from contentfeed.suggestions import service
from contentfeed.suggestions.models import Suggestion
from tests.conftest import sign_in

FRIDAY_NOON_UTC = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EN_POST = "Read this: {{ content.title }} {{ link }}"
DE_POST = "Lesen Sie das: {{ content.title }} {{ link }}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def fill(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        settings = service.feed_settings(config.settings_of(app))
        service.fill_feeds(s, settings, now=FRIDAY_NOON_UTC, seed=1)
        s.commit()


def seller_with(make_user: Callable[..., User], app: Flask, *languages: str, **fields: Any) -> User:
    """A seller with these languages (the first preferred), old enough for a whole week."""
    seller = make_user("seller", posts_per_week=7, weekdays=list(range(7)), **fields)
    with app.app_context():
        s = db.session()
        user = s.get(User, seller.id)
        assert user is not None and user.seller_profile is not None
        user.seller_profile.languages = list(languages)
        user.created_at = FRIDAY_NOON_UTC - timedelta(days=30)
        s.commit()
    return seller


def posts_of(app: Flask, seller: User) -> dict[str, str]:
    """Map each item's title to the language of the variant the seller was given."""
    with app.app_context():
        s = db.session()
        rows = s.execute(
            sa.select(Content.title, PostVariant.language)
            .join(Suggestion, Suggestion.content_id == Content.id)
            .join(PostVariant, PostVariant.id == Suggestion.variant_id)
            .where(Suggestion.seller_id == seller.id)
        )
        return {title: language for title, language in rows}


def test_each_seller_gets_the_variant_in_their_first_language_that_has_one(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(title="Both", language="en", variants=((EN_POST, "en"), (DE_POST, "de")))
    make_content(title="English only", language="en", variants=((EN_POST, "en"),))
    lena = seller_with(make_user, app, "de")
    camille = seller_with(make_user, app, "fr", "de")
    sam = seller_with(make_user, app, "en")
    jonas = seller_with(make_user, app, "de", "en")
    fill(app)
    # A German seller gets the German variant; English is not a fallback for her.
    assert posts_of(app, lena) == {"Both": "de"}
    # No French variant: the next of her languages that has one.
    assert posts_of(app, camille) == {"Both": "de"}
    assert posts_of(app, sam) == {"Both": "en", "English only": "en"}
    # German first, then English: the German variant of both-language items.
    assert posts_of(app, jonas) == {"Both": "de", "English only": "en"}


def test_the_variant_form_asks_the_language_and_refuses_none(
    app: Flask, client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft", language="en")
    client = client_as("marketer")
    page = client.get(f"/library/{item.id}").get_data(as_text=True)
    new_select = re.search(r'<select id="new-variant-language".*?</select>', page, re.S)
    assert new_select is not None
    assert '<option value="" selected>Choose…</option>' in new_select.group(0)

    refused = client.post(f"/library/{item.id}/variants", data={"body": DE_POST})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    error = re.search(r'id="new-variant-language-error">(.*?)</div>', html, re.S)
    assert error is not None
    assert "Choose the language this variant is written in." in text_of(error.group(1))
    assert DE_POST in unescape(html)  # the text typed is kept

    client.post("/language", data={"locale": "de"})
    german = client.post(f"/library/{item.id}/variants", data={"body": DE_POST, "language": ""})
    assert german.status_code == 422
    assert "Wählen Sie die Sprache, in der diese Variante geschrieben ist." in text_of(
        german.get_data(as_text=True)
    )

    added = client.post(f"/library/{item.id}/variants", data={"body": DE_POST, "language": "de"})
    assert added.status_code == 302
    with app.app_context():
        variants = db.session().scalars(sa.select(PostVariant)).all()
        assert [(v.body, v.language) for v in variants][-1] == (DE_POST, "de")


@pytest.mark.parametrize(
    ("accept", "message"),
    [
        ("en", "Choose the language this variant is written in."),
        ("de", "Wählen Sie die Sprache, in der diese Variante geschrieben ist."),
    ],
)
def test_the_api_refuses_a_variant_without_language(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
    accept: str,
    message: str,
) -> None:
    item = make_content(status="draft")
    token = make_token(make_user("marketer"), "read", "content:write")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": accept}
    url = f"/api/v1/content/{item.id}/variants"
    refused = client.post(url, json={"body": EN_POST}, headers=headers)
    assert refused.status_code == 422
    assert message in str(refused.get_json()["fields"]["language"])
    made = client.post(url, json={"body": DE_POST, "language": "DE"}, headers=headers)
    assert made.status_code == 201
    assert made.get_json()["language"] == "de"
    listed = client.get(f"/api/v1/content/{item.id}", headers=headers).get_json()
    assert listed["languages"] == ["de", "en"]


def test_the_item_page_names_targeted_sellers_it_cannot_reach(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    make_team: Callable[..., Any],
    make_content: Callable[..., Content],
) -> None:
    dach = make_team("BD DACH")
    nordics = make_team("Nordics")
    seller_with(make_user, app, "fr", name="Camille Laurent", team_id=dach.id)
    seller_with(make_user, app, "de", "en", name="Jonas Weber", team_id=dach.id)
    seller_with(make_user, app, "sv", name="Astrid Lindqvist", team_id=nordics.id)  # not meant
    item = make_content(title="DACH only", target_team_ids=[dach.id], variants=((DE_POST, "de"),))
    page = text_of(client_as("marketer").get(f"/library/{item.id}").get_data(as_text=True))
    assert "Post languages DE" in page
    assert "1 targeted seller gets no variant in their language: Camille Laurent (fr)." in page
    assert "Astrid Lindqvist (" not in page and "Jonas Weber (" not in page


def test_the_library_shows_and_filters_by_the_languages_items_cover(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    make_content(title="Both", variants=((EN_POST, "en"), (DE_POST, "de")))
    make_content(title="English only", variants=((EN_POST, "en"),))
    client = client_as("marketer")
    html = client.get("/library?status=all").get_data(as_text=True)
    cells = [
        text_of(c).strip() for c in re.findall(r"data-languages>(.*?)</span></td>", html, re.S)
    ]
    assert sorted(cells) == ["DE EN", "EN"]
    german = text_of(client.get("/library?status=all&language=de").get_data(as_text=True))
    assert "Both" in german and "English only" not in german


def test_sellers_list_their_languages_in_order_on_the_profile_and_in_the_csv(
    app: Flask, client_as: Callable[[str], FlaskClient], make_user: Callable[..., User]
) -> None:
    seller = make_user("seller", email="lena@example.com")
    client = sign_in(app.test_client(), seller)
    client.post("/language", data={"locale": "en"})
    form = {
        "title": "",
        "region": "DACH",
        "language": "de",
        "language_2": "en",
        "language_3": "",
        "topics": "",
        "posts_per_week": "3",
        "weekdays": ["0", "1"],
        "timezone": "",
        "linkedin_url": "",
        "linkedin_connections": "0",
        "notification_channel": "email",
        "notification_target": "",
    }
    assert client.post("/profile", data=form).status_code == 302

    admin = client_as("admin")
    sheet = 'email,name,languages\njonas@example.com,Jonas Weber,"fr, de"\n'
    response = admin.post(
        "/admin/sellers/import",
        data={"file": (io.BytesIO(sheet.encode()), "sellers.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, text_of(response.get_data(as_text=True))[:1000]
    refused = admin.post(
        "/admin/sellers/import",
        data={"file": (io.BytesIO(b"email,name,languages\nx@example.com,X,deutsch!\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert "isn't a language code" in text_of(refused.get_data(as_text=True))
    with app.app_context():
        s = db.session()
        languages = dict(
            s.execute(sa.select(User.email, SellerProfile.languages).join(SellerProfile.user)).all()
        )
    assert languages["lena@example.com"] == ["de", "en"]
    assert languages["jonas@example.com"] == ["fr", "de"]
    assert "x@example.com" not in languages


def test_the_api_reads_and_sets_a_sellers_languages_in_order(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    seller = make_user("seller")
    headers = {"Authorization": f"Bearer {make_token(make_user('admin'), 'read', 'admin')}"}
    url = f"/api/v1/users/{seller.id}/seller-profile"
    profile = client.get(url, headers=headers).get_json()
    assert profile["languages"] == ["en"]
    changed = client.put(url, json={**profile, "languages": ["FR", "de", "fr"]}, headers=headers)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["languages"] == ["fr", "de"]
    refused = client.put(url, json={**profile, "languages": []}, headers=headers)
    assert refused.status_code == 422
    assert "at least one language" in str(refused.get_json()["fields"]["languages"])
    sellers = client.get("/api/v1/sellers", headers=headers).get_json()["items"]
    assert [(s["language"], s["languages"]) for s in sellers] == [("fr", ["fr", "de"])]


def test_a_profile_language_outside_the_table_is_kept_when_the_seller_saves(
    app: Flask, make_user: Callable[..., User]
) -> None:
    seller = seller_with(make_user, app, "pt", "en")
    client = sign_in(app.test_client(), seller)
    page = client.get("/profile").get_data(as_text=True)
    assert '<option selected value="pt">' in page or 'value="pt" selected' in page
    form = {
        "region": "",
        "language": "pt",
        "language_2": "en",
        "language_3": "",
        "posts_per_week": "3",
        "weekdays": ["0"],
        "linkedin_connections": "0",
        "notification_channel": "email",
    }
    assert client.post("/profile", data=form).status_code == 302
    with app.app_context():
        user = db.session().get(User, seller.id)
        assert user is not None and user.seller_profile is not None
        assert user.seller_profile.languages == ["pt", "en"]


def test_languages_after_the_third_survive_a_save_of_the_profile_form(
    app: Flask, make_user: Callable[..., User]
) -> None:
    # The form shows three languages; a fourth set through the API or the CSV is not lost
    # when the seller changes their first language on the page.
    seller = seller_with(make_user, app, "de", "en", "fr", "it")
    client = sign_in(app.test_client(), seller)
    form = {
        "region": "",
        "language": "en",
        "language_2": "de",
        "language_3": "fr",
        "posts_per_week": "3",
        "weekdays": ["0"],
        "linkedin_connections": "0",
        "notification_channel": "email",
    }
    assert client.post("/profile", data=form).status_code == 302
    with app.app_context():
        user = db.session().get(User, seller.id)
        assert user is not None and user.seller_profile is not None
        assert user.seller_profile.languages == ["en", "de", "fr", "it"]


def test_a_german_marketer_reads_language_names_in_german_on_the_item_page(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    item = make_content(title="Zweisprachig", variants=((EN_POST, "en"), (DE_POST, "de")))
    marketer = client_as("marketer")
    marketer.post("/language", data={"locale": "de"})
    html = marketer.get(f"/library/{item.id}").get_data(as_text=True)
    assert '<option selected value="de">Deutsch</option>' in html or (
        'value="de" selected>Deutsch<' in html
    )
    assert "Sprache von Titel und Beschreibung Englisch" in text_of(html)
    assert ">German<" not in html and ">English<" not in html
