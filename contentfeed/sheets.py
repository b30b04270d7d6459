"""Spreadsheets in and out.

Reading uploads: one reader for every import (``read_text`` then ``read_sheet``). It finds
the encoding (UTF-8 with or without a byte-order mark, UTF-16 with one, and Windows-1252 /
Latin-1 as Excel saves "CSV" in German and other Western locales), the delimiter (``,``,
``;`` as German Excel writes, or a tab), normalises the header ("Image URL", "image-url"
and "IMAGE_URL:" all mean image_url, with aliases given by the caller) and numbers each row
as the spreadsheet shows it; ``RowReport`` is the per-row outcome every import reports.
Whole files are refused with a message a marketer or an admin can act on.

Writing CSV: every export goes through ``csv_text`` / ``csv_download``, so every file has
the same line endings, encoding and protection against cells a spreadsheet would run as
formulas (lead names, UTM values and titles come from outside and could start with "=").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Response

from contentfeed.errors import Invalid
from contentfeed.i18n import _

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx/.ods (zip), .xls (OLE)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode text" (tab-separated)
DELIMITERS = (",", ";", "\t")
# Control characters no text file holds; found after decoding as Windows-1252 they mean the
# bytes were something else (UTF-16 without its mark, a binary file).
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_KEY = re.compile(r"[\W_]+")


def refuse_file(message: str) -> Invalid:
    """Refuse an upload, with the message shown beside the file field."""
    return Invalid(message, {"file": message})


# --- the text of an upload -------------------------------------------------------------------


@dataclass(frozen=True)
class UploadText:
    """An upload's text and the encoding it was read in."""

    text: str
    encoding: str  # "utf-8", "utf-16" or "cp1252"


