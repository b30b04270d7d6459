"""Import batches: kept rows, processed a chunk at a time, each row in a savepoint."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from contentfeed.accounts.models import Team, User
from contentfeed.content import service
from contentfeed.content.imports.columns import (
    ROW_KEY,
)
from contentfeed.content.imports.reading import parse_upload
from contentfeed.content.imports.rows import Chunk, RowRefused, about, read_row, variant_reason
from contentfeed.content.models import Content, ImportBatch
from contentfeed.content.templating import TemplateRefused
from contentfeed.db import utcnow
from contentfeed.errors import DomainError, Forbidden, NotFound
from contentfeed.i18n import _, ngettext, number_text

log = logging.getLogger(__name__)


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
        return ngettext(
            "%(processed)s of %(total)s row — %(imported)s imported, %(refused)s refused",
            "%(processed)s of %(total)s rows — %(imported)s imported, %(refused)s refused",
            self.total,
            processed=number_text(self.processed),
            total=number_text(self.total),
            imported=number_text(self.imported),
            refused=number_text(self.refused),
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
        raise Forbidden(_("Your role can't add library content."))
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
        raise NotFound(_("No such import."))
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
    chunk = Chunk(
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


def _import_row(chunk: Chunk, row: Mapping[str, Any]) -> dict[str, Any]:
    number = int(row.get(ROW_KEY, 0))
    entry: dict[str, Any] = {"row": number}
    try:
        data, campaign, variants = read_row(chunk, row)
    except RowRefused as refused:
        return {**entry, **_identity(row), "reasons": refused.reasons}
    try:
        with chunk.s.begin_nested():
            content = _create(chunk, data, campaign, variants)
    except RowRefused as refused:
        return {**entry, **_identity(row), "reasons": refused.reasons}
    except DomainError as exc:
        return {**entry, **_identity(row), "reasons": [exc.message]}
    except Exception:  # one bad row must never spoil the others
        log.exception("import row %s could not be saved", number)
        return {
            **entry,
            **_identity(row),
            "reasons": [_("couldn't be saved because of an error on our side; try it again")],
        }
    chunk.titles_by_url[content.url] = content.title
    return {**entry, "id": content.id}


def _identity(row: Mapping[str, Any]) -> dict[str, str]:
    return {
        "title": _plain(row.get("title"))[:300],
        "url": _plain(row.get("url"))[:2000],
    }


def _create(
    chunk: Chunk,
    data: service.ContentData,
    campaign_name: str,
    variants: list[tuple[str, str, str, str]],
) -> Content:
    s = chunk.s
    if campaign_name:
        campaign = service.find_campaign(s, campaign_name) or service.save_campaign(
            s, name=campaign_name
        )
        data = data.model_copy(update={"campaign_id": campaign.id})
    content = service.create_content(s, data, actor=chunk.actor, prefill=False)
    for column, body, language, comment in variants:
        try:
            service.add_variant(
                s,
                content,
                body,
                language=language,
                actor=chunk.actor,
                rules=chunk.rules,
                first_comment=comment,
            )
        except TemplateRefused as exc:
            raise RowRefused([variant_reason(column, body, exc, chunk.rules)]) from None
        except DomainError as exc:
            raise RowRefused([about(column, exc.message)]) from None
    return content
