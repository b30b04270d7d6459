"""The LinkedIn pre-flight: image, og: tags, what shows before "see more", hashtags.

Images are made with Pillow in memory; the pages and images a pre-fill reads are served
on this machine. Notes are advice: nothing here is refused.
"""

from __future__ import annotations

import html
import io
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from contentfeed.accounts.models import User
from contentfeed.content import linkedin, preflight
from contentfeed.content.models import Content
from tests.apiclient import Api
from tests.conftest import make_test_app, sign_in
from tests.live import QuietHTTPServer

X = "\u00d7"  # the multiplication sign the notes put between width and height
LINK = "http://127.0.0.1:5000/r/preview"  # the sample seller's link in checks and previews


def png(width: int, height: int, *, noise: bool = False) -> bytes:
    """A PNG of the given size: flat colour, or random pixels (which do not compress)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (30, 90, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be width by height: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


HEAVY = png(2000, 1046, noise=True)  # 1.91:1 and large enough, but over 5 MB


@pytest.fixture
def plain_app(tmp_path: Path) -> Iterator[Flask]:
    """An app context for the checks that touch no database."""
    app = make_test_app("sqlite://", tmp_path)
    with app.app_context():
        yield app


def _codes(notes: list[linkedin.Note]) -> set[str]:
    return {note.code for note in notes}


def _image_codes(data: bytes) -> set[str]:
    content = Content(url="https://example.com/guide", image_url="https://example.com/i.png")
    with warnings.catch_warnings():  # as in production: the suite turns warnings into errors
        warnings.simplefilter("ignore")
        facts = preflight.read_image(io.BytesIO(data), len(data))
    content.preflight = {"image": {"source": content.image_url, **facts}}
    return _codes(preflight.image_notes(content))


# --- the image -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(300, 157), {"image_thumbnail"}),
        (png(399, 209), {"image_thumbnail"}),
        (png(400, 209), {"image_small"}),  # wide enough for the large card, but soft
        (png(1200, 627), {"image_ok"}),
        (png(1200, 1200), {"image_ratio"}),
        (png(2000, 1046), {"image_ok"}),
        (HEAVY, {"image_too_heavy"}),
        (b"<!doctype html><p>Not a picture</p>", {"image_not_image"}),
        (png(1200, 627)[:40], {"image_not_image"}),  # cut short: a broken file
        (png_header(40_000, 40_000), {"image_too_many_pixels"}),  # Pillow raises
        (png_header(10_000, 10_000), {"image_too_many_pixels"}),  # Pillow only warns
    ],
    ids=[
        "300x157",
        "399-wide",
        "400-wide",
        "1200x627",
        "1200x1200",
        "2000x1046",
        "over-5MB",
        "not-an-image",
        "truncated",
        "bomb",
        "bomb-warning",
    ],
)
def test_image_checks_on_generated_images(
    plain_app: Flask, data: bytes, expected: set[str]
) -> None:
    assert _image_codes(data) == expected


def test_image_notes_say_the_size_and_what_linkedin_does(plain_app: Flask) -> None:
    content = Content(url="https://example.com/a", image_url="https://example.com/a.png")
    small = png(300, 157)
    content.preflight = {
        "image": {"source": content.image_url, **preflight.read_image(io.BytesIO(small), 9000)}
    }
    (note,) = preflight.image_notes(content)
    assert note.level == "warning"
    assert f"300 {X} 157 pixels" in note.message
    assert "small thumbnail" in note.message
    heavy = {"source": content.image_url, **preflight.read_image(io.BytesIO(HEAVY), len(HEAVY))}
    content.preflight = {"image": heavy}
    (note,) = preflight.image_notes(content)
    assert "LinkedIn ignores images over 5 MB" in note.message
    content.image_url = "https://example.com/another.png"  # facts of another image don't count
    assert _codes(preflight.image_notes(content)) == {"image_unchecked"}
    content.image_url = ""
    assert _codes(preflight.image_notes(content)) == {"image_missing"}


# --- the text: "see more" and hashtags ------------------------------------------------------


def _post_with_link_at(position: int) -> str:
    text = "Our guide is out. "
    while len(text) < position:
        text += "Read why it matters. "
    return text[:position] + LINK + " Thanks for reading."


@pytest.mark.parametrize(("at", "below"), [(100, False), (250, True)])
def test_the_see_more_cut_with_a_link_at_100_or_250_characters(
    plain_app: Flask, at: int, below: bool
) -> None:
    text = _post_with_link_at(at)
    assert text.index(LINK) == at
    notes = linkedin.text_notes(text, link=LINK, uses_link=True)
    assert ("link_below_fold" in _codes(notes)) is below
    assert "hook_below_fold" not in _codes(notes)  # "Our guide is out." is short
    cut = linkedin.see_more(text)
    assert cut.desktop == text[:210] and cut.phone == text[:140]
    assert cut.is_cut is below  # 151 characters: cut on phones only; 301: on desktops too
    assert cut.is_cut_on_phone


def test_a_link_between_the_phone_and_desktop_cut_is_only_noted(plain_app: Flask) -> None:
    notes = linkedin.text_notes(_post_with_link_at(150), link=LINK, uses_link=True)
    assert _codes(notes) == {"link_below_fold_phone"}
    assert notes[0].level == "info"


def test_a_hook_longer_than_the_cut_is_a_warning(plain_app: Flask) -> None:
    long_hook = "This opening sentence " + "goes on and on " * 16 + "before it ends. " + LINK
    assert _codes(linkedin.text_notes(long_hook, link=LINK, uses_link=True)) == {
        "hook_below_fold",
        "link_below_fold",
    }
    phone_hook = "An opening sentence " + "a bit long " * 11 + "ends here. " + LINK
    assert _codes(linkedin.text_notes(phone_hook, link=LINK, uses_link=True)) == {
        "hook_below_fold_phone",
        "link_below_fold_phone",
    }


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("Read our guide. #cloud #security", set(), 2),
        ("Read our guide. #cloud #security #devops #ai", {"hashtags_many"}, 4),
        ("#cloud #security Read our guide.", {"hashtags_first"}, 2),
        ("#cloud Read our guide on #security.", set(), 2),  # not all at the start
        ("Tom&#39;s guide, issue #12 of C#", set(), 1),  # an entity isn't a hashtag
    ],
)
def test_hashtags_are_counted_and_placed(
    plain_app: Flask, text: str, expected: set[str], count: int
) -> None:
    assert len(linkedin.hashtags(text)) == count
    assert _codes(linkedin.text_notes(text, link="", uses_link=True)) == expected


# --- pages and images served on this machine ------------------------------------------------


def _page(image: str, *tags: str) -> bytes:
    meta = {
        "title": '<meta property="og:title" content="Zero-downtime migrations">',
        "description": '<meta property="og:description" content="Ship schema changes safely.">',
        "image": f'<meta property="og:image" content="{image}">',
    }
    head = "".join(meta[t] for t in tags)
    return f"<!doctype html><html><head><title>Plain</title>{head}</head></html>".encode()


class _Site(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[str, bytes]]] = {}

    def do_GET(self) -> None:
        kind, body = self.routes.get(self.path, ("text/html", b"gone"))
        self.send_response(200 if self.path in self.routes else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[dict[str, tuple[str, bytes]]]:
    """Pages with or without og: tags and the images they name; ``site["base"]`` is the URL."""
    routes: dict[str, tuple[str, bytes]] = {
        "/full": ("text/html", _page("/img/small.png", "title", "description", "image")),
        "/bare": ("text/html", _page("")),
        "/bomb": ("text/html", _page("/img/bomb.png", "title", "description", "image")),
        "/heavy": ("text/html", _page("/img/heavy.png", "title", "description", "image")),
        "/svg": ("text/html", _page("/img/logo.svg", "title", "image")),
        "/img/small.png": ("image/png", png(300, 157)),
        "/img/bomb.png": ("image/png", png_header(40_000, 40_000)),
        "/img/heavy.png": ("image/png", HEAVY),
        "/img/logo.svg": ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    }
    handler = type("Site", (_Site,), {"routes": routes})
    server = QuietHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    routes["base"] = ("", f"http://127.0.0.1:{server.server_address[1]}".encode())
    yield routes
    server.shutdown()
    server.server_close()
    thread.join()


def _base(site: dict[str, tuple[str, bytes]]) -> str:
    return site["base"][1].decode()


@pytest.fixture
def web(app: Flask, database_url: str, tmp_path: Path) -> Flask:
    """The app on the test database, allowed to fetch pages on this machine."""
    return make_test_app(database_url, tmp_path, http_allow_private_addresses=True)


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _item_id(response: TestResponse) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    match = re.search(r"/library/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _add(client: FlaskClient, url: str, **fields: Any) -> TestResponse:
    data = {"url": url, "kind": "article", "campaign_id": "0", "language": "en", "priority": "3"}
    return client.post("/library/new", data={**data, **fields}, content_type="multipart/form-data")


def _notes(page: str) -> dict[str, str]:
    """The pre-flight notes on the item page, by code: {code: text}."""
    found = re.findall(r'<li class="preflight-note [^"]*" data-note="(\w+)">(.*?)</li>', page, re.S)
    return {code: re.sub(r"<[^>]+>", "", text).strip() for code, text in found}


def test_the_library_warns_about_a_300_px_image_and_a_link_below_the_fold(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    saved = _add(client, _base(site) + "/full")
    content_id = _item_id(saved)
    after_save = _text(client.get(f"/library/{content_id}"))
    # said at once after the save, and kept on the item page
    assert f"LinkedIn: The image is 300 {X} 157 pixels: narrower than 400" in after_save
    notes = _notes(after_save)
    assert "small thumbnail" in notes["image_thumbnail"]
    assert "og:title, og:description and og:image" in notes["og_ok"]

    body = "Our guide is out. " + "Read why it matters to your team. " * 7 + "{{ link }}"
    added = client.post(f"/library/{content_id}/variants", data={"body": body, "language": "en"})
    assert added.status_code == 302
    page = _text(client.get(f"/library/{content_id}"))
    assert "The link ends at character" in page  # the flash after saving the variant
    notes = _notes(page)
    assert "after the “see more” cut at about 210 characters" in notes["link_below_fold"]
    assert "image_thumbnail" in notes
    # the preview line: what shows before "see more", with the cut marked
    cut = re.search(r'data-cut="desktop">(.*?)</p>', page, re.S)
    assert cut is not None
    assert cut.group(1).startswith("Our guide is out. Read why")
    assert "… see more" in cut.group(1)
    assert "2 things to look at before sellers share it." in page

    again = _text(client.get(f"/library/{content_id}"))
    assert _notes(again) == notes  # on the item page always, not only after a save


def test_a_page_without_og_tags_is_noted_from_the_prefill(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    content_id = _item_id(_add(client, _base(site) + "/bare"))
    page = _text(client.get(f"/library/{content_id}"))
    notes = _notes(page)
    assert "The page has no og:title, og:description, og:image tags" in notes["og_missing"]
    assert "image_missing" in notes
    assert "LinkedIn: The page has no og:title" in page  # flashed after the save

    only_image = _item_id(_add(client, _base(site) + "/svg"))
    notes = _notes(_text(client.get(f"/library/{only_image}")))
    assert "The page has no og:description tag" in notes["og_missing"]
    assert "doesn't hold a picture LinkedIn can show" in notes["image_not_image"]


def test_a_bomb_or_a_heavy_image_behind_the_page_is_a_note_not_an_error(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    bomb = _add(client, _base(site) + "/bomb")
    notes = _notes(_text(client.get(f"/library/{_item_id(bomb)}")))
    assert "too many pixels" in notes["image_too_many_pixels"]
    heavy = _add(client, _base(site) + "/heavy")
    notes = _notes(_text(client.get(f"/library/{_item_id(heavy)}")))
    assert "over 5 MB" in notes["image_too_heavy"]


def test_check_again_reads_the_page_and_image_anew(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    base = _base(site)
    filled = {  # typed in full, so the pre-fill doesn't read the page
        "title": "Guide",
        "summary": "Why it matters.",
        "image_url": base + "/img/small.png",
    }
    content_id = _item_id(_add(client, base + "/full", **filled))
    notes = _notes(_text(client.get(f"/library/{content_id}")))
    assert set(notes) == {"image_unchecked", "og_unchecked"}

    site["/img/small.png"] = ("image/png", png(1200, 627))
    checked = client.post(f"/library/{content_id}/preflight")
    assert checked.status_code == 302
    assert checked.headers["Location"].endswith(f"/library/{content_id}#preflight")
    page = _text(client.get(f"/library/{content_id}"))
    assert "nothing to fix" in page
    assert set(_notes(page)) == {"image_ok", "og_ok"}
    assert f"1,200 {X} 627 pixels" in _notes(page)["image_ok"]

    seller = sign_in(web.test_client(), make_user("seller"))
    assert seller.post(f"/library/{content_id}/preflight").status_code in {403, 404}


def test_fields_the_form_filled_from_the_page_are_checked_on_save(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    url = _base(site) + "/full"
    filled = {  # what the form's script put in the fields, and the address it read
        "title": "Zero-downtime migrations",
        "summary": "Ship schema changes safely.",
        "image_url": _base(site) + "/img/small.png",
        "prefilled_from": url,
    }
    notes = _notes(_text(client.get(f"/library/{_item_id(_add(client, url, **filled))}")))
    assert set(notes) == {"image_thumbnail", "og_ok"}
    elsewhere = {**filled, "prefilled_from": _base(site) + "/bare"}  # read another address
    notes = _notes(_text(client.get(f"/library/{_item_id(_add(client, url, **elsewhere))}")))
    assert set(notes) == {"image_unchecked", "og_unchecked"}


def test_an_uploaded_image_is_read_from_its_file(client_as: Callable[[str], FlaskClient]) -> None:
    marketer = client_as("marketer")
    saved = marketer.post(
        "/library/new",
        data={
            "file": (io.BytesIO(png(1200, 1200)), "square.png"),
            "kind": "article",
            "campaign_id": "0",
            "language": "en",
            "priority": "3",
        },
        content_type="multipart/form-data",
    )
    notes = _notes(_text(marketer.get(f"/library/{_item_id(saved)}")))
    assert f"1,200 {X} 1,200 pixels, 1.00:1" in notes["image_ratio"]
    assert "og_file" in notes


def test_the_item_page_shows_the_notes_in_german(
    web: Flask, make_user: Callable[..., User], site: dict[str, tuple[str, bytes]]
) -> None:
    client = sign_in(web.test_client(), make_user("marketer"))
    content_id = _item_id(_add(client, _base(site) + "/full"))
    page = _text(client.get(f"/library/{content_id}", headers={"Accept-Language": "de"}))
    assert "LinkedIn-Vorabprüfung" in page
    assert "kleines Vorschaubild" in _notes(page)["image_thumbnail"]


# --- the API ---------------------------------------------------------------------------------


def test_the_api_item_carries_the_same_notes(
    web: Flask,
    make_user: Callable[..., User],
    make_token: Callable[..., str],
    site: dict[str, tuple[str, bytes]],
) -> None:
    api = Api(web.test_client())
    token = make_token(make_user("marketer"), "read", "content:write")
    body = "Our guide is out. " + "Read why it matters to your team. " * 7 + "{{ link }}"
    created = api(
        "POST",
        "/api/v1/content",
        token,
        json={"url": _base(site) + "/full", "variants": [{"body": body, "language": "en"}]},
    )
    assert created.status_code == 201, created.json
    notes = created.json["linkedin_notes"]
    by_code = {n["code"]: n for n in notes}
    assert by_code["image_thumbnail"]["variant"] is None
    assert by_code["image_thumbnail"]["level"] == "warning"
    assert by_code["link_below_fold"]["variant"] == 1
    assert by_code["og_ok"]["level"] == "ok"

    content_id = created.json["id"]
    fetched = api("GET", "/api/v1/content/{content_id}", token, content_id=content_id)
    assert fetched.json["linkedin_notes"] == notes
    listed = api("GET", "/api/v1/content", token, query={"status": "all"})
    assert all(item["linkedin_notes"] is None for item in listed.json["items"])

    site["/img/small.png"] = ("image/png", png(2000, 1046))
    checked = api("POST", "/api/v1/content/{content_id}/preflight", token, content_id=content_id)
    assert checked.status_code == 200, checked.json
    codes = {n["code"] for n in checked.json["linkedin_notes"]}
    assert "image_ok" in codes and "image_thumbnail" not in codes

    seller = make_token(make_user("seller"), "read")
    refused = api("POST", "/api/v1/content/{content_id}/preflight", seller, content_id=content_id)
    assert refused.status_code in {403, 404}
