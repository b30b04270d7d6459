"""Import templates and the library export, in the import's columns (so it re-imports)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contentfeed.accounts.models import Team, User
from contentfeed.content import service
from contentfeed.content.imports.columns import (
    COLUMNS,
    EXPORT_BATCH,
    EXPORT_ONLY_COLUMNS,
    FIELD_COLUMNS,
    VARIANT_COLUMNS,
    VARIANT_COMMENT_COLUMNS,
    VARIANT_LANGUAGE_COLUMNS,
    csv_line,
    header_names,
)
from contentfeed.content.models import Content, PostVariant
from contentfeed.errors import Forbidden
from contentfeed.i18n import _


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
            "audience": "prospects",
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
            "audience": "both",
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
    """Return the CSV template: every column (named in the language being spoken, which the
    import reads back) and the example rows."""
    header = header_names(COLUMNS)
    return "\ufeff" + "".join(
        [csv_line(header), *(csv_line([row.get(c, "") for c in COLUMNS]) for row in rows)]
    )


def template_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return the JSON template: the example rows, lists as lists and numbers as numbers."""
    items = []
    for row in rows:
        item: dict[str, Any] = {}
        for column in COLUMNS:
            value = row.get(column, "")
            if column in ("topics", "target_teams", "target_regions"):
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
        raise Forbidden(_("Your role can't export the library."))
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
    language_columns = VARIANT_LANGUAGE_COLUMNS[: len(variant_columns)]
    # First comments only when an exported variant has one: a library without keeps its sheet.
    commented = s.scalar(
        sa.select(sa.func.count())
        .select_from(PostVariant)
        .where(
            PostVariant.content_id.in_(stmt.with_only_columns(Content.id)),
            PostVariant.first_comment != "",
        )
    )
    comment_columns = VARIANT_COMMENT_COLUMNS[: len(variant_columns)] if commented else ()
    columns = [
        *FIELD_COLUMNS,
        *variant_columns,
        *language_columns,
        *comment_columns,
        *EXPORT_ONLY_COLUMNS,
    ]
    teams = {team_id: name for team_id, name in s.execute(sa.select(Team.id, Team.name))}
    yield "\ufeff" + csv_line(columns)
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
            languages = [v.language for v in item.variants][: len(variant_columns)]
            comments = [v.first_comment for v in item.variants][: len(comment_columns)]
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
                "audience": item.audience.value,
                "priority": item.priority,
                "starts_at": _moment_text(item.starts_at, zone),
                "expires_at": _moment_text(item.expires_at, zone),
                **dict(zip(variant_columns, bodies, strict=False)),
                **dict(zip(language_columns, languages, strict=False)),
                **dict(zip(comment_columns, comments, strict=False)),
                "id": item.id,
                "status": item.status.value,
                "created_at": _moment_text(item.created_at, zone),
                "approved_at": _moment_text(item.approved_at, zone),
            }
            lines.append(csv_line([values.get(column, "") for column in columns]))
        last_id = items[-1].id
        for item in items:
            s.expunge(item)  # keep memory flat on a large library
        yield "".join(lines)


def streamed(s: Session, chunks: Iterator[str]) -> Iterator[str]:
    """Yield a download's chunks without holding a transaction (and its locks) while the
    client reads.

    The body is sent after the request's boundary committed and its teardown closed the
    session, so this closes it again when the stream ends (or when the client goes away).
    """
    try:
        for chunk in chunks:
            s.rollback()  # nothing is written while streaming: this only ends the read
            yield chunk
    finally:
        s.close()
