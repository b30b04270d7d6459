"""Library pages: adding by address (pre-filled from the page) or by upload, variants and their
live preview, the list's search, filters, sort and pages, the approval workflow, campaigns."""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import config
from contentfeed.accounts.models import User
from contentfeed.content.models import Content
from tests.conftest import make_test_app, sign_in

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ARTICLE = b"""<!doctype html><html><head><title>Fallback title</title>
<meta property="og:title" content="Zero-downtime migrations">
<meta property="og:description" content="Ship schema changes on a Tuesday afternoon.">
<meta property="og:image" content="/cover.png">
<meta property="og:site_name" content="Acme Cloud">
</head><body>The whitepaper.</body></html>"""
# Enough to skip pre-filling, so tests that don't care never fetch a page.
FILLED = {
    "title": "Cloud security checklist",
    "summary": "Twenty checks before the auditors come.",
    "image_url": "https://cdn.example.com/cover.png",
    "kind": "article",
    "campaign_id": "0",
    "language": "en",
    "priority": "3",
}


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/whitepaper":
            status, body, kind = 200, ARTICLE, "text/html; charset=utf-8"
        else:
            status, body, kind = 404, b"<html><title>Not found</title></html>", "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    """A web page with Open Graph tags, served on this machine."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_with(app: Flask, database_url: str, tmp_path: Path) -> Callable[..., Flask]:
    """Build another app on the same database with some settings changed."""

    def build(**overrides: Any) -> Flask:
        return make_test_app(database_url, tmp_path, **overrides)

    return build


