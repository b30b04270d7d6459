"""The share kit: "Post on LinkedIn" opens LinkedIn's composer with the post filled in (or,
chosen by the company or the seller, the share dialog), the card asks "Posted it?" on
return, and a variant may put its link into a first comment."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import SellerProfile, User
from contentfeed.content.models import Content, ContentStatus, PostVariant
from contentfeed.content.templating import (
    ContentView,
    TemplateRefused,
    VariantCheck,
    check_variant,
)
from contentfeed.db import utcnow
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion
from contentfeed.suggestions.sharing import Composer, chosen_composer, composer_url, is_prefilled
from tests.conftest import sign_in

LINK = "https://go.example.com/r/abc123"
COMPOSER = "https://www.linkedin.com/feed/?shareActive=true&text="
OFFSITE = "https://www.linkedin.com/sharing/share-offsite/?url="


# --- the composer URL ----------------------------------------------------------------------


def test_the_composer_url_carries_line_breaks_emoji_and_hashtags_intact() -> None:
    text = f"Launch day 🚀\n\nRead it: {LINK}?a=1&b=2 #cloud #DevOps\r\nZoë"
    url = composer_url(text, LINK, Composer.PREFILL)
    assert url.startswith(COMPOSER)
    encoded = url.removeprefix(COMPOSER)
    assert "%0A%0ARead" in encoded  # line breaks as %0A (a \r\n too, never %0D)
    assert "%0D" not in encoded
    assert "%23cloud%20%23DevOps" in encoded  # "#" would end the address: %23
    assert "%F0%9F%9A%80" in encoded  # the rocket, as its UTF-8 bytes
    assert "%26b%3D2" in encoded  # the link's own query does not leak into LinkedIn's
    assert not re.search(r"[^A-Za-z0-9%._~-]", encoded)  # nothing left unencoded
    # LinkedIn reads back exactly the post (its line breaks normalised).
    assert parse_qs(urlsplit(url).query)["text"] == [text.replace("\r\n", "\n")]
    assert parse_qs(urlsplit(url).query)["shareActive"] == ["true"]
    assert is_prefilled(url)


def test_the_composer_takes_3000_characters_and_a_longer_post_falls_back_to_the_link() -> None:
    longest = "x" * 2999 + "🚀"
    assert len(longest) == 3000
    url = composer_url(longest, LINK, Composer.PREFILL)
    assert unquote(url.removeprefix(COMPOSER)) == longest
    too_long = longest + "!"
    url = composer_url(too_long, LINK, Composer.PREFILL)
    assert url == OFFSITE + "https%3A%2F%2Fgo.example.com%2Fr%2Fabc123"
    assert not is_prefilled(url)


def test_share_offsite_carries_only_the_link_and_no_link_opens_the_empty_composer() -> None:
    assert composer_url("Hello #x", LINK, Composer.SHARE_OFFSITE) == (
        OFFSITE + "https%3A%2F%2Fgo.example.com%2Fr%2Fabc123"
    )
    assert (
        composer_url("", "", Composer.PREFILL) == "https://www.linkedin.com/feed/?shareActive=true"
    )
    assert composer_url("x" * 3001, "", Composer.PREFILL) == (
        "https://www.linkedin.com/feed/?shareActive=true"
    )


def test_the_sellers_choice_wins_over_the_companys() -> None:
    assert chosen_composer("", "prefill") is Composer.PREFILL
    assert chosen_composer("", "share-offsite") is Composer.SHARE_OFFSITE
    assert chosen_composer("share-offsite", "prefill") is Composer.SHARE_OFFSITE
    assert chosen_composer("prefill", "share-offsite") is Composer.PREFILL
    assert chosen_composer("junk", "junk") is Composer.PREFILL


# --- the feed and the API ------------------------------------------------------------------


def suggest(app: Flask, seller: User) -> Suggestion:
    with app.app_context():
        s = db.session()
        suggestions.fill_feeds(
            s,
            suggestions.feed_settings(config.settings_of(app)),
            only=[seller.id],
            ignore_cadence=True,
            seed=1,
            now=utcnow() - timedelta(minutes=5),
        )
        s.commit()
        return s.scalars(sa.select(Suggestion).where(Suggestion.seller_id == seller.id)).one()


def share_href(page: str, suggestion_id: int) -> str:
    card = page[page.index(f'id="suggestion-{suggestion_id}"') :]
    match = re.search(r'<a class="btn btn-primary share-btn" href="([^"]+)"', card)
    assert match, "no Post on LinkedIn button"
    return html.unescape(match.group(1))


def test_the_feed_card_posts_on_linkedin_with_the_text_filled_in_and_asks_on_return(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content(variants=("Big news 🎉\n{{ content.title }} {{ link }} #cloud",), title="Q3")
    seller = make_user("seller", name="Sam Seller")
    sg = suggest(app, seller)
    page = sign_in(app.test_client(), seller).get("/feed").get_data(as_text=True)
    href = share_href(page, sg.id)
    assert href.startswith(COMPOSER)
    assert parse_qs(urlsplit(href).query)["text"] == [sg.rendered_text]
    assert "%0A" in href and "%23cloud" in href
    assert ">Post on LinkedIn <" in page
    assert 'data-share-copy="#post-' in page  # the script copies the post on the way
    assert "Opens LinkedIn with your post filled in." in page
    # The return prompt is on the page, hidden until the seller comes back to the tab, with
    # the same Mark posted form as the card's own button, which stays for pages without JS.
    prompt = page[page.index(f'id="share-return-{sg.id}"') :]
    prompt = prompt[: prompt.index("</div>\n    </div>")]
    assert " hidden>" in prompt.split("\n")[0]
    assert "Posted it?" in prompt and "Not now" in prompt
    assert f'action="/feed/{sg.id}/posted"' in prompt
    assert page.count(f'action="/feed/{sg.id}/posted"') == 2
    assert "First comment" not in page


def test_the_company_setting_and_the_sellers_choice_fall_back_to_share_offsite(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content()
    seller = make_user("seller")
    sg = suggest(app, seller)
    client = sign_in(app.test_client(), seller)
    config.override(app, suggestions={"linkedin_composer": "share-offsite"})
    page = client.get("/feed").get_data(as_text=True)
    assert share_href(page, sg.id).startswith(OFFSITE + "http%3A%2F%2F")
    assert "Opens LinkedIn and copies your post: paste it into the post box." in page
    # The seller chooses the composer on their profile, over the company's setting.
    profile_page = client.get("/profile").get_data(as_text=True)
    assert "“Post on LinkedIn” opens" in profile_page
    with app.app_context():
        profile = (
            db.session()
            .scalars(sa.select(SellerProfile).where(SellerProfile.user_id == seller.id))
            .one()
        )
        profile.linkedin_composer = "prefill"
        db.session().commit()
    assert share_href(client.get("/feed").get_data(as_text=True), sg.id).startswith(COMPOSER)


def test_a_seller_chooses_the_share_dialog_on_their_profile(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    make_content()
    seller = make_user("seller")
    sg = suggest(app, seller)
    client = sign_in(app.test_client(), seller)
    form = profile_form(client)
    response = client.post("/profile", data={**form, "linkedin_composer": "share-offsite"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert share_href(client.get("/feed").get_data(as_text=True), sg.id).startswith(OFFSITE)
    page = client.get("/profile").get_data(as_text=True)
    assert '<option selected value="share-offsite">' in page or (
        'value="share-offsite" selected' in page
    )
    refused = client.post("/profile", data={**form, "linkedin_composer": "fax"})
    assert refused.status_code == 422
    assert share_href(client.get("/feed").get_data(as_text=True), sg.id).startswith(OFFSITE)


def profile_form(client: FlaskClient) -> dict[str, str | list[str]]:
    """The profile form's fields as the page fills them."""
    page = client.get("/profile").get_data(as_text=True)
    data: dict[str, str | list[str]] = {}
    for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page):
        data[name] = html.unescape(value)
    for name, value in re.findall(r'<input[^>]*value="([^"]*)"[^>]*name="(\w+)"', page):
        data.setdefault(value, html.unescape(name))
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)" selected', body
        )
        data[name] = chosen.group(1) if chosen else ""
    days = re.findall(r'name="weekdays"[^>]*value="(\d)"[^>]*checked', page)
    data["weekdays"] = days or ["0"]
    data.pop("is_paused", None)
    return data


