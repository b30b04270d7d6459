"""The sellers CSV: its columns, reading an upload into rows, and the template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from contentfeed import sheets
from contentfeed.i18n import _, _l, number_text
from contentfeed.sheets import SheetRow as SheetRow
from contentfeed.sheets import read_sheet, read_text, refuse_file

SELLER_IMPORT_MAX_ROWS = 5_000
SELLER_COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "team",
    "title",
    "region",
    "languages",
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
# What each column holds, in the request's language (the column names stay as they are).
SELLER_COLUMN_HELP: dict[str, Any] = {
    "email": _l("Finds an existing seller to update, or names a new one."),
    "name": _l("Full name; required for a new seller."),
    "team": _l("Team name, as under Teams; the team must exist."),
    "title": _l("Job title, e.g. Account Executive."),
    "region": _l("e.g. DACH, Nordics, UK&I."),
    "languages": _l(
        "Language codes, the preferred first: “de, en”. Items come in the first language "
        "they have a variant in."
    ),
    "timezone": _l("IANA name such as Europe/Berlin."),
    "topics": _l("Separated by ; — “cloud; security”."),
    "posts_per_week": _l("0 to 21 (3 for a new seller when empty)."),
    "weekdays": _l("“Mon;Wed;Thu” or “0;2;3” (0 is Monday); Monday to Friday when empty."),
    "linkedin_url": "https://www.linkedin.com/in/…",
    "linkedin_connections": _l("A whole number."),
    "notification_channel": _l("email, slack, teams or none."),
    "notification_target": _l("Email address, or the Slack / Teams incoming-webhook URL."),
    "paused": _l("yes or no."),
}
# Spreadsheets write "Is paused" or "posts per week": both still count.
EMPTY_HINT = _l("Download the template, fill it in and upload it.")
_COLUMN_ALIASES = {
    "is_paused": "paused",
    "e_mail": "email",
    "full_name": "name",
    "language": "languages",
}


@dataclass(frozen=True)
class SellerSheet:
    """The rows of an uploaded seller CSV, and the columns that were not understood."""

    rows: list[SheetRow]
    ignored_columns: list[str]


def column_key(name: str) -> str:
    """Return the seller column a header cell names (case, spaces and punctuation aside)."""
    return sheets.column_key(name, _COLUMN_ALIASES)


def read_sellers_csv(
    data: bytes, *, filename: str = "", max_rows: int = SELLER_IMPORT_MAX_ROWS
) -> SellerSheet:
    """Read a seller CSV into rows: any encoding and delimiter a spreadsheet saves (the shared
    reader, sheets.read_sheet), the email column required, unknown columns named."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xls", ".ods", ".numbers"):
        raise refuse_file(
            _(
                "“%(file)s” is a spreadsheet workbook. In your spreadsheet choose Save as (or "
                "Download) with the format “CSV UTF-8”, then upload that file.",
                file=PurePath(filename).name,
            )
        )
    if suffix not in ("", ".csv", ".txt"):
        raise refuse_file(
            _(
                "“%(file)s” isn't a CSV file. Upload a .csv file like the template.",
                file=PurePath(filename).name,
            )
        )
    text = read_text(data, empty_hint=str(EMPTY_HINT)).text
    if text.lstrip().startswith(("%PDF", "<", "{", "[")):
        raise refuse_file(_("This isn't a CSV file. Upload a .csv file like the template."))
    sheet = read_sheet(text, aliases=_COLUMN_ALIASES, empty_hint=str(EMPTY_HINT))
    if "email" not in sheet.keys:
        raise refuse_file(
            _(
                "The first line must name the columns, with at least an email column "
                "(found: %(found)s). Download the template to see the format.",
                found=sheet.found,
            )
        )
    rows = [
        SheetRow(row.number, {k: v for k, v in row.cells.items() if k in SELLER_COLUMNS})
        for row in sheet.rows
    ]
    if not rows:
        raise refuse_file(_("The file has a header line but no sellers below it."))
    if len(rows) > max_rows:
        raise refuse_file(
            _(
                "The file has %(count)s sellers; one import takes at most %(most)s. "
                "Split it into smaller files.",
                count=number_text(len(rows)),
                most=number_text(max_rows),
            )
        )
    ignored = [column.key or _("(unnamed)") for column in sheet.unknown(SELLER_COLUMNS)]
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
            "de, en",
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
