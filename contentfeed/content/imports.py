"""Bulk import of library items from CSV or JSON, a chunk at a time, and export back to CSV.

An upload is parsed at once into row dicts kept in an ImportBatch; each step then processes
the next chunk of rows, every row in its own SAVEPOINT, and advances the batch in the same
transaction, so a step sent twice never processes a row twice. Never commits; the caller
commits once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session, defer, selectinload

from contentfeed.accounts.models import Team, User
from contentfeed.content import service
from contentfeed.content.models import Content, ContentKind, ImportBatch, PostVariant
from contentfeed.content.templating import TemplateRefused, blocked_word_in
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Forbidden, NotFound
from contentfeed.sheets import csv_text, decode_upload, read_csv, refuse_file, unquote_formula

log = logging.getLogger(__name__)

MAX_ROWS = 20_000
ROW_KEY = "_row"  # the row number people see, kept with each stored row
VARIANT_COLUMNS = tuple(f"variant_{n}" for n in range(1, service.MAX_VARIANTS + 1))
FIELD_COLUMNS: tuple[str, ...] = (
    "title",
    "url",
    "summary",
    "image_url",
    "kind",
    "campaign",
    "language",
    "topics",
    "target_teams",
    "target_regions",
    "target_languages",
    "priority",
    "starts_at",
    "expires_at",
)
COLUMNS: tuple[str, ...] = (*FIELD_COLUMNS, *VARIANT_COLUMNS[:3])
KNOWN_COLUMNS = frozenset(COLUMNS) | frozenset(VARIANT_COLUMNS)
EXPORT_ONLY_COLUMNS = ("id", "status", "created_at", "approved_at")
CAMPAIGN_NAME_MAX = 160
EXPORT_BATCH = 500


@dataclass(frozen=True)
class ColumnHelp:
    """One import column as the import page explains it."""

    name: str
    required: bool
    text: str


COLUMN_HELP: tuple[ColumnHelp, ...] = (
    ColumnHelp("title", True, "The headline sellers and their network see."),
    ColumnHelp("url", True, "The full web address, starting with https:// or http://."),
    ColumnHelp("summary", False, "One or two sentences about the content."),
    ColumnHelp("image_url", False, "Address of the preview image."),
    ColumnHelp(
        "kind",
        False,
        "article (the default), case_study, whitepaper, video, event or product_news; "
        "“Case study” and the like work too.",
    ),
    ColumnHelp("campaign", False, "Campaign name; a campaign that doesn't exist yet is created."),
    ColumnHelp("language", False, "Language code of the content, such as en or de (default en)."),
    ColumnHelp("topics", False, "Separated by ; or , — “cloud; security”."),
    ColumnHelp("target_teams", False, "Team names, separated by ; — each must exist."),
    ColumnHelp("target_regions", False, "Seller regions, separated by ; — empty means all."),
    ColumnHelp("target_languages", False, "Seller language codes, separated by ; or ,."),
    ColumnHelp("priority", False, "1 (low) to 5 (high); 3 when empty."),
    ColumnHelp(
        "starts_at",
        False,
        "When sellers may start sharing: 2026-12-01 or 2026-12-01T09:00. Without an offset "
        "the time is in your time zone.",
    ),
    ColumnHelp("expires_at", False, "When it stops being suggested; same format as starts_at."),
    ColumnHelp(
        "variant_1 … variant_3",
        False,
        "Post texts with placeholders such as {{ seller.first_name }} and {{ link }}; "
        f"up to variant_{service.MAX_VARIANTS} if you need more.",
    ),
)


# --- reading the upload ------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedFile:
    """The rows of an upload, each with its row number, and the columns left out."""

    rows: list[dict[str, Any]]
    ignored_columns: list[str]


def column_key(name: str) -> str:
    """Normalise a column name: 'Image URL' and 'image-url' both mean image_url."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


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