def _item_id(response: TestResponse) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    match = re.search(r"/library/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _text(response: TestResponse) -> str:
    """Return the page as a person reads its text (entities such as &#39; decoded)."""
    return html.unescape(response.get_data(as_text=True))


def _field_error(page: str, field: str) -> str:
    """Return the error shown beside a form field (empty when there is none)."""
    match = re.search(rf'id="{field}-error">(.*?)</div>', page, re.DOTALL)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


# --- adding by address, pre-filled from the page ------------------------------------------


def test_marketer_adds_an_item_by_url_and_the_form_prefills_from_the_page(
    app_with: Callable[..., Flask], make_user: Callable[..., User], site: str
) -> None:
    web = app_with(http_allow_private_addresses=True)
    client = sign_in(web.test_client(), make_user("marketer"))

    found = client.get("/library/prefill", query_string={"url": f"{site}/whitepaper"})
    assert found.status_code == 200
    assert found.get_json() == {
        "title": "Zero-downtime migrations",
        "description": "Ship schema changes on a Tuesday afternoon.",
        "image": f"{site}/cover.png",
        "site_name": "Acme Cloud",
        "note": "",
    }

    form = client.get("/library/new")
    assert form.status_code == 200
    assert 'data-prefill-url="/library/prefill"' in _text(form)

    saved = client.post(
        "/library/new",
        data={"url": f"{site}/whitepaper", "kind": "whitepaper", "campaign_id": "0"},
    )
    page = _text(client.get(f"/library/{_item_id(saved)}"))
    assert "Zero-downtime migrations" in page
    assert "Ship schema changes on a Tuesday afternoon." in page
    assert f'src="{site}/cover.png"' in page
    assert "Acme Cloud" in page
    assert "is saved as a draft" in page


def test_prefill_refuses_addresses_that_are_not_web_pages(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("marketer")
    for url in ("file:///etc/passwd", "javascript:alert(1)", "example.com/page", ""):
        response = client.get("/library/prefill", query_string={"url": url})
        assert response.status_code == 422
        assert "https://" in response.get_json()["message"]


def test_an_address_that_cannot_be_read_is_saved_with_a_note(
    app_with: Callable[..., Flask], make_user: Callable[..., User], site: str
) -> None:
    web = app_with(http_allow_private_addresses=True)
    client = sign_in(web.test_client(), make_user("marketer"))
    saved = client.post(
        "/library/new",
        data={"url": f"{site}/gone-for-good", "kind": "article", "campaign_id": "0"},
    )
    page = _text(client.get(f"/library/{_item_id(saved)}"))
    assert "Saved, but couldn" in page and "it answered 404" in page
    assert "Gone for good" in page  # the title falls back to the address


def test_form_errors_appear_beside_their_fields(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("marketer")
    response = client.post(
        "/library/new",
        data={
            **FILLED,
            "url": "https://www.example.com/guide",
            "image_url": "ftp://files.example.com/cover.png",
            "starts_at": "2027-03-10T09:00",
            "expires_at": "2027-03-01T09:00",
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert "full web address" in _field_error(page, "image_url")
    assert "after" in _field_error(page, "expires_at")
    assert _field_error(page, "url") == ""

    nothing = client.post("/library/new", data={**FILLED})
    assert nothing.status_code == 422
    assert "web address or upload a file" in _field_error(_text(nothing), "url")


# --- uploads -----------------------------------------------------------------------------


def test_an_uploaded_pdf_is_stored_and_served_at_its_public_address(
    client_as: Callable[[str], FlaskClient], client: FlaskClient
) -> None:
    marketer = client_as("marketer")
    saved = marketer.post(
        "/library/new",
        data={
            "file": (io.BytesIO(PDF), "Readiness checklist.pdf"),
            "kind": "whitepaper",
            "campaign_id": "0",
            "language": "en",
            "priority": "3",
        },
        content_type="multipart/form-data",
    )
    page = _text(marketer.get(f"/library/{_item_id(saved)}"))
    assert "Readiness_checklist.pdf" in page
    match = re.search(r'href="https?://[^"/]+(/files/[^"/]+/Readiness_checklist\.pdf)"', page)
    assert match, "the item page links the stored file"

    with client.get(match.group(1)) as served:  # anyone may follow a seller's link to it
        assert served.status_code == 200
        assert served.mimetype == "application/pdf"
        assert served.data == PDF


def test_a_text_file_named_pdf_is_refused_beside_the_file_field(
    client_as: Callable[[str], FlaskClient],
) -> None:
    marketer = client_as("marketer")
    response = marketer.post(
        "/library/new",
        data={**FILLED, "file": (io.BytesIO(b"just some notes\n" * 20), "notes.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "isn't a recognised document" in _field_error(_text(response), "file")
    library = _text(marketer.get("/library", query_string={"status": "all"}))
    assert "Your library is empty" in library


# --- variants and their preview ----------------------------------------------------------


def test_variants_are_added_and_previewed_for_a_chosen_seller(
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    item = make_content(status="draft", variants=(), title="Zero-downtime migrations")
    seller = make_user("seller", name="Sam Seller")
    rep = make_user("rep")
    marketer = client_as("marketer")
    first = "{{ seller.first_name }} here: {{ content.title }} {{ link }}"
    second = "Worth five minutes of your week: {{ link }}"
    for body in (first, second):
        response = marketer.post(
            f"/library/{item.id}/variants", data={"body": body, "language": "en"}
        )
        assert response.status_code == 302
    page = _text(marketer.get(f"/library/{item.id}"))
    assert "Variant 1" in page and "Variant 2" in page
    assert "Sam Seller" in page  # offered in "Preview as"
    assert "Alexandra here: Zero-downtime migrations" in page  # the sample seller, server-side

    preview = marketer.post(
        f"/library/{item.id}/preview", json={"body": first, "seller_id": seller.id}
    )
    assert preview.status_code == 200
    answer = preview.get_json()
    assert answer["rendered"].startswith("Sam here: Zero-downtime migrations")
    assert answer["rendered"].endswith("#employee")
    assert answer["length"] == len(answer["rendered"]) and answer["limit"] == 3000
    assert answer["error"] is None and answer["warnings"] == []

    sample = marketer.post(f"/library/{item.id}/preview", json={"body": "Hi", "seller_id": None})
    assert sample.get_json()["rendered"].startswith("Hi")
    assert any("{{ link }}" in w for w in sample.get_json()["warnings"])

    not_a_seller = marketer.post(
        f"/library/{item.id}/preview", json={"body": first, "seller_id": rep.id}
    )
    assert not_a_seller.status_code == 422
    unknown = marketer.post("/library/999999/preview", json={"body": first, "seller_id": None})
    assert unknown.status_code == 404


def test_a_template_reaching_outside_the_sandbox_is_refused_naming_the_line(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft", variants=())
    marketer = client_as("marketer")
    body = "Read this:\n{{ ''.__class__.__mro__ }}"
    response = marketer.post(f"/library/{item.id}/variants", data={"body": body, "language": "en"})
    assert response.status_code == 422
    page = _text(response)
    assert "Line 2:" in _field_error(page, "new-variant-body")
    assert "__class__.__mro__" in page  # the typed text is kept to fix
    preview = marketer.post(f"/library/{item.id}/preview", json={"body": body, "seller_id": None})
    assert preview.status_code == 200
    assert preview.get_json()["error"].startswith("Line 2:")
    assert "Variant 1" not in _text(marketer.get(f"/library/{item.id}"))


def test_a_blocked_word_is_refused_naming_the_word(
    app_with: Callable[..., Flask],
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    web = app_with(compliance_blocked_words=["guarantee"])
    item = make_content(status="draft", variants=("Our results speak for themselves {{ link }}",))
    client = sign_in(web.test_client(), make_user("marketer"))
    variant_id = item.variants[0].id

    added = client.post(
        f"/library/{item.id}/variants",
        data={"body": "We guarantee it {{ link }}", "language": "en"},
    )
    assert added.status_code == 422
    assert "“guarantee” is on the compliance list" in _field_error(_text(added), "new-variant-body")

    edited = client.post(
        f"/library/{item.id}/variants/{variant_id}",
        data={"body": "Guaranteed? We GUARANTEE it", "language": "en"},
    )
    assert edited.status_code == 422
    page = _text(edited)
    assert "guarantee" in _field_error(page, f"variant-body-{variant_id}")
    assert "We GUARANTEE it" in page
    assert "Our results speak" in _text(client.get(f"/library/{item.id}"))  # unchanged


def test_variant_warnings_are_shown_and_the_last_variant_of_an_item_in_use_stays(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="approved")
    marketer = client_as("marketer")
    variant_id = item.variants[0].id
    saved = marketer.post(
        f"/library/{item.id}/variants/{variant_id}",
        data={"body": "No link in this one", "language": "en"},
    )
    assert saved.status_code == 302
    page = _text(marketer.get(saved.headers["Location"]))
    # Four-eyes: the approved item's new text waits for review, checked all the same.
    assert "Saved as a change waiting for review" in page
    assert "clicks on this post can't be tracked" in page

    deleted = marketer.post(f"/library/{item.id}/variants/{variant_id}/delete")
    assert deleted.status_code == 302
    page = _text(marketer.get(deleted.headers["Location"]))
    assert "needs at least one variant" in page
    assert "No link in this one" in page


# --- the list ----------------------------------------------------------------------------


def test_library_search_filters_sort_and_pages(
    app: Flask, client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    config.override(app, page_size=5)
    make_content(title="Kubernetes cost control", topics=["finops"], campaign="Q4 push")
    make_content(title="Datenbanken ohne Ausfall", language="de", kind="whitepaper")
    make_content(title="Summary only", summary="Running Kubernetes at the edge")
    make_content(title="Zero trust", topics=["security", "kubernetes"], kind="video")
    for name in ("Alpha", "Bravo", "Charlie"):
        make_content(title=f"{name} story", kind="case_study", campaign="Stories")
    marketer = client_as("marketer")

    def titles(**args: str) -> list[str]:
        page = _text(marketer.get("/library", query_string=args))
        return re.findall(r'class="table__primary" href="/library/\d+">([^<]+)</a>', page)

    searched = _text(marketer.get("/library", query_string={"q": "kubernetes", "kind": "video"}))
    assert 'href="/library/export.csv?q=kubernetes&kind=video"' in searched  # exports what's shown
    assert sorted(titles(q="kubernetes")) == [
        "Kubernetes cost control",
        "Summary only",
        "Zero trust",
    ]
    assert titles(topic="security") == ["Zero trust"]
    assert titles(language="de") == ["Datenbanken ohne Ausfall"]
    assert titles(kind="video") == ["Zero trust"]
    stories = re.search(r'<option value="(\d+)" >Stories</option>', _text(marketer.get("/library")))
    assert stories
    assert sorted(titles(campaign=stories.group(1))) == [
        "Alpha story",
        "Bravo story",
        "Charlie story",
    ]

    first = titles(sort="title", dir="asc")
    assert first == [
        "Alpha story",
        "Bravo story",
        "Charlie story",
        "Datenbanken ohne Ausfall",
        "Kubernetes cost control",
    ]
    assert titles(sort="title", dir="asc", page="2") == ["Summary only", "Zero trust"]
    assert titles(sort="title", dir="desc")[0] == "Zero trust"
    page_two = _text(marketer.get("/library", query_string={"sort": "title", "page": "2"}))
    assert "Showing <strong>6\u20137</strong> of <strong>7</strong>" in page_two

    nothing = _text(marketer.get("/library", query_string={"q": "no such thing"}))
    assert "Nothing matches these filters" in nothing


def test_the_active_view_drops_an_expired_item_by_itself(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    now = datetime.now(UTC)
    make_content(title="Fresh whitepaper", expires_at=now + timedelta(days=30))
    make_content(
        title="Last summer's webinar",
        starts_at=now - timedelta(days=120),
        expires_at=now - timedelta(days=60),
    )
    make_content(title="Next month's event", starts_at=now + timedelta(days=30))
    marketer = client_as("marketer")
    active = _text(marketer.get("/library"))
    assert "Fresh whitepaper" in active
    assert "Last summer" not in active and "Next month" not in active
    expired = _text(marketer.get("/library", query_string={"status": "expired"}))
    assert "Last summer" in expired and "Expired" in expired
    assert "Fresh whitepaper" not in expired
    scheduled = _text(marketer.get("/library", query_string={"status": "scheduled"}))
    assert "Next month" in scheduled and "Scheduled" in scheduled


# --- workflow and who may do what --------------------------------------------------------


def test_a_contributors_item_waits_for_a_marketers_approval(
    client_as: Callable[[str], FlaskClient],
) -> None:
    contributor = client_as("contributor")
    marketer = client_as("marketer")
    item_id = _item_id(
        contributor.post(
            "/library/new", data={**FILLED, "url": "https://www.example.com/checklist"}
        )
    )
    contributor.post(
        f"/library/{item_id}/variants", data={"body": "Have a look: {{ link }}", "language": "en"}
    )
    submitted = contributor.post(f"/library/{item_id}/workflow/submit")
    assert submitted.status_code == 302
    page = _text(contributor.get(f"/library/{item_id}"))
    assert "Waiting for a marketer" in page
    assert "/workflow/approve" not in page  # not a button a contributor gets

    assert contributor.post(f"/library/{item_id}/workflow/approve").status_code == 403
    assert "Cloud security checklist" not in _text(marketer.get("/library"))
    waiting = _text(marketer.get("/library"))
    assert "1 item waits for approval" in waiting

    approved = marketer.post(f"/library/{item_id}/workflow/approve")
    assert approved.status_code == 302
    assert "Approved. Sellers can be suggested it" in _text(
        marketer.get(approved.headers["Location"])
    )
    assert "Cloud security checklist" in _text(marketer.get("/library"))
    history = _text(marketer.get(f"/library/{item_id}"))
    assert "sent it for approval" in history and "approved it" in history


def test_workflow_refusals_are_explained_on_the_item_page(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    bare = make_content(status="draft", variants=())
    in_review = make_content(status="in_review")
    marketer = client_as("marketer")

    submitted = marketer.post(f"/library/{bare.id}/workflow/submit")
    assert submitted.headers["Location"].endswith(f"/library/{bare.id}")
    assert "Write at least one post variant first" in _text(marketer.get(f"/library/{bare.id}"))

    silent = marketer.post(f"/library/{in_review.id}/workflow/send_back", data={"comment": " "})
    assert "Say what needs to change." in _text(marketer.get(silent.headers["Location"]))
    marketer.post(
        f"/library/{in_review.id}/workflow/send_back",
        data={"comment": "Shorten the second paragraph."},
    )
    page = _text(marketer.get(f"/library/{in_review.id}"))
    assert "Shorten the second paragraph." in page and "sent it back to draft" in page

    assert marketer.post(f"/library/{in_review.id}/workflow/publish").status_code == 404


def test_a_contributor_cannot_change_a_marketers_item(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft")
    contributor = client_as("contributor")
    assert contributor.get(f"/library/{item.id}").status_code == 200
    assert contributor.get(f"/library/{item.id}/edit").status_code == 403
    edit = contributor.post(f"/library/{item.id}/edit", data={**FILLED, "url": item.url})
    assert edit.status_code == 403
    added = contributor.post(
        f"/library/{item.id}/variants", data={"body": "Mine {{ link }}", "language": "en"}
    )
    assert added.status_code == 403
    page = _text(contributor.get(f"/library/{item.id}"))
    assert "Edit details" not in page and "Save variant" not in page


@pytest.mark.parametrize("role", ["seller", "rep"])
def test_sellers_and_reps_cannot_open_the_library(
    client_as: Callable[[str], FlaskClient], role: str
) -> None:
    client = client_as(role)
    for path in ("/library", "/library/new", "/campaigns"):
        assert client.get(path).status_code == 403


# --- editing and times -------------------------------------------------------------------


def test_times_are_typed_and_shown_in_the_viewers_time_zone(
    app: Flask,
    make_user: Callable[..., User],
    make_content: Callable[..., Content],
) -> None:
    item = make_content(status="draft", title="Launch webinar")
    berlin = sign_in(app.test_client(), make_user("marketer"))  # company default: Berlin
    saved = berlin.post(
        f"/library/{item.id}/edit",
        data={
            **FILLED,
            "title": "Launch webinar",
            "url": item.url,
            "priority": "5",
            "starts_at": "2027-03-01T09:00",
            "expires_at": "2027-03-31T18:30",
        },
    )
    assert saved.status_code == 302
    form = _text(berlin.get(f"/library/{item.id}/edit"))
    assert 'value="2027-03-01T09:00"' in form and 'value="2027-03-31T18:30"' in form

    tokyo_user = make_user("marketer")
    tokyo = sign_in(app.test_client(), tokyo_user)
    tokyo.post("/account", data={"account-name": tokyo_user.name, "account-timezone": "Asia/Tokyo"})
    page = _text(tokyo.get(f"/library/{item.id}"))
    assert "Mar 1, 2027, 5:00\u202fPM" in page  # 09:00 in Berlin (UTC+1) is 17:00 in Tokyo (UTC+9)
    assert "Priority</span> 3 · normal" in page and "5 · highest" in page
    assert "{" not in re.sub(r"(?s).*History</h2>", "", page).split("</ol>")[0]


# --- campaigns ---------------------------------------------------------------------------


def test_a_campaign_description_has_one_limit_on_the_page_and_in_the_api(
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., Any],
    make_token: Callable[..., str],
) -> None:
    marketer = client_as("marketer")
    long = "Wer sind unsere Kunden? " * 150  # 3,600 characters: within the one limit
    created = marketer.post("/campaigns", data={"name": "Lang", "description": long})
    assert created.status_code == 302
    too_long = marketer.post("/campaigns", data={"name": "Zu lang", "description": "x" * 5001})
    assert too_long.status_code == 422
    assert "At most 5,000 characters" in _field_error(_text(too_long), "description")
    token = make_token(make_user("marketer"), "read", "content:write")
    api = marketer.post(
        "/api/v1/campaigns",
        json={"name": "Per API", "description": "x" * 5001},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422 and "description" in api.json["fields"]


def test_campaigns_are_created_and_a_duplicate_name_is_refused(
    client_as: Callable[[str], FlaskClient],
) -> None:
    marketer = client_as("marketer")
    created = marketer.post(
        "/campaigns",
        data={"name": "Q4 Migration Push", "description": "Banks", "starts_on": "2027-10-01"},
    )
    assert created.status_code == 302
    page = _text(marketer.get("/campaigns"))
    assert "Q4 Migration Push" in page and "q4-migration-push" in page and "from 1 Oct" in page

    twin = marketer.post("/campaigns", data={"name": "q4 migration PUSH"})
    assert twin.status_code == 422
    assert "already in use" in _field_error(_text(twin), "name")

    backwards = marketer.post(
        "/campaigns", data={"name": "Spring", "starts_on": "2027-05-01", "ends_on": "2027-04-01"}
    )
    assert backwards.status_code == 422
    assert "after the start" in _field_error(_text(backwards), "ends_on")

    campaign_id = re.search(r'href="/campaigns/(\d+)"', page)
    assert campaign_id
    edit = _text(marketer.get(f"/campaigns/{campaign_id.group(1)}"))
    assert "No items in this campaign yet" in edit
