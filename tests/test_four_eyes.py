"""Four-eyes approval: nobody approves what they wrote or sent for approval, and a change to
an approved item waits for someone else's review while sellers keep the approved version."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content.models import Content, ContentStatus
from tests.apiclient import Api
from tests.conftest import sign_in
from tests.test_suggestions import fill, suggestions_of

ITEMS = "/api/v1/content"
ITEM = "/api/v1/content/{content_id}"
VARIANT = "/api/v1/content/{content_id}/variants/{variant_id}"
LIVE_TEXT = "Live text from {{ seller.first_name }}: {{ link }}"
NEW_TEXT = "Reviewed new text from {{ seller.first_name }}: {{ link }}"


def _text(response: object) -> str:
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _signed_in(app: Flask, user: User) -> FlaskClient:
    return sign_in(app.test_client(), user)


def _status(app: Flask, content_id: int) -> ContentStatus:
    with app.app_context():
        content = db.session().get(Content, content_id)
        assert content is not None
        return content.status


def _live(app: Flask, content_id: int) -> tuple[str, list[str]]:
    """The item's live web address and variant texts."""
    with app.app_context():
        content = db.session().get(Content, content_id)
        assert content is not None
        return content.url, [v.body for v in content.variants]


def test_a_marketer_cannot_approve_their_own_item_on_the_page_another_marketer_can(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    author = make_user("marketer", name="Mara Author")
    item = make_content(status="draft", author=author)
    page = _signed_in(app, author)
    assert page.post(f"/library/{item.id}/workflow/submit").status_code == 302

    shown = _text(page.get(f"/library/{item.id}"))
    assert "another marketer or admin approves it" in shown
    assert f"/library/{item.id}/workflow/approve" not in page.get(f"/library/{item.id}").text

    refused = page.post(f"/library/{item.id}/workflow/approve")
    assert refused.status_code == 302
    assert "another marketer or admin has to approve it" in _text(
        page.get(refused.headers["Location"])
    )
    assert _status(app, item.id) is ContentStatus.IN_REVIEW

    other = _signed_in(app, make_user("marketer", name="Otto Reviewer"))
    assert f"/library/{item.id}/workflow/approve" in other.get(f"/library/{item.id}").text
    approved = other.post(f"/library/{item.id}/workflow/approve")
    assert "Approved. Sellers can be suggested it" in _text(other.get(approved.headers["Location"]))
    assert _status(app, item.id) is ContentStatus.APPROVED


def test_through_the_api_neither_the_author_nor_who_submitted_approves_admins_included(
    client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    api = Api(client)
    marketer = make_user("marketer")
    mine = make_token(marketer, "read", "content:write")
    created = api(
        "POST",
        ITEMS,
        mine,
        json={
            "url": "https://example.com/own",
            "title": "My own item",
            "prefill": False,
            "variants": [{"body": LIVE_TEXT, "language": "en"}],
        },
    )
    assert created.status_code == 201, created.json
    item_id = created.json["id"]
    assert api("POST", ITEM + "/submit", mine, content_id=item_id).status_code == 200
    refused = api("POST", ITEM + "/approve", mine, content_id=item_id)
    assert refused.status_code == 409
    assert "another marketer or admin has to approve it" in refused.json["message"]

    # Who sent someone else's draft for approval doesn't approve it either; nor does an admin.
    admin = make_token(make_user("admin"), "read", "content:write")
    assert api("POST", ITEM + "/send-back", admin, json={"comment": "Again"}, content_id=item_id)
    assert api("POST", ITEM + "/submit", admin, content_id=item_id).status_code == 200
    assert api("POST", ITEM + "/approve", admin, content_id=item_id).status_code == 409

    other = make_token(make_user("marketer"), "read", "content:write")
    approved = api("POST", ITEM + "/approve", other, content_id=item_id)
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"


def test_with_four_eyes_off_an_author_approves_their_own_item(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], make_token: Callable[..., str]
) -> None:
    config.override(app, library={"four_eyes": False})
    api = Api(client)
    mine = make_token(make_user("marketer"), "read", "content:write")
    created = api(
        "POST",
        ITEMS,
        mine,
        json={
            "url": "https://example.com/solo",
            "title": "Solo",
            "prefill": False,
            "variants": [{"body": LIVE_TEXT, "language": "en"}],
        },
    )
    item_id = created.json["id"]
    api("POST", ITEM + "/submit", mine, content_id=item_id)
    assert api("POST", ITEM + "/approve", mine, content_id=item_id).status_code == 200


def test_an_edit_of_an_approved_item_waits_and_suggestions_keep_the_live_text(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    author = make_user("marketer", name="Mara Author")
    item = make_content(status="in_review", author=author, variants=(LIVE_TEXT,), title="Four eyes")
    variant_id = item.variants[0].id
    approver = make_user("marketer", name="Otto Approver")
    api = Api(client)
    approver_token = make_token(approver, "read", "content:write")
    assert api("POST", ITEM + "/approve", approver_token, content_id=item.id).status_code == 200

    editor = make_user("marketer", name="Erik Editor")
    page = _signed_in(app, editor)
    saved = page.post(
        f"/library/{item.id}/variants/{variant_id}", data={"body": NEW_TEXT, "language": "en"}
    )
    assert saved.status_code == 302
    shown = _text(page.get(saved.headers["Location"]))
    assert "Saved as a change waiting for review" in shown
    assert "A change is waiting for review" in shown
    assert "Proposed by Erik Editor" in shown
    assert "Reviewed new text from" in shown and "Live text from" in shown
    editor_html = page.get(f"/library/{item.id}").text
    assert f"{NEW_TEXT}</textarea>" in editor_html  # the next edit goes on from the proposal
    assert _live(app, item.id)[1] == [LIVE_TEXT]
    reviewer_page = _signed_in(app, approver)
    listed = _text(reviewer_page.get("/library"))
    assert "A change to 1 approved item waits for review: Four eyes" in listed

    # The web address and targeting wait too; the title (not reviewed) changes at once.
    editor_token = make_token(editor, "read", "content:write")
    patched = api(
        "PATCH",
        ITEM,
        editor_token,
        json={
            "url": "https://example.com/moved",
            "target_regions": ["DACH"],
            "audience": "customers",
            "title": "Renamed",
        },
        content_id=item.id,
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["url"] == item.url and patched.json["targeting"]["regions"] == []
    assert patched.json["audience"] == "both"  # who gets it is targeting: it waits too
    assert patched.json["title"] == "Renamed"
    pending = patched.json["pending_change"]
    assert pending["url"] == "https://example.com/moved"
    assert pending["targeting"]["regions"] == ["DACH"] and pending["audience"] == "customers"
    assert "audience" in pending["changed"]
    assert [v["body"] for v in pending["variants"]] == [NEW_TEXT]
    assert pending["author_ids"] == [editor.id]
    seen = api("GET", ITEM, make_token(make_user("seller")), content_id=item.id).json
    assert seen["pending_change"] is None  # sellers never see a text not yet approved
    assert [v["body"] for v in seen["variants"]] == [LIVE_TEXT]

    first_seller = make_user("seller", posts_per_week=0)
    fill(app, only=[first_seller.id], ignore_cadence=True)
    [suggestion] = suggestions_of(app, first_seller)
    assert suggestion.rendered_text.startswith("Live text from")

    # Who made the change doesn't approve it; someone else does.
    refused = page.post(f"/library/{item.id}/change/approve")
    assert "You made this change" in _text(page.get(refused.headers["Location"]))
    assert _live(app, item.id)[1] == [LIVE_TEXT]
    reviewed = api("POST", ITEM + "/change/approve", approver_token, content_id=item.id)
    assert reviewed.status_code == 200, reviewed.json
    assert reviewed.json["pending_change"] is None
    assert reviewed.json["url"] == "https://example.com/moved"
    assert reviewed.json["targeting"]["regions"] == ["DACH"]
    assert reviewed.json["audience"] == "customers"
    assert _live(app, item.id) == ("https://example.com/moved", [NEW_TEXT])
    # Back to everyone, reviewed as well, so that any seller in DACH is suggested it below.
    api("PATCH", ITEM, editor_token, json={"audience": "both"}, content_id=item.id)
    api("POST", ITEM + "/change/approve", approver_token, content_id=item.id)

    second_seller = make_user("seller", posts_per_week=0, region="DACH")
    fill(app, only=[second_seller.id], ignore_cadence=True)
    [suggestion] = suggestions_of(app, second_seller)
    assert suggestion.rendered_text.startswith("Reviewed new text from")

    # A rejected change leaves the approved version as it is.
    other_edit = api(
        "PATCH",
        VARIANT,
        editor_token,
        json={"body": LIVE_TEXT, "language": "de"},
        content_id=item.id,
        variant_id=variant_id,
    )
    assert other_edit.status_code == 200 and other_edit.json["waiting_for_review"] is True
    rejected = api("POST", ITEM + "/change/reject", approver_token, content_id=item.id)
    assert rejected.status_code == 200
    assert rejected.json["pending_change"] is None
    assert [(v["body"], v["language"]) for v in rejected.json["variants"]] == [(NEW_TEXT, "en")]
    assert (
        api("POST", ITEM + "/change/reject", approver_token, content_id=item.id).status_code == 409
    )


def test_history_shows_who_wrote_who_approved_and_what_changed(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    author = make_user("marketer", name="Mara Author")
    item = make_content(status="draft", author=author, variants=(LIVE_TEXT,))
    writer = _signed_in(app, author)
    writer.post(f"/library/{item.id}/workflow/submit")
    approver = _signed_in(app, make_user("marketer", name="Otto Approver"))
    approver.post(f"/library/{item.id}/workflow/approve")

    writer.post(
        f"/library/{item.id}/variants/{item.variants[0].id}",
        data={"body": NEW_TEXT, "language": "en"},
    )
    approved = approver.post(f"/library/{item.id}/change/approve")
    assert "The change is approved" in _text(approver.get(approved.headers["Location"]))

    history = _text(approver.get(f"/library/{item.id}")).split("History", 1)[1]
    assert "Mara Author added this item as a draft" in history
    assert "Mara Author sent it for approval" in history
    assert "Otto Approver approved it" in history
    assert "Mara Author proposed a change for review" in history
    assert "Otto Approver approved the waiting change" in history
    assert "Variant 1 Live text from" in history and "Reviewed new text from" in history
    assert "A change is waiting for review" not in _text(approver.get(f"/library/{item.id}"))


def test_sending_back_takes_the_waiting_change_into_the_draft_and_archiving_drops_it(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    make_content: Callable[..., Content],
) -> None:
    api = Api(client)
    editor = make_token(make_user("marketer"), "read", "content:write")
    reviewer = make_token(make_user("marketer"), "read", "content:write")
    kept = make_content(variants=(LIVE_TEXT, NEW_TEXT))
    dropped = make_content(variants=(LIVE_TEXT,))

    gone = kept.variants[1].id
    assert api("DELETE", VARIANT, editor, content_id=kept.id, variant_id=gone).status_code == 204
    assert len(api("GET", ITEM, editor, content_id=kept.id).json["variants"]) == 2
    back = api(
        "POST", ITEM + "/send-back", reviewer, json={"comment": "Rework"}, content_id=kept.id
    )
    assert back.json["status"] == "draft" and back.json["pending_change"] is None
    assert [v["body"] for v in back.json["variants"]] == [LIVE_TEXT]
    # Who proposed the change wrote part of the draft: someone else approves it.
    assert api("POST", ITEM + "/submit", reviewer, content_id=kept.id).status_code == 200
    assert api("POST", ITEM + "/approve", editor, content_id=kept.id).status_code == 409

    api("PATCH", ITEM, editor, json={"url": "https://example.com/other"}, content_id=dropped.id)
    archived = api("POST", ITEM + "/archive", reviewer, content_id=dropped.id)
    assert archived.json["pending_change"] is None
    assert archived.json["url"] == dropped.url