# --- batches -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far a batch has got."""

    processed: int
    total: int
    imported: int

    @property
    def refused(self) -> int:
        """Return how many rows were looked at and not imported."""
        return self.processed - self.imported

    @property
    def is_finished(self) -> bool:
        """Tell whether every row has been looked at."""
        return self.processed >= self.total

    @property
    def percent(self) -> int:
        """Return the share of rows looked at, in whole percent."""
        return 100 if not self.total else self.processed * 100 // self.total

    @property
    def summary(self) -> str:
        """Describe the progress in words: '1,200 of 5,000 rows — 1,180 imported, 20 refused'."""
        return (
            f"{self.processed:,} of {self.total:,} row{'s' if self.total != 1 else ''} — "
            f"{self.imported:,} imported, {self.refused:,} refused"
        )

    def as_json(self) -> dict[str, Any]:
        """Return the progress as the step endpoint answers it."""
        return {
            "processed": self.processed,
            "total": self.total,
            "imported": self.imported,
            "refused": self.refused,
            "finished": self.is_finished,
            "summary": self.summary,
        }


def progress_of(batch: ImportBatch) -> Progress:
    """Return a batch's progress."""
    return Progress(processed=batch.processed, total=batch.total, imported=batch.imported)


def start_import(s: Session, *, filename: str, data: bytes, actor: User) -> ImportBatch:
    """Parse an upload and keep its rows in a new batch, ready to be processed in steps."""
    if actor.role not in service.AUTHORS:
        raise Forbidden("Your role can't add library content.")
    parsed = parse_upload(filename, data)
    report: list[dict[str, Any]] = []
    if parsed.ignored_columns:
        report.append({"ignored_columns": parsed.ignored_columns})
    batch = ImportBatch(
        created_by_id=actor.id,
        filename=PurePath(filename.replace("\\", "/")).name[:255] or "upload",
        rows=parsed.rows,
        total=len(parsed.rows),
        report=report,
    )
    s.add(batch)
    s.flush()
    return batch


def can_open(viewer: User, batch: ImportBatch) -> bool:
    """Marketers and admins open any import; contributors only their own."""
    if viewer.role in service.STAFF:
        return True
    return viewer.role in service.AUTHORS and batch.created_by_id == viewer.id


def get_batch(s: Session, batch_id: int, viewer: User, *, for_update: bool = False) -> ImportBatch:
    """Return a batch the viewer may open (locked for processing when asked), or NotFound."""
    stmt = sa.select(ImportBatch).where(ImportBatch.id == batch_id)
    if for_update:
        if s.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE. Writing first takes the database's write lock, so a
            # second step waits and then sees the rows already processed; it also makes the
            # driver open the transaction before the first SAVEPOINT (else releasing that
            # savepoint would commit each row on its own).
            s.execute(
                sa.update(ImportBatch)
                .where(ImportBatch.id == batch_id)
                .values(processed=ImportBatch.processed)
            )
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    else:
        stmt = stmt.options(defer(ImportBatch.rows))
    batch = s.scalar(stmt)
    if batch is None or not can_open(viewer, batch):
        raise NotFound("No such import.")
    return batch


def recent_batches(s: Session, viewer: User, limit: int = 10) -> Sequence[ImportBatch]:
    """Return the viewer's latest imports, newest first."""
    return s.scalars(
        sa.select(ImportBatch)
        .where(ImportBatch.created_by_id == viewer.id)
        .options(defer(ImportBatch.rows), defer(ImportBatch.report))
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
        .limit(limit)
    ).all()


def author_of(batch: ImportBatch, viewer: User) -> User:
    """Return who the imported items are by: the uploader, or whoever continues the import."""
    creator = batch.created_by
    if creator is not None and creator.is_active and creator.role in service.AUTHORS:
        return creator
    return viewer


# --- processing rows ---------------------------------------------------------------------


class _RowRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class _Chunk:
    """What processing one chunk needs to know and remembers between its rows."""

    s: Session
    actor: User
    rules: service.Compliance
    zone: ZoneInfo
    teams: dict[str, int]
    team_names: list[str]
    titles_by_url: dict[str, str]


def process_next_chunk(
    s: Session,
    batch: ImportBatch,
    *,
    actor: User,
    rules: service.Compliance,
    zone: ZoneInfo,
    chunk_rows: int,
) -> Progress:
    """Import the next rows of a (locked) batch, each in a savepoint, and advance it."""
    if batch.is_finished:
        return progress_of(batch)
    start, end = batch.processed, min(batch.total, batch.processed + max(1, chunk_rows))
    rows = batch.rows[start:end]
    teams = s.execute(sa.select(Team.name, Team.id).order_by(Team.name)).all()
    urls = {_plain(row.get("url")) for row in rows} - {""}
    existing = s.execute(sa.select(Content.url, Content.title).where(Content.url.in_(urls))).all()
    chunk = _Chunk(
        s=s,
        actor=actor,
        rules=rules,
        zone=zone,
        teams={name.lower(): team_id for name, team_id in teams},
        team_names=[name for name, _ in teams],
        titles_by_url={url: title for url, title in existing},
    )
    entries = [_import_row(chunk, row) for row in rows]
    imported = sum(1 for entry in entries if "id" in entry)
    batch.report = [*batch.report, *entries]
    batch.processed = end
    batch.imported += imported
    if batch.is_finished:
        batch.finished_at = utcnow()
    s.flush()
    return progress_of(batch)


