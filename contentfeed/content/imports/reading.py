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
    column_key,
)
from contentfeed.sheets import decode_upload, read_csv, refuse_file, unquote_formula


@dataclass(frozen=True)
class ParsedFile:
    """The rows of an upload, each with its row number, and the columns left out."""

    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def parse_upload(filename: str, data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read a CSV or JSON upload into row dicts, or refuse the whole file saying why."""
    text = decode_upload(
        data, kinds="CSV or JSON", empty_hint="Fill in a template and upload it again."
    )
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
    records = read_csv(text)
    while records and not any(cell.strip() for cell in records[0]):  # blank lines on top
        records.pop(0)
    if not records:
        raise refuse_file("The file is empty. Fill in a template and upload it again.")
    header = records[0]
    keys = [column_key(name) for name in header]
    repeated = sorted({k for k in keys if k and keys.count(k) > 1})
    if repeated:
        raise refuse_file(f"The column {repeated[0]} appears more than once in the first line.")
    _check_columns(keys)
    ignored = [
        name.strip()
        for name, key in zip(header, keys, strict=True)
        if key and key not in KNOWN_COLUMNS
    ]
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(records[1:], start=2):
        row: dict[str, Any] = {}
        for key, cell in zip(keys, record, strict=False):
            value = unquote_formula(cell.replace("\r\n", "\n").strip())
            if key in KNOWN_COLUMNS and value:
                row[key] = value
        if row:
            rows.append({ROW_KEY: number, **row})
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
