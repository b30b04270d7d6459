"""Bulk import and export of the library: files, row checks, chunked progress, round trips."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from contentfeed import config, db
from contentfeed.accounts import service as accounts
from contentfeed.accounts.models import Role, Team, User
from contentfeed.content.imports import COLUMNS
from contentfeed.content.models import Campaign, Content, ContentStatus, ImportBatch
from tests.conftest import FAST_HASH, sign_in

HEADER = [*COLUMNS, "variant_1_language", "variant_2_language"]
SAFE_VARIANT = "{{ seller.first_name }} here: {{ content.title }} {{ link }}"


def csv_text(rows: Sequence[dict[str, Any]], *, delimiter: str = ",") -> str:
    """Write rows under the import's columns (missing ones left empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def upload(client: FlaskClient, filename: str, data: bytes | str) -> TestResponse:
    """Post a file to the import page."""
    body = data.encode() if isinstance(data, str) else data
    return client.post(
        "/library/import",
        data={"file": (io.BytesIO(body), filename)},
        content_type="multipart/form-data",
    )


def start(client: FlaskClient, filename: str, data: bytes | str) -> int:
    """Upload a file and return the new batch's id."""
    response = upload(client, filename, data)
    error = re.search(r'class="field-error">(.*?)</p>', response.get_data(as_text=True))
    assert response.status_code == 302, error.group(1) if error else response.status_code
    match = re.search(r"/library/import/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def step(client: FlaskClient, batch_id: int) -> dict[str, Any]:
    """Post one step as the page's script does and return its progress JSON."""
    response = client.post(
        f"/library/import/{batch_id}/step", headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    progress: dict[str, Any] = response.get_json()
    return progress


def run(client: FlaskClient, filename: str, data: bytes | str) -> tuple[int, dict[str, Any]]:
    """Upload a file and process it to the end."""
    batch_id = start(client, filename, data)
    for _ in range(200):
        progress = step(client, batch_id)
        if progress["finished"]:
            return batch_id, progress
    raise AssertionError("the import never finished")


def report_rows(client: FlaskClient, batch_id: int) -> dict[int, dict[str, str]]:
    """Download a batch's CSV report, keyed by row number."""
    response = client.get(f"/library/import/{batch_id}?format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    return {int(row["row"]): row for row in reader}


def items(app: Flask) -> list[Content]:
    """Return every library item with its variants and campaign loaded."""
    with app.app_context():
        s = db.session()
        found = s.scalars(sa.select(Content).order_by(Content.id)).all()
        for item in found:
            _ = item.variants, item.campaign
        return list(found)


def by_url(app: Flask) -> dict[str, Content]:
    return {item.url: item for item in items(app)}


# --- a file with good and bad rows -------------------------------------------------------


def test_good_rows_become_drafts_and_each_refused_row_says_why(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_team: Callable[..., Team],
    make_content: Callable[..., Content],
) -> None:
    config.override(app, compliance_blocked_words=["guarantee"])
    nordics = make_team("Nordics")
    make_content(title="Existing story", url="https://example.com/existing", status="approved")
    good = {
        "title": "Zero trust for platform teams",
        "url": "https://example.com/zero-trust",
        "summary": "What zero trust means for the people who run your platform.",
        "kind": "Case study",
        "campaign": "Security Month",
        "language": "en",
        "topics": "Security; cloud",
        "target_teams": "nordics",
        "target_regions": "DACH; Nordics",
        "priority": "4",
        "starts_at": "2026-12-01",
        "expires_at": "2026-12-31T18:00:00+01:00",
        "variant_1": SAFE_VARIANT,
        "variant_2": "Worth a read:\n{{ content.title }}\n{{ link }}",
        "variant_2_language": "de",
    }
    rows = [
        good,  # row 2
        {"url": "https://example.com/untitled"},  # row 3
        {"title": "No scheme", "url": "example.com/no-scheme"},  # row 4
        {"title": "Podcast", "url": "https://example.com/podcast", "kind": "podcast"},  # row 5
        {"title": "Typo team", "url": "https://example.com/t", "target_teams": "Nordix"},  # 6
        {
            "title": "Blocked word",
            "url": "https://example.com/blocked",
            "language": "en",
            "variant_1": SAFE_VARIANT,
            "variant_2": "Read this {{ link }}\nWe guarantee results",
        },  # row 7
        {
            "title": "Sandbox escape",
            "url": "https://example.com/escape",
            "language": "en",
            "variant_1": "Hi {{ link }}\n{{ ''.__class__.__mro__ }}",
        },  # row 8
        {"title": "Same address again", "url": "https://example.com/zero-trust"},  # row 9
        {"title": "Already there", "url": "https://example.com/existing"},  # row 10
        {
            "title": "Two problems",
            "url": "ftp://example.com/file",
            "target_teams": "Nordix",
            "priority": "9",
        },  # row 11
        {"title": "Plain article", "url": "https://example.com/plain"},  # row 12
    ]
    client = client_as("marketer")
    batch_id, progress = run(client, "library.csv", csv_text(rows))

    assert progress == {
        "processed": 11,
        "total": 11,
        "imported": 2,
        "refused": 9,
        "finished": True,
        "summary": "11 of 11 rows — 2 imported, 9 refused",
    }
    report = report_rows(client, batch_id)
    assert {n for n, r in report.items() if r["outcome"] == "imported"} == {2, 12}
    reasons = {n: r["reasons"] for n, r in report.items() if r["outcome"] == "refused"}
    assert reasons[3] == "title — missing: every row needs a title"
    assert reasons[4].startswith("url — must be a full web address")
    assert reasons[5].startswith("kind — “podcast” isn't a kind; use one of: article, case study")
    assert reasons[6].startswith("target_teams — no team called “Nordix”")
    assert reasons[7].startswith("variant_2 — line 2: “guarantee” is on the compliance list")
    assert reasons[8].startswith("variant_1 — line 2: the template reaches outside")
    assert reasons[9] == "url — duplicate: “Zero trust for platform teams” already has this address"
    assert reasons[10] == "url — duplicate: “Existing story” already has this address"
    assert reasons[11].split("; ")[0].startswith("url — must be a full web address")
    assert "target_teams — no team called “Nordix”" in reasons[11]
    assert "priority — “9” isn't a whole number from 1 to 5" in reasons[11]

    page = client.get(f"/library/import/{batch_id}").get_data(as_text=True)
    assert "Download report (CSV)" in page
    assert "no team called “Nordix”" in page
    assert "Sandbox escape" in page

    imported = by_url(app)
    assert set(imported) == {
        "https://example.com/existing",
        "https://example.com/zero-trust",
        "https://example.com/plain",
    }
    item = imported["https://example.com/zero-trust"]
    assert item.status is ContentStatus.DRAFT
    assert item.kind.value == "case_study"
    assert item.campaign is not None and item.campaign.name == "Security Month"
    assert item.topics == ["cloud", "security"]
    assert item.target_team_ids == [nordics.id]
    assert item.target_regions == ["DACH", "Nordics"]
    assert [v.language for v in item.variants] == ["en", "de"]
    assert item.priority == 4
    # A date alone is midnight in the importer's zone (Europe/Berlin, UTC+1 in December).
    assert item.starts_at == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert item.expires_at == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert [v.body for v in item.variants] == [good["variant_1"], good["variant_2"]]
    plain = imported["https://example.com/plain"]
    assert (plain.status, plain.kind.value, plain.priority, plain.variants) == (
        ContentStatus.DRAFT,
        "article",
        3,
        [],
    )
    with app.app_context():
        # The refused rows left nothing behind: no campaign or item from a rolled-back row.
        names = db.session().scalars(sa.select(Campaign.name)).all()
        assert sorted(names) == ["Launch", "Security Month"]


def test_json_import_reads_a_list_or_an_items_object(
    app: Flask, client_as: Callable[[str], FlaskClient], make_team: Callable[..., Team]
) -> None:
    team = make_team("Key accounts")
    client = client_as("marketer")
    listed = [
        {
            "title": "Webinar: AI copilots for the SOC",
            "url": "https://example.com/webinar",
            "kind": "event",
            "topics": ["Security", "AI"],
            "target_teams": ["Key accounts"],
            "priority": 5,
            "starts_at": "2026-12-01T09:00",
            "language": "en",
            "variant_1": SAFE_VARIANT,
            "owner": "marketing ops",
        },
        {"title": "", "url": "https://example.com/nameless"},
    ]
    batch_id, progress = run(client, "items.json", json.dumps(listed))
    assert (progress["imported"], progress["refused"]) == (1, 1)
    assert report_rows(client, batch_id)[2]["reasons"].startswith("title — missing")
    page = client.get(f"/library/import/{batch_id}").get_data(as_text=True)
    assert page.count("marketing ops") == 0
    assert "Some columns were ignored" in page and page.count("owner") == 1
    item = by_url(app)["https://example.com/webinar"]
    assert item.kind.value == "event"
    assert item.topics == ["ai", "security"]
    assert item.target_team_ids == [team.id]
    assert item.priority == 5
    assert item.starts_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    wrapped = {"items": [{"title": "Wrapped", "url": "https://example.com/wrapped"}]}
    _, progress = run(client, "wrapped.json", json.dumps(wrapped))
    assert progress["imported"] == 1


# --- progress, a chunk at a time ---------------------------------------------------------


def numbered_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "title": f"Item {n}",
            "url": f"https://example.com/items/{n}",
            "language": "en",
            "variant_1": SAFE_VARIANT,
        }
        for n in range(1, count + 1)
    ]


def test_a_large_file_is_processed_a_chunk_at_a_time_and_a_finished_step_changes_nothing(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    config.override(app, import_chunk_rows=200)
    rows = numbered_rows(450)
    rows[300]["url"] = "not a web address"  # row 302
    client = client_as("marketer")
    batch_id = start(client, "big.csv", csv_text(rows))

    page = client.get(f"/library/import/{batch_id}").get_data(as_text=True)
    assert '<meta name="csrf-token"' in page
    assert 'aria-live="polite"' in page
    assert "0 of 450 rows — 0 imported, 0 refused" in page
    assert "Process next rows" in page

    seen = [step(client, batch_id) for _ in range(3)]
    assert [(p["processed"], p["imported"], p["refused"], p["finished"]) for p in seen] == [
        (200, 200, 0, False),
        (400, 399, 1, False),
        (450, 449, 1, True),
    ]
    assert seen[1]["summary"] == "400 of 450 rows — 399 imported, 1 refused"
    with app.app_context():
        before = db.session().get(ImportBatch, batch_id)
        assert before is not None and before.finished_at is not None
        report_length = len(before.report)

    again = step(client, batch_id)
    assert again == seen[2]
    assert len(items(app)) == 449
    with app.app_context():
        after = db.session().get(ImportBatch, batch_id)
        assert after is not None and len(after.report) == report_length
    page = client.get(f"/library/import/{batch_id}").get_data(as_text=True)
    assert "Imported as drafts" in page and "449" in page
    assert "Process next rows" not in page


def test_without_javascript_the_step_button_processes_rows_and_comes_back(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    config.override(app, import_chunk_rows=2)
    client = client_as("contributor")
    batch_id = start(client, "three.csv", csv_text(numbered_rows(3)))
    response = client.post(f"/library/import/{batch_id}/step")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/library/import/{batch_id}#progress")
    assert "2 of 3 rows — 2 imported, 0 refused" in client.get(
        f"/library/import/{batch_id}"
    ).get_data(as_text=True)
    response = client.post(f"/library/import/{batch_id}/step")
    assert response.headers["Location"].endswith("#report")
    assert {i.status for i in items(app)} == {ContentStatus.DRAFT}


# --- reading files -----------------------------------------------------------------------


def test_semicolon_separated_csv_with_a_byte_order_mark_is_read(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    text = (
        "\ufeffTitle;URL;Topics;Sprache;Variant 1\r\n"
        'Größe zählt;https://example.com/groesse;cloud, data;de;"Zeile eins\r\n{{ link }}"\r\n'
    )
    client = client_as("marketer")
    _, progress = run(client, "export-excel.csv", text.encode("utf-8"))
    assert progress["imported"] == 1
    item = by_url(app)["https://example.com/groesse"]
    assert item.title == "Größe zählt"
    assert item.topics == ["cloud", "data"]
    assert item.variants[0].body == "Zeile eins\n{{ link }}"


def test_a_windows_1252_file_with_semicolons_as_german_excel_saves_it_is_read(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    text = (
        "title;url;summary;variant_1;variant_1_language\r\n"
        "Größe zählt;https://example.com/groesse;Spart 20 € garantiert;{{ link }};de\r\n"
    )
    _, progress = run(client_as("marketer"), "export.csv", text.encode("cp1252"))
    assert progress["imported"] == 1
    item = by_url(app)["https://example.com/groesse"]
    assert (item.title, item.summary) == ("Größe zählt", "Spart 20 € garantiert")


def test_a_latin_1_file_is_read(app: Flask, client_as: Callable[[str], FlaskClient]) -> None:
    data = "title,url\nGröße,https://x.example\n".encode("latin-1")
    _, progress = run(client_as("marketer"), "latin1.csv", data)
    assert progress["imported"] == 1
    assert by_url(app)["https://x.example"].title == "Größe"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_a_tab_separated_file_is_read(
    app: Flask, client_as: Callable[[str], FlaskClient], encoding: str
) -> None:
    # Excel's "Unicode text" is tab-separated UTF-16 with a byte-order mark.
    text = "title\turl\ttopics\r\nZoë, the story\thttps://example.com/zoe\tcloud; data\r\n"
    _, progress = run(client_as("marketer"), "export.txt", text.encode(encoding))
    assert progress["imported"] == 1
    item = by_url(app)["https://example.com/zoe"]
    assert (item.title, item.topics) == ("Zoë, the story", ["cloud", "data"])


def test_odd_header_spellings_name_the_same_columns(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    text = (
        "\ufeff TITLE: ,URL*,Image-URL,Variant #1 Language,Variant #1\r\n"
        "Odd headers,https://example.com/odd,https://example.com/odd.png,de,{{ link }}\r\n"
    )
    _, progress = run(client_as("marketer"), "odd.csv", text.encode("utf-8"))
    assert progress["imported"] == 1
    item = by_url(app)["https://example.com/odd"]
    assert item.title == "Odd headers"
    assert item.image_url == "https://example.com/odd.png"
    assert item.variants[0].language == "de"
    assert item.variants[0].body == "{{ link }}"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("header-only.csv", b"title,url\r\n", "has no rows to import"),
        # Neither UTF-8 nor Windows-1252 (0x81 is undefined there): not text we can read.
        ("unknown.csv", b"title,url\n\x81\x8d,https://x.example\n", "isn't UTF-8"),
        ("guide.pdf", b"%PDF-1.7 binary", "isn't a CSV or JSON file"),
        ("sheet.csv", b"PK\x03\x04\x14\x00", "spreadsheet workbook"),
        ("broken.json", b'[{"title": "x",}]', "isn't valid JSON (line 1"),
        ("names.csv", b"name,link\nA,https://x.example\n", "has no title and no url column"),
    ],
)
def test_an_unusable_file_is_refused_beside_the_file_field(
    app: Flask, client_as: Callable[[str], FlaskClient], filename: str, data: bytes, message: str
) -> None:
    client = client_as("marketer")
    response = upload(client, filename, data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(
        r'<div class="field-error-group" id="import-file-error">(.*?)</div>', page, re.S
    )
    assert error and message in error.group(1).replace("&#39;", "'"), page[:3000]
    assert 'aria-describedby="import-file-hint import-file-error"' in page
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 0


def test_more_than_twenty_thousand_rows_are_refused_up_front(
    client_as: Callable[[str], FlaskClient],
) -> None:
    # Rows are counted before they are checked; short ones keep the upload under the test
    # client's 500 KB spooling threshold.
    text = "title,url\n" + "".join(f"{n},\n" for n in range(20_001))
    response = upload(client_as("marketer"), "huge.csv", text)
    assert response.status_code == 422
    assert "The file has 20,001 rows; one import takes at most 20,000." in response.get_data(
        as_text=True
    )


def test_the_import_page_explains_the_format_and_lists_recent_imports(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("marketer")
    page = client.get("/library/import").get_data(as_text=True)
    assert '<label for="import-file">' in page and 'accept=".csv,.json"' in page
    assert "/library/import/template.csv" in page and "/library/import/template.json" in page
    assert "No imports yet" in page
    for column in ("target_teams", "expires_at", "variant_1"):
        assert column in page
    start(client, "first.csv", csv_text(numbered_rows(1)))
    page = client.get("/library/import").get_data(as_text=True)
    assert "first.csv" in page and "0% done" in page


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_downloaded_template_imports_cleanly(
    app: Flask, client_as: Callable[[str], FlaskClient], make_team: Callable[..., Team], fmt: str
) -> None:
    make_team("Business development DACH")
    client = client_as("marketer")
    response = client.get(f"/library/import/template.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="contentfeed-import-template.{fmt}"'
    )
    body = response.get_data()
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert header == list(COLUMNS)
    _, progress = run(client, f"template.{fmt}", body)
    assert (progress["imported"], progress["refused"]) == (2, 0)
    first = items(app)[0]
    assert first.target_team_ids and first.variants and first.campaign is not None
    assert client.get("/library/import/template.xlsx").status_code == 404


# --- export ------------------------------------------------------------------------------


def export(client: FlaskClient, query: str = "status=all") -> list[dict[str, str]]:
    response = client.get(f"/library/export.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="contentfeed-library-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["Content-Disposition"],
    )
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_an_export_reimports_into_a_fresh_library(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_team: Callable[..., Team],
    make_content: Callable[..., Content],
) -> None:
    dach, key = make_team("DACH sellers"), make_team("Key accounts")
    make_content(
        title="Zero-downtime migrations",
        url="https://example.com/zero-downtime",
        summary="A playbook, step by step.",
        kind="whitepaper",
        topics=["cloud", "databases"],
        target_team_ids=[dach.id, key.id],
        target_regions=["DACH"],
        priority=5,
        starts_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        expires_at=datetime(2027, 1, 15, 17, 30, tzinfo=UTC),
        variants=(
            SAFE_VARIANT,
            ("Line one\nLine two {{ link }}", "de"),
            "Three {{ link }}",
            "Four",
        ),
    )
    make_content(
        title="-40% build time: the Nordbank story",
        url="https://example.com/nordbank",
        kind="case_study",
        status="draft",
        campaign="Customer Stories",
        variants=("Proud of this one {{ link }}",),
    )
    client = client_as("marketer")
    exported = export(client)
    assert [row["title"] for row in exported] == [
        "Zero-downtime migrations",
        "'-40% build time: the Nordbank story",
    ]
    assert list(exported[0])[: len(COLUMNS) - 3] == list(COLUMNS[:-3])
    assert list(exported[0])[-9:] == [
        "variant_4",
        "variant_1_language",
        "variant_2_language",
        "variant_3_language",
        "variant_4_language",
        "id",
        "status",
        "created_at",
        "approved_at",
    ]
    assert [exported[0][f"variant_{n}_language"] for n in (1, 2, 3, 4)] == ["en", "de", "en", "en"]
    assert exported[0]["target_teams"] == "DACH sellers; Key accounts"
    assert (exported[0]["status"], exported[1]["status"]) == ("approved", "draft")

    def snapshot() -> list[tuple[Any, ...]]:
        return [
            (
                c.title,
                c.url,
                c.summary,
                c.kind,
                c.campaign.name if c.campaign else None,
                c.topics,
                c.target_team_ids,
                c.target_regions,
                c.priority,
                c.starts_at,
                c.expires_at,
                [(v.body, v.language) for v in c.variants],
            )
            for c in items(app)
        ]

    before = snapshot()
    exported_file = client.get("/library/export.csv?status=all").get_data()
    with app.app_context():
        s = db.session()
        for item in s.scalars(sa.select(Content)):
            s.delete(item)
        s.commit()
    batch_id, progress = run(client, "contentfeed-library.csv", exported_file)
    assert (progress["imported"], progress["refused"]) == (2, 0)
    assert snapshot() == before
    assert {c.status for c in items(app)} == {ContentStatus.DRAFT}
    page = client.get(f"/library/import/{batch_id}").get_data(as_text=True)
    assert "Export columns were ignored" in page


def test_the_export_honours_the_library_filters(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    launch = make_content(title="Launch whitepaper", kind="whitepaper", topics=["cloud"])
    make_content(title="Security article", campaign="Security", topics=["security"])
    make_content(title="German article", language="de", campaign=None)
    make_content(title="Draft idea", status="draft")
    client = client_as("contributor")

    def titles(query: str) -> list[str]:
        return [row["title"] for row in export(client, query)]

    assert titles("") == ["Launch whitepaper", "Security article", "German article"]
    assert titles("status=all") == [
        "Launch whitepaper",
        "Security article",
        "German article",
        "Draft idea",
    ]
    assert titles("status=draft") == ["Draft idea"]
    assert titles("kind=whitepaper") == ["Launch whitepaper"]
    assert titles("topic=security") == ["Security article"]
    assert titles("language=de") == ["German article"]
    assert titles(f"campaign={launch.campaign_id}") == ["Launch whitepaper"]
    assert titles("campaign=Security") == ["Security article"]
    assert titles("campaign=Nothing+like+it") == []
    assert titles("q=GERMAN") == ["German article"]


def test_cells_that_look_like_formulas_are_neutralised(
    client_as: Callable[[str], FlaskClient], make_content: Callable[..., Content]
) -> None:
    make_content(
        title='=HYPERLINK("https://evil.example","Click")',
        summary="+SUM(A1:A9)",
        campaign="@campaign",
        url="https://example.com/formula",
    )
    client = client_as("marketer")
    row = export(client)[0]
    assert row["title"] == '\'=HYPERLINK("https://evil.example","Click")'
    assert row["summary"] == "'+SUM(A1:A9)"
    assert row["campaign"] == "'@campaign"
    assert row["url"] == "https://example.com/formula"

    batch_id, _ = run(client, "bad.csv", csv_text([{"title": "=1+1", "url": "-x"}]))
    refused = report_rows(client, batch_id)[2]
    assert (refused["title"], refused["url"]) == ("'=1+1", "'-x")


# --- who may do what ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["seller", "rep"])
def test_sellers_and_reps_may_not_import_or_export(
    app: Flask,
    client_as: Callable[[str], FlaskClient],
    make_user: Callable[..., User],
    role: str,
) -> None:
    owner = sign_in(app.test_client(), make_user("marketer"))
    batch_id = start(owner, "rows.csv", csv_text(numbered_rows(1)))
    client = client_as(role)
    for method, path in [
        ("GET", "/library/import"),
        ("POST", "/library/import"),
        ("GET", f"/library/import/{batch_id}"),
        ("POST", f"/library/import/{batch_id}/step"),
        ("GET", "/library/import/template.csv"),
        ("GET", "/library/export.csv"),
    ]:
        assert client.open(path, method=method).status_code == 403, (method, path)


def test_a_contributor_cannot_open_someone_elses_import(
    app: Flask, make_user: Callable[..., User]
) -> None:
    author = make_user("contributor")
    owner = sign_in(app.test_client(), author)
    batch_id = start(owner, "mine.csv", csv_text(numbered_rows(2)))
    other = sign_in(app.test_client(), make_user("contributor"))
    assert other.get(f"/library/import/{batch_id}").status_code == 404
    assert other.get(f"/library/import/{batch_id}?format=csv").status_code == 404
    assert other.post(f"/library/import/{batch_id}/step").status_code == 404
    assert "mine.csv" not in other.get("/library/import").get_data(as_text=True)
    assert items(app) == []

    marketer = sign_in(app.test_client(), make_user("marketer"))
    assert marketer.get(f"/library/import/{batch_id}").status_code == 200
    assert step(marketer, batch_id)["imported"] == 2
    # The items are the uploader's, even when a marketer finishes the import.
    assert {i.created_by_id for i in items(app)} == {author.id}


def test_a_time_without_offset_is_in_the_importers_time_zone(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user("marketer")
    with app.app_context():
        s = db.session()
        stored = s.get(User, user.id)
        assert stored is not None
        stored.timezone = "America/New_York"
        s.commit()
    client = sign_in(app.test_client(), user)
    rows = [{"title": "T", "url": "https://example.com/t", "starts_at": "2026-07-01T09:00"}]
    run(client, "times.csv", csv_text(rows))
    assert items(app)[0].starts_at == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)


# --- PostgreSQL: two steps at once -------------------------------------------------------


@pytest.mark.postgresql_only
def test_two_steps_posted_at_once_never_import_a_row_twice(pg_app: Flask) -> None:
    app = pg_app
    with app.app_context():
        s = db.session()
        user = accounts.create_user(
            s, email="racer@example.com", name="Rae Racer", role=Role.MARKETER
        )
        user.password_hash = FAST_HASH
        s.commit()
    clients = [sign_in(app.test_client(), user) for _ in range(2)]
    batch_id = start(clients[0], "race.csv", csv_text(numbered_rows(450)))
    barrier = threading.Barrier(len(clients))
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def post(client: FlaskClient) -> None:
        barrier.wait()
        try:
            answers.append(step(client, batch_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(a["processed"] for a in answers) == [200, 400]
    with app.app_context():
        s = db.session()
        urls = s.scalars(sa.select(Content.url)).all()
        assert len(urls) == len(set(urls)) == 400
        batch = s.get(ImportBatch, batch_id)
        assert batch is not None and (batch.processed, batch.imported) == (400, 400)
