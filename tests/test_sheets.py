"""The one CSV reader every import shares: encodings, delimiters, headers, row numbers."""

from __future__ import annotations

import pytest

from contentfeed.errors import Invalid
from contentfeed.sheets import (
    RowReport,
    column_key,
    detect_delimiter,
    read_sheet,
    read_text,
    report_rows,
)

TEXT = "name;city\r\nMüller;Köln €\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-8-sig"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "windows-1252"],
)
def test_the_encoding_is_found(data: bytes, encoding: str) -> None:
    found = read_text(data)
    assert (found.text, found.encoding) == (TEXT, encoding)


def test_latin_1_reads_as_windows_1252() -> None:
    assert read_text("Größe;Zoë\n".encode("latin-1")).text == "Größe;Zoë\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty. Try again."),
        (b"\xef\xbb\xbf\r\n", "The file is empty. Try again."),
        ("\r\n".encode("utf-16"), "The file is empty. Try again."),
        (b"PK\x03\x04 workbook", "spreadsheet workbook"),
        (b"name\r\n\x81\x8d", "isn't UTF-8 or Windows-1252 text"),
        (b"email,name\r\n\xff\xfej\x00a\x00n\x00e\x00", "isn't UTF-8"),
        (b"name\x00\x01", "This isn't a CSV file."),
    ],
    ids=["empty", "blank", "utf-16-blank", "workbook", "undefined-bytes", "utf-16-no-bom", "nul"],
)
def test_what_is_not_readable_text_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_text(data, empty_hint="Try again.")
    assert message in refused.value.fields["file"]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("title,url,topics", ","),
        ("title;url;topics", ";"),
        ("title\turl\ttopics", "\t"),
        ("title;url,topics", ","),  # a tie keeps the comma
        ("Name, Vorname;Ort;PLZ", ";"),
        ("title,url\tnotes", ","),
        ("\r\n\r\ntitle;url", ";"),
    ],
)
def test_the_delimiter_is_the_one_the_header_uses_most(header: str, delimiter: str) -> None:
    assert detect_delimiter(header + "\r\nrow") == delimiter


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("image_url", "image_url"),
        ("Image URL", "image_url"),
        ("image-url", "image_url"),
        (" IMAGE_URL: ", "image_url"),
        ("\ufeffTitle", "title"),
        ("Variant #1", "variant_1"),
        ("Target  teams (names)", "target_teams_names"),
        ("Größe", "größe"),
        ("---", ""),
    ],
)
def test_header_names_are_normalised(name: str, key: str) -> None:
    assert column_key(name) == key


def test_aliases_apply_after_normalising_both_sides() -> None:
    aliases = {"E-Mail": "email", "full name": "name"}
    assert column_key(" e-mail ", aliases) == "email"
    assert column_key("Full-Name", aliases) == "name"
    assert column_key("Team", aliases) == "team"


def test_a_sheet_numbers_rows_as_the_spreadsheet_shows_them() -> None:
    sheet = read_sheet(
        '\r\nE-Mail,Name,Notes\r\na@example.com,"Ann\r\nLee",\'=1+1\r\n,,\r\nb@example.com,Bo,x\r\n',
        aliases={"e_mail": "email"},
    )
    assert sheet.keys == ["email", "name", "notes"]
    assert sheet.missing(["email", "team"]) == ["team"]
    assert [c.name for c in sheet.unknown({"email", "name"})] == ["Notes"]
    assert [(row.number, row.cells) for row in sheet.rows] == [
        (3, {"email": "a@example.com", "name": "Ann\nLee", "notes": "=1+1"}),
        (5, {"email": "b@example.com", "name": "Bo", "notes": "x"}),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\r\n \r\n", "The file is empty. Fill it in."),
        ("Title,title\r\nx,y\r\n", "The column title appears more than once"),
        ('title\r\n"' + "x" * 200_000 + '"\r\n', "couldn't be read as CSV"),
    ],
)
def test_a_sheet_is_refused_as_a_whole(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        read_sheet(text, empty_hint="Fill it in.")


def test_the_per_row_report_says_each_rows_outcome_in_row_order() -> None:
    reports = [RowReport(4, False, "url — missing"), RowReport(2, True)]
    assert [r.text for r in reports] == ["row 4: url — missing", "row 2"]
    assert report_rows(reports) == [
        ["row", "outcome", "message"],
        [2, "imported", ""],
        [4, "refused", "url — missing"],
    ]