def test_the_api_names_the_composer_url_like_the_page(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
) -> None:
    make_content(variants=("Line one\nline two #tag {{ link }}",))
    seller = make_user("seller")
    sg = suggest(app, seller)
    token = make_token(seller, "read")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    got = client.get(f"/api/v1/suggestions/{sg.id}", headers=headers).get_json()
    page = sign_in(app.test_client(), seller).get("/feed").get_data(as_text=True)
    assert got["composer_url"] == share_href(page, sg.id)
    assert got["composer_url"].startswith(COMPOSER)
    assert got["first_comment"] == ""
    config.override(app, suggestions={"linkedin_composer": "share-offsite"})
    listed = client.get("/api/v1/suggestions", headers=headers).get_json()
    assert listed["items"][0]["composer_url"] == OFFSITE + got["link"].replace(":", "%3A").replace(
        "/", "%2F"
    )


# --- the first comment ---------------------------------------------------------------------

SAMPLE = ContentView(title="Q3 report", summary="", url="https://example.com/q3")


def check(body: str, comment: str, blocked: tuple[str, ...] = ()) -> VariantCheck:
    return check_variant(
        body,
        content=SAMPLE,
        link=LINK,
        disclosure="#employee",
        blocked_words=list(blocked),
        first_comment=comment,
    )


