"""The library's rules: sandboxed templates, compliance, pre-fill, uploads, workflow, expiry."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from contentfeed import config, db
from contentfeed.accounts.models import User
from contentfeed.content import service
from contentfeed.content.assets import store_upload
from contentfeed.content.models import Content, ContentStatus
from contentfeed.content.prefill import parse_page, prefill_from_url
from contentfeed.content.templating import (
    ContentView,
    SellerView,
    TemplateRefused,
    check_variant,
    render_post,
)
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Forbidden, Invalid
from tests.conftest import make_test_app

CONTENT = ContentView(
    title="Zero-downtime migrations", summary="How we ship", url="https://x.example"
)
SAM = SellerView(first_name="Sam", name="Sam Seller", title="Account Executive")
LINK = "https://cf.example.com/r/k3J9xQ2a"


def check(body: str, **kwargs: Any) -> Any:
    options = {
        "content": CONTENT,
        "link": LINK,
        "disclosure": "#employee",
        "blocked_words": ["guarantee"],
    }
    return check_variant(body, **{**options, **kwargs})


# --- templates -----------------------------------------------------------------------------


def test_post_renders_for_the_seller_with_link_and_disclosure() -> None:
    text = render_post(
        "{{ seller.first_name }} here: {{ content.title }} {{ link }}",
        seller=SAM,
        content=CONTENT,
        link=LINK,
        disclosure="#employee",
    )
    assert text == f"Sam here: Zero-downtime migrations {LINK}\n\n#employee"


def test_disclosure_is_not_added_twice() -> None:
    text = render_post(
        "Read it {{ link }} #Employee",
        seller=SAM,
        content=CONTENT,
        link=LINK,
        disclosure="#employee",
    )
    assert text.count("#") == 1


def test_text_is_not_html_escaped() -> None:
    content = ContentView(title='R&D <fast> "tips"', summary="", url="")
    assert (
        render_post("{{ content.title }}", seller=SAM, content=content, link="", disclosure="")
        == 'R&D <fast> "tips"'
    )


@pytest.mark.parametrize(
    "body",
    [
        "Hello\n{{ ''.__class__.__mro__ }}",
        "Hello\n{{ seller.__class__.__init__.__globals__ }}",
        "Hello\n{{ link|attr('__class__') }}",
    ],
)
def test_reaching_outside_the_sandbox_is_refused_naming_the_line(body: str) -> None:
    with pytest.raises(TemplateRefused, match="Line 2: the template reaches outside"):
        check(body)


def test_unparsable_template_names_its_line() -> None:
    with pytest.raises(TemplateRefused, match="Line 3: the template doesn't parse"):
        check("one\ntwo\n{% if %}")


def test_unknown_placeholder_is_refused_with_the_ones_to_use() -> None:
    with pytest.raises(
        TemplateRefused, match=r"seller has no attribute 'nickname'.*\{\{ seller.first_name \}\}"
    ):
        check("Hi {{ seller.nickname }}")


def test_blocked_word_is_refused_naming_it_in_any_case() -> None:
    with pytest.raises(TemplateRefused, match="“guarantee”"):
        check("We GUARANTEE results {{ link }}")
    check("Guaranteed is a different word here {{ link }}")  # whole words only


def test_blocked_word_coming_from_the_content_title_is_refused() -> None:
    content = ContentView(title="Our guarantee", summary="", url="")
    with pytest.raises(TemplateRefused, match="guarantee"):
        check("{{ content.title }} {{ link }}", content=content)


def test_length_limit_counts_the_rendered_post() -> None:
    check("x" * 2900 + " {{ link }}")
    with pytest.raises(TemplateRefused, match="LinkedIn allows 3,000"):
        check("x" * 2990 + " {{ link }}")


def test_warnings_for_many_hashtags_and_a_missing_link() -> None:
    result = check("#one #two #three #four")
    assert any("hashtags" in w for w in result.warnings)
    assert any("No {{ link }}" in w for w in result.warnings)
    assert check("#one #two {{ link }}").warnings == []


# --- pre-fill ------------------------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="Zero-downtime migrations">
<meta property="og:description" content="Ship schema changes safely.">
<meta property="og:image" content="/img/cover.png">
<meta property="og:site_name" content="Acme Engineering">
</head><body>hi</body></html>"""


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind, status = PAGE, "text/html; charset=utf-8", 200
        if self.path == "/plain":
            body = (
                b"<html><head><title> Only a   title </title>"
                b"<meta name='description' content='Desc'></head></html>"
            )
        elif self.path == "/pdf":
            body, kind = b"%PDF-1.4", "application/pdf"
        elif self.path == "/gone":
            body, status = b"gone", 404
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_open_graph_tags_win_and_relative_images_resolve() -> None:
    found = parse_page(PAGE.decode(), "https://acme.example/blog/post")
    assert found.title == "Zero-downtime migrations"
    assert found.description == "Ship schema changes safely."
    assert found.image == "https://acme.example/img/cover.png"
    assert found.site_name == "Acme Engineering"


