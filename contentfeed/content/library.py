"""The library list: filters, sort and page, and what the filters offer.

Reads only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import User
from contentfeed.content.models import Audience, Content, ContentKind, ContentStatus, PostVariant
from contentfeed.content.visibility import can_see_everything
from contentfeed.db import utcnow
from contentfeed.i18n import _l

# The status filter's choices; the labels are lazy texts, said in the viewer's language.
STATUS_FILTERS = {
    "active": _l("Active (approved, in window)"),
    "scheduled": _l("Scheduled (approved, starts later)"),
    "expired": _l("Expired"),
    "in_review": _l("In review"),
    "draft": _l("Draft"),
    "archived": _l("Archived"),
    "all": _l("All"),
}
SORTS = {"title", "kind", "priority", "created", "starts", "expires", "status"}


@dataclass(frozen=True)
class LibraryQuery:
    """Filters, sort and page for the library list."""

    q: str = ""
    status: str = "active"
    campaign_id: int | None = None
    topic: str = ""
    language: str = ""
    kind: str = ""
    audience: str = ""  # "prospects", "customers" or "both": items marked for exactly it
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = 25


@dataclass(frozen=True)
class LibraryPage:
    items: Sequence[Content]
    total: int
    variant_counts: dict[int, int]
    # Per item, the languages its variants are in ("de", "en"): whom it can reach.
    variant_languages: dict[int, list[str]] = field(default_factory=dict)


def _status_clause(status: str, now: datetime) -> sa.ColumnElement[bool] | None:
    approved = Content.status == ContentStatus.APPROVED
    started = sa.or_(Content.starts_at.is_(None), Content.starts_at <= now)
    not_expired = sa.or_(Content.expires_at.is_(None), Content.expires_at > now)
    return {
        "active": sa.and_(approved, started, not_expired),
        "scheduled": sa.and_(approved, Content.starts_at > now),
        "expired": sa.and_(approved, Content.expires_at <= now),
        "in_review": Content.status == ContentStatus.IN_REVIEW,
        "draft": Content.status == ContentStatus.DRAFT,
        "archived": Content.status == ContentStatus.ARCHIVED,
    }.get(status)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a search for "50%" means the text, not a pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def topic_clause(topic: str) -> sa.ColumnElement[bool]:
    """Match items tagged with a topic (topics are a JSON list of lower-case strings)."""
    return sa.cast(Content.topics, sa.String).like(f'%"{topic.strip().lower()}"%')


def library_query(viewer: User, query: LibraryQuery, now: datetime) -> sa.Select[Content]:
    """Build the filtered (unsorted, unpaginated) select for the library."""
    stmt = sa.select(Content)
    status = query.status if can_see_everything(viewer) else "active"
    clause = _status_clause(status, now)
    if clause is not None:
        stmt = stmt.where(clause)
    if query.q:
        like = "%" + escape_like(query.q.strip().lower()) + "%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Content.title).like(like, escape="\\"),
                sa.func.lower(Content.summary).like(like, escape="\\"),
                sa.func.lower(sa.cast(Content.topics, sa.String)).like(like, escape="\\"),
            )
        )
    if query.campaign_id:
        stmt = stmt.where(Content.campaign_id == query.campaign_id)
    if query.topic:
        stmt = stmt.where(topic_clause(query.topic))
    if query.language:  # items with a variant in it: the sellers of that language get them
        stmt = stmt.where(
            sa.exists().where(
                PostVariant.content_id == Content.id,
                PostVariant.language == query.language.strip().lower(),
            )
        )
    if query.kind and query.kind in {k.value for k in ContentKind}:
        stmt = stmt.where(Content.kind == ContentKind(query.kind))
    if query.audience and query.audience in {a.value for a in Audience}:
        stmt = stmt.where(Content.audience == Audience(query.audience))
    return stmt


def list_library(
    s: Session, viewer: User, query: LibraryQuery, now: datetime | None = None
) -> LibraryPage:
    """List library items the viewer may see, filtered, sorted and paginated."""
    now = now or utcnow()
    stmt = library_query(viewer, query, now)
    total = s.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    columns: dict[str, Any] = {
        "title": sa.func.lower(Content.title),
        "kind": Content.kind,
        "priority": Content.priority,
        "created": Content.created_at,
        "starts": Content.starts_at,
        "expires": Content.expires_at,
        "status": Content.status,
    }
    column = columns.get(query.sort, Content.created_at)
    order = column.desc() if query.descending else column.asc()
    items = s.scalars(
        stmt.options(selectinload(Content.campaign))
        .order_by(order, Content.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    languages: dict[int, list[str]] = defaultdict(list)
    if items:
        rows = s.execute(
            sa.select(PostVariant.content_id, PostVariant.language, sa.func.count())
            .where(PostVariant.content_id.in_([c.id for c in items]))
            .group_by(PostVariant.content_id, PostVariant.language)
            .order_by(PostVariant.content_id, PostVariant.language)
        ).all()
        for content_id, language, n in rows:
            counts[content_id] += n
            languages[content_id].append(language)
    return LibraryPage(
        items=items, total=total, variant_counts=dict(counts), variant_languages=dict(languages)
    )


def load_details(s: Session, items: Sequence[Content]) -> None:
    """Load listed items' variants, files and waiting changes in three queries, not per item."""
    if items:
        s.scalars(
            sa.select(Content)
            .where(Content.id.in_([c.id for c in items]))
            .options(
                selectinload(Content.variants),
                selectinload(Content.asset),
                selectinload(Content.revision),
            )
        ).all()


def known_topics(s: Session) -> list[str]:
    """Return every topic used in the library, for filters and suggestions."""
    topics: set[str] = set()
    for row in s.scalars(sa.select(Content.topics)):
        topics.update(row or [])
    return sorted(topics)


def known_languages(s: Session) -> list[str]:
    """Return every language the library's variants are in."""
    return sorted(set(s.scalars(sa.select(PostVariant.language).distinct())))