def test_a_first_comment_takes_the_link_and_the_post_then_carries_none() -> None:
    done = check("{{ seller.first_name }} on {{ content.title }} #data", "Read it: {{ link }}")
    assert done.rendered == "Alexandra on Q3 report #data\n\n#employee"  # disclosure: the post
    assert done.comment == f"Read it: {LINK}"
    assert not any("{{ link }}" in w for w in done.warnings)  # the link is tracked
    assert check("Post {{ link }}", "").comment == ""
    assert check("Post {{ link }}", "Thoughts welcome, {{ seller.first_name }}").comment == (
        "Thoughts welcome, Alexandra"
    )
    assert any("{{ link }}" in w for w in check("No link here", "Nor here").warnings)


def test_the_link_goes_in_exactly_one_part_and_the_comment_has_the_posts_limits() -> None:
    with pytest.raises(TemplateRefused) as both:
        check("Post {{ link }}", "Link: {{ link }}")
    assert "not both" in both.value.message and "first_comment" in both.value.fields
    with pytest.raises(TemplateRefused) as long:
        check("Post", "{{ link }} " + "x" * 1250)
    assert "LinkedIn allows 1,250 in a comment" in long.value.message
    assert "first_comment" in long.value.fields
    with pytest.raises(TemplateRefused) as blocked:
        check("Post", "Guaranteed gains {{ link }}", blocked=("guaranteed",))
    assert "first_comment" in blocked.value.fields
    with pytest.raises(TemplateRefused) as outside:
        check("Post", "{{ ''.__class__.__mro__ }}")
    assert outside.value.message.startswith("First comment:")
    assert "first_comment" in outside.value.fields
    with pytest.raises(TemplateRefused) as unknown:
        check("Post", "{{ seller.salary }} {{ link }}")
    assert "first_comment" in unknown.value.fields


