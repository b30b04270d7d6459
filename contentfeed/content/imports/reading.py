"""Reading an upload (CSV or JSON) into numbered row dicts, or refusing the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from contentfeed.content.imports.columns import (
    KNOWN_COLUMNS,
    MAX_ROWS,
    ROW_KEY,
)
from contentfeed.sheets import column_key, read_sheet, read_text, refuse_file

EMPTY_HINT = "Fill in a template and upload it again."


@dataclass(frozen=True)
class ParsedFile:
    """The rows of an upload, each with its row number, and the columns left out."""

    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def parse_upload(filename: str, data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read a CSV or JSON upload into row dicts, or refuse the whole file saying why."""
    text = read_text(data, kinds="CSV or JSON", empty_hint=EMPTY_HINT).text
    suffix = PurePath(filename).suffix.lower()
    starts_json = text.lstrip()[:1] in ("[", "{")
    if suffix == ".json" or (suffix not in (".csv", ".txt") and starts_json):
        parsed = _read_json(text)
    elif suffix in (".csv", ".txt", ""):
        parsed = _read_csv(text)
    else:
        raise refuse_file(
            f"“{PurePath(filename).name}” isn't a CSV or JSON file. Upload a .csv or .json file."
        )
    if len(parsed.rows) > max_rows:
        raise refuse_file(
            f"The file has {len(parsed.rows):,} rows; one import takes at most {max_rows:,}. "
            "Split it into smaller files."
        )
    return parsed


def _check_columns(keys: Sequence[str]) -> None:
    missing = [name for name in ("title", "url") if name not in keys]
    if missing:
        found = ", ".join(k for k in keys if k) or "nothing"
        raise refuse_file(
            f"The file has no {' and no '.join(missing)} column. The first line must name the "
            f"columns (found: {found}); download a template to see the format."
        )


def _read_csv(text: str) -> ParsedFile:
    sheet = read_sheet(text, empty_hint=EMPTY_HINT)
    _check_columns(sheet.keys)
    ignored = [column.name for column in sheet.unknown(KNOWN_COLUMNS) if column.key]
    rows: list[dict[str, Any]] = []
    for record in sheet.rows:
        row = {k: v for k, v in record.cells.items() if k in KNOWN_COLUMNS and v}
        if row:
            rows.append({ROW_KEY: record.number, **row})
    if not rows:
        raise refuse_file("The file names its columns but has no rows to import.")
    return ParsedFile(rows=rows, ignored_columns=ignored)


def _read_json(text: str) -> ParsedFile:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse_file(
            f"The file isn't valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        items = document["items"]
    elif isinstance(document, list):
        items = document
    else:
        raise refuse_file(
            'A JSON import is a list of objects, or an object with an "items" list of them.'
        )
    keys: list[str] = []
    ignored: list[str] = []
    rows: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise refuse_file(
                f"Item {number} of the list is {type(item).__name__}, not an object with "
                "fields such as title and url."
            )
        row: dict[str, Any] = {}
        for name, value in item.items():
            key = column_key(str(name))
            if key not in keys:
                keys.append(key)
                if key not in KNOWN_COLUMNS:
                    ignored.append(str(name))
            if key in KNOWN_COLUMNS and value not in (None, "", []):
                row[key] = value.strip() if isinstance(value, str) else value
        if row:
            rows.append({ROW_KEY: number, **row})
    if not rows:
        raise refuse_file("The JSON list is empty: there is nothing to import.")
    _check_columns(keys)
    return ParsedFile(rows=rows, ignored_columns=ignored)