def _plain(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _import_row(chunk: _Chunk, row: Mapping[str, Any]) -> dict[str, Any]:
    number = int(row.get(ROW_KEY, 0))
    entry: dict[str, Any] = {"row": number}
    try:
        data, campaign, variants = _read_row(chunk, row)
    except _RowRefused as refused:
        return {**entry, **_identity(row), "reasons": refused.reasons}
    try:
        with chunk.s.begin_nested():
            content = _create(chunk, data, campaign, variants)
    except _RowRefused as refused:
        return {**entry, **_identity(row), "reasons": refused.reasons}
    except DomainError as exc:
        return {**entry, **_identity(row), "reasons": [exc.message]}
    except Exception:  # one bad row must never spoil the others
        log.exception("import row %s could not be saved", number)
        return {
            **entry,
            **_identity(row),
            "reasons": ["couldn't be saved because of an error on our side; try it again"],
        }
    chunk.titles_by_url[content.url] = content.title
    return {**entry, "id": content.id}


def _identity(row: Mapping[str, Any]) -> dict[str, str]:
    return {
        "title": _plain(row.get("title"))[:300],
        "url": _plain(row.get("url"))[:2000],
    }


def _read_row(
    chunk: _Chunk, row: Mapping[str, Any]
) -> tuple[service.ContentData, str, list[tuple[str, str]]]:
    """Check every field of a row, collecting every reason to refuse it."""
    reasons: list[str] = []
    fields: dict[str, Any] = {}

    def text(column: str) -> str:
        value = row.get(column)
        if value is None or isinstance(value, str):
            return (value or "").strip()
        if isinstance(value, bool) or not isinstance(value, int | float):
            reasons.append(f"{column} — must be text")
            return ""
        return str(value)

    title, url = text("title"), text("url")
    if not title:
        reasons.append("title — missing: every row needs a title")
    if not url:
        reasons.append("url — missing: every row needs the web address of the content")
    fields.update(title=title, url=url, summary=text("summary"), image_url=text("image_url"))
    kind_text = text("kind")
    if kind_text:
        kind = _kind(kind_text)
        if kind is None:
            names = ", ".join(k.label.lower() for k in ContentKind)
            reasons.append(f"kind — “{kind_text}” isn't a kind; use one of: {names}")
        else:
            fields["kind"] = kind
    campaign = text("campaign")
    if len(campaign) > CAMPAIGN_NAME_MAX:
        reasons.append(f"campaign — the name is too long: at most {CAMPAIGN_NAME_MAX} characters")
    fields["language"] = text("language") or "en"
    for column in ("topics", "target_regions", "target_languages"):
        values = _list(row.get(column))
        if values is None:
            reasons.append(f"{column} — must be text such as “a; b” or a list of texts")
        else:
            fields[column] = values
    fields["target_team_ids"] = _team_ids(chunk, row.get("target_teams"), reasons)
    priority = _priority(row.get("priority"))
    if priority is None:
        reasons.append(f"priority — “{row.get('priority')}” isn't a whole number from 1 to 5")
    else:
        fields["priority"] = priority
    for column in ("starts_at", "expires_at"):
        raw = text(column)
        if raw:
            moment = _moment(raw, chunk.zone)
            if moment is None:
                reasons.append(
                    f"{column} — “{raw}” isn't a date; write it as 2026-12-01 or 2026-12-01T09:00"
                )
            else:
                fields[column] = moment
    data = service.ContentData()
    try:
        data = service.ContentData.model_validate(fields)
    except ValidationError as exc:
        reasons.extend(_validation_reasons(exc, {r.split(" — ", 1)[0] for r in reasons}))
    if url and url in chunk.titles_by_url:
        reasons.append(f"url — duplicate: “{chunk.titles_by_url[url]}” already has this address")
    variants = []
    sample = Content(title=title, summary=fields["summary"], url=url)
    for column in VARIANT_COLUMNS:
        body = text(column)
        if not body:
            continue
        variants.append((column, body))
        try:
            service.check_body(sample, body, chunk.rules)
        except TemplateRefused as exc:
            reasons.append(_variant_reason(column, body, exc, chunk.rules))
    if reasons:
        raise _RowRefused(sorted(reasons, key=_column_order))
    return data, campaign, variants


_ORDER = {name: index for index, name in enumerate((*FIELD_COLUMNS, *VARIANT_COLUMNS))}


def _column_order(reason: str) -> int:
    """Sort a row's reasons in the order of the columns they are about."""
    return _ORDER.get(reason.split(" — ", 1)[0], len(_ORDER))


def _create(
    chunk: _Chunk, data: service.ContentData, campaign_name: str, variants: list[tuple[str, str]]
) -> Content:
    s = chunk.s
    if campaign_name:
        campaign = service.find_campaign(s, campaign_name) or service.save_campaign(
            s, name=campaign_name
        )
        data = data.model_copy(update={"campaign_id": campaign.id})
    content = service.create_content(s, data, actor=chunk.actor, prefill=False)
    for column, body in variants:
        try:
            service.add_variant(s, content, body, actor=chunk.actor, rules=chunk.rules)
        except TemplateRefused as exc:
            raise _RowRefused([_variant_reason(column, body, exc, chunk.rules)]) from None
        except DomainError as exc:
            raise _RowRefused([f"{column} — {exc.message}"]) from None
    return content


def _variant_reason(column: str, body: str, exc: TemplateRefused, rules: service.Compliance) -> str:
    message = exc.message
    line = exc.line
    if line is None:
        # Blocked words are found in the whole text; point at the line that holds one.
        for number, text in enumerate(body.splitlines(), start=1):
            if blocked_word_in(text, rules.blocked_words):
                line = number
                message = f"Line {line}: {message}"
                break
    if message.startswith("Line "):
        message = "line " + message.removeprefix("Line ")
    return f"{column} — {message}"


def _kind(value: str) -> ContentKind | None:
    key = column_key(value)
    for kind in ContentKind:
        if key in (kind.value, column_key(kind.label)):
            return kind
    return None


def _list(value: Any) -> list[str] | None:
    if value is None or isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value or "") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    return None


