"""Reading an upload (CSV or JSON) into numbered row dicts, or refusing the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from contentfeed.content.imports.columns import (
    HEADER_ALIASES,
    KNOWN_COLUMNS,
    MAX_ROWS,
    ROW_KEY,
)
from contentfeed.i18n import _, _l, number_text
from contentfeed.sheets import column_key, read_sheet, read_text, refuse_file

EMPTY_HINT = _l("Fill in a template and upload it again.")


@dataclass(frozen=True)
class ParsedFile:
    """The rows of an upload, each with its row number, and the columns left out."""

    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def parse_upload(filename: str, data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read a CSV or JSON upload into row dicts, or refuse the whole file saying why."""
    text = read_text(data, kinds=_("CSV or JSON"), empty_hint=str(EMPTY_HINT)).text
    suffix = PurePath(filename).suffix.lower()
    starts_json = text.lstrip()[:1] in ("[", "{")
    if suffix == ".json" or (suffix not in (".csv", ".txt") and starts_json):
        parsed = _read_json(text)
    elif suffix in (".csv", ".txt", ""):
        parsed = _read_csv(text)
    else:
        raise refuse_file(
            _(
                "“%(name)s” isn't a CSV or JSON file. Upload a .csv or .json file.",
                name=PurePath(filename).name,
            )
        )
    if len(parsed.rows) > max_rows:
        raise refuse_file(
            _(
                "The file has %(n)s rows; one import takes at most %(max)s. Split it into "
                "smaller files.",
                n=number_text(len(parsed.rows)),
                max=number_text(max_rows),
            )
        )
    return parsed


def _check_columns(keys: Sequence[str]) -> None:
    missing = [name for name in ("title", "url") if name not in keys]
    if missing:
        found = ", ".join(k for k in keys if k) or _("nothing")
        if len(missing) == 2:
            problem = _("The file has no title and no url column.")
        else:
            problem = _("The file has no %(column)s column.", column=missing[0])
        raise refuse_file(
            _(
                "%(problem)s The first line must name the columns (found: %(found)s); download "
                "a template to see the format.",
                problem=problem,
                found=found,
            )
        )


def _read_csv(text: str) -> ParsedFile:
    sheet = read_sheet(text, aliases=HEADER_ALIASES, empty_hint=str(EMPTY_HINT))
    _check_columns(sheet.keys)
    ignored = [column.name for column in sheet.unknown(KNOWN_COLUMNS) if column.key]
    rows: list[dict[str, Any]] = []
    for record in sheet.rows:
        row = {k: v for k, v in record.cells.items() if k in KNOWN_COLUMNS and v}
        if row:
            rows.append({ROW_KEY: record.number, **row})
    if not rows:
        raise refuse_file(_("The file names its columns but has no rows to import."))
    return ParsedFile(rows=rows, ignored_columns=ignored)


def _read_json(text: str) -> ParsedFile:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse_file(
            _(
                "The file isn't valid JSON (line %(line)s, column %(column)s: %(problem)s).",
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            )
        ) from None
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        items = document["items"]
    elif isinstance(document, list):
        items = document
    else:
        raise refuse_file(
            _('A JSON import is a list of objects, or an object with an "items" list of them.')
        )
    keys: list[str] = []
    ignored: list[str] = []
    rows: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise refuse_file(
                _(
                    "Item %(n)s of the list is %(type)s, not an object with fields such as "
                    "title and url.",
                    n=number,
                    type=type(item).__name__,
                )
            )
        row: dict[str, Any] = {}
        for name, value in item.items():
            key = column_key(str(name), HEADER_ALIASES)
            if key not in keys:
                keys.append(key)
                if key not in KNOWN_COLUMNS:
                    ignored.append(str(name))
            if key in KNOWN_COLUMNS and value not in (None, "", []):
                row[key] = value.strip() if isinstance(value, str) else value
        if row:
            rows.append({ROW_KEY: number, **row})
    if not rows:
        raise refuse_file(_("The JSON list is empty: there is nothing to import."))
    _check_columns(keys)
    return ParsedFile(rows=rows, ignored_columns=ignored)