def test_title_and_description_fall_back_to_plain_tags(tmp_path: Path, pages: str) -> None:
    with make_test_app("sqlite://", tmp_path, http_allow_private_addresses=True).app_context():
        found = prefill_from_url(pages + "/plain")
    assert found.title == "Only a title"
    assert found.description == "Desc"
    assert found.note == ""


def test_prefill_from_a_local_page_and_notes_when_it_cannot(tmp_path: Path, pages: str) -> None:
    with make_test_app("sqlite://", tmp_path, http_allow_private_addresses=True).app_context():
        assert prefill_from_url(pages + "/").title == "Zero-downtime migrations"
        assert "answered 404" in prefill_from_url(pages + "/gone").note
        assert "not a web page" in prefill_from_url(pages + "/pdf").note
    with make_test_app("sqlite://", tmp_path).app_context():  # the guard is on by default
        refused = prefill_from_url(pages + "/")
    assert refused.title == ""
    assert "private or local address" in refused.note


def test_item_whose_page_cannot_be_read_still_saves_with_a_note(
    app: Flask, make_user: Callable[..., User]
) -> None:
    marketer = make_user("marketer")
    with app.app_context():
        s = db.session()
        content = service.create_content(
            s,
            service.ContentData(url="http://127.0.0.1:9/whitepaper-zero-downtime"),
            actor=s.get(User, marketer.id),  # type: ignore[arg-type]
        )
        s.commit()
        assert content.title == "Whitepaper zero downtime"
        assert "private or local address" in content.prefill_note


# --- uploads -------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_upload_is_typed_by_content_not_name(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        s = db.session()
        asset = store_upload(
            s, io.BytesIO(PNG), "cover.pdf", folder=tmp_path, max_bytes=10_000, uploaded_by=None
        )
        assert asset.extension == "png"
        assert asset.filename == "cover.png"
        assert asset.content_type == "image/png"
        assert (tmp_path / f"{asset.public_id}.png").read_bytes() == PNG
        with pytest.raises(Invalid, match="upload a PDF"):
            store_upload(
                s,
                io.BytesIO(b"just text, honest"),
                "report.pdf",
                folder=tmp_path,
                max_bytes=10_000,
                uploaded_by=None,
            )