def test_a_variant_with_a_first_comment_reaches_the_feed_and_the_api(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
) -> None:
    config.override(app, library={"four_eyes": False})
    item = make_content(status="draft", variants=(), title="Q3 report")
    marketer = sign_in(app.test_client(), make_user("marketer"))
    both = marketer.post(
        f"/library/{item.id}/variants",
        data={"body": "New: {{ link }}", "first_comment": "Here: {{ link }}", "language": "en"},
    )
    assert both.status_code == 422
    assert "not both" in html.unescape(both.get_data(as_text=True))
    assert 'id="new-variant-comment"' in both.get_data(as_text=True)
    added = marketer.post(
        f"/library/{item.id}/variants",
        data={
            "body": "Our Q3 numbers are out 📊\n#data",
            "first_comment": "The report: {{ link }}",
            "language": "en",
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:3000]
    page = html.unescape(marketer.get(f"/library/{item.id}").get_data(as_text=True))
    assert "The report: {{ link }}" in page  # kept in the form to edit
    with app.app_context():
        live = db.session().get(Content, item.id)
        assert live is not None
        live.status = ContentStatus.APPROVED
        live.approved_at = utcnow()
        db.session().commit()

    seller = make_user("seller")
    sg = suggest(app, seller)
    assert "/r/" not in sg.rendered_text
    assert sg.rendered_comment.startswith("The report: http") and "/r/" in sg.rendered_comment
    feed = sign_in(app.test_client(), seller).get("/feed").get_data(as_text=True)
    assert "First comment" in feed
    assert f'<pre class="post-text post-text--comment" id="comment-{sg.id}"' in feed
    assert html.escape(sg.rendered_comment) in feed
    href = share_href(feed, sg.id)
    assert parse_qs(urlsplit(href).query)["text"] == [sg.rendered_text]  # no link in the post
    assert "Then add the first comment under your post." in feed
    prompt = feed[feed.index(f'id="share-return-{sg.id}"') :]
    assert prompt.index("Copy comment") < prompt.index("Not now")
    assert f'data-copy-target="#comment-{sg.id}"' in prompt

    token = make_token(seller, "read")
    got = app.test_client().get(
        f"/api/v1/suggestions/{sg.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert got.get_json()["first_comment"] == sg.rendered_comment
    assert got.get_json()["composer_url"] == href


def test_the_api_takes_a_first_comment_and_refuses_the_link_twice(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
    make_token: Callable[..., str],
) -> None:
    config.override(app, library={"four_eyes": False})
    item = make_content(status="draft", variants=())
    token = make_token(make_user("marketer"), "read", "content:write")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    url = f"/api/v1/content/{item.id}/variants"
    refused = client.post(
        url,
        headers=headers,
        json={"body": "A {{ link }}", "first_comment": "B {{ link }}", "language": "en"},
    )
    assert refused.status_code == 422
    assert "first_comment" in refused.get_json()["fields"]
    added = client.post(
        url, headers=headers, json={"body": "A", "first_comment": "B {{ link }}", "language": "en"}
    )
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["first_comment"] == "B {{ link }}"
    assert added.get_json()["rendered_comment_sample"].startswith("B http")
    listed = client.get(url, headers=headers).get_json()
    assert listed["items"][0]["first_comment"] == "B {{ link }}"


def test_a_changed_first_comment_of_an_approved_item_waits_for_review(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="approved", variants=("Read this {{ link }}",))
    variant_id = item.variants[0].id
    author = sign_in(app.test_client(), make_user("marketer"))
    proposed = author.post(
        f"/library/{item.id}/variants/{variant_id}",
        data={"body": "Read this", "first_comment": "{{ link }}", "language": "en"},
    )
    assert proposed.status_code == 302, proposed.get_data(as_text=True)[:3000]
    with app.app_context():
        variant = db.session().get(PostVariant, variant_id)
        assert variant is not None and variant.first_comment == ""  # sellers keep the live one
    reviewer = sign_in(app.test_client(), make_user("marketer"))
    page = html.unescape(reviewer.get(f"/library/{item.id}").get_data(as_text=True))
    assert "First comment of variant 1" in page
    assert reviewer.post(f"/library/{item.id}/change/approve").status_code == 302
    with app.app_context():
        variant = db.session().get(PostVariant, variant_id)
        assert variant is not None
        assert (variant.body, variant.first_comment) == ("Read this", "{{ link }}")


def test_the_import_reads_first_comments_and_the_export_writes_them_back(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    from tests.test_import import export, report_rows, run

    rows = [
        {
            "title": "Commented",
            "url": "https://example.com/commented",
            "language": "en",
            "variant_1": "No link in the post #data",
            "variant_1_comment": "Read it: {{ link }}",
        },
        {
            "title": "Twice",
            "url": "https://example.com/twice",
            "language": "en",
            "variant_1": "Post {{ link }}",
            "variant_1_comment": "Again {{ link }}",
        },
        {
            "title": "Orphan",
            "url": "https://example.com/orphan",
            "language": "en",
            "variant_2_comment": "{{ link }}",
        },
    ]
    header = ["title", "url", "language", "variant_1", "variant_1_comment", "variant_2_comment"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    client = client_as("marketer")
    batch_id, _progress = run(client, "comments.csv", buffer.getvalue())
    report = report_rows(client, batch_id)
    assert report[2]["outcome"] != "refused", report[2]
    assert report[3]["reasons"].startswith("variant_1_comment — Put {{ link }} in the post")
    assert report[4]["reasons"].startswith("variant_2_comment — a first comment needs its variant")
    with app.app_context():
        variant = db.session().scalars(sa.select(PostVariant)).one()
        assert (variant.body, variant.first_comment) == (
            "No link in the post #data",
            "Read it: {{ link }}",
        )
    exported = export(client)
    assert exported[0]["variant_1_comment"] == "Read it: {{ link }}"
    assert exported[0]["variant_2_comment"] == ""