def read_text(data: bytes, *, kinds: str = "CSV", empty_hint: str = "") -> UploadText:
    """Return an upload's text in whichever encoding it was saved (UTF-8, UTF-16 with a
    byte-order mark, else Windows-1252), refusing empty files, spreadsheet workbooks and
    binary files. ``kinds`` names what may be uploaded ("CSV", "CSV or JSON"), and it and
    ``empty_hint`` are in the language being spoken, like the refusals."""
    _refuse_empty_or_workbook(data, empty_hint)
    if data.startswith(UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_text() from None
        if not text.strip(" \t\r\n"):
            raise _empty(empty_hint)
        encoding = "utf-16"
    else:
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:  # bytes Windows-1252 leaves undefined
                raise _not_text() from None
            if _NOT_TEXT.search(text):
                raise _not_text() from None
    if "\x00" in text:
        raise refuse_file(
            _("This isn't a %(kinds)s file. Upload a file like the template.", kinds=kinds)
        )
    return UploadText(text, encoding)


def _empty(empty_hint: str) -> Invalid:
    if empty_hint:
        return refuse_file(_("The file is empty. %(hint)s", hint=empty_hint))
    return refuse_file(_("The file is empty."))


def _refuse_empty_or_workbook(data: bytes, empty_hint: str) -> None:
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _empty(empty_hint)
    if data.startswith(WORKBOOK_SIGNATURES):
        raise refuse_file(
            _(
                "This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
                "Save as (or Download) with the format “CSV UTF-8”, then upload that file."
            )
        )


def _not_text() -> Invalid:
    return refuse_file(
        _(
            "The file isn't UTF-8 or Windows-1252 text, so names with accents would be "
            "garbled. Save it as “CSV UTF-8” and upload it again."
        )
    )


# --- records, the header and rows -----------------------------------------------------------


def detect_delimiter(text: str) -> str:
    """Return the delimiter the header line uses most: ``;`` only when it outnumbers ``,``,
    a tab only when it outnumbers both (a name with a comma stays one cell)."""
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    commas, semicolons, tabs = (header_line.count(d) for d in DELIMITERS)
    if tabs > max(commas, semicolons):
        return "\t"
    return ";" if semicolons > commas else ","


def read_csv(text: str) -> list[list[str]]:
    """Split CSV text into records (``detect_delimiter`` picks ``,`` ``;`` or a tab).

    Blank lines are kept, so a record's position matches the row number a spreadsheet shows.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    try:
        return list(reader)
    except csv.Error as exc:
        raise refuse_file(
            _(
                "The file couldn't be read as CSV (line %(line)s: %(problem)s).",
                line=reader.line_num,
                problem=exc,
            )
        ) from None


def column_key(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Normalise a column name: case, spaces, a byte-order mark and punctuation don't count
    ('Image URL', 'image-url' and 'IMAGE_URL:' are image_url); then apply the aliases
    (whose names are normalised the same way)."""
    key = _NOT_KEY.sub("_", name.replace("\ufeff", "").strip().lower()).strip("_")
    if aliases:
        return {_NOT_KEY.sub("_", k.lower()).strip("_"): v for k, v in aliases.items()}.get(
            key, key
        )
    return key


@dataclass(frozen=True)
class Column:
    """A column of an uploaded sheet: its name as the file spells it, and its key."""

    name: str
    key: str


@dataclass(frozen=True)
class SheetRow:
    """One data row: its number as a spreadsheet shows it (the header is row 1 unless blank
    lines come first), and its cells by column key, trimmed, formula quotes undone."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    """An uploaded sheet: its columns and its non-blank rows."""

    columns: list[Column]
    rows: list[SheetRow]
    delimiter: str

    @property
    def keys(self) -> list[str]:
        """Return the column keys in the file's order."""
        return [column.key for column in self.columns]

    def missing(self, required: Iterable[str]) -> list[str]:
        """Return the required columns the sheet lacks, in the order given."""
        return [key for key in required if key not in self.keys]

    @property
    def found(self) -> str:
        """Name the columns found, for a message about the ones missing."""
        return ", ".join(key for key in self.keys if key) or _("nothing")

    def unknown(self, known: Collection[str]) -> list[Column]:
        """Return the columns an import leaves out (unnamed ones included)."""
        return [column for column in self.columns if column.key not in known]


def read_sheet(
    text: str, *, aliases: Mapping[str, str] | None = None, empty_hint: str = ""
) -> Sheet:
    """Read CSV text into a header and numbered rows, or refuse it: empty (past blank lines
    on top), or a column named twice. Rows whose cells are all empty are left out."""
    records = read_csv(text)
    first = 0
    while first < len(records) and not any(cell.strip() for cell in records[first]):
        first += 1
    if first == len(records):
        raise _empty(empty_hint)
    columns = [Column(name.strip(), column_key(name, aliases)) for name in records[first]]
    keys = [column.key for column in columns]
    repeated = sorted({k for k in keys if k and keys.count(k) > 1})
    if repeated:
        raise refuse_file(
            _(
                "The column %(column)s appears more than once in the first line.",
                column=repeated[0],
            )
        )
    rows = []
    for number, record in enumerate(records[first + 1 :], start=first + 2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {
            key: unquote_formula(cell.replace("\r\n", "\n").strip())
            for key, cell in zip(keys, record, strict=False)
        }
        rows.append(SheetRow(number, cells))
    return Sheet(columns=columns, rows=rows, delimiter=detect_delimiter(text))


# --- dates and numbers in cells ---------------------------------------------------------------

# 31.12.2026, 31.12.26, 1.2.2026, optionally with a time: 31.12.2026 14:30, 31.12.2026, 14:30:15
# or 31.12.2026 14:30 Uhr, as German spreadsheets write them.
_DOTTED = re.compile(
    r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4}|\d{2})"
    r"(?:(?:\s+|\s*,\s*|T)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*Uhr)?)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_moment(value: str, zone: ZoneInfo) -> datetime | None:
    """Read a date or a date and time as people and spreadsheets write them, in UTC: ISO 8601
    (2026-12-31, 2026-12-31T14:30, 2026-12-31 14:30+01:00) or German (31.12.2026,
    31.12.2026 14:30, 31.12.26, 31.12.2026 14:30 Uhr). A date alone is the start of that day;
    a time without an offset is in ``zone``. None when it is neither."""
    text = value.strip()
    moment: datetime
    try:
        if _ISO_DATE.fullmatch(text):
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        elif found := _DOTTED.fullmatch(text):
            year = int(found["year"])
            moment = datetime(
                year + 2000 if len(found["year"]) == 2 else year,
                int(found["month"]),
                int(found["day"]),
                int(found["hour"] or 0),
                int(found["minute"] or 0),
                int(found["second"] or 0),
                tzinfo=zone,
            )
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


# Spaces (also no-break ones) and apostrophes group digits: 12 345, 12'345 (Swiss).
_GROUPING = re.compile(r"[\s\u00a0\u202f'\u2019_]")
_GROUPED = {sep: re.compile(rf"[1-9]\d{{0,2}}(?:\{sep}\d{{3}})+") for sep in ",."}


def parse_number(value: str) -> Decimal | None:
    """Read a number written the English or the German way: 1234.5, 1,234.5, 1.234,5,
    1234,5, 12 345, 12'345, -3; None when it is not one.

    With both "," and "." the last one is the decimal mark. With one of them: used more than
    once, or once before exactly three digits (1.234, 1,234), it groups thousands; otherwise
    it is the decimal mark (3,5 and 3.5 are three and a half).
    """
    text = _GROUPING.sub("", value.strip()).replace("\u2212", "-")
    sign = ""
    if text[:1] in "+-" and text[:1]:
        sign, text = text[0], text[1:]
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit():
        return None
    if "," in text and "." in text:
        mark = "," if text.rfind(",") > text.rfind(".") else "."
        whole, _, fraction = text.rpartition(mark)
        group = "." if mark == "," else ","
        if not _GROUPED[group].fullmatch(whole) and group in whole:
            return None
        text = whole.replace(group, "") + "." + fraction
    else:
        for sep in ",.":
            if sep not in text:
                continue
            whole, _, fraction = text.partition(sep)
            grouped = len(fraction) == 3 and 0 < len(whole) <= 3 and whole[0] != "0"
            if text.count(sep) > 1 or grouped:
                if not _GROUPED[sep].fullmatch(text):
                    return None
                text = text.replace(sep, "")
            else:
                text = f"{whole}.{fraction}"
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        return None
    try:
        return Decimal(sign + text)
    except InvalidOperation:  # pragma: no cover - the pattern above is a Decimal's
        return None


def parse_whole_number(value: str) -> int | None:
    """Read a whole number as parse_number does (1.234, 1,234, 12 345, 3,0); None otherwise."""
    number = parse_number(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


# --- the per-row report ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowReport:
    """What became of one row of an upload: its number, accepted or refused, and why."""

    number: int
    accepted: bool
    message: str = ""

    @property
    def text(self) -> str:
        """Say it in words: 'row 7: url — missing'."""
        if self.message:
            return _("row %(n)s: %(message)s", n=self.number, message=self.message)
        return _("row %(n)s", n=self.number)


def report_rows(
    reports: Iterable[RowReport], *, accepted: str = "imported", refused: str = "refused"
) -> list[list[object]]:
    """Return per-row outcomes as CSV rows (header first), in row order, for csv_download."""
    ordered = sorted(reports, key=lambda report: report.number)
    return [
        ["row", "outcome", "message"],
        *([r.number, accepted if r.accepted else refused, r.message] for r in ordered),
    ]


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