def test_upload_over_the_limit_is_refused_and_leaves_nothing(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    with app.app_context(), pytest.raises(Invalid, match="larger than"):
        store_upload(
            db.session(),
            io.BytesIO(PDF * 1000),
            "big.pdf",
            folder=folder,
            max_bytes=10_000,
            uploaded_by=None,
        )
    assert list(folder.iterdir()) == []


def test_uploaded_file_is_served_at_its_public_address(
    app: Flask, make_user: Callable[..., User]
) -> None:
    with app.app_context():
        s = db.session()
        asset = store_upload(
            s,
            io.BytesIO(PDF),
            "Guide 2026.pdf",
            folder=Path(config.settings_of(app).library.upload_dir),
            max_bytes=10_000,
            uploaded_by=None,
        )
        s.commit()
        public_id, filename = asset.public_id, asset.filename
    with app.test_client().get(f"/files/{public_id}/{filename}") as response:
        assert response.status_code == 200
        assert response.data == PDF
        assert response.content_type == "application/pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client().get(f"/files/{public_id}/other.pdf").status_code == 404


# --- workflow ------------------------------------------------------------------------------


def _do(app: Flask, content_id: int, action: str, actor: User, comment: str = "") -> ContentStatus:
    with app.app_context():
        s = db.session()
        content = s.get(Content, content_id)
        assert content is not None
        service.transition(s, content, action, actor=s.get(User, actor.id), comment=comment)  # type: ignore[arg-type]
        s.commit()
        return content.status


def test_contributor_submits_and_only_a_marketer_approves(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    contributor, marketer = make_user("contributor"), make_user("marketer")
    item = make_content(status="draft", author=contributor)
    assert _do(app, item.id, "submit", contributor) is ContentStatus.IN_REVIEW
    with pytest.raises(Forbidden, match="marketers and admins"):
        _do(app, item.id, "approve", contributor)
    assert _do(app, item.id, "approve", marketer) is ContentStatus.APPROVED
    with pytest.raises(Invalid, match="what needs to change"):
        _do(app, item.id, "send_back", marketer)
    assert _do(app, item.id, "send_back", marketer, comment="Fix the title") is ContentStatus.DRAFT
    with app.app_context():
        events = db.session().get(Content, item.id).events  # type: ignore[union-attr]
        assert [e.action for e in events][:4] == ["send_back", "approve", "submit", "created"]
        assert events[0].comment == "Fix the title"
        assert events[0].actor_id == marketer.id


def test_contributor_cannot_submit_or_edit_someone_elses_item(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft")
    other = make_user("contributor")
    with pytest.raises(Forbidden):
        _do(app, item.id, "submit", other)
    with app.app_context():
        s = db.session()
        content = s.get(Content, item.id)
        assert content is not None and not service.can_edit(s.get(User, other.id), content)  # type: ignore[arg-type]


def test_an_item_without_variants_cannot_be_submitted(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft", variants=())
    with pytest.raises(Conflict, match="at least one post variant"):
        _do(app, item.id, "submit", make_user("marketer"))


def test_wrong_state_is_a_conflict(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    item = make_content(status="draft")
    with pytest.raises(Conflict, match="draft"):
        _do(app, item.id, "approve", make_user("marketer"))


def test_sellers_never_see_drafts_and_expired_items_leave_the_active_view(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    now = utcnow()
    live = make_content(title="Live")
    make_content(title="Draft", status="draft")
    make_content(
        title="Expired", starts_at=now - timedelta(days=10), expires_at=now - timedelta(minutes=1)
    )
    make_content(title="Later", starts_at=now + timedelta(days=2))
    seller, marketer = make_user("seller"), make_user("marketer")
    with app.app_context():
        s = db.session()

        def titles(user: User, status: str) -> list[str]:
            page = service.list_library(
                s, s.get(User, user.id), service.LibraryQuery(status=status)
            )  # type: ignore[arg-type]
            return sorted(c.title for c in page.items)

        assert titles(seller, "all") == ["Live"]
        assert titles(marketer, "active") == ["Live"]
        assert titles(marketer, "expired") == ["Expired"]
        assert titles(marketer, "scheduled") == ["Later"]
        assert titles(marketer, "all") == ["Draft", "Expired", "Later", "Live"]
        assert service.get_content(s, live.id, s.get(User, seller.id)).title == "Live"  # type: ignore[arg-type]
        # an hour after expiry the same query drops it, with nobody touching the item
        later = now + timedelta(days=30)
        page = service.list_library(
            s, s.get(User, marketer.id), service.LibraryQuery(status="active"), now=later
        )  # type: ignore[arg-type]
        assert sorted(c.title for c in page.items) == ["Later", "Live"]


def test_edits_are_recorded_field_by_field(
    app: Flask, make_user: Callable[..., User], make_content: Callable[..., Content]
) -> None:
    item = make_content(title="Old title", topics=["cloud"])
    marketer = make_user("marketer")
    with app.app_context():
        s = db.session()
        content = s.get(Content, item.id)
        assert content is not None
        data = service.ContentData(
            title="New title",
            url=content.url,
            topics="cloud, Security",
            campaign_id=content.campaign_id,
        )
        service.update_content(s, content, data, actor=s.get(User, marketer.id))  # type: ignore[arg-type]
        s.commit()
        edit = content.events[0]
        assert edit.action == "edited"
        assert edit.changes["title"] == ["Old title", "New title"]
        assert edit.changes["topics"] == [["cloud"], ["cloud", "security"]]


def test_campaign_slug_is_stable_and_names_are_unique(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        campaign = service.save_campaign(s, name="Q4 Cloud Push — Ørsted edition")
        assert campaign.slug == "q4-cloud-push-rsted-edition"
        service.save_campaign(s, name="Renamed", campaign=campaign)
        assert campaign.slug == "q4-cloud-push-rsted-edition"
        with pytest.raises(Conflict):
            service.save_campaign(s, name="renamed")