def _names(value: Any) -> list[str] | None:
    """Split team names on ';' (or on ',' when there is no ';'), keeping 'Sales, North' whole."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        return None if value is not None else []
    separator = ";" if ";" in value else ","
    return [part.strip() for part in value.split(separator) if part.strip()]


def _team_ids(chunk: _Chunk, value: Any, reasons: list[str]) -> list[int]:
    if isinstance(value, str) and value.strip().lower() in chunk.teams:
        return [chunk.teams[value.strip().lower()]]
    names = _names(value)
    if names is None:
        reasons.append("target_teams — must be team names separated by ;")
        return []
    unknown = [name for name in names if name.lower() not in chunk.teams]
    if unknown:
        which = " or ".join(f"“{name}”" for name in unknown)
        known = chunk.team_names
        hint = f" (teams: {', '.join(known)})" if 0 < len(known) <= 8 else ""
        reasons.append(f"target_teams — no team called {which}{hint}")
    return sorted({chunk.teams[name.lower()] for name in names if name.lower() in chunk.teams})


def _priority(value: Any) -> int | None:
    if value is None or value == "":
        return 3
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+(\.0+)?\s*", value):
        number = int(float(value))
    else:
        return None
    return number if 1 <= number <= 5 else None


def _moment(value: str, zone: ZoneInfo) -> datetime | None:
    """Read an ISO 8601 date or date-time; a date or a time without offset is in `zone`."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


_FIELD_COLUMNS = {"target_team_ids": "target_teams", "campaign_id": "campaign"}


