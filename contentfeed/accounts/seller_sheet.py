"""The sellers CSV: its columns, reading an upload into rows, and the template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from contentfeed.sheets import decode_upload, read_csv, refuse_file

SELLER_IMPORT_MAX_ROWS = 5_000
SELLER_COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "team",
    "title",
    "region",
    "language",
    "timezone",
    "topics",
    "posts_per_week",
    "weekdays",
    "linkedin_url",
    "linkedin_connections",
    "notification_channel",
    "notification_target",
    "paused",
)
SELLER_COLUMN_HELP: dict[str, str] = {
    "email": "Finds an existing seller to update, or names a new one.",
    "name": "Full name; required for a new seller.",
    "team": "Team name, as under Teams; the team must exist.",
    "title": "Job title, e.g. Account Executive.",
    "region": "e.g. DACH, Nordics, UK&I.",
    "language": "Language code such as en or de.",
    "timezone": "IANA name such as Europe/Berlin.",
    "topics": "Separated by ; — “cloud; security”.",
    "posts_per_week": "0 to 21 (3 for a new seller when empty).",
    "weekdays": "“Mon;Wed;Thu” or “0;2;3” (0 is Monday); Monday to Friday when empty.",
    "linkedin_url": "https://www.linkedin.com/in/…",
    "linkedin_connections": "A whole number.",
    "notification_channel": "email, slack, teams or none.",
    "notification_target": "Email address, or the Slack / Teams incoming-webhook URL.",
    "paused": "yes or no.",
}
# Spreadsheets write "Is paused" or "posts per week": both still count.
_COLUMN_ALIASES = {"is_paused": "paused", "e_mail": "email", "full_name": "name"}


@dataclass(frozen=True)
class SheetRow:
    """One data row of an uploaded sheet: its row number as a spreadsheet shows it, and cells."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class SellerSheet:
    """The rows of an uploaded seller CSV, and the columns that were not understood."""

    rows: list[SheetRow]
    ignored_columns: list[str]


def column_key(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _COLUMN_ALIASES.get(key, key)


def read_sellers_csv(
    data: bytes, *, filename: str = "", max_rows: int = SELLER_IMPORT_MAX_ROWS
) -> SellerSheet:
    """Read a seller CSV (UTF-8, with or without BOM; ; or , between cells) into rows."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xls", ".ods", ".numbers"):
        raise refuse_file(
            f"“{PurePath(filename).name}” is a spreadsheet workbook. In your spreadsheet choose "
            "Save as (or Download) with the format “CSV UTF-8”, then upload that file."
        )
    if suffix not in ("", ".csv", ".txt"):
        raise refuse_file(
            f"“{PurePath(filename).name}” isn't a CSV file. Upload a .csv file like the template."
        )
    text = decode_upload(data, empty_hint="Download the template, fill it in and upload it.")
    if text.lstrip().startswith(("%PDF", "<", "{", "[")):
        raise refuse_file("This isn't a CSV file. Upload a .csv file like the template.")
    records = read_csv(text)
    first = 0
    while first < len(records) and not any(cell.strip() for cell in records[first]):
        first += 1
    if first == len(records):
        raise refuse_file("The file is empty. Download the template, fill it in and upload it.")
    keys = [column_key(name) for name in records[first]]
    if "email" not in keys:
        found = ", ".join(k for k in keys if k) or "nothing"
        raise refuse_file(
            "The first line must name the columns, with at least an email column "
            f"(found: {found}). Download the template to see the format."
        )
    repeated = sorted({k for k in keys if k and keys.count(k) > 1})
    if repeated:
        raise refuse_file(f"The column {repeated[0]} appears more than once in the first line.")
    rows = []
    for index, record in enumerate(records[first + 1 :], start=first + 2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {
            key: value.strip()
            for key, value in zip(keys, record, strict=False)
            if key in SELLER_COLUMNS
        }
        rows.append(SheetRow(index, cells))
    if not rows:
        raise refuse_file("The file has a header line but no sellers below it.")
    if len(rows) > max_rows:
        raise refuse_file(
            f"The file has {len(rows):,} sellers; one import takes at most {max_rows:,}. "
            "Split it into smaller files."
        )
    ignored = [k or "(unnamed)" for k in keys if k not in SELLER_COLUMNS]
    return SellerSheet(rows=rows, ignored_columns=ignored)


def seller_template_rows(team_name: str = "") -> list[list[str]]:
    """Return the rows of a CSV template: every column and two example sellers that import
    cleanly."""
    return [
        list(SELLER_COLUMNS),
        [
            "jane.doe@example.com",
            "Jane Doe",
            team_name,
            "Account Executive",
            "DACH",
            "de",
            "Europe/Berlin",
            "cloud; security",
            "3",
            "Mon;Wed;Thu",
            "https://www.linkedin.com/in/jane-doe-example",
            "850",
            "email",
            "",
            "no",
        ],
        [
            "li.wei@example.com",
            "Li Wei",
            team_name,
            "Solutions Engineer",
            "Nordics",
            "en",
            "Europe/Stockholm",
            "databases",
            "2",
            "1;3",
            "",
            "",
            "none",
            "",
            "yes",
        ],
    ]
