"""Spreadsheets in and out.

Reading uploads (CSV, and JSON for the library): the checks every import shares, refusing a
whole file with a message a marketer or an admin can act on. Writing CSV: every export goes
through ``csv_text`` / ``csv_download``, so every file has the same line endings, encoding
and protection against cells a spreadsheet would run as formulas (lead names, UTM values and
titles come from outside and could start with "=").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response

from contentfeed.errors import Invalid

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx/.ods (zip), .xls (OLE)


def refuse_file(message: str) -> Invalid:
    """Refuse an upload, with the message shown beside the file field."""
    return Invalid(message, {"file": message})


def decode_upload(data: bytes, *, kinds: str = "CSV", empty_hint: str = "") -> str:
    """Return an upload's text, refusing empty files, spreadsheet workbooks, non-UTF-8 text
    and binary files. ``kinds`` names what may be uploaded ("CSV", "CSV or JSON")."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise refuse_file(f"The file is empty. {empty_hint}".strip())
    if data.startswith(WORKBOOK_SIGNATURES):
        raise refuse_file(
            "This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
            "Save as (or Download) with the format “CSV UTF-8”, then upload that file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse_file(
            "The file isn't UTF-8 text, so names with accents would be garbled. Save it as "
            "“CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise refuse_file(f"This isn't a {kinds} file. Upload a file like the template.")
    return text


def read_csv(text: str) -> list[list[str]]:
    """Split CSV text into records (; or , between cells, whichever the header uses).

    Blank lines are kept, so a record's position matches the row number a spreadsheet shows.
    """
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise refuse_file(
            f"The file couldn't be read as CSV (line {reader.line_num}: {exc})."
        ) from None


# --- writing -------------------------------------------------------------------------------


def formula_safe(value: object) -> object:
    """Quote a text cell a spreadsheet would run as a formula; other values pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unquote_formula(value: str) -> str:
    """Undo formula_safe on a cell read back from one of our exports."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Return rows as CSV text (CRLF line ends, as spreadsheets write), formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([formula_safe(value) for value in row] for row in rows)
    return out.getvalue()


def csv_download(rows: Iterable[Sequence[object]], filename: str, *, bom: bool = True) -> Response:
    """Return rows as a CSV file to download (see csv_text).

    With ``bom`` the file starts with a UTF-8 byte-order mark, which Excel needs to read
    accents (Müller, Wisła) correctly; machine exports (the API) leave it out.
    """
    text = csv_text(rows)
    return Response(
        text.encode("utf-8-sig" if bom else "utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            # exports hold names and figures (the leads export, personal data): keep no copy
            "Cache-Control": "no-store",
        },
    )