def _validation_reasons(exc: ValidationError, already: set[str]) -> list[str]:
    reasons = []
    for error in exc.errors():
        column = (
            _FIELD_COLUMNS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else ""
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        context = error.get("ctx") or {}
        if error["type"] == "string_too_long":
            message = f"is too long: at most {context.get('max_length', 0):,} characters"
        elif error["type"] == "too_long":
            message = f"has too many entries: at most {context.get('max_length', 0)}"
        elif column == "language":
            message = "use a language code such as en or de"
        if not column and message.startswith("expires_at "):
            column, message = "expires_at", message.removeprefix("expires_at ")
        if column in already:
            continue
        reasons.append(f"{column} — {message}" if column else message)
    return reasons


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row."""

    row: int
    title: str
    url: str
    reasons: list[str]
    content_id: int | None = None

    @property
    def is_imported(self) -> bool:
        """Tell whether the row became a library item."""
        return self.content_id is not None

    @property
    def text(self) -> str:
        """Describe a refused row in words: 'row 7: url — …; target_teams — …'."""
        return f"row {self.row}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class Report:
    """A batch's report: columns left out, rows refused, rows imported."""

    ignored_columns: list[str]
    refused: list[RowOutcome]
    imported: list[RowOutcome]


def report_of(batch: ImportBatch) -> Report:
    """Read a batch's report."""
    ignored: list[str] = []
    refused: list[RowOutcome] = []
    imported: list[RowOutcome] = []
    for entry in batch.report:
        if "ignored_columns" in entry:
            ignored = list(entry["ignored_columns"])
            continue
        outcome = RowOutcome(
            row=int(entry.get("row", 0)),
            title=str(entry.get("title", "")),
            url=str(entry.get("url", "")),
            reasons=list(entry.get("reasons", [])),
            content_id=entry.get("id"),
        )
        (imported if outcome.is_imported else refused).append(outcome)
    return Report(ignored_columns=ignored, refused=refused, imported=imported)


def imported_titles(s: Session, outcomes: Sequence[RowOutcome]) -> dict[int, str]:
    """Return the current titles of imported items (an item deleted since is left out)."""
    ids = [o.content_id for o in outcomes if o.content_id is not None]
    if not ids:
        return {}
    return dict(s.execute(sa.select(Content.id, Content.title).where(Content.id.in_(ids))).all())


def _csv_line(values: Sequence[Any]) -> str:
    return csv_text([values])


def report_csv(
    s: Session, batch: ImportBatch, item_url: Callable[[int], str] | None = None
) -> Iterator[str]:
    """Yield the report as CSV: one line per row with its outcome and reasons."""
    report = report_of(batch)
    titles = imported_titles(s, report.imported)
    yield "\ufeff" + _csv_line(["row", "outcome", "title", "url", "reasons", "item"])
    outcomes = sorted([*report.refused, *report.imported], key=lambda o: o.row)
    for outcome in outcomes:
        if outcome.content_id is not None:
            link = item_url(outcome.content_id) if item_url else str(outcome.content_id)
            title = titles.get(outcome.content_id, "(deleted since)")
            yield _csv_line([outcome.row, "imported", title, "", "", link])
        else:
            yield _csv_line(
                [outcome.row, "refused", outcome.title, outcome.url, "; ".join(outcome.reasons), ""]
            )


# --- templates and export ----------------------------------------------------------------


def template_rows(s: Session, zone: ZoneInfo, today: date) -> list[dict[str, Any]]:
    """Return two realistic example rows that import cleanly into this library."""
    team = s.scalar(sa.select(Team.name).order_by(Team.name).limit(1)) or ""
    starts = today + timedelta(days=7)
    return [
        {
            "title": "Zero-downtime migrations: the whitepaper",
            "url": "https://www.example.com/whitepapers/zero-downtime-migrations",
            "summary": "A step-by-step playbook for shipping schema changes with no "
            "maintenance window.",
            "image_url": "https://www.example.com/images/zero-downtime-migrations.png",
            "kind": "whitepaper",
            "campaign": "Q4 Cloud Modernisation",
            "language": "en",
            "topics": "cloud; databases",
            "target_teams": team,
            "target_regions": "DACH; Nordics",
            "target_languages": "en; de",
            "priority": "4",
            "starts_at": starts.isoformat(),
            "expires_at": (starts + timedelta(days=60)).isoformat(),
            "variant_1": "{{ seller.first_name }} here. {{ content.title }}: "
            "{{ content.summary }}\n\nWorth ten minutes of your week: {{ link }}",
            "variant_2": "How long did your last schema migration take? Ours used to take a "
            "weekend. This is the playbook we follow now: {{ link }} #cloud #databases",
            "variant_3": "",
        },
        {
            "title": "Customer story: how Nordbank cut release time by 70%",
            "url": "https://www.example.com/customers/nordbank",
            "summary": "Nordbank moved 400 services to continuous delivery in nine months.",
            "image_url": "",
            "kind": "Case study",
            "campaign": "Customer Stories 2026",
            "language": "en",
            "topics": "customer stories, devops",
            "target_teams": "",
            "target_regions": "",
            "target_languages": "",
            "priority": "3",
            "starts_at": f"{starts.isoformat()}T09:00",
            "expires_at": "",
            "variant_1": "Proud to share how Nordbank ships 10x more often — and sleeps "
            "better. {{ link }}",
            "variant_2": "",
            "variant_3": "",
        },
    ]


def template_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return the CSV template: every column and the example rows."""
    return "\ufeff" + "".join(
        [_csv_line(COLUMNS), *(_csv_line([row.get(c, "") for c in COLUMNS]) for row in rows)]
    )


def template_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return the JSON template: the example rows, lists as lists and numbers as numbers."""
    items = []
    for row in rows:
        item: dict[str, Any] = {}
        for column in COLUMNS:
            value = row.get(column, "")
            if column in ("topics", "target_teams", "target_regions", "target_languages"):
                separator = ";" if ";" in value else ","
                item[column] = [v.strip() for v in value.split(separator) if v.strip()]
            elif column == "priority":
                item[column] = int(value or 3)
            else:
                item[column] = value
        items.append(item)
    return json.dumps({"items": items}, indent=2, ensure_ascii=False) + "\n"


def _moment_text(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone)
    exact = local.second == 0 and local.microsecond == 0
    return local.isoformat(timespec="minutes" if exact else "seconds")


def export_csv(
    s: Session, viewer: User, query: service.LibraryQuery, zone: ZoneInfo, now: datetime
) -> Iterator[str]:
    """Return the library as CSV lines in the import's columns (so it re-imports), in batches."""
    if viewer.role not in service.AUTHORS:
        raise Forbidden("Your role can't export the library.")
    return _export_lines(s, service.library_query(viewer, query, now), zone)


def _export_lines(s: Session, stmt: sa.Select[Content], zone: ZoneInfo) -> Iterator[str]:
    counts = (
        sa.select(sa.func.count().label("n"))
        .where(PostVariant.content_id.in_(stmt.with_only_columns(Content.id)))
        .group_by(PostVariant.content_id)
        .subquery()
    )
    most = s.scalar(sa.select(sa.func.max(counts.c.n))) or 0
    variant_columns = VARIANT_COLUMNS[: max(3, min(most, len(VARIANT_COLUMNS)))]
    columns = [*FIELD_COLUMNS, *variant_columns, *EXPORT_ONLY_COLUMNS]
    teams = {team_id: name for team_id, name in s.execute(sa.select(Team.id, Team.name))}
    yield "\ufeff" + _csv_line(columns)
    last_id = 0
    while True:
        items = s.scalars(
            stmt.where(Content.id > last_id)
            .options(selectinload(Content.variants), selectinload(Content.campaign))
            .order_by(Content.id)
            .limit(EXPORT_BATCH)
        ).all()
        if not items:
            return
        lines = []
        for item in items:
            bodies = [v.body for v in item.variants][: len(variant_columns)]
            team_names = [teams[i] for i in item.target_team_ids if i in teams]
            values = {
                "title": item.title,
                "url": item.url,
                "summary": item.summary,
                "image_url": item.image_url,
                "kind": item.kind.value,
                "campaign": item.campaign.name if item.campaign else "",
                "language": item.language,
                "topics": "; ".join(item.topics),
                "target_teams": "; ".join(team_names),
                "target_regions": "; ".join(item.target_regions),
                "target_languages": "; ".join(item.target_languages),
                "priority": item.priority,
                "starts_at": _moment_text(item.starts_at, zone),
                "expires_at": _moment_text(item.expires_at, zone),
                **dict(zip(variant_columns, bodies, strict=False)),
                "id": item.id,
                "status": item.status.value,
                "created_at": _moment_text(item.created_at, zone),
                "approved_at": _moment_text(item.approved_at, zone),
            }
            lines.append(_csv_line([values.get(column, "") for column in columns]))
        last_id = items[-1].id
        for item in items:
            s.expunge(item)  # keep memory flat on a large library
        yield "".join(lines)
